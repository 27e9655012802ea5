"""Adapter of the ``custom`` environment (PROTOCOL.md §8).

The custom environment is the dummy one: its worker reports four random integers per user.

Observation Space: ``Box(0, 1000, (3, N), float32)``, N = ``num_users``, user ids
``0 … N-1`` (the dummy worker's ids are 0-based, §14):

===  =========================  ====  ===  ====
row  feature                    unit  min  max
===  =========================  ====  ===  ====
0    ``test::measurement_1``    –     0    1000
1    ``test::measurement_2``    –     0    1000
2    ``test::measurement_3``    –     0    1000
===  =========================  ====  ===  ====

A missing user's value is 0 (counted in ``info["filled_values"]``); values outside [0, 1000]
are clipped (``info["clipped_values"]``).

Action Space: ``Box(0, 1, (N,), float32)``, clipped into the Box.

Policy sent: one record copied from the ``test::measurement_1`` row, ``name`` ``"srate"``,
``id`` the users ``0 … N-1``, ``value`` the action as a list of floats (no scaling); ``None``
or an empty action sends ``value: []`` (the worker's own behaviour).

Reward, by ``rl_config.reward_type``:

- ``"measurement_mean"`` (netgym's default, §14): the mean of the observation, i.e. of
  ``measurement_1 … measurement_3`` over the users (after filling and clipping). The dummy
  data does not depend on the action, so no agent can raise it; it is a deterministic
  function of the observation, which makes it a plumbing check for a learner: a value
  function must fit it exactly. Bounds: [0, 1000] (the dummy worker's values give 3 … 9).
- ``""``: constant 0.0, as the original.

Episode End: ``truncated`` after ``steps_per_episode`` measurements, ``terminated`` at the
end of the session (handled by the environment, not the adapter).

Arguments: ``env_config.num_users``.

>>> from netgym_client.config import load_config
>>> from netgym_client.stats import NetworkStats
>>> adapter = CustomAdapter(load_config("custom", {"env_config": {"num_users": 2}}))
>>> stats = NetworkStats.from_records(
...     [{"source": "test", "name": f"measurement_{k}", "ts": 2000, "id": [0, 1],
...       "value": [k, 2 * k]} for k in (1, 2, 3)])
>>> adapter.observation(stats).tolist()
[[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]
>>> adapter.reward(stats)  # the mean of 1, 2, 2, 4, 3, 6
3.0
>>> adapter.policy(np.array([0.5, 0.25], dtype=np.float32), stats)
{'name': 'srate', 'ts': 2000, 'source': 'test', 'id': [0, 1], 'value': [0.5, 0.25]}
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from netgym_client.adapters.base import Adapter, PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.stats import NetworkStats

__all__ = ["MEASUREMENT_MEAN", "OBS_KEYS", "CustomAdapter", "measurement_mean"]

#: Observation rows, in order.
OBS_KEYS = ("test::measurement_1", "test::measurement_2", "test::measurement_3")
#: Upper bound of every observation feature (the original's Box).
OBS_HIGH = 1000.0
#: netgym's default reward type of the custom environment (see the module documentation).
MEASUREMENT_MEAN = "measurement_mean"


def measurement_mean(stats: NetworkStats, ids: np.ndarray) -> float:
    """The mean over ``ids`` of the observed rows, 0 where missing, clipped to [0, 1000]."""
    if len(ids) == 0:
        return 0.0
    rows = np.vstack([stats.get(key, ids=ids, fill=0.0) for key in OBS_KEYS])
    return float(np.mean(np.clip(np.nan_to_num(rows, nan=0.0), 0.0, OBS_HIGH)))


class CustomAdapter(Adapter):
    """Adapter of the ``custom`` (dummy) environment; see the module documentation."""

    env_name = "custom"

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.num_users = int(config.env_config["num_users"])
        self.ids = np.arange(self.num_users)
        self.observation_space = gym.spaces.Box(
            0, OBS_HIGH, (len(OBS_KEYS), self.num_users), np.float32
        )
        self.action_space = gym.spaces.Box(0, 1, (self.num_users,), np.float32)
        self.reward_type = str(config.rl_config.get("reward_type", ""))

    def observation(self, stats: NetworkStats) -> np.ndarray:
        """Rows ``measurement_1 … measurement_3`` over user ids ``0 … num_users-1``."""
        return self.rows(stats, OBS_KEYS, self.ids)

    def reward(self, stats: NetworkStats) -> float:
        """The mean of the observation (``measurement_mean``), or 0.0 (``reward_type ""``)."""
        if self.reward_type != MEASUREMENT_MEAN:
            return 0.0
        return measurement_mean(stats, self.ids)

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """One ``test::srate`` record carrying the (clipped) action."""
        prepared = self.prepare_action(action)
        value = [] if prepared is None else prepared.tolist()
        return template_record(stats, OBS_KEYS[0], "srate", value, ids=self.ids)
