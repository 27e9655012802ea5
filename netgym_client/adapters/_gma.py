"""The per-user observation shared by the GMA multi-access environments (PROTOCOL.md §9, §10).

``nqos_split`` and ``qos_steer`` observe the same three per-user rows: LTE capacity, Wi-Fi
capacity and delivered GMA rate, over user ids ``1 … N`` (ns-3's IMSIs, §14).
"""

from __future__ import annotations

from collections.abc import Callable

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

    # -- many sessions at once (the embedded path, netgym_client.policy_arrays) -----------
    #: The policy record's ``name`` that :meth:`policy_values_many` gives the values of.
    POLICY_NAME = ""

    def policy_values_many(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The values of the record :meth:`policy` sends for each of ``actions`` (a stack,
        one action per session), computed in one numpy pass, and each action's count of
        values clipped into the action space (its ``clipped_action_values``); None when the
        stack is not one :meth:`prepare_action` takes as it is (then :meth:`policy`, one by
        one, says why), or this adapter has no array form."""
        return None

    def observations_many(
        self, column: Callable[[str], np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The observations of k measurements and each one's count of clipped values, from
        ``column(key)``: metric ``key`` of every measurement, one row of users 1 … N each
        (``(k, N)`` float64), or None. Each observation is the one :meth:`observation` gives
        (no value is missing, so none is filled); None when a metric is not given."""
        rows = []
        for key in GMA_OBS_KEYS:
            row = column(key)
            if row is None or row.ndim != 2 or row.shape[1] != self.num_users:
                return None
            rows.append(row)
        raw = np.stack(rows, axis=1)
        space = self.observation_space
        assert isinstance(space, gym.spaces.Box)
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        nan = np.isnan(raw)
        counts = np.count_nonzero(nan | (raw < low) | (raw > high), axis=(1, 2))
        observations = np.clip(np.where(nan, low, raw), low, high).astype(space.dtype)
        return observations, counts

    def outcome_many(
        self, column: Callable[[str], np.ndarray | None]
    ) -> tuple[np.ndarray, list[float], np.ndarray] | None:
        """:meth:`observations_many` and the rewards :meth:`reward` gives for the same k
        measurements: ``(observations (k, 3, N), rewards, clipped-value counts (k,))``; None
        when a metric they read is not given (then ask them one by one)."""
        return None
