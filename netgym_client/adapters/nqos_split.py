"""Adapter of the ``nqos_split`` environment (PROTOCOL.md §9).

Multi-access traffic splitting: each user's downlink traffic is split over the links the
config has — Wi-Fi, NR (with gNBs) and LTE.

Observation Space: ``Box(0, 1000, (3, N), float32)``, N = ``num_users`` (the sum of
``per_slice_config.num_users``), columns = user ids ``1 … N``:

===  ======================  ====  ===  ====
row  feature                 unit  min  max
===  ======================  ====  ===  ====
0    ``lte::dl::max_rate``   Mbps  0    1000
1    ``wifi::dl::max_rate``  Mbps  0    1000
2    ``gma::dl::rate``       Mbps  0    1000
===  ======================  ====  ===  ====

A missing user's value is 0 (counted in ``info["filled_values"]``; the original puts NaN
there); values outside [0, 1000] are clipped (``info["clipped_values"]``; the original does
not clip). Users beyond N are ignored.

Action Space: ``Box(0, 1, (N, L), float32)``: per user, one split weight per link the config
has (:attr:`~netgym_client.config.NetGymConfig.split_links`), in ns-3's link-id order Wi-Fi,
NR, LTE: L = 3 for the default config (8 APs, 2 gNBs, 1 eNB), L = 2 (Wi-Fi, LTE) without
gNBs — ns-3 takes exactly one weight per link and aborts on another count ("the action size:
3 is not equal the number of links:2"). Clipped into the Box.

Policy sent: one record copied from the ``gma::dl::rate`` row (source ``gma``, its ``ts``),
``name`` ``"dl::split_weight"``, ``id`` the users ``1 … N``, ``value`` the N×L weights with
each row divided by its sum; an all-zero row puts everything on the first link (Wi-Fi when
the config has APs). ``None`` or an empty action sends ``value: []`` (the server's own
algorithm).

Reward, ``reward_type`` ``"utility"`` (the default, the original's only one): with ``r`` the
mean of the ``gma::dl::rate`` record's values (Mbps) and ``d`` the mean of the
``gma::dl::owd`` record's values (ms; −1 means "no packet", so ``d`` can be ≤ 0)::

    reward = clip(0.5 · L(r) − 0.5 · L(d), −10, 10),   L(x) = ln x if x > 0 else −10

exactly as the original computes it (raw Mbps and ms). A missing record counts as mean 0.
Bounds: [−10, 10].

Reward, ``reward_type`` ``"normalized_utility"`` (opt-in): the NetworkGym paper's utility,
the rate normalized by the links' capacities and the delay in seconds::

    reward = clip(ln(r / (w + l)) − ln(d / 1000 ms), −10, 10)

with ``r`` the mean ``gma::dl::rate``, ``w`` and ``l`` the means of ``wifi::dl::max_rate``
and ``lte::dl::max_rate`` (Mbps), ``d`` the mean ``gma::dl::owd`` over the users that
received packets (owd ≥ 0). Without a delivered packet, a capacity or a positive delay the
reward is −10 (nothing delivered is the worst outcome). The ns-3 sample of the NetworkGym
docs (rates 8.824, 17.072, 6.736, 14.4 Mbps; capacities 37+78, 37+78, 23+65, 37+78; delays
298, 65, 682, 507 ms) gives ``ln(11.758/108.25) − ln(0.388) = −1.273``. Bounds: [−10, 10].

Episode End: ``truncated`` after ``steps_per_episode`` measurements, ``terminated`` at the
end of the session (handled by the environment).

Arguments: ``env_config.per_slice_config.num_users``; ``rl_config.reward_type``.

>>> from netgym_client.config import load_config
>>> adapter = NqosSplitAdapter(load_config("nqos_split"))
>>> adapter.observation_space.shape, adapter.action_space.shape
((3, 5), (5, 3))
>>> adapter.links
('wifi', 'nr', 'lte')
>>> no_nr = load_config("nqos_split", overrides={"env_config": {"nr_gnb_locations": []}})
>>> NqosSplitAdapter(no_nr).action_space.shape
(5, 2)
>>> normalize_split_weights(np.array([[1, 1, 2], [0, 0, 0]], dtype=np.float32)).tolist()
[[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]]
>>> round(utility_reward(mean_rate_mbps=4.0, mean_owd_ms=1.0), 4)  # 0.5 · ln 4
0.6931
>>> round(normalized_utility(11.758, 33.5 + 74.75, 388.0), 3)  # the ns-3 sample
-1.273
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from netgym_client.adapters._gma import GmaUserAdapter
from netgym_client.adapters.base import PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.errors import ConfigError
from netgym_client.stats import NetworkStats

__all__ = [
    "LOG_FLOOR",
    "REWARD_BOUNDS",
    "NqosSplitAdapter",
    "normalize_split_weights",
    "normalized_utility",
    "record_mean",
    "utility_reward",
]

#: Substitute for the log of a non-positive mean (the original's constant).
LOG_FLOOR = -10.0
#: The utility reward is clipped to this range (the original's).
REWARD_BOUNDS = (-10.0, 10.0)


def _log_or_floor(x: float) -> float:
    # NaN counts as "no value"; +inf as the largest float, so the reward stays finite.
    return math.log(min(x, sys.float_info.max)) if x > 0 else LOG_FLOOR


def utility_reward(mean_rate_mbps: float, mean_owd_ms: float) -> float:
    """``clip(0.5·L(rate) − 0.5·L(owd), −10, 10)`` with ``L(x) = ln x``, or −10 for ``x <= 0``."""
    value = 0.5 * _log_or_floor(mean_rate_mbps) - 0.5 * _log_or_floor(mean_owd_ms)
    return float(min(max(value, REWARD_BOUNDS[0]), REWARD_BOUNDS[1]))


def normalized_utility(mean_rate_mbps: float, capacity_mbps: float, mean_owd_ms: float) -> float:
    """``clip(ln(rate / capacity) − ln(owd / 1000), −10, 10)``; −10 if any is ≤ 0 or NaN."""
    if not (mean_rate_mbps > 0 and capacity_mbps > 0 and mean_owd_ms > 0):
        return REWARD_BOUNDS[0]
    big = sys.float_info.max
    value = math.log(min(mean_rate_mbps, big)) - math.log(min(capacity_mbps, big))
    value -= math.log(min(mean_owd_ms, big) / 1000.0)
    return float(min(max(value, REWARD_BOUNDS[0]), REWARD_BOUNDS[1]))


def record_mean(stats: NetworkStats, key: str) -> float:
    """The mean of the values in record ``key`` (all its ids, as sent), 0.0 if absent/empty."""
    if key not in stats:
        return 0.0
    values = stats.get(key)
    if values.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        mean = float(np.mean(values))
    if not math.isfinite(mean):
        # The sum of huge values overflowed: average the scaled values instead.
        mean = float(np.sum(values / values.size))
    return mean


def normalize_split_weights(action: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (in float32, as the original); a zero row → ``[1, 0, …]``."""
    weights = np.asarray(action, dtype=np.float32).copy()
    sums = weights.sum(axis=1)
    zero = sums <= 0
    weights[zero] = 0
    weights[zero, 0] = 1
    sums[zero] = 1
    normalized: np.ndarray = weights / sums[:, None]
    return normalized


class NqosSplitAdapter(GmaUserAdapter):
    """Adapter of the ``nqos_split`` traffic-splitting environment; see the module docs."""

    env_name = "nqos_split"

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        #: The action's columns: the config's links in ns-3's order.
        self.links = config.split_links
        if not self.links:
            raise ConfigError("env_config.lte_enb_locations", "nqos_split needs a cell")
        self.action_space = gym.spaces.Box(0, 1, (self.num_users, len(self.links)), np.float32)

    def reward(self, stats: NetworkStats) -> float:
        """The ``utility`` (or ``normalized_utility``) reward of the measurement."""
        if self.config.rl_config.get("reward_type") == "normalized_utility":
            owd = stats.get("gma::dl::owd")
            seen = owd[owd >= 0]
            return normalized_utility(
                record_mean(stats, "gma::dl::rate"),
                record_mean(stats, "wifi::dl::max_rate") + record_mean(stats, "lte::dl::max_rate"),
                float(np.mean(seen)) if seen.size else 0.0,
            )
        return utility_reward(
            record_mean(stats, "gma::dl::rate"), record_mean(stats, "gma::dl::owd")
        )

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """One ``gma::dl::split_weight`` record with normalised weights."""
        prepared = self.prepare_action(action)
        value = [] if prepared is None else normalize_split_weights(prepared).tolist()
        return template_record(stats, "gma::dl::rate", "dl::split_weight", value, ids=self.ids)

    # -- many sessions at once (the embedded path) --------------------------------------
    POLICY_NAME = "dl::split_weight"

    def policy_values_many(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The weight rows :meth:`policy` sends for each of ``actions`` (``(k, N, L)``):
        ``(weights (k, N, L) float32, counts (k,))``, each row the one
        :func:`normalize_split_weights` gives; see :meth:`GmaUserAdapter.policy_values_many`."""
        arr = np.asarray(actions)
        space = self.action_space
        assert isinstance(space, gym.spaces.Box)
        if (
            arr.ndim != 3
            or arr.shape[1:] != space.shape
            or arr.dtype == np.bool_
            or not np.issubdtype(arr.dtype, np.number)
        ):
            return None
        values = arr.astype(np.float64)
        if not np.all(np.isfinite(values)):
            return None
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        counts = np.count_nonzero((values < low) | (values > high), axis=(1, 2))
        weights = np.clip(values, low, high).astype(space.dtype)
        sums = weights.sum(axis=2)
        zero = sums <= 0
        weights[zero] = 0
        weights[zero, 0] = 1
        sums[zero] = 1
        normalized: np.ndarray = weights / sums[..., None]
        return normalized, counts

    def outcome_many(
        self, column: Callable[[str], np.ndarray | None]
    ) -> tuple[np.ndarray, list[float], np.ndarray] | None:
        """See :meth:`GmaUserAdapter.outcome_many` (both reward types)."""
        seen = self.observations_many(column)
        rate, owd = column("gma::dl::rate"), column("gma::dl::owd")
        if seen is None or rate is None or owd is None or owd.shape != rate.shape:
            return None
        observations, counts = seen
        rates = _row_means(rate)
        if self.config.rl_config.get("reward_type") != "normalized_utility":
            rewards = [utility_reward(r, d) for r, d in zip(rates, _row_means(owd), strict=True)]
            return observations, rewards, counts
        wifi, lte = column("wifi::dl::max_rate"), column("lte::dl::max_rate")
        assert wifi is not None and lte is not None  # (observations_many read them)
        capacity = [w + c for w, c in zip(_row_means(wifi), _row_means(lte), strict=True)]
        rewards = []
        for r, c, row in zip(rates, capacity, owd, strict=True):
            delivered = row[row >= 0]
            mean = float(np.mean(delivered)) if delivered.size else 0.0
            rewards.append(normalized_utility(r, c, mean))
        return observations, rewards, counts


def _row_means(rows: np.ndarray) -> list[float]:
    """:func:`record_mean` of each row (a record of every user, none empty)."""
    with np.errstate(over="ignore"):
        means = np.mean(rows, axis=1)
    out: list[float] = means.tolist()
    for i in np.flatnonzero(~np.isfinite(means)).tolist():
        out[i] = float(np.sum(rows[i] / rows[i].size))
    return out
