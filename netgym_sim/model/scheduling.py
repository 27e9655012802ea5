"""Sharing a cell's time among its users: max-min fair (water-filling) time shares.

Both LTE/NR resource blocks and Wi-Fi airtime are shared here as *time*: every cell (or, with
``ap_share_same_band``, the one band all APs contend in) has one unit of time per unit of
time, and each user asks for the share ``demand = load / link_rate`` it would need to carry
its load at its own link rate. The allocation is max-min fair in time: users asking for less
than an equal share get what they ask, the rest is split equally among the others. That is
what a proportional-fair scheduler converges to for users with static channels (equal time
for backlogged users, Jalali, Padovani, Pankaj, "Data throughput of CDMA-HDR", VTC 2000) and
what Wi-Fi's DCF gives saturated stations with aggregation (equal airtime). Unused time is
never given to a user that does not need it, so a lightly loaded user's rate equals its load.

Properties used by the laws: ``0 <= share <= demand``, the shares of a group sum to at most
1 (MODEL.md L5), and adding a user to a group never raises anyone else's share (L6).
"""

from __future__ import annotations

import numpy as np

from netgym_sim.model.topology import FloatArray, IntArray

__all__ = ["max_min_time_share"]


def max_min_time_share(demand: FloatArray, group: IntArray, num_groups: int) -> FloatArray:
    """Max-min fair time shares of users grouped by cell.

    Args:
        demand: ``(n,)`` share of time each user would need (≥ 0; values above 1 act as 1).
        group: ``(n,)`` group (cell) of each user in ``[0, num_groups)``, or ``-1`` for users
            without a cell (they get 0).
        num_groups: Number of groups.

    Returns:
        ``(n,)`` time shares: ``min(demand, level[group])`` where each group's water level
        makes its shares sum to 1, or is infinite when the group's demands sum to at most 1.
    """
    n = demand.shape[0]
    share = np.zeros(n)
    member = group >= 0
    if num_groups == 0 or not np.any(member):
        return share
    d = np.clip(demand[member], 0.0, 1.0)
    g = group[member]
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
