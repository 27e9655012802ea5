"""The records of many GMA sessions' intervals, built together.

:func:`measure_together` gives each scenario what its :meth:`GmaScenario.measure` gives,
with the same bits, but formats every metric of every session in one numpy pass: the
sessions' interval statistics are stacked user after user (their LTE cells numbered apart
for the per-cell metrics), each metric's values are computed and turned into Python numbers
once for all, and each session's record takes its slice.

Rules:
- Sessions share a pass when they report the same metrics of the same layout (users, LTE
  cells, slices, links, backhaul), in the same traffic direction, over an interval of the
  same length, with or without a probe alike; the others build their records alone.
- Why the bits are the same: every value of a user record is computed element-wise from
  that user's statistics, and a per-cell value sums (or averages) its own cell's users in
  the same order (the stacked cells never mix two sessions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from netgym_sim.model.batch import advance_together, end_intervals_together
from netgym_sim.model.stats import IntervalStats
from netgym_sim.model.topology import LTE, NO_CELL
from netgym_sim.scenarios._gma_common import GmaScenario
from netgym_sim.scenarios._gma_records import (
    DIRECTIONS,
    RecordContext,
    _cell_getters,
    _user_getters,
    build_records,
)
from netgym_sim.scenarios.base import Record

__all__ = ["measure_together"]

#: IntervalStats fields with a leading direction axis (stacked along the user axis, 1).
_DIRECTED = frozenset({"max_rate_mbps", "split_ratio_pct", "traffic_ratio_pct"})


def measure_together(scenarios: Sequence[GmaScenario], now_ms: int) -> list[list[Record]]:
    """Each scenario's :meth:`~GmaScenario.measure` of the interval ending at ``now_ms``.

    The models are run to ``now_ms`` and end their intervals together
    (:mod:`netgym_sim.model.batch`) first.
    """
    models = [scenario.model for scenario in scenarios]
    advance_together(models, float(now_ms))
    ended = end_intervals_together(models)
    measured = [s.interval(now_ms, stats) for s, stats in zip(scenarios, ended, strict=True)]
    out: list[list[Record] | None] = [None] * len(scenarios)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (scenario, (stats, probed)) in enumerate(zip(scenarios, measured, strict=True)):
        ctx = scenario.context
        key = (
            tuple(scenario.subscriptions),
            stats.rate_mbps.shape[0],
            ctx.lte_cells,
            ctx.num_slices,
            ctx.backhaul_ms,
            stats.direction,
            stats.measured_ms,
            probed,
        )
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) == 1:
            i = members[0]
            stats, probed = measured[i]
            scenario = scenarios[i]
            out[i] = build_records(scenario.subscriptions, stats, scenario.context, now_ms, probed)
            continue
        built = _build_together(
            scenarios[members[0]].subscriptions,
            [measured[i][0] for i in members],
            [scenarios[i].context for i in members],
            now_ms,
            measured[members[0]][1],
        )
        for i, records in zip(members, built, strict=True):
            out[i] = records
    return [records or [] for records in out]


def _stack_stats(stats: list[IntervalStats]) -> IntervalStats:
    first = stats[0]
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(IntervalStats):
        value = getattr(first, field.name)
        if isinstance(value, np.ndarray):
            axis = 1 if field.name in _DIRECTED else 0
            value = np.concatenate([getattr(s, field.name) for s in stats], axis=axis)
        fields[field.name] = value
    return IntervalStats(**fields)


def _stack_context(contexts: list[RecordContext]) -> RecordContext:
    first = contexts[0]
    return dataclasses.replace(
        first,
        slice_id=np.concatenate([c.slice_id for c in contexts]),
        priority=np.concatenate([c.priority for c in contexts], axis=1),
        split_reported=np.concatenate([c.split_reported for c in contexts], axis=1),
        missed_action=np.concatenate([c.missed_action for c in contexts], axis=1),
    )


def _build_together(
    names: list[str],
    stats: list[IntervalStats],
    contexts: list[RecordContext],
    now_ms: int,
    probed: bool,
) -> list[list[Record]]:
    """:func:`build_records` of every session, each metric formatted once for all."""
    count = len(stats)
    n = stats[0].rate_mbps.shape[0]
    cells = contexts[0].lte_cells
    stacked, ctx = _stack_stats(stats), _stack_context(contexts)
    users = _user_getters(stacked, ctx, probed)
    # the per-cell metrics: session s's LTE cell c is cell s·cells + c of the stack
    lte = stacked.cell_id[:, LTE].astype(np.int64)
    session = np.repeat(np.arange(count, dtype=np.int64), n)
    valid = (lte != NO_CELL) & (lte >= 1) & (lte <= cells)
    cell_id = stacked.cell_id.copy()
    cell_id[:, LTE] = np.where(valid, lte + session * cells, 0)
    per_cell = _cell_getters(
        dataclasses.replace(stacked, cell_id=cell_id),
        dataclasses.replace(ctx, lte_cells=cells * count),
    )
    user_ids = list(range(1, n + 1))
    cell_ids = list(range(1, cells + 1))
    ts = int(now_ms)
    out: list[list[Record]] = [[] for _ in range(count)]
    for full in names:
        source, _, name = full.partition("::")
        if full in per_cell:
            table = per_cell[full]()
            for s in range(count):
                rows = [
                    {"slice": list(row["slice"]), "value": row["value"]}
                    for row in table[s * cells : (s + 1) * cells]
                ]
                out[s].append(
                    {"source": source, "name": name, "ts": ts, "id": list(cell_ids), "value": rows}
                )
            continue
        every = users[full]()
        if full.endswith("::split_ratio"):
            d = DIRECTIONS.index(full.split("::")[2])
            for s, context in enumerate(contexts):
                shown = context.split_reported[d]
                if not shown.any():
                    continue
                keep = shown.tolist()
                mine = every[s * n : (s + 1) * n]
                ids = [uid for uid, k in zip(user_ids, keep, strict=True) if k]
                values = [v for v, k in zip(mine, keep, strict=True) if k]
                out[s].append(
                    {"source": source, "name": name, "ts": ts, "id": ids, "value": values}
                )
            continue
        for s in range(count):
            out[s].append(
                {
                    "source": source,
                    "name": name,
                    "ts": ts,
                    "id": list(user_ids),
                    "value": every[s * n : (s + 1) * n],
                }
            )
    return out
