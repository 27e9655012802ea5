"""``network_stats`` records of the GMA-based scenarios, from one interval's statistics.

Rules (PROTOCOL.md §3, §13):
- Flat records ``{"source", "name", "ts", "id", "value"}``; user ids 1 … N ascending, every
  user present; per-cell metrics keyed by LTE cell id with ``{"slice", "value"}`` objects.
- Formats as ns-3 reports them (the NetworkGym docs' sample): rates in Mbit/s as multiples
  of :data:`RATE_STEP_MBPS` (0.008 Mbit/s), one-way delays in whole ms, ``traffic_ratio``
  in whole %, ``split_ratio`` in 32nds (as %), ``max_rate`` in whole Mbit/s (37, 78, 23, 65
  in the sample); other percentages to :data:`DECIMALS` places, positions to 3; ids, counts
  and flags are integers.
- Sentinels: delays −1 with no packet, cell id 255 with no link, capacities 0 with no link.
- The direction without traffic reports no packets (rates 0, delays −1, violations 0,
  ``measurement_ok`` 0, ``traffic_ratio`` 0, its own split) — except the TCP ACKs of a
  flow in the other direction, which ns-3 reports there: rate = tx_rate = the ACK rate on
  the link the ACKs take, their one-way delay, ``traffic_ratio`` 100 on that link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from netgym_sim.model.stats import NO_DELAY, IntervalStats
from netgym_sim.model.topology import LINK_NAMES, LTE, NR, NUM_LINKS, WIFI, FloatArray, IntArray
from netgym_sim.scenarios.base import Record

__all__ = ["DECIMALS", "RecordContext", "build_records", "metric_names"]

#: Decimal places of percentages and other non-integer values.
DECIMALS = 3
#: Granularity of reported rates, Mbit/s (ns-3 counts 1 kB per second).
RATE_STEP_MBPS = 0.008
DIRECTIONS = ("dl", "ul")
#: Per-user metrics of one direction without a link prefix.
_USER_DIR = (
    "missed_action",
    "measurement_ok",
    "tx_rate",
    "delay_violation",
    "delay_test_1_violation",
    "delay_test_2_violation",
    "rate",
    "qos_rate",
    "owd",
    "max_owd",
)
_LINK_DIR = ("rate", "qos_rate", "owd", "max_owd", "priority", "traffic_ratio", "split_ratio")
_CELL_DIR = ("rate", "qos_rate", "tx_rate", "delay_violation")


def metric_names() -> list[str]:
    """Every ``source::name`` the GMA scenarios report (PROTOCOL.md §13)."""
    names = [
        "wifi::dl::max_rate",
        "wifi::ul::max_rate",
        "wifi::cell_id",
        "lte::dl::max_rate",
        "lte::cell_id",
        "lte::slice_id",
        "lte::dl::rb_usage",
        "lte::dl::cell::max_rate",
        "lte::dl::cell::rb_usage",
        "nr::cell_id",
        "gma::x_loc",
        "gma::y_loc",
    ]
    for d in DIRECTIONS:
        names += [f"gma::{d}::{m}" for m in _USER_DIR]
        names += [f"gma::{link}::{d}::{m}" for link in LINK_NAMES for m in _LINK_DIR]
        names += [f"gma::{d}::cell::{m}" for m in _CELL_DIR]
    return names


@dataclass(frozen=True)
class RecordContext:
    """What the records need besides the interval's statistics.

    Attributes:
        slice_id: ``(n,)`` slice index of each user.
        num_slices: Number of slices.
        lte_cells: Number of LTE cells.
        priority: ``(2, n, 3)`` DFP priority marks per direction, user, link.
    """

    slice_id: IntArray
    num_slices: int
    lte_cells: int
    priority: IntArray


def _round(values: FloatArray, decimals: int = DECIMALS) -> list[Any]:
    # "+ 0.0" turns -0.0 into 0.0 so that equal numbers serialise equally.
    # the array's own method: np.round's dispatch cost more than the rounding of 16 values
    rounded: list[Any] = (np.asarray(values).round(decimals) + 0.0).tolist()
    return rounded


def _rate(values: FloatArray) -> list[Any]:
    """Rates as multiples of :data:`RATE_STEP_MBPS`."""
    return _round((values / RATE_STEP_MBPS).round() * RATE_STEP_MBPS)


#: Largest magnitude of a reported whole number: 2**53, the last integer every JSON reader
#: holds exactly. A starved link's fluid delay estimate can exceed it (1e41 ms with a
#: near-zero share), which an int64 cast would turn into garbage.
MAX_WHOLE = float(2**53)


def _whole(values: FloatArray) -> list[Any]:
    """Whole numbers (delays in ms, ratios in %, capacities in Mbit/s), as ints."""
    whole: list[Any] = (
        np.asarray(values).round().clip(-MAX_WHOLE, MAX_WHOLE).astype(np.int64).tolist()
    )
    return whole


class _Deferred:
    """A record's values still to be formatted: ``kind`` ("round", "rate" or "whole") of an array.

    :func:`build_records` formats every deferred array of one kind in one numpy call over
    their concatenation: the formats are element-wise, so the values are those of one call
    per array, for a fraction of the calls.
    """

    __slots__ = ("decimals", "kind", "values")

    def __init__(self, kind: str, values: Any, decimals: int = DECIMALS) -> None:
        self.kind = kind
        self.values = np.asarray(values)
        self.decimals = decimals


#: What a record's name maps to: its values, now or deferred.
Getter = Callable[[], "list[Any] | _Deferred"]


def _format_all(deferred: list[_Deferred]) -> list[list[Any]]:
    """The value lists of ``deferred``, in order, each formatted as its kind says."""
    out: list[list[Any]] = [[] for _ in deferred]
    groups: dict[tuple[str, int], list[int]] = {}
    for i, item in enumerate(deferred):
        groups.setdefault((item.kind, item.decimals), []).append(i)
    for (kind, decimals), members in groups.items():
        arrays = [deferred[i].values.reshape(-1) for i in members]
        flat = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        if kind == "whole":
            values = _whole(flat)
        elif kind == "rate":
            values = _rate(flat)
        else:
            values = _round(flat, decimals)
        start = 0
        for i, array in zip(members, arrays, strict=True):
            out[i] = values[start : start + array.size]
            start += array.size
    return out


class _Direction:
    """Per-user arrays of one direction, zero/sentinel when it carries no traffic."""

    def __init__(self, stats: IntervalStats, d: int, priority: IntArray) -> None:
        n = stats.rate_mbps.shape[0]
        active = stats.direction == d
        zeros, zeros3 = np.zeros(n), np.zeros((n, NUM_LINKS))
        none, none3 = np.full(n, NO_DELAY), np.full((n, NUM_LINKS), NO_DELAY)
        ok = stats.qos_ok if active else np.zeros(n, dtype=bool)
        self.tx_rate = stats.tx_rate_mbps if active else zeros
        self.rate = stats.rate_mbps if active else zeros
        self.link_rate = stats.link_rate_mbps if active else zeros3
        self.owd = stats.owd_ms if active else none
        self.max_owd = stats.max_owd_ms if active else none
        self.link_owd = stats.link_owd_ms if active else none3
        self.link_max_owd = stats.link_max_owd_ms if active else none3
        if not active and np.any(stats.ack_link >= 0):
            # TCP ACKs of the other direction's flows (they meet any QoS test here).
            acks, rows = stats.ack_link >= 0, np.nonzero(stats.ack_link >= 0)[0]
            links = stats.ack_link[acks]
            self.tx_rate = self.rate = stats.ack_rate_mbps
            self.link_rate = zeros3.copy()
            self.link_rate[rows, links] = stats.ack_rate_mbps[acks]
            self.owd = self.max_owd = stats.ack_owd_ms
            self.link_owd = none3.copy()
            self.link_owd[rows, links] = stats.ack_owd_ms[acks]
            self.link_max_owd = self.link_owd
            ok = acks
        self.qos_rate = np.where(ok, self.rate, 0.0)
        self.link_qos = np.where(ok[:, None], self.link_rate, 0.0)
        self.violation = stats.violation_pct if active else np.zeros((n, 3))
        self.ok = (self.tx_rate > 0.0).astype(np.int64)
        self.priority = priority[d]
        self.traffic_ratio = stats.traffic_ratio_pct[d]
        self.split_ratio = stats.split_ratio_pct[d]


def _user_getters(
    stats: IntervalStats, ctx: RecordContext, directions: list[_Direction]
) -> dict[str, Getter]:
    g: dict[str, Getter] = {
        "wifi::dl::max_rate": _wholes(stats.max_rate_mbps[0, :, WIFI]),
        "wifi::ul::max_rate": _wholes(stats.max_rate_mbps[1, :, WIFI]),
        "wifi::cell_id": stats.cell_id[:, WIFI].tolist,
        "lte::dl::max_rate": _wholes(stats.max_rate_mbps[0, :, LTE]),
        "lte::cell_id": stats.cell_id[:, LTE].tolist,
        "lte::slice_id": _ints(ctx.slice_id),
        "lte::dl::rb_usage": lambda: _Deferred("round", _lte_rb_usage(stats)),
        "nr::cell_id": stats.cell_id[:, NR].tolist,
        "gma::x_loc": _floats(stats.xy_m[:, 0], 3),
        "gma::y_loc": _floats(stats.xy_m[:, 1], 3),
    }
    for v, dname in zip(directions, DIRECTIONS, strict=True):
        p = f"gma::{dname}::"
        g[p + "missed_action"] = _ints(np.zeros_like(v.ok))
        g[p + "measurement_ok"] = _ints(v.ok)
        g[p + "tx_rate"] = _rates(v.tx_rate)
        g[p + "delay_violation"] = _floats(v.violation[:, 0])
        g[p + "delay_test_1_violation"] = _floats(v.violation[:, 1])
        g[p + "delay_test_2_violation"] = _floats(v.violation[:, 2])
        g[p + "rate"] = _rates(v.rate)
        g[p + "qos_rate"] = _rates(v.qos_rate)
        g[p + "owd"] = _wholes(v.owd)
        g[p + "max_owd"] = _wholes(v.max_owd)
        for link, lname in enumerate(LINK_NAMES):
            q = f"gma::{lname}::{dname}::"
            g[q + "rate"] = _rates(v.link_rate[:, link])
            g[q + "qos_rate"] = _rates(v.link_qos[:, link])
            g[q + "owd"] = _wholes(v.link_owd[:, link])
            g[q + "max_owd"] = _wholes(v.link_max_owd[:, link])
            g[q + "priority"] = _ints(v.priority[:, link])
            g[q + "traffic_ratio"] = _wholes(v.traffic_ratio[:, link])
            g[q + "split_ratio"] = _floats(v.split_ratio[:, link])
    return g


def _floats(values: FloatArray, decimals: int = DECIMALS) -> Getter:
    return lambda: _Deferred("round", values, decimals)


def _rates(values: FloatArray) -> Getter:
    return lambda: _Deferred("rate", values)


def _wholes(values: FloatArray) -> Getter:
    return lambda: _Deferred("whole", values)


def _ints(values: IntArray) -> Getter:
    return lambda: list(values.tolist())


def _cells(
    stats: IntervalStats, ctx: RecordContext, values: FloatArray, *, mean: bool
) -> Callable[[], list[Any]]:
    return lambda: _per_cell(stats, ctx, values, mean=mean)


def _lte_rb_usage(stats: IntervalStats) -> FloatArray:
    """% of the LTE cell's downlink resource blocks the user occupied over the interval."""
    if stats.direction != 0:
        return np.zeros(stats.time_share.shape[0])
    usage: FloatArray = np.clip(100.0 * stats.time_share[:, LTE], 0.0, 100.0)
    return usage


def _per_cell(
    stats: IntervalStats, ctx: RecordContext, values: FloatArray, *, mean: bool
) -> list[dict[str, list[Any]]]:
    """One ``{"slice", "value"}`` object per LTE cell: sum (or mean) over its slice's users."""
    cell = stats.cell_id[:, LTE] - 1
    member = (cell >= 0) & (cell < ctx.lte_cells)
    key = np.where(member, cell * ctx.num_slices + ctx.slice_id, 0)
    size = ctx.lte_cells * ctx.num_slices
    total = np.bincount(key, weights=np.where(member, values, 0.0), minlength=size)
    if mean:
        count = np.bincount(key, weights=member.astype(np.float64), minlength=size)
        total = np.where(count > 0, total / np.where(count > 0, count, 1.0), 0.0)
    table = np.asarray(total, dtype=np.float64).reshape(ctx.lte_cells, ctx.num_slices)
    slices = list(range(ctx.num_slices))
    return [{"slice": slices, "value": _round(row)} for row in table]


def _cell_getters(
    stats: IntervalStats, ctx: RecordContext, directions: list[_Direction]
) -> dict[str, Getter]:
    g: dict[str, Getter] = {
        # The mean of the whole-Mbit/s user values (the ns-3 sample: 37, 37, 23, 37 → 33.5).
        "lte::dl::cell::max_rate": lambda: _per_cell(
            stats, ctx, np.round(stats.max_rate_mbps[0, :, LTE]), mean=True
        ),
        "lte::dl::cell::rb_usage": lambda: _per_cell(stats, ctx, _lte_rb_usage(stats), mean=False),
    }
    for v, dname in zip(directions, DIRECTIONS, strict=True):
        p = f"gma::{dname}::cell::"
        g[p + "rate"] = _cells(stats, ctx, v.rate, mean=False)
        g[p + "qos_rate"] = _cells(stats, ctx, v.qos_rate, mean=False)
        g[p + "tx_rate"] = _cells(stats, ctx, v.tx_rate, mean=False)
        g[p + "delay_violation"] = _cells(stats, ctx, v.violation[:, 0], mean=True)
    return g


def build_records(
    names: list[str], stats: IntervalStats, ctx: RecordContext, now_ms: int
) -> list[Record]:
    """The records of ``names`` (each a known metric), in that order, stamped ``now_ms``."""
    directions = [_Direction(stats, d, ctx.priority) for d in range(len(DIRECTIONS))]
    users = _user_getters(stats, ctx, directions)
    cells = _cell_getters(stats, ctx, directions)
    user_ids = list(range(1, stats.rate_mbps.shape[0] + 1))
    cell_ids = list(range(1, ctx.lte_cells + 1))
    records: list[Record] = []
    deferred: list[_Deferred] = []
    waiting: list[Record] = []
    for full in names:
        source, _, name = full.partition("::")
        if full in cells:
            ids, values = cell_ids, cells[full]()
        else:
            ids, values = user_ids, users[full]()
        record: Record = {
            "source": source,
            "name": name,
            "ts": int(now_ms),
            "id": list(ids),
            "value": values,
        }
        if isinstance(values, _Deferred):
            deferred.append(values)
            waiting.append(record)
        records.append(record)
    for record, formatted in zip(waiting, _format_all(deferred), strict=True):
        record["value"] = formatted
    return records
