"""``network_stats`` records of the GMA-based scenarios, from one interval's statistics.

Rules (PROTOCOL.md §3, §13; FIDELITY.md "Records"), as real NetworkGym ns-3 sends them
(measured in ``fixtures/ns3/``):
- Flat records ``{"source", "name", "ts", "id", "value"}``; ``ts`` and ``id`` integers, every
  value a JSON float (ns-3 writes ``1.0``, ``-1.0``, ``7.0``), one record per name.
- Only the technologies the config has: ``wifi::*`` and ``gma::wifi::*`` with Wi-Fi APs,
  ``nr::*`` and ``gma::nr::*`` with NR gNBs, ``lte::*`` and ``gma::lte::*`` always (an eNB is
  required). The ``lte::*`` rows are kept although the ns-3 build here does not send them: the
  docs' fuller build reports them (FIDELITY.md).
- Row order: :data:`ROW_ORDER`, ns-3's most common order (its rows come out of a hash map, so
  the order varies with which rows exist); rows ns-3 does not send here follow it.
- Per-user rows list users 1 … N ascending, except ``gma::{link}::{dl,ul}::split_ratio``:
  only the users whose split in that direction was ever set (by an action, or by GMA's own
  algorithm moving it from its start), and no row while there is none.
- Formats: rates in Mbit/s as multiples of :data:`RATE_STEP_MBPS` (0.008 Mbit/s), ``tx_rate``
  to 0.001; one-way delays in whole ms; ``traffic_ratio`` in whole %; ``split_ratio`` in
  32nds (as %); ``wifi::*::max_rate`` in 1/16 Mbit/s (ns-3's levels 7.3125 … 121.875),
  ``lte::dl::max_rate`` in whole Mbit/s (the docs' sample); violations to :data:`DECIMALS`
  places, positions to 3; per-cell metrics keyed by LTE cell id with ``{"slice", "value"}`` objects.
- ``measurement_ok`` is 1 for every user (ns-3 reports 1 even for a user without traffic);
  ``missed_action`` is 1 in the traffic direction for the users the last action gave no split
  (``value: []`` included), else 0.
- Sentinels: delays −1 with no packet, capacities 0 with no link. GMA probes every link
  twice a second (:data:`PROBE_OFFSETS_MS`): in an interval holding a probe, a link without
  data that the user has a cell on reports the probe's delay (:data:`PROBE_OWD_MS` plus the
  link's backhaul) instead of −1 — ns-3 does so in 28–35 % of idle 100 ms intervals, and in
  every idle 1 s interval. The direction without
  traffic reports no packets (rates 0, delays −1, violations 0, ``traffic_ratio`` 0, its own
  split) — except the TCP ACKs of a flow in the other direction, which ns-3 reports there:
  rate = tx_rate = the ACK rate on the link the ACKs take, their one-way delay,
  ``traffic_ratio`` 100 on that link.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from netgym_sim.model.stats import NO_DELAY, IntervalStats
from netgym_sim.model.topology import (
    LINK_NAMES,
    LTE,
    NO_CELL,
    NR,
    NUM_LINKS,
    WIFI,
    FloatArray,
    IntArray,
)
from netgym_sim.scenarios.base import Record

__all__ = [
    "DECIMALS",
    "ROW_ORDER",
    "RecordContext",
    "build_records",
    "metric_names",
    "order_rows",
    "probe_due",
]

#: Decimal places of percentages and other non-integer values.
DECIMALS = 3
#: Granularity of reported rates, Mbit/s (ns-3 counts 1 kB per second).
RATE_STEP_MBPS = 0.008
DIRECTIONS = ("dl", "ul")
_CELL_DIR = ("rate", "qos_rate", "tx_rate", "delay_violation")
#: The order of real ns-3's rows (Wi-Fi and LTE, no NR), the most common one in the
#: ``fixtures/ns3/`` recordings: 1176 of 1887 measurements hold their rows in this relative
#: order; the rest move the ``ul`` split rows further down (ns-3 iterates a hash map).
_NS3_ORDER = (
    "gma::wifi::ul::split_ratio",
    "gma::lte::ul::split_ratio",
    "gma::ul::missed_action",
    "gma::ul::measurement_ok",
    "gma::ul::rate",
    "gma::ul::qos_rate",
    "gma::ul::delay_violation",
    "gma::ul::delay_test_1_violation",
    "gma::ul::delay_test_2_violation",
    "gma::ul::owd",
    "gma::ul::max_owd",
    "gma::dl::tx_rate",
    "gma::wifi::dl::priority",
    "gma::wifi::ul::rate",
    "gma::wifi::ul::qos_rate",
    "gma::wifi::ul::traffic_ratio",
    "gma::wifi::ul::owd",
    "gma::wifi::ul::max_owd",
    "gma::lte::dl::priority",
    "gma::lte::ul::rate",
    "gma::lte::ul::qos_rate",
    "gma::lte::ul::traffic_ratio",
    "gma::lte::ul::owd",
    "gma::lte::ul::max_owd",
    "gma::wifi::dl::split_ratio",
    "gma::lte::dl::split_ratio",
    "gma::dl::missed_action",
    "gma::dl::measurement_ok",
    "gma::dl::rate",
    "gma::dl::qos_rate",
    "gma::dl::delay_violation",
    "gma::dl::delay_test_1_violation",
    "gma::dl::delay_test_2_violation",
    "gma::dl::owd",
    "gma::dl::max_owd",
    "gma::ul::tx_rate",
    "gma::x_loc",
    "gma::y_loc",
    "gma::wifi::ul::priority",
    "gma::wifi::dl::rate",
    "gma::wifi::dl::qos_rate",
    "gma::wifi::dl::traffic_ratio",
    "gma::wifi::dl::owd",
    "gma::wifi::dl::max_owd",
    "gma::lte::ul::priority",
    "gma::lte::dl::rate",
    "gma::lte::dl::qos_rate",
    "gma::lte::dl::traffic_ratio",
    "gma::lte::dl::owd",
    "gma::lte::dl::max_owd",
    "wifi::cell_id",
    "wifi::dl::max_rate",
    "wifi::ul::max_rate",
)
#: Rows the ns-3 build here does not send (no NR; its LTE reports none of these), after its own.
_EXTRA_ORDER = (
    "lte::dl::max_rate",
    "lte::cell_id",
    "lte::slice_id",
    "lte::dl::rb_usage",
    "lte::dl::cell::max_rate",
    "lte::dl::cell::rb_usage",
    "nr::cell_id",
    *(f"gma::{d}::cell::{m}" for d in DIRECTIONS for m in _CELL_DIR),
)


def _with_nr(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` with each ``gma::nr::…`` row placed just before its ``gma::lte::…`` sibling."""
    out: list[str] = []
    for name in names:
        if name.startswith("gma::lte::"):
            out.append("gma::nr::" + name.removeprefix("gma::lte::"))
        out.append(name)
    return tuple(out)


#: Every ``source::name`` the GMA scenarios can report, in the order they are sent.
ROW_ORDER: tuple[str, ...] = _with_nr(_NS3_ORDER) + _EXTRA_ORDER
_RANK = {name: i for i, name in enumerate(ROW_ORDER)}


def metric_names(links: tuple[int, ...] = (WIFI, NR, LTE)) -> list[str]:
    """Every ``source::name`` reported for a config with ``links``, in :data:`ROW_ORDER`.

    A row of a technology the config lacks (``wifi``/``nr``, by link index) is left out.
    """
    absent = {LINK_NAMES[link] for link in (WIFI, NR, LTE) if link not in links}
    return [name for name in ROW_ORDER if not _names_technology(name, absent)]


def _names_technology(name: str, technologies: set[str]) -> bool:
    parts = name.split("::")
    return parts[0] in technologies or (parts[0] == "gma" and parts[1] in technologies)


def order_rows(names: list[str]) -> list[str]:
    """``names`` (known metrics, each once) in the order ns-3 sends them (:data:`ROW_ORDER`)."""
    return sorted(dict.fromkeys(names), key=_RANK.__getitem__)


@dataclass(frozen=True)
class RecordContext:
    """What the records need besides the interval's statistics.

    Attributes:
        slice_id: ``(n,)`` slice index of each user.
        num_slices: Number of slices.
        lte_cells: Number of LTE cells.
        priority: ``(2, n, 3)`` DFP priority marks per direction, user, link.
        split_reported: ``(2, n)`` whether the user's split in that direction was ever set
            (its ``split_ratio`` is reported from then on).
        missed_action: ``(2, n)`` 1 where the last action gave the user no split.
        backhaul_ms: Backhaul delay per link (Wi-Fi, NR, LTE), added to probe delays.
    """

    slice_id: IntArray
    num_slices: int
    lte_cells: int
    priority: IntArray
    split_reported: npt.NDArray[np.bool_]
    missed_action: IntArray
    backhaul_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _round(values: FloatArray, decimals: int = DECIMALS) -> list[Any]:
    # "+ 0.0" turns -0.0 into 0.0 so that equal numbers serialise equally.
    rounded: list[Any] = (np.round(values, decimals) + 0.0).tolist()
    return rounded


def _rate(values: FloatArray) -> list[Any]:
    """Rates as multiples of :data:`RATE_STEP_MBPS`."""
    return _round(np.round(values / RATE_STEP_MBPS) * RATE_STEP_MBPS)


#: Largest magnitude of a reported whole number: 2**53, the last integer every JSON reader
#: holds exactly. A starved link's fluid delay estimate can exceed it (1e41 ms with a
#: near-zero share), which an int64 cast would turn into garbage.
MAX_WHOLE = float(2**53)


#: Granularity of ``wifi::*::max_rate``, Mbit/s: every level ns-3 reports in fixtures/ns3
#: (7.3125, 14.625, … 97.5, 109.6875, 121.875: PHY rates × 1.125) is a multiple of 1/16.
WIFI_LEVEL_STEP_MBPS = 0.0625


def _wifi_level(values: FloatArray) -> list[Any]:
    """Wi-Fi capacities as multiples of :data:`WIFI_LEVEL_STEP_MBPS`."""
    return _round(np.round(values / WIFI_LEVEL_STEP_MBPS) * WIFI_LEVEL_STEP_MBPS, 4)


def _whole(values: FloatArray) -> list[Any]:
    """Whole numbers (delays in ms, ratios in %, capacities in Mbit/s), as floats (ns-3's)."""
    whole: list[Any] = (np.clip(np.round(values), -MAX_WHOLE, MAX_WHOLE) + 0.0).tolist()
    return whole


def _whole_ms(values: FloatArray) -> list[Any]:
    """Delays in whole ms, cut down as ns-3 does (fixtures/ns3: sub-ms UDP delays read 0)."""
    return _whole(np.floor(values))


class _Direction:
    """Per-user arrays of one direction, zero/sentinel when it carries no traffic."""

    def __init__(self, stats: IntervalStats, d: int, ctx: RecordContext, probed: bool) -> None:
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
        if probed:
            self.link_owd, self.link_max_owd = _probe(
                stats, d, ctx, self.link_owd, self.link_max_owd
            )
        self.violation = stats.violation_pct if active else np.zeros((n, 3))
        self.ok = (self.tx_rate > 0.0).astype(np.int64)
        self.priority = ctx.priority[d]
        self.traffic_ratio = stats.traffic_ratio_pct[d]
        self.split_ratio = stats.split_ratio_pct[d]


#: One-way delay of GMA's probes on a link that carried no data, ms, per direction and link
#: (Wi-Fi, NR, LTE): the medians ns-3 reports on idle links in fixtures/ns3 (owd, max_owd),
#: plus the link's backhaul delay. NR (not in the recordings) takes LTE's.
PROBE_OWD_MS = np.array([[0.0, 4.0, 4.0], [2.0, 8.0, 8.0]])
PROBE_MAX_OWD_MS = np.array([[0.0, 10.0, 10.0], [6.0, 12.0, 12.0]])
#: GMA's probes in the recordings: at 150 ms and 550 ms past each second of simulated time.
PROBE_OFFSETS_MS = (150, 550)


def probe_due(start_ms: float, end_ms: float) -> bool:
    """Whether a probe instant (:data:`PROBE_OFFSETS_MS`) lies in ``(start_ms, end_ms]``."""
    if end_ms - start_ms >= 1000.0:
        return True
    return any(
        math.floor((end_ms - off) / 1000.0) > math.floor((start_ms - off) / 1000.0)
        for off in PROBE_OFFSETS_MS
    )


def _probe(
    stats: IntervalStats, d: int, ctx: RecordContext, owd: FloatArray, top: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``owd``/``top`` with the probe delay on each idle link the user has a cell on."""
    idle = (owd == NO_DELAY) & (stats.cell_id != NO_CELL)
    backhaul = np.asarray(ctx.backhaul_ms, dtype=np.float64)
    owd = np.where(idle, PROBE_OWD_MS[d] + backhaul, owd)
    top = np.where(idle, PROBE_MAX_OWD_MS[d] + backhaul, top)
    return owd, top


def _user_getters(
    stats: IntervalStats, ctx: RecordContext, probed: bool
) -> dict[str, Callable[[], list[Any]]]:
    g: dict[str, Callable[[], list[Any]]] = {
        "wifi::dl::max_rate": lambda: _wifi_level(stats.max_rate_mbps[0, :, WIFI]),
        "wifi::ul::max_rate": lambda: _wifi_level(stats.max_rate_mbps[1, :, WIFI]),
        "wifi::cell_id": _ints(stats.cell_id[:, WIFI]),
        "lte::dl::max_rate": lambda: _whole(stats.max_rate_mbps[0, :, LTE]),
        "lte::cell_id": _ints(stats.cell_id[:, LTE]),
        "lte::slice_id": _ints(ctx.slice_id),
        "lte::dl::rb_usage": lambda: _round(_lte_rb_usage(stats)),
        "nr::cell_id": _ints(stats.cell_id[:, NR]),
        "gma::x_loc": lambda: _round(stats.xy_m[:, 0], 3),
        "gma::y_loc": lambda: _round(stats.xy_m[:, 1], 3),
    }
    for d, dname in enumerate(DIRECTIONS):
        v = _Direction(stats, d, ctx, probed)
        p = f"gma::{dname}::"
        g[p + "missed_action"] = _ints(ctx.missed_action[d])
        g[p + "measurement_ok"] = _ints(np.ones_like(v.ok))
        g[p + "tx_rate"] = _floats(v.tx_rate)
        g[p + "delay_violation"] = _floats(v.violation[:, 0])
        g[p + "delay_test_1_violation"] = _floats(v.violation[:, 1])
        g[p + "delay_test_2_violation"] = _floats(v.violation[:, 2])
        g[p + "rate"] = _rates(v.rate)
        g[p + "qos_rate"] = _rates(v.qos_rate)
        g[p + "owd"] = _delays(v.owd)
        g[p + "max_owd"] = _delays(v.max_owd)
        for link, lname in enumerate(LINK_NAMES):
            q = f"gma::{lname}::{dname}::"
            g[q + "rate"] = _rates(v.link_rate[:, link])
            g[q + "qos_rate"] = _rates(v.link_qos[:, link])
            g[q + "owd"] = _delays(v.link_owd[:, link])
            g[q + "max_owd"] = _delays(v.link_max_owd[:, link])
            g[q + "priority"] = _ints(v.priority[:, link])
            g[q + "traffic_ratio"] = _wholes(v.traffic_ratio[:, link])
            g[q + "split_ratio"] = _floats(v.split_ratio[:, link])
    return g


def _floats(values: FloatArray, decimals: int = DECIMALS) -> Callable[[], list[Any]]:
    return lambda: _round(values, decimals)


def _rates(values: FloatArray) -> Callable[[], list[Any]]:
    return lambda: _rate(values)


def _wholes(values: FloatArray) -> Callable[[], list[Any]]:
    return lambda: _whole(values)


def _delays(values: FloatArray) -> Callable[[], list[Any]]:
    return lambda: _whole_ms(values)


def _ints(values: IntArray) -> Callable[[], list[Any]]:
    return lambda: values.astype(np.float64).tolist()


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


def _cell_getters(stats: IntervalStats, ctx: RecordContext) -> dict[str, Callable[[], list[Any]]]:
    g: dict[str, Callable[[], list[Any]]] = {
        # The mean of the whole-Mbit/s user values (the ns-3 sample: 37, 37, 23, 37 → 33.5).
        "lte::dl::cell::max_rate": lambda: _per_cell(
            stats, ctx, np.round(stats.max_rate_mbps[0, :, LTE]), mean=True
        ),
        "lte::dl::cell::rb_usage": lambda: _per_cell(stats, ctx, _lte_rb_usage(stats), mean=False),
    }
    for d, dname in enumerate(DIRECTIONS):
        v = _Direction(stats, d, ctx, probed=False)
        p = f"gma::{dname}::cell::"
        g[p + "rate"] = _cells(stats, ctx, v.rate, mean=False)
        g[p + "qos_rate"] = _cells(stats, ctx, v.qos_rate, mean=False)
        g[p + "tx_rate"] = _cells(stats, ctx, v.tx_rate, mean=False)
        g[p + "delay_violation"] = _cells(stats, ctx, v.violation[:, 0], mean=True)
    return g


def build_records(
    names: list[str], stats: IntervalStats, ctx: RecordContext, now_ms: int, probed: bool = False
) -> list[Record]:
    """The records of ``names`` (known metrics in :data:`ROW_ORDER`), stamped ``now_ms``.

    A ``split_ratio`` row holds the users whose split was set (``ctx.split_reported``) and is
    left out while there is none. ``probed``: GMA probed every link in the interval, so a
    link without data reports the probe delay instead of −1.
    """
    users = _user_getters(stats, ctx, probed)
    cells = _cell_getters(stats, ctx)
    user_ids = list(range(1, stats.rate_mbps.shape[0] + 1))
    cell_ids = list(range(1, ctx.lte_cells + 1))
    records: list[Record] = []
    for full in names:
        source, _, name = full.partition("::")
        if full in cells:
            ids, values = cell_ids, cells[full]()
        elif full.endswith("::split_ratio"):
            shown = ctx.split_reported[DIRECTIONS.index(full.split("::")[2])]
            if not shown.any():
                continue
            every = users[full]()
            ids = [uid for uid, keep in zip(user_ids, shown.tolist(), strict=True) if keep]
            values = [v for v, keep in zip(every, shown.tolist(), strict=True) if keep]
        else:
            ids, values = user_ids, users[full]()
        records.append(
            {"source": source, "name": name, "ts": int(now_ms), "id": list(ids), "value": values}
        )
    return records
