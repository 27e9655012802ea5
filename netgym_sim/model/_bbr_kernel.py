"""BBR's per-sub-step bookkeeping as compiled loops (numba), when numba is there.

Rules:
- :func:`windows` does, flow by flow, what :meth:`netgym_sim.model.tcp.TcpSenders.
  set_bbr_windows` does after :meth:`netgym_sim.model.network.MultiAccessNetwork._lte_bound`;
  :func:`delivery` what :meth:`~netgym_sim.model.tcp.TcpSenders.on_bbr_delivery` does with
  :func:`netgym_sim.model.gma.in_order_bits`. The equations and their sources are there; this
  module only reorders the arithmetic into loops (two calls instead of ~60 numpy calls a
  sub-step).
- Compiled like :mod:`netgym_sim.model._kernel` (``numba.njit(cache=True)``, extra ``[fast]``);
  without numba the numpy code runs, and these functions still run as plain Python (the
  equivalence test uses that). Results are the numpy code's, element by element.
"""

from __future__ import annotations

import math
from typing import Any

from netgym_sim.model._kernel import _jit

__all__ = ["delivery", "windows"]

_STARTUP, _DRAIN, _PROBE_BW = 0, 1, 2


def _windows(  # noqa: PLR0917 - one argument per array of the senders' state
    rtt_ms: Any,
    queue_bits: Any,
    rate_bits_ms: Any,
    usable: Any,
    lte: int,
    bbr: Any,
    mss: Any,
    btlbw: Any,
    rtprop_ms: Any,
    phase: Any,
    cycle: Any,
    cycle_gains: Any,
    lte_bound: Any,
    lte_extra: Any,
    cwnd: Any,
    consts: Any,
) -> None:
    """Each BBR flow's LTE-bound flag and window for the next sub-step (arrays in place).

    ``consts``: high gain, window gain, aggregation, extra-acked ms, initial window segments,
    least window segments, largest window bits.
    """
    high, cwnd_gain, lift, extra_ms = consts[0], consts[1], consts[2], consts[3]
    initial_segments, min_segments, max_cwnd = consts[4], consts[5], consts[6]
    n, links = queue_bits.shape
    for i in range(n):
        longest = -1.0
        lte_wait = -1.0
        for k in range(links):
            wait = queue_bits[i, k] / max(rate_bits_ms[i, k], 1e-9) if usable[i, k] else -1.0
            if k == 0 or wait > longest:
                longest = wait
            if k == lte:
                lte_wait = wait
        lte_bound[i] = 1.0 if (lte_wait > 0.0 and lte_wait >= longest) else 0.0
        if not bbr[i]:
            continue
        rtt = max(rtt_ms[i], 1e-3)
        rtprop = rtprop_ms[i] if math.isfinite(rtprop_ms[i]) else rtt
        bw = btlbw[i] if btlbw[i] > 0.0 else initial_segments * mss[i] / rtt
        if phase[i] == _STARTUP:
            pacing, gain = high, high
        elif phase[i] == _DRAIN:
            pacing, gain = 1.0 / high, cwnd_gain
        else:
            pacing, gain = cycle_gains[cycle[i]], cwnd_gain
        extra = bw * extra_ms + lte_extra[i]
        window = min(pacing * lift * bw * rtt + lte_extra[i], gain * bw * rtprop + extra)
        cwnd[i] = min(max(window, min_segments * mss[i]), max_cwnd)


def _delivery(  # noqa: PLR0917 - one argument per array of the senders' state
    now_ms: float,
    dt_ms: float,
    served: Any,
    offered: Any,
    rtt_ms: Any,
    bbr: Any,
    start_ms: Any,
    round_max: Any,
    rtprop_ms: Any,
    round_start_ms: Any,
    cycle_start_ms: Any,
    bw_rounds: Any,
    rounds: Any,
    btlbw: Any,
    full_bw: Any,
    full_bw_count: Any,
    phase: Any,
    cycle: Any,
    lte_bound: Any,
    lte_extra: Any,
    min_share: float,
    growth: float,
    full_rounds: int,
    cycle_len: int,
) -> None:
    """Each BBR flow's path model after a sub-step (arrays in place)."""
    n, links = served.shape
    window = bw_rounds.shape[1]
    for i in range(n):
        total = 0.0
        every = 0.0
        for k in range(links):
            total += offered[i, k]
            every += served[i, k]
        bound = math.inf
        for k in range(links):
            share = offered[i, k] / (total if total > 0.0 else 1.0)
            if share > min_share:
                bound = min(bound, served[i, k] / share)
        delivered = min(bound, every) if math.isfinite(bound) else every
        live = bbr[i] and now_ms >= start_ms[i]
        if live:
            round_max[i] = max(round_max[i], delivered / dt_ms)
            rtprop_ms[i] = min(rtprop_ms[i], rtt_ms[i])
            first = not math.isfinite(round_start_ms[i])
            if first:
                round_start_ms[i] = now_ms
                cycle_start_ms[i] = now_ms
            elif now_ms >= round_start_ms[i] + max(rtt_ms[i], dt_ms):
                bw_rounds[i, rounds[i] % window] = round_max[i]
                rounds[i] += 1
                best = bw_rounds[i, 0]
                for j in range(1, window):
                    best = max(best, bw_rounds[i, j])
                btlbw[i] = best
                round_max[i] = 0.0
                round_start_ms[i] = now_ms
                if btlbw[i] >= full_bw[i] * 1.25:
                    full_bw[i] = btlbw[i]
                    full_bw_count[i] = 0
                else:
                    full_bw_count[i] += 1
                if phase[i] == _DRAIN:
                    phase[i] = _PROBE_BW
                    cycle_start_ms[i] = now_ms
                elif phase[i] == _STARTUP and full_bw_count[i] >= full_rounds:
                    phase[i] = _DRAIN
        probing = live and phase[i] == _PROBE_BW
        if lte_bound[i] > 0.0:
            if probing:
                lte_extra[i] += growth * delivered
        else:
            lte_extra[i] = 0.0
        if probing:
            rtprop = rtprop_ms[i] if math.isfinite(rtprop_ms[i]) else rtt_ms[i]
            if now_ms >= cycle_start_ms[i] + rtprop:
                cycle[i] = (cycle[i] + 1) % cycle_len
                cycle_start_ms[i] = now_ms


windows, COMPILED = _jit(_windows)
delivery, _ = _jit(_delivery)
