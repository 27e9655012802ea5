"""A run of sub-steps between two radio updates in one compiled call.

:class:`SubSteps` collects the sub-steps a network (or a lock-step group of networks,
:mod:`netgym_sim.model.batch`) runs before its next radio update; :func:`run` then does, for
each of them in order, what the network's sub-step does after the radio update: the split
lag, BBR's windows, :func:`netgym_sim.model._kernel.tick_core` and BBR's delivery update,
all inside one call of :func:`netgym_sim.model._kernel.run_sub_steps` (compiled with numba,
like the kernel), so a sub-step costs its arithmetic, not a dozen Python calls.

Rules:
- The same operations in the same order as one sub-step at a time, so the same bits: the
  lag is ``applied += (target − applied) · f`` element by element, as numpy's; the UDP
  arrivals of all the run's sub-steps are drawn in one call from the network's own stream,
  sub-step after sub-step (numpy draws an array's elements in order: the same draws as one
  call per sub-step); the accumulators' time adds up sub-step by sub-step.
- Only the state a sub-step reads or writes is passed, by name, from a mapping (the
  network's own ``vars``, or the lock-step group's stacked arrays): one call site for both.
- Used where the kernel runs the sub-steps (numba installed, LTE not scheduled by slice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netgym_sim.model import _kernel, gma
from netgym_sim.model.stats import Accumulator
from netgym_sim.model.tcp import TcpSenders
from netgym_sim.model.topology import FloatArray

__all__ = ["SubSteps", "run"]


class SubSteps:
    """The sub-steps collected for one run: length, start time and whether each is measured."""

    def __init__(self) -> None:
        self.dts: list[float] = []
        self.nows: list[float] = []
        self.measured: list[bool] = []

    def add(self, dt_ms: float, now_ms: float, measured: bool) -> None:
        self.dts.append(dt_ms)
        self.nows.append(now_ms)
        self.measured.append(measured)

    def __len__(self) -> int:
        return len(self.dts)

    def clear(self) -> None:
        self.dts.clear()
        self.nows.clear()
        self.measured.clear()


def arrivals(rate_mbps: FloatArray, dts: FloatArray) -> FloatArray:
    """``(k, n)`` bits every user's sender gets in each of the ``k`` sub-steps (constant
    rate; the Poisson flows' draws are made by the caller, in place)."""
    bits: FloatArray = rate_mbps[None, :] * (dts[:, None] * 1000.0)  # Mbit/s × ms = kbit
    return bits


def run(
    steps: SubSteps,
    arrived: FloatArray,
    state: Mapping[str, Any],
    groups: tuple[np.ndarray, np.ndarray, int],
    *,
    tcp: TcpSenders,
    acc: Accumulator,
    tcp_params: FloatArray,
    lag_tau_ms: float,
    d: int,
) -> None:
    """Run ``steps`` (then cleared) on ``state``'s arrays; ``arrived``: ``(k, n)`` arrivals
    of each sub-step; ``groups``: the flat and busy sharing groups and their count."""
    if not steps:
        return
    for dt_ms, measured in zip(steps.dts, steps.measured, strict=True):
        if measured:
            acc.ms += dt_ms
    r = 1 - d
    flat_group, busy_group, group_count = groups
    applied = state["applied"]
    tick_state = (
        state["queue_bits"],
        state["_rate_bits_ms"][d],
        flat_group,
        busy_group,
        group_count,
        state["_buffer_bits"],
        state["_fixed_tx_ms"],
        state["_tx_ms"][d],
        state["_thresholds"],
        gma.REORDERING_FACTOR,
        gma.MAX_BUSY,
        tcp.any,
        tcp.tcp,
        tcp_params,
        tcp.mss,
        tcp.start_ms,
        tcp.cwnd_bits,
        tcp.ssthresh_bits,
        tcp.recovery_until_ms,
        tcp.silent_until_ms,
        state["rtt_ms"],
        applied[r],
        state["_usable"][r],
        state["_ack_base_ms"],
        tcp.ack_per_bit,
        state["last_share"],
        state["last_capacity_bits"],
        state["last_served_bits"],
        state["last_offered_bits"],
        acc.offered_bits,
        acc.link_offered_bits,
        acc.served_bits,
        acc.lost_bits,
        acc.link_delay_bits_ms,
        acc.link_max_ms,
        acc.delay_bits_ms,
        acc.max_ms,
        acc.violation_bits,
        acc.time_share_ms,
        acc.ack_bits,
        state["_tsc_bits"],
        state["_tsc_delay_bits_ms"],
        state["_contention"],
    )
    dts = np.asarray(steps.dts, dtype=np.float64)
    lags = np.asarray([gma.lag_factor(dt, lag_tau_ms) for dt in steps.dts], dtype=np.float64)
    _kernel.run_sub_steps(
        dts,
        np.asarray(steps.nows, dtype=np.float64),
        np.asarray(steps.measured, dtype=np.bool_),
        arrived,
        lags,
        (applied[d], applied[r]),  # (each C-contiguous, also as a stacked group's slices)
        (state["target"][d], state["target"][r]),
        state["_usable"][d],
        tcp.bbr_any,
        tcp.windows_state(),
        tcp.delivery_state(),
        tick_state,
    )
    steps.clear()
