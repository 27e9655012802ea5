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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["COMPILED", "tick_core"]

_WIFI = 0  # netgym_sim.model.topology.WIFI (this module imports nothing of the model)

logger = logging.getLogger(__name__)


def _jit(function: Callable[..., Any]) -> tuple[Callable[..., Any], bool]:
    try:
        import numba  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return function, False
    return numba.njit(cache=True, nogil=True)(function), True


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
