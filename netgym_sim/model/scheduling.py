"""Sharing a cell's time among its users: max-min fair (water-filling) shares.

Both LTE/NR resource blocks and Wi-Fi airtime are shared here as *time*: every cell (or, with
``ap_share_same_band``, the one band all APs contend in) has one unit of time per unit of
time, and each user asks for the share ``demand = load / link_rate`` it would need to carry
its load at its own link rate. Unused time is never given to a user that does not need it,
so a lightly loaded user's rate equals its load. What is fair among the others:

- LTE/NR: equal *time* (users asking for less than an equal share get what they ask, the rest
  is split equally among the others). That is what a proportional-fair scheduler converges
  to for users with static channels (equal time for backlogged users, Jalali, Padovani,
  Pankaj, "Data throughput of CDMA-HDR", VTC 2000).
- Wi-Fi: equal *throughput* (``weight`` = each user's time per bit): one AP's DCF sends its
  stations' packets in turn, so a station at a low rate holds the channel longer per packet
  and every backlogged station gets the same rate, the slowest's pace setting everyone's —
  the 802.11 "performance anomaly" (Heusse, Rousseau, Berger-Sabbatel, Duda, INFOCOM 2003).
  fixtures/ns3 shows it: two backlogged users of one AP whose levels differ 1.67× (median,
  122 interval pairs of the ``*_tcp_wifi_*`` recordings) or 2.2× (197) get rates 0.98× and
  1.01× each other's (median).

Properties used by the laws: ``0 <= share <= demand``, the shares of a group sum to at most
1 (MODEL.md L5), and adding a user to a group never raises anyone else's share (L6).
"""

from __future__ import annotations

import numpy as np

from netgym_sim.model.topology import FloatArray, IntArray

__all__ = ["max_min_time_share"]


def max_min_time_share(
    demand: FloatArray, group: IntArray, num_groups: int, weight: FloatArray | None = None
) -> FloatArray:
    """Max-min fair time shares of users grouped by cell.

    Args:
        demand: ``(n,)`` share of time each user would need (≥ 0; values above 1 act as 1).
        group: ``(n,)`` group (cell) of each user in ``[0, num_groups)``, or ``-1`` for users
            without a cell (they get 0).
        num_groups: Number of groups.
        weight: ``(n,)`` time per unit of what is shared fairly (> 0): None (all 1) shares
            time max-min fairly; each user's time per bit shares throughput so.

    Returns:
        ``(n,)`` time shares: ``min(demand, weight · level[group])`` where each group's water
        level makes its shares sum to 1, or is infinite when the group's demands sum to at
        most 1.
    """
    n = demand.shape[0]
    share = np.zeros(n)
    member = group >= 0
    if num_groups == 0 or not np.any(member):
        return share
    d = np.clip(demand[member], 0.0, 1.0)
    g = group[member]
    if weight is not None:
        share[member] = _weighted_shares(d, g, weight[member])
        return share
    order = np.lexsort((d, g))
    d_sorted = d[order]
    g_sorted = g[order]
    counts = np.bincount(g_sorted, minlength=num_groups)
    starts = np.cumsum(counts) - counts
    total = np.cumsum(d_sorted)
    # Exclusive prefix sum of the sorted demands within each group.
    group_offset = np.concatenate(([0.0], total))[starts]
    before = total - d_sorted - group_offset[g_sorted]
    rank = np.arange(d_sorted.shape[0]) - starts[g_sorted]
    remaining = counts[g_sorted] - rank
    # Once the users from this one on all get this user's demand, the group is full. The
    # test is monotone along the sorted order, so the "full" users follow the others.
    full = before + d_sorted * remaining >= 1.0
    not_full = np.bincount(g_sorted, weights=(~full).astype(np.float64), minlength=num_groups)
    first_full = starts + not_full.astype(np.int64)
    saturated = not_full < counts
    level = np.full(num_groups, np.inf)
    idx = first_full[saturated]
    level[saturated] = (1.0 - before[idx]) / remaining[idx]
    share[member] = np.minimum(d, level[g])
    return share


def _weighted_shares(d: FloatArray, g: IntArray, a: FloatArray) -> FloatArray:
    """Time shares ``min(d, a · level)`` of the members (time demands ``d`` ≤ 1, groups
    ``g``, weights ``a``), group by group, summed in the order the compiled kernel sums
    (:func:`netgym_sim.model._kernel.tick_core`), so both give the same bits."""
    q = d / a  # each user's demand in the unit shared fairly
    share = np.empty(d.shape[0])
    for cell in np.unique(g):
        rows = np.nonzero(g == cell)[0]
        order = rows[np.argsort(q[rows], kind="stable")]
        before = np.concatenate(([0.0], np.cumsum(d[order])[:-1]))
        remaining = np.cumsum(a[order][::-1])[::-1]  # the weight of the users from each on
        full = np.nonzero(before + q[order] * remaining >= 1.0)[0]
        level = (1.0 - before[full[0]]) / remaining[full[0]] if full.size else np.inf
        share[rows] = np.minimum(d[rows], a[rows] * level)
    return share
