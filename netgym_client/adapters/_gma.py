"""The per-user observation shared by the GMA multi-access environments (PROTOCOL.md §9, §10).

``nqos_split`` and ``qos_steer`` observe the same three per-user rows: LTE capacity, Wi-Fi
capacity and delivered GMA rate, over user ids ``1 … N`` (ns-3's IMSIs, §14).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from netgym_client.adapters.base import Adapter
from netgym_client.config import NetGymConfig
from netgym_client.stats import NetworkStats

__all__ = ["GMA_OBS_KEYS", "OBS_HIGH_MBPS", "GmaUserAdapter"]

#: Observation rows, in order: LTE capacity, Wi-Fi capacity, delivered rate (all Mbps).
GMA_OBS_KEYS = ("lte::dl::max_rate", "wifi::dl::max_rate", "gma::dl::rate")
#: Upper bound of every feature, Mbps (the original's Box).
OBS_HIGH_MBPS = 1000.0


class GmaUserAdapter(Adapter):
    """Base of the per-user GMA adapters: spaces' user count and the observation.

    Attributes:
        num_users: N, the sum of ``per_slice_config.num_users``.
        ids: The observed user ids ``1 … N``.
    """

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.num_users = int(config.env_config["num_users"])
        self.ids = np.arange(1, self.num_users + 1)
        self.observation_space = gym.spaces.Box(
            0, OBS_HIGH_MBPS, (len(GMA_OBS_KEYS), self.num_users), np.float32
        )

    def observation(self, stats: NetworkStats) -> np.ndarray:
        """LTE capacity, Wi-Fi capacity and delivered rate of users ``1 … N`` (Mbps)."""
        return self.rows(stats, GMA_OBS_KEYS, self.ids)
