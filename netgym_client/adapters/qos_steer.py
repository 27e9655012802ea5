"""Adapter of the ``qos_steer`` environment (PROTOCOL.md §10, §14).

Multi-access QoS steering: each user's downlink goes either over cellular or over Wi-Fi.

Observation Space: ``Box(0, 1000, (3, N), float32)``, N = ``num_users`` (8 by default),
columns = user ids ``1 … N``:

===  ======================  ====  ===  ====
row  feature                 unit  min  max
===  ======================  ====  ===  ====
0    ``lte::dl::max_rate``   Mbps  0    1000
1    ``wifi::dl::max_rate``  Mbps  0    1000
2    ``gma::dl::rate``       Mbps  0    1000
===  ======================  ====  ===  ====

A missing user's value is 0 (``info["filled_values"]``); values outside [0, 1000] are clipped
(``info["clipped_values"]``; the original does not clip).

Action Space: ``MultiDiscrete([2] * N)``: per user 0 = cellular, 1 = Wi-Fi. Entries that are
not integers in {0, 1} raise :class:`~netgym_client.errors.ActionError`.

Policy sent: one record copied from the ``gma::dl::rate`` row (source ``gma``, its ``ts``),
``name`` ``"wifi::dl::split_ratio"``, ``id`` the users ``1 … N``, ``value`` the N choices as
ints 0/1, what the original client sends (§14). ``None`` or an empty action sends
``value: []`` (the server's own algorithm).

Reward (``reward_type`` ``"wifi_qos_user_num"``, the only one): the number of users in the
``gma::wifi::dl::qos_rate`` record whose value is strictly greater than 0.1 Mbps (a user's
QoS rate is its Wi-Fi rate when its delay and loss tests pass, else 0). A missing record
gives 0. Bounds: [0, number of users in the record] (N from a real server).

Episode End: ``truncated`` after ``steps_per_episode`` measurements, ``terminated`` at the
end of the session (handled by the environment).

Arguments: ``env_config.per_slice_config.num_users``; ``rl_config.reward_type``.

>>> from netgym_client.config import load_config
>>> from netgym_client.stats import NetworkStats
>>> adapter = QosSteerAdapter(load_config("qos_steer"))
>>> adapter.action_space
MultiDiscrete([2 2 2 2 2 2 2 2])
>>> stats = NetworkStats.from_records([{"source": "gma", "name": "wifi::dl::qos_rate",
...     "ts": 2000, "id": [1, 2, 3], "value": [0.1, 0.2, 5.0]}])
>>> adapter.reward(stats)
2.0
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from netgym_client.adapters._gma import GmaUserAdapter
from netgym_client.adapters.base import PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.stats import NetworkStats

__all__ = ["QOS_RATE_THRESHOLD_MBPS", "QosSteerAdapter", "wifi_qos_user_num"]

#: A user counts as served with QoS when its Wi-Fi QoS rate exceeds this, Mbps (strictly).
QOS_RATE_THRESHOLD_MBPS = 0.1
#: The measurement the reward counts.
QOS_RATE_KEY = "gma::wifi::dl::qos_rate"


def wifi_qos_user_num(stats: NetworkStats) -> float:
    """Users in the ``gma::wifi::dl::qos_rate`` record whose value is > 0.1 Mbps."""
    if QOS_RATE_KEY not in stats:
        return 0.0
    return float(np.count_nonzero(stats.get(QOS_RATE_KEY) > QOS_RATE_THRESHOLD_MBPS))


class QosSteerAdapter(GmaUserAdapter):
    """Adapter of the ``qos_steer`` QoS steering environment; see the module documentation."""

    env_name = "qos_steer"

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.action_space = gym.spaces.MultiDiscrete([2] * self.num_users)

    def reward(self, stats: NetworkStats) -> float:
        """The number of users served with QoS over Wi-Fi (``wifi_qos_user_num``)."""
        return wifi_qos_user_num(stats)

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """One ``gma::wifi::dl::split_ratio`` record of 0/1 ints (1 = Wi-Fi)."""
        prepared = self.prepare_action(action)
        value = [] if prepared is None else [int(v) for v in prepared]
        return template_record(stats, "gma::dl::rate", "wifi::dl::split_ratio", value, ids=self.ids)

    # -- many sessions at once (the embedded path) --------------------------------------
    POLICY_NAME = "wifi::dl::split_ratio"

    def policy_values_many(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The 0/1 choices :meth:`policy` sends for each of ``actions`` (``(k, N)``):
        ``(choices (k, N) int64, zero counts)`` (a discrete action is never clipped); see
        :meth:`GmaUserAdapter.policy_values_many`."""
        arr = np.asarray(actions)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.int64)
        if arr.ndim != 2 or arr.shape[1:] != self.action_space.shape:
            return None
        if not np.issubdtype(arr.dtype, np.number):
            return None
        values = arr.astype(np.float64)
        if not np.all((values == 0.0) | (values == 1.0)):  # NaN and the rest: policy() says
            return None
        return values.astype(np.int64), np.zeros(arr.shape[0], dtype=np.int64)

    def outcome_many(
        self, column: Callable[[str], np.ndarray | None]
    ) -> tuple[np.ndarray, list[float], np.ndarray] | None:
        """See :meth:`GmaUserAdapter.outcome_many`."""
        seen, qos = self.observations_many(column), column(QOS_RATE_KEY)
        if seen is None or qos is None:
            return None
        served = np.count_nonzero(qos > QOS_RATE_THRESHOLD_MBPS, axis=1)
        return seen[0], [float(n) for n in served.tolist()], seen[1]
