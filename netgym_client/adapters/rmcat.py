"""Adapter of the ``rmcat`` environment (PROTOCOL.md §12, §14).

Congestion control of one NADA media flow (RFC 8698): the agent sets its sending rate.

Observation Space: ``Box(0, high, (3, F), float32)``, F = ``nada_flows`` (1), columns = flow
ids ``0 … F-1``:

===  =================  =======================  ===  ==========================
row  feature            unit                     min  max
===  =================  =======================  ===  ==========================
0    ``rmcat::rtt``     ms                       0    60 000
1    ``rmcat::rrate``   bit/s (Mbps, opt-in)     0    10¹⁰ bit/s (10⁴ Mbps)
2    ``rmcat::xcurr``   ms (congestion signal)   0    60 000
===  =================  =======================  ===  ==========================

The features, units and values are the original's (§14: observations keep the original's
values). The original declares ``Box(0, 1000)`` but does not clip, so its receive rate
(hundreds of thousands of bit/s) lies far outside that Box; netgym keeps the raw value and
declares a Box that contains it: a minute of round-trip time or congestion signal, 10 Gbit/s
of receive rate. Values beyond these bounds (never sent by a sane peer) are clipped and
counted in ``info["clipped_values"]``. :class:`RmcatMbpsAdapter` is the opt-in that observes
the receive rate in Mbps (bit/s / 10⁶), the same scale as the other rows, selected with
``rl_config.adapter = "netgym_client.adapters.rmcat:RmcatMbpsAdapter"`` (or
``NetworkGymEnv("rmcat", adapter=RmcatMbpsAdapter)``). A missing flow's value is 0
(``info["filled_values"]``).

Action Space: ``Box(150000, 1500000, (F,), float32)``: the sending rate in bit/s. Clipped into
the Box (the original sends any value unclipped).

Policy sent: one record copied from the ``rmcat::rtt`` row (source ``rmcat``, its ``ts``),
``name`` ``"srate"``, ``id`` the flows ``0 … F-1``, ``value = action.tolist()``. ``None`` or an
empty action sends ``value: []``: NADA decides.

Reward, by ``rl_config.reward_type``:

- ``"delay_aware_throughput"`` (netgym's default, §14), the mean over flows of::

      ln(clip(rrate_bps, 10⁴, 10⁸) / 10⁶) − clip(qdel_ms, 0, 1000) / 100

  the log of the receive rate in Mbps minus the queuing delay in units of 100 ms: 100 ms of
  queuing costs as much as dividing the receive rate by e. The rate is held in [10 kbit/s,
  100 Mbit/s] so that an idle flow stays finite; a missing value reads 0. Bounds:
  [ln 0.01 − 10, ln 100] ≈ [−14.605, 4.605].
- ``""``: constant 0.0, as the original.

Episode End: ``truncated`` after ``steps_per_episode`` measurements, ``terminated`` at the
end of the session (handled by the environment).

Arguments: ``env_config.nada_flows``; ``rl_config.reward_type``.

>>> from netgym_client.config import load_config
>>> adapter = RmcatAdapter(load_config("rmcat"))
>>> adapter.action_space.low.tolist(), adapter.action_space.high.tolist()
([150000.0], [1500000.0])
>>> adapter.observation_space.high[:, 0].tolist()
[60000.0, 10000000000.0, 60000.0]
>>> round(delay_aware_throughput(np.array([2e6]), np.array([50.0])), 4)  # ln 2 − 0.5
0.1931
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from netgym_client.adapters.base import Adapter, PolicyRecords, template_record
from netgym_client.config import NetGymConfig
from netgym_client.stats import NetworkStats

__all__ = [
    "DELAY_AWARE_BOUNDS",
    "OBS_KEYS",
    "RmcatAdapter",
    "RmcatMbpsAdapter",
    "delay_aware_throughput",
]

#: Observation rows, in order: round-trip time, receive rate, congestion signal.
OBS_KEYS = ("rmcat::rtt", "rmcat::rrate", "rmcat::xcurr")
#: Upper bounds of the observation rows: RTT (ms), receive rate (bit/s), congestion signal.
RTT_HIGH_MS = 60_000.0
RRATE_HIGH_BPS = 1e10
XCURR_HIGH = 60_000.0
#: NADA's sending-rate range, bit/s (the original's action Box; RFC 8698 RMIN/RMAX).
MIN_RATE_BPS, MAX_RATE_BPS = 150_000.0, 1_500_000.0
#: ``delay_aware_throughput``: receive rate range, bit/s; queuing delay cap and scale, ms.
RATE_FLOOR_BPS, RATE_CEIL_BPS = 1e4, 1e8
QDEL_CAP_MS, QDEL_SCALE_MS = 1000.0, 100.0
BPS_PER_MBPS = 1e6
#: Bounds of ``delay_aware_throughput``.
DELAY_AWARE_BOUNDS = (
    math.log(RATE_FLOOR_BPS / BPS_PER_MBPS) - QDEL_CAP_MS / QDEL_SCALE_MS,
    math.log(RATE_CEIL_BPS / BPS_PER_MBPS),
)


def delay_aware_throughput(rrate_bps: np.ndarray, qdel_ms: np.ndarray) -> float:
    """Mean over flows of ``ln(clip(rrate, 1e4, 1e8) / 1e6) − clip(qdel, 0, 1000) / 100``."""
    rate = np.clip(np.asarray(rrate_bps, dtype=np.float64), RATE_FLOOR_BPS, RATE_CEIL_BPS)
    qdel = np.clip(np.asarray(qdel_ms, dtype=np.float64), 0.0, QDEL_CAP_MS)
    if rate.size == 0:
        return 0.0
    return float(np.mean(np.log(rate / BPS_PER_MBPS) - qdel / QDEL_SCALE_MS))


class RmcatAdapter(Adapter):
    """Adapter of the ``rmcat`` congestion-control environment; see the module docs.

    Attributes:
        num_flows: F, the NADA flows the agent drives.
        ids: The flow ids ``0 … F-1``.
    """

    env_name = "rmcat"
    #: Divisor applied to ``rmcat::rrate`` (bit/s) in the observation: 1 keeps bit/s.
    rrate_divisor: float = 1.0

    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.num_flows = int(config.env_config["nada_flows"])
        self.ids = np.arange(self.num_flows)
        self.reward_type = str(config.rl_config.get("reward_type", ""))
        high = np.array([RTT_HIGH_MS, RRATE_HIGH_BPS / self.rrate_divisor, XCURR_HIGH])
        self.observation_space = gym.spaces.Box(
            np.zeros((len(OBS_KEYS), self.num_flows), dtype=np.float32),
            np.repeat(high[:, None], self.num_flows, axis=1).astype(np.float32),
            dtype=np.float32,
        )
        self.action_space = gym.spaces.Box(
            MIN_RATE_BPS, MAX_RATE_BPS, (self.num_flows,), np.float32
        )

    def observation(self, stats: NetworkStats) -> np.ndarray:
        """Round-trip time, receive rate and congestion signal per flow."""
        self.reset_counts()
        rows = np.vstack([self.fill(stats, key, self.ids) for key in OBS_KEYS])
        rows[1] = rows[1] / self.rrate_divisor
        return self.clip_observation(rows)

    def reward(self, stats: NetworkStats) -> float:
        """``delay_aware_throughput`` over the flows (default), or 0.0 (``reward_type ""``)."""
        if self.reward_type != "delay_aware_throughput":
            return 0.0
        rrate = stats.get("rmcat::rrate", ids=self.ids, fill=0.0)
        qdel = stats.get("rmcat::qdel", ids=self.ids, fill=0.0)
        return delay_aware_throughput(rrate, qdel)

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        """One ``rmcat::srate`` record with the sending rate(s) in bit/s."""
        prepared = self.prepare_action(action)
        value = [] if prepared is None else prepared.tolist()
        return template_record(stats, "rmcat::rtt", "srate", value, ids=self.ids)


class RmcatMbpsAdapter(RmcatAdapter):
    """The rmcat adapter with ``rmcat::rrate`` observed in Mbps (opt-in; see module docs)."""

    rrate_divisor = BPS_PER_MBPS
