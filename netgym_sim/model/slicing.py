"""LTE RAN slicing: dedicated, prioritized and shared resource-block groups per slice.

The carrier's resource blocks come in resource-block groups (RBGs) of a size fixed by the
bandwidth (3GPP TS 36.213 Table 7.1.6.1-1, type-0 allocation): 1 RB below 10 RBs, 2 below
26, 3 below 63, 4 up to 110. Each slice of a cell holds three kinds of RBG allocation, as in
the ns-3 scenario behind NetworkGym's ``network_slicing`` environment:

- **dedicated**: only this slice's users are ever scheduled on them; what the slice does not
  use stays idle (MODEL.md L15);
- **prioritized**: this slice's users come first; what they leave is given to the other
  slices through the shared pool;
- **shared**: the most RBGs the slice may take from the common pool, which holds the RBGs
  that no slice dedicated or prioritized plus the prioritized RBGs their slices left. A cap,
  not a reservation: a count above ``R`` acts as ``R`` (the shipped ``nqos_split`` config has
  25 shared RBGs per slice on a 16.67-RBG carrier).

Time-share model, per LTE cell and per sub-step (shares are fractions of the carrier's
time × frequency, as in :mod:`netgym_sim.model.scheduling`): with ``D_s`` the sum of the
time shares slice ``s``'s users would need, and ``R`` the carrier's RBG count,

    a1_s = min(D_s, dedicated_s / R)
    a2_s = min(D_s − a1_s, prioritized_s / R)
    pool = 1 − Σ (dedicated + prioritized) / R + Σ (prioritized_s / R − a2_s)
    a3   = max-min fair split of ``pool`` over the slices' remaining demands, each capped at
           shared_s / R
    T_s  = a1_s + a2_s + a3_s, split max-min fairly among the slice's users.

So every slice gets what it owns first, and the common pool is shared max-min fairly among
the slices (the per-slice weighted round robin of slicing schedulers such as RadioSaber,
Chen et al., NSDI 2023, in fluid form), then among the users of a slice as the cell-wide
scheduler does for unsliced traffic. A slice's total ``T_s`` never falls when its own
dedicated or prioritized allocation grows (MODEL.md L16), and the shares of a cell sum to at
most 1 (L17: ``rb_usage`` ≤ 100 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netgym_sim.model.scheduling import max_min_time_share
from netgym_sim.model.topology import FloatArray, IntArray

__all__ = ["SliceAllocation", "rbg_count", "rbg_size", "sliced_time_share"]

#: Slack for comparing RBG sums (allocations arrive as JSON floats).
RBG_TOLERANCE = 1e-9


def rbg_size(resource_blocks: int) -> int:
    """RBs per RBG for a carrier of ``resource_blocks`` (TS 36.213 Table 7.1.6.1-1).

    Raises:
        ValueError: ``resource_blocks`` is outside 1…110.
    """
    if not 1 <= resource_blocks <= 110:
        raise ValueError(f"an LTE carrier has 1..110 resource blocks, got {resource_blocks}")
    if resource_blocks < 10:
        return 1
    if resource_blocks < 26:
        return 2
    if resource_blocks < 63:
        return 3
    return 4


def rbg_count(resource_blocks: int) -> float:
    """The carrier's RBGs as NetworkGym counts them: ``resource_blocks / rbg_size`` (float)."""
    return resource_blocks / rbg_size(resource_blocks)


@dataclass(frozen=True)
class SliceAllocation:
    """RBG allocations of every (LTE cell, slice), in RBGs.

    Attributes:
        rbgs: The carrier's RBG count ``R`` (:func:`rbg_count`).
        dedicated: ``(cells, slices)`` dedicated RBGs.
        prioritized: ``(cells, slices)`` prioritized RBGs.
        shared: ``(cells, slices)`` most RBGs each slice may take from the common pool.
    """

    rbgs: float
    dedicated: FloatArray
    prioritized: FloatArray
    shared: FloatArray

    def problems(self) -> list[str]:
        """What makes the allocation infeasible (empty when it fits the carrier).

        Negative or non-finite counts, and a cell whose dedicated plus prioritized RBGs
        exceed ``R``. Shared counts are caps and may exceed ``R``.
        """
        out = []
        for name, table in (
            ("dedicated", self.dedicated),
            ("prioritized", self.prioritized),
            ("shared", self.shared),
        ):
            if not np.all(np.isfinite(table)) or np.any(table < 0):
                out.append(f"{name} RBGs must be finite and >= 0")
        owned = self.dedicated.sum(axis=1) + self.prioritized.sum(axis=1)
        for cell in np.nonzero(owned > self.rbgs + RBG_TOLERANCE)[0]:
            out.append(
                f"cell {cell + 1}: dedicated + prioritized RBGs total {owned[cell]:g}, "
                f"{owned[cell] - self.rbgs:g} more than the carrier's {self.rbgs:g}"
            )
        return out


def _pooled_share(demand: FloatArray, group: IntArray, pool: FloatArray) -> FloatArray:
    """Max-min fair shares of ``demand`` within groups whose pools have sizes ``pool``.

    :func:`max_min_time_share` fills pools of size 1; scaling each group's demands by
    ``1 / pool`` and the shares back by ``pool`` fills pools of any size (0: nothing).
    """
    size = np.where(group >= 0, pool[np.maximum(group, 0)], 0.0)
    has = size > 0.0
    # a subnormal pool overflows the ratio to inf, which max_min_time_share caps at 1 (a full
    # pool of next to nothing): the right share, so the overflow is no error
    with np.errstate(over="ignore"):
        scaled = np.where(has, demand / np.where(has, size, 1.0), 0.0)
    share = max_min_time_share(scaled, np.where(has, group, -1), pool.shape[0])
    return share * size


def sliced_time_share(
    demand: FloatArray, cell: IntArray, slice_id: IntArray, alloc: SliceAllocation
) -> FloatArray:
    """Time shares of LTE users under the slices' RBG allocations (module docstring).

    Args:
        demand: ``(n,)`` time share each user would need (values above 1 act as 1).
        cell: ``(n,)`` LTE cell index of each user, ``-1`` when the user has none.
        slice_id: ``(n,)`` slice of each user in ``[0, slices)``.
        alloc: The allocation per cell and slice.

    Returns:
        ``(n,)`` shares: ``0 <= share <= demand``, summing to at most 1 per cell.
    """
    cells, slices = alloc.dedicated.shape
    n = demand.shape[0]
    member = cell >= 0
    if n == 0 or not np.any(member):
        return np.zeros(n)
    d = np.where(member, np.clip(demand, 0.0, 1.0), 0.0)
    group = np.where(member, cell * slices + slice_id, -1)
    size = cells * slices
    want: FloatArray = (
        np.bincount(np.maximum(group, 0), weights=d, minlength=size)
        .astype(np.float64)
        .reshape(cells, slices)
    )
    per_rbg = 1.0 / alloc.rbgs
    a1 = np.minimum(want, alloc.dedicated * per_rbg)
    a2 = np.minimum(want - a1, alloc.prioritized * per_rbg)
    owned = (alloc.dedicated + alloc.prioritized).sum(axis=1) * per_rbg
    pool = np.maximum(1.0 - owned + (alloc.prioritized * per_rbg - a2).sum(axis=1), 0.0)
    rest = np.clip(want - a1 - a2, 0.0, alloc.shared * per_rbg).reshape(-1)
    slice_cell = np.repeat(np.arange(cells, dtype=np.int64), slices)
    a3 = _pooled_share(rest, slice_cell, pool).reshape(cells, slices)
    total = (a1 + a2 + a3).reshape(-1)
    return _pooled_share(d, group, total)
