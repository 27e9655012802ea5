"""The sub-step of the multi-access network as one compiled loop (numba), when numba is there.

Rules:
- :func:`tick_core` does, user by user, exactly what the numpy code of
  :meth:`netgym_sim.model.network.MultiAccessNetwork._tick` does after the walk, the radio
  update, the UDP arrivals and the split lag: TCP sending, spreading over the links, max-min
  fair sharing per cell, queues and overflow, the TCP window update and, in a measured
  sub-step, the delay and violation accumulators. The equations and their sources are in
  :mod:`netgym_sim.model.network`, :mod:`netgym_sim.model.tcp`,
  :mod:`netgym_sim.model.gma` and :mod:`netgym_sim.model.scheduling`; this module only
  reorders the arithmetic into loops, so that a sub-step costs arithmetic instead of ~100
  numpy calls.
- It is compiled with ``numba.njit(cache=True)`` when numba is importable (extra ``[fast]``);
  :data:`COMPILED` says whether it is. Without numba the network uses its numpy code, and
  this function still runs as plain Python (the equivalence tests use that).
- Results agree with the numpy code to rounding (sums are taken in another order), so one
  machine gives byte-identical sessions for a seed either way it runs; two machines, one
  with numba and one without, may differ in the last digit of a reported value.
- LTE scheduled by slice (network_slicing) is not done here: the network keeps its numpy
  code then.
- BBR's per-sub-step bookkeeping is here too (:func:`windows`: what
  :meth:`netgym_sim.model.tcp.TcpSenders.set_bbr_windows` does after the LTE-bound flags;
  :func:`delivery`: what :meth:`~netgym_sim.model.tcp.TcpSenders.on_bbr_delivery` does with
  :func:`netgym_sim.model.gma.in_order_bits`), and :func:`run_sub_steps`, which runs the
  split lag, BBR and :func:`tick_core` sub-step after sub-step (driven by
  :mod:`netgym_sim.model.substeps`). They live in one file because numba's on-disk cache
  is invalidated by a change of the file a function is in, not of the files it calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["COMPILED", "delivery", "run_sub_steps", "tick_core", "windows"]

_WIFI = 0  # netgym_sim.model.topology.WIFI (this module imports nothing of the model)

logger = logging.getLogger(__name__)


def _jit(function: Callable[..., Any]) -> tuple[Callable[..., Any], bool]:
    try:
        import numba  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return function, False
    return numba.njit(cache=True, nogil=True)(function), True


def _throughput_fair_py(  # noqa: PLR0917 - the group, then the state it reads and writes
    wanted: np.ndarray,
    members: np.ndarray,
    links: int,
    capacity: np.ndarray,
    contention: np.ndarray,
    out_share: np.ndarray,
) -> None:
    """One Wi-Fi group's time shares, max-min fair in throughput
    (:func:`netgym_sim.model.scheduling.max_min_time_share` with each user's time per bit)."""
    size = wanted.shape[0]
    weight = np.empty(size)
    asked = np.empty(size)
    for i in range(size):
        m = members[i]
        cap = capacity[m // links, m % links]
        weight[i] = contention[m // links] / cap if cap > 0.0 else 1.0
        asked[i] = wanted[i] / weight[i]
    order = np.argsort(asked, kind="mergesort")
    remaining = np.empty(size)  # the weight of the users from each (in order) on
    remaining[size - 1] = weight[order[size - 1]]
    for j in range(size - 2, -1, -1):
        remaining[j] = remaining[j + 1] + weight[order[j]]
    level = math.inf
    before = 0.0
    for j in range(size):
        i = order[j]
        if before + asked[i] * remaining[j] >= 1.0:
            level = (1.0 - before) / remaining[j]
            break
        before += wanted[i]
    for i in range(size):
        m = members[i]
        out_share[m // links, m % links] = min(wanted[i], weight[i] * level)


_throughput_fair, _ = _jit(_throughput_fair_py)


def _tick_core(  # noqa: PLR0917 - one argument per array of the network's state
    dt_ms: float,
    now_ms: float,
    measured: bool,
    applied: np.ndarray,
    usable: np.ndarray,
    arrivals: np.ndarray,
    queue: np.ndarray,
    rate_bits_ms: np.ndarray,
    flat_group: np.ndarray,
    busy_group: np.ndarray,
    group_count: int,
    buffer_bits: np.ndarray,
    fixed_ms: np.ndarray,
    tx_ms: np.ndarray,
    thresholds: np.ndarray,
    reordering: float,
    max_busy: float,
    tcp_any: bool,
    tcp: np.ndarray,
    tcp_params: np.ndarray,
    mss: np.ndarray,
    start_ms: np.ndarray,
    cwnd: np.ndarray,
    ssthresh: np.ndarray,
    recovery_until: np.ndarray,
    silent_until: np.ndarray,
    rtt: np.ndarray,
    applied_reverse: np.ndarray,
    usable_reverse: np.ndarray,
    ack_base_ms: np.ndarray,
    ack_per_bit: np.ndarray,
    out_share: np.ndarray,
    out_capacity: np.ndarray,
    out_served: np.ndarray,
    out_offered: np.ndarray,
    acc_offered: np.ndarray,
    acc_link_offered: np.ndarray,
    acc_served: np.ndarray,
    acc_lost: np.ndarray,
    acc_link_delay: np.ndarray,
    acc_link_max: np.ndarray,
    acc_delay: np.ndarray,
    acc_max: np.ndarray,
    acc_violation: np.ndarray,
    acc_time_share: np.ndarray,
    acc_ack: np.ndarray,
    tsc_bits: np.ndarray,
    tsc_delay: np.ndarray,
    contention: np.ndarray,
) -> None:
    n, links = queue.shape
    burst_loss, min_rto, max_cwnd = tcp_params[0], tcp_params[1], tcp_params[2]
    send = arrivals.copy()
    if tcp_any:
        for u in range(n):
            started = min(max((now_ms + dt_ms - start_ms[u]) / dt_ms, 0.0), 1.0)
            if now_ms < silent_until[u]:
                started = 0.0
            send[u] += cwnd[u] * (started * dt_ms / max(rtt[u], 1e-3))
    # Spread over the usable links; demands of every cell.
    spread = np.zeros((n, links))
    routed = np.zeros(n, dtype=np.bool_)
    lost = np.zeros(n)
    backlog = np.zeros((n, links))
    demand = np.zeros((n, links))
    for u in range(n):
        total = 0.0
        for k in range(links):
            if usable[u, k]:
                total += applied[u, k]
        if total > 0.0:
            routed[u] = True
            for k in range(links):
                w = applied[u, k] if usable[u, k] else 0.0
                spread[u, k] = w / total
        else:
            lost[u] = send[u]
        for k in range(links):
            offered = send[u] * spread[u, k]
            out_offered[u, k] = offered
            cap = rate_bits_ms[u, k] * dt_ms
            out_capacity[u, k] = cap
            backlog[u, k] = queue[u, k] + offered
            demand[u, k] = backlog[u, k] / cap if cap > 0.0 else 0.0
    # Max-min fair time shares per group (scheduling.max_min_time_share).
    counts = np.zeros(group_count + 1, dtype=np.int64)
    for u in range(n):
        for k in range(links):
            g = flat_group[u, k]
            if g >= 0:
                counts[g + 1] += 1
    for g in range(group_count):
        counts[g + 1] += counts[g]
    members = np.empty(counts[group_count], dtype=np.int64)
    fill = counts[:group_count].copy()
    for u in range(n):
        for k in range(links):
            g = flat_group[u, k]
            if g >= 0:
                members[fill[g]] = u * links + k
                fill[g] += 1
    for u in range(n):
        for k in range(links):
            out_share[u, k] = 0.0
    for g in range(group_count):
        lo, hi = counts[g], counts[g + 1]
        size = hi - lo
        if size == 0:
            continue
        wanted = np.empty(size)
        for i in range(size):
            m = members[lo + i]
            wanted[i] = min(max(demand[m // links, m % links], 0.0), 1.0)
        if members[lo] % links == _WIFI:  # throughput-fair: weights, time per bit
            _throughput_fair(wanted, members[lo:hi], links, out_capacity, contention, out_share)
            continue
        ordered = np.sort(wanted)
        level = math.inf
        before = 0.0
        for i in range(size):
            if before + ordered[i] * (size - i) >= 1.0:
                level = (1.0 - before) / (size - i)
                break
            before += ordered[i]
        for i in range(size):
            m = members[lo + i]
            out_share[m // links, m % links] = min(wanted[i], level)
    # Queues, overflow, TCP.
    served = out_served
    overflow = np.zeros(n)
    queue0 = queue.copy()
    for u in range(n):
        for k in range(links):
            s = min(backlog[u, k], out_share[u, k] * out_capacity[u, k])
            served[u, k] = s
            q1 = backlog[u, k] - s
            over = max(q1 - buffer_bits[u, k], 0.0)
            queue[u, k] = q1 - over
            overflow[u] += over
    if tcp_any:
        end_ms = now_ms + dt_ms
        for u in range(n):
            acked = 0.0
            one_way = 0.0
            for k in range(links):
                s = served[u, k]
                acked += s
                drain = s / dt_ms if s > 0.0 else max(rate_bits_ms[u, k], 1e-9)
                if spread[u, k] > 0.0:
                    one_way = max(one_way, fixed_ms[u, k] + queue[u, k] / drain)
            # The ACK's way back: the reverse direction's preferred usable link (first on ties).
            ack_ms, best = 0.0, -1.0
            for k in range(links):
                if usable_reverse[u, k] and applied_reverse[u, k] + 1e-9 > best:
                    best = applied_reverse[u, k] + 1e-9
                    ack_ms = ack_base_ms[u, k]
            new_rtt = one_way + ack_ms if routed[u] else rtt[u]
            dropped = overflow[u] + lost[u]
            recovering = end_ms < recovery_until[u]
            event = dropped > 0.0 and tcp[u] and not recovering
            if event:
                halved = max(cwnd[u] * 0.5, 2.0 * mss[u])
                timeout = dropped > burst_loss * mss[u]
                ssthresh[u] = halved
                cwnd[u] = mss[u] if timeout else halved
                rto = max(min_rto, 2.0 * new_rtt)
                if timeout:
                    silent_until[u] = end_ms + rto
                    recovery_until[u] = end_ms + rto
                else:
                    recovery_until[u] = end_ms + new_rtt
            if tcp[u] and not event and not recovering:
                if cwnd[u] < ssthresh[u]:
                    cwnd[u] = min(cwnd[u] + acked, max_cwnd)
                else:
                    cwnd[u] = min(cwnd[u] + mss[u] * acked / max(cwnd[u], 1.0), max_cwnd)
            rtt[u] = new_rtt
    if not measured:
        return
    # Delays of the packets delivered in this sub-step (gma.py).
    busy_cell = np.zeros(max(group_count, 1))
    for u in range(n):
        for k in range(links):
            c = busy_group[u, k]
            if c >= 0:
                busy_cell[c] += out_share[u, k]
    # Wi-Fi: one transmit queue per AP (gma.queue_waits_ms).
    cell_q0 = np.zeros(max(group_count, 1))
    cell_q1 = np.zeros(max(group_count, 1))
    cell_rate = np.zeros(max(group_count, 1))
    for u in range(n):
        c = busy_group[u, _WIFI]
        if c >= 0 and served[u, _WIFI] > 0.0:
            cell_q0[c] += queue0[u, _WIFI]
            cell_q1[c] += queue[u, _WIFI]
            cell_rate[c] += served[u, _WIFI] / dt_ms
    lo_ms = np.empty(links)
    hi_ms = np.empty(links)
    mean_ms = np.empty(links)
    for u in range(n):
        slowest = -math.inf
        for k in range(links):
            s = served[u, k]
            rate = s / dt_ms if s > 0.0 else 1.0
            c = busy_group[u, k]
            rho = min(max(busy_cell[c], 0.0), max_busy) if c >= 0 else 0.0
            wait = rho / (2.0 * (1.0 - rho)) * tx_ms[u, k]
            q0, q1 = queue0[u, k], queue[u, k]
            if k == _WIFI and c >= 0 and s > 0.0 and cell_rate[c] > 0.0:
                q0, q1, rate = cell_q0[c], cell_q1[c], cell_rate[c]
            lo_ms[k] = fixed_ms[u, k] + min(q0, q1) / rate
            hi_ms[k] = fixed_ms[u, k] + max(q0, q1) / rate + 2.0 * wait
            mean_ms[k] = 0.5 * (lo_ms[k] + hi_ms[k])
            if s > 0.0:
                slowest = max(slowest, mean_ms[k])
        acc_offered[u] += send[u]
        acc_lost[u] += lost[u] + overflow[u]
        if tcp_any and tcp[u]:
            acked = 0.0
            for k in range(links):
                acked += served[u, k]
            acc_ack[u] += acked * ack_per_bit[u]
        top = acc_max[u]
        for k in range(links):
            s = served[u, k]
            acc_link_offered[u, k] += out_offered[u, k]
            acc_served[u, k] += s
            acc_link_delay[u, k] += s * mean_ms[k]
            acc_time_share[u, k] += out_share[u, k] * dt_ms
            tsc_bits[u, k] += s
            tsc_delay[u, k] += s * mean_ms[k]
            if s <= 0.0:
                continue
            acc_link_max[u, k] = max(acc_link_max[u, k], hi_ms[k])
            shift = reordering * (slowest - mean_ms[k])
            acc_delay[u] += s * (mean_ms[k] + shift)
            top = max(top, hi_ms[k] + shift)
            lo_s, hi_s = lo_ms[k] + shift, hi_ms[k] + shift
            width = hi_s - lo_s
            for j in range(thresholds.shape[1]):
                t = thresholds[u, j]
                if width > 0.0:
                    late = min(max(hi_s - t, 0.0), width) / width
                else:
                    late = 1.0 if lo_s > t else 0.0
                acc_violation[u, j] += s * late
        acc_max[u] = top


tick_core, COMPILED = _jit(_tick_core)
#: The same function, never compiled (for tests that compare the two).
tick_core_python = _tick_core


# -- BBR's bookkeeping ----------------------------------------------------------------------
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


windows, _ = _jit(_windows)
delivery, _ = _jit(_delivery)


# -- a run of sub-steps ---------------------------------------------------------------------
def _run_sub_steps(  # noqa: PLR0917 - the run, then the state's tuples
    dts: Any,
    nows: Any,
    measured: Any,
    arrived: Any,
    lags: Any,
    applied: Any,
    target: Any,
    usable: Any,
    bbr_any: bool,
    windows_state: Any,
    delivery_state: Any,
    tick_state: Any,
) -> None:
    """The run's sub-steps; ``applied``, ``target``: the (traffic, reverse) direction's."""
    queue, rate, rtt = tick_state[0], tick_state[1], tick_state[20]
    served, offered = tick_state[27], tick_state[28]
    n, links = queue.shape
    for s in range(dts.shape[0]):
        dt_ms, now_ms, lag = dts[s], nows[s], lags[s]
        for now, aim in ((applied[0], target[0]), (applied[1], target[1])):
            for u in range(n):
                for k in range(links):
                    now[u, k] += (aim[u, k] - now[u, k]) * lag
        if bbr_any:
            windows(rtt, queue, rate, usable, *windows_state)
        tick_core(dt_ms, now_ms, measured[s], applied[0], usable, arrived[s], *tick_state)
        if bbr_any:
            delivery(now_ms + dt_ms, dt_ms, served, offered, rtt, *delivery_state)


run_sub_steps, _ = _jit(_run_sub_steps)
