"""A user's own adapter: the ``custom`` environment seen through all four dummy measurements.

The built-in ``custom`` adapter observes ``measurement_1 … 3`` in raw units with reward 0.
This one observes all four, scaled to [0, 1], and rewards a high ``measurement_4``. Use it
with ``NetworkGymEnv("custom", adapter=FourMeasurementsAdapter)`` or, from a config file,
``"rl_config": {"adapter": "my_adapter:FourMeasurementsAdapter"}``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from netgym_client.adapters import Adapter, PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.stats import NetworkStats

KEYS = ("test::measurement_1", "test::measurement_2", "test::measurement_3", "test::measurement_4")
#: The dummy worker draws integers 3 … 9; dividing by 10 maps them into [0, 1].
SCALE = 10.0


class FourMeasurementsAdapter(Adapter):
    """All four dummy measurements per user, scaled to [0, 1]; reward = mean of the fourth."""

    env_name = "custom"

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.ids = np.arange(config.num_users)  # the dummy worker's users are 0 … N-1
        self.observation_space = gym.spaces.Box(0.0, 1.0, (len(KEYS), config.num_users), np.float32)
        self.action_space = gym.spaces.Box(0.0, 1.0, (config.num_users,), np.float32)

    def observation(self, stats: NetworkStats) -> np.ndarray:
        self.reset_counts()
        raw = np.vstack([self.fill(stats, key, self.ids) for key in KEYS])  # 0 where missing
        return self.clip_observation(raw / SCALE)  # float32, inside the Box

    def reward(self, stats: NetworkStats) -> float:
        values = stats.get(KEYS[3], ids=self.ids, fill=0.0)
        return float(np.clip(values / SCALE, 0.0, 1.0).mean())  # clipped: finite for any input

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        prepared = self.prepare_action(action)  # None/empty → None; Box actions clipped
        value = [] if prepared is None else prepared.tolist()  # plain floats, not numpy
        return template_record(stats, KEYS[0], "srate", value, ids=self.ids)
