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
- ``deferred=True`` (the embedded path, single env and vector env) builds no record: each
  session, of a shared pass or alone, gets a :class:`DeferredRecords`, which hands out one per-user
  metric's values as an array (every session's computed in one numpy pass, on first
  demand) and builds the session's records, the same ones, only when asked for them.
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

__all__ = ["DeferredRecords", "measure_together", "stacked_values"]

#: IntervalStats fields with a leading direction axis (stacked along the user axis, 1).
_DIRECTED = frozenset({"max_rate_mbps", "split_ratio_pct", "traffic_ratio_pct"})


def measure_together(
    scenarios: Sequence[GmaScenario], now_ms: int, *, deferred: bool = False
) -> list[list[Record] | DeferredRecords]:
    """Each scenario's :meth:`~GmaScenario.measure` of the interval ending at ``now_ms``.

    The models are run to ``now_ms`` and end their intervals together
    (:mod:`netgym_sim.model.batch`) first. ``deferred``: the sessions of a shared pass get
    :class:`DeferredRecords` (see the rules).
    """
    models = [scenario.model for scenario in scenarios]
    advance_together(models, float(now_ms))
    ended = end_intervals_together(models)
    measured = [s.interval(now_ms, stats) for s, stats in zip(scenarios, ended, strict=True)]
    out: list[list[Record] | DeferredRecords | None] = [None] * len(scenarios)
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
        if len(members) == 1 and not deferred:
            i = members[0]
            stats, probed = measured[i]
            scenario = scenarios[i]
            out[i] = build_records(scenario.subscriptions, stats, scenario.context, now_ms, probed)
            continue
        group = _Group(
            scenarios[members[0]].subscriptions,
            [measured[i][0] for i in members],
            [scenarios[i].context for i in members],
            now_ms,
            measured[members[0]][1],
        )
        if deferred:
            for s, i in enumerate(members):
                out[i] = DeferredRecords(group, s)
            continue
        for i, records in zip(members, group.records(), strict=True):
            out[i] = records
    return [[] if records is None else records for records in out]


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


class _Group:
    """The sessions of one shared pass: their stacked statistics, metrics made on demand."""

    def __init__(
        self,
        names: list[str],
        stats: list[IntervalStats],
        contexts: list[RecordContext],
        now_ms: int,
        probed: bool,
    ) -> None:
        self.names, self.now_ms, self.probed = list(names), now_ms, probed
        self.cells = contexts[0].lte_cells
        self.count = len(stats)
        self.n = stats[0].rate_mbps.shape[0]
        self.stacked, self.ctx = _stack_stats(stats), _stack_context(contexts)
        self.user_ids = list(range(1, self.n + 1))
        self.ids = np.arange(1, self.n + 1, dtype=np.int64)
        self._users: dict[str, Any] | None = None
        self._columns: dict[str, np.ndarray] = {}
        self._records: list[list[Record]] | None = None
        #: The per-user metrics every session's records hold (no split_ratio, no cell).
        self.plain = frozenset(
            full for full in names if not full.endswith("::split_ratio") and "::cell::" not in full
        )

    @property
    def users(self) -> dict[str, Any]:
        if self._users is None:
            self._users = _user_getters(self.stacked, self.ctx, self.probed)
        return self._users

    def column(self, full: str) -> np.ndarray:
        """Every session's values of the per-user metric ``full``, user after user (float64):
        the numbers its records hold, as an array."""
        values = self._columns.get(full)
        if values is None:
            values = self._columns[full] = np.asarray(self.users[full](), dtype=np.float64)
        return values

    def records(self) -> list[list[Record]]:
        if self._records is None:
            self._records = _build_together(self)
        return self._records


class DeferredRecords:
    """One session's measurement of a shared pass, its records built only when asked for.

    Attributes:
        ts: The measurement's ``ts`` (that of its first record; 0 without a record).
        wanted: The session's subscription (``None``: every metric), set by the session.
    """

    def __init__(self, group: _Group, index: int) -> None:
        self._group, self._index = group, index
        self.wanted: frozenset[str] | None = None

    @property
    def ts(self) -> int:
        group = self._group
        if any(self._shows(full) for full in group.plain):
            return int(group.now_ms)
        records = self.build()
        return int(records[0]["ts"]) if records else 0

    def _shows(self, full: str) -> bool:
        return self.wanted is None or full in self.wanted

    def values(self, full: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The ids (1 … N, int64) and values (float64) of the per-user metric ``full`` as
        its record holds them; None when the record may not be a plain per-user one (a
        split ratio, a per-cell metric, a metric not reported)."""
        group = self._group
        if full not in group.plain or not self._shows(full):
            return None
        n, s = group.n, self._index
        return group.ids, group.column(full)[s * n : (s + 1) * n]

    def build(self) -> list[Record]:
        """The session's records, as the record path gives them (built once per pass)."""
        records = self._group.records()[self._index]
        if self.wanted is None:
            return records
        wanted = self.wanted
        return [r for r in records if f"{r['source']}::{r['name']}" in wanted]


def stacked_values(measurements: Sequence[DeferredRecords], full: str) -> np.ndarray | None:
    """The per-user metric ``full`` of each measurement, one row each: ``(k, N)`` float64,
    row ``i`` what ``measurements[i].values(full)`` hands out (users 1 … N).

    None when one of them hands out no such array (:meth:`DeferredRecords.values`) or their
    user counts differ. Measurements of one shared pass are read in one numpy step.
    """
    if not measurements:
        return None
    group = measurements[0]._group
    if all(m._group is group for m in measurements):
        if full not in group.plain or not all(m._shows(full) for m in measurements):
            return None
        every = group.column(full).reshape(group.count, group.n)
        return every[[m._index for m in measurements]]
    rows = [m.values(full) for m in measurements]
    if any(row is None for row in rows) or len({row[1].size for row in rows if row}) != 1:
        return None
    return np.stack([row[1] for row in rows if row is not None])


def _build_together(group: _Group) -> list[list[Record]]:
    """:func:`build_records` of every session, each metric formatted once for all."""
    names, stats = group.names, group.stacked
    count, n, cells = group.count, group.n, group.cells
    ctx = group.ctx
    users = group.users
    # the per-cell metrics: session s's LTE cell c is cell s·cells + c of the stack
    lte = stats.cell_id[:, LTE].astype(np.int64)
    session = np.repeat(np.arange(count, dtype=np.int64), n)
    valid = (lte != NO_CELL) & (lte >= 1) & (lte <= cells)
    cell_id = stats.cell_id.copy()
    cell_id[:, LTE] = np.where(valid, lte + session * cells, 0)
    per_cell = _cell_getters(
        dataclasses.replace(stats, cell_id=cell_id),
        dataclasses.replace(ctx, lte_cells=cells * count),
    )
    user_ids = group.user_ids
    cell_ids = list(range(1, cells + 1))
    ts = int(group.now_ms)
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
            for s in range(count):  # the stacked copy: the sessions' own may have moved on
                shown = ctx.split_reported[d, s * n : (s + 1) * n]
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
