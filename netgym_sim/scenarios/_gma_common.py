"""Shared by the GMA-based scenarios: the model, its SimPy process, records and split actions.

Rules (PROTOCOL.md §3, §9, §10, §13, §14):
- The config is checked by :class:`netgym_sim.scenarios._gma_config.GmaSettings`.
- Subscribed metrics that these environments do not report (or that name a technology the
  config lacks) are skipped (logged once at debug). Records follow
  :mod:`netgym_sim.scenarios._gma_records`: ns-3's row order, no rows for absent cells.
- The config's links are Wi-Fi (with APs), NR (with gNBs) and LTE, in ns-3's link order.
  A split weight row holds one weight per link the config has (``[Wi-Fi, LTE]`` without
  gNBs), as ns-3 takes it; a row of another length is refused with an env-error naming the
  expected count (ns-3 aborts: "the action size: 3 is not equal the number of links:2").
  A policy is checked whole before any of it is applied. ``value: []`` hands the direction
  back to the built-in policy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

import numpy as np
import simpy

from netgym_sim.errors import InvalidAction
from netgym_sim.model import gma
from netgym_sim.model.network import MultiAccessNetwork, NetworkParams, UserParams
from netgym_sim.model.radio import lte_profile, nr_profile, wifi_profile
from netgym_sim.model.stats import IntervalStats
from netgym_sim.model.topology import LINK_NAMES, LTE, NUM_LINKS
from netgym_sim.model.traffic import TrafficSpec
from netgym_sim.scenarios._gma_config import MAX_USERS, GmaSettings
from netgym_sim.scenarios._gma_records import (
    DIRECTIONS,
    RecordContext,
    build_records,
    metric_names,
    order_rows,
    probe_due,
)
from netgym_sim.scenarios.base import Record, Scenario

__all__ = [
    "MAX_USERS",
    "GmaScenario",
    "GmaSettings",
    "Staged",
    "commit_staged",
    "entity_indices",
    "link_label",
    "staging_splits",
]

logger = logging.getLogger(__name__)


def entity_indices(ids: list[Any], where: str, count: int, what: str) -> np.ndarray:
    """0-based indices of the 1-based ``ids`` of ``count`` entities (users, LTE cells).

    Raises:
        InvalidAction: An id is not an integer in 1..count, or ids repeat.
    """
    # distinct plain ints in range (the common case) checked at C speed; else the loop
    # names the first bad one
    plain = bool(ids) and set(map(type, ids)) == {int} and len(set(ids)) == len(ids)
    if plain and min(ids) >= 1 and max(ids) <= count:
        return np.array(ids, dtype=np.int64) - 1
    out = []
    for i, eid in enumerate(ids):
        if isinstance(eid, bool) or not isinstance(eid, int) or not 1 <= eid <= count:
            raise InvalidAction(f"{where}[{i}]: must be a {what} id in 1..{count}, got {eid!r:.40}")
        out.append(eid - 1)
    if len(set(out)) != len(out):
        raise InvalidAction(f"{where}: {what} ids must not repeat, got {ids!r:.80}")
    return np.array(out, dtype=np.int64)


def link_label(links: tuple[int, ...]) -> str:
    """``"Wi-Fi, LTE"``: the config's links as an action row names them."""
    return ", ".join(("Wi-Fi", "NR", "LTE")[link] for link in links)


def _plain_weight_rows(values: list[Any], width: int) -> np.ndarray | None:
    """``values`` as an ``(n, width)`` array when every row is ``width`` finite ints/floats ≥ 0.

    None otherwise.
    The common case in one pass of C-speed checks; the caller walks the rows one by one only
    to name what is wrong.
    """
    if not all(type(row) is list and len(row) == width for row in values):
        return None
    if not {type(w) for row in values for w in row} <= {int, float}:
        return None
    try:
        rows = np.array(values, dtype=np.float64).reshape(len(values), width)
    except OverflowError:
        return None
    if not (np.all(np.isfinite(rows)) and np.all(rows >= 0.0)):
        return None
    return rows


class GmaScenario(Scenario):
    """Base of the GMA-based scenarios: model, SimPy process, records, split actions.

    Subclasses set :attr:`builtin_steer` and say which action knobs they take through
    :meth:`_parse_record`.
    """

    builtin_steer: ClassVar[bool] = False
    #: Whether ``missed_action`` marks the users an action gave no split (the split envs).
    reports_missed_split: ClassVar[bool] = True

    def __init__(self, env_config: Mapping[str, Any], seed: int) -> None:
        super().__init__(env_config, seed)
        self.settings = s = GmaSettings(env_config)
        self.num_users = n = s.num_users
        self.subscriptions = self._known_subscriptions(s.subscriptions)
        place_ss, model_ss = np.random.SeedSequence(seed).spawn(2)
        place = np.random.default_rng(place_ss)
        xy = place.uniform(s.area.low, s.area.high, size=(n, 2))
        mode_key = "downlink_mode" if s.downlink else "uplink_mode"
        per = s.per_user
        slice_ids = np.array(
            [i for i, c in enumerate(s.slices["num_users"]) for _ in range(c)], dtype=np.int64
        )
        tcp = np.array([p != "udp" for p in per("transport_protocol")], dtype=bool)
        users = UserParams(
            xy_m=xy,
            traffic=TrafficSpec(
                min_rate_mbps=np.array(per("min_udp_rate_per_user_mbps"), dtype=np.float64),
                max_rate_mbps=np.array(per("max_udp_rate_per_user_mbps"), dtype=np.float64),
                poisson=np.array(per("udp_poisson_arrival"), dtype=bool),
                tcp=tcp,
                packet_bytes=np.array(per("packet_size_bytes"), dtype=np.float64),
                # NetworkGym's "tcp" is ns-3's TcpBbr (PROTOCOL.md §9)
                bbr=np.array([p in ("tcp", "TcpBbr") for p in per("transport_protocol")]),
            ),
            steer=np.array([m == "steer" for m in per(mode_key)], dtype=bool),
            qos_delay_ms=np.array(per("qos_delay_requirement_ms"), dtype=np.float64),
            test1_ms=np.array(per("delay_test_1_thresh_ms"), dtype=np.float64),
            test2_ms=np.array(per("delay_test_2_thresh_ms"), dtype=np.float64),
            loss_target=np.array(per("qos_loss_target"), dtype=np.float64),
            violation_target=np.array(per("qos_delay_violation_target"), dtype=np.float64),
            slice_id=slice_ids,
        )
        params = NetworkParams(
            area=s.area,
            walk=s.walk,
            cells=s.cells,
            profiles=(wifi_profile(), nr_profile(), lte_profile(s.resource_blocks)),
            backhaul_delay_ms=s.backhaul_ms,
            downlink=s.downlink,
            wifi_handover=s.wifi_handover,
            wifi_shared_band=s.wifi_shared_band,
            builtin_steer=self.builtin_steer,
            start_ms=float(s.start_ms),
            interval_ms=float(s.interval_ms),
            guard_ms=float(s.guard_ms),
        )
        model_seed = int(model_ss.generate_state(1)[0])
        self.model = MultiAccessNetwork(params, users, model_seed)
        self.priority = np.zeros((2, n, NUM_LINKS), dtype=np.int64)
        self.split_reported = np.zeros((2, n), dtype=bool)
        self.missed_action = np.zeros((2, n), dtype=np.int64)
        self._start_split: np.ndarray | None = None
        self.context = RecordContext(
            slice_id=slice_ids,
            num_slices=len(s.slices["num_users"]),
            lte_cells=s.cells[LTE].count,
            priority=self.priority,
            split_reported=self.split_reported,
            missed_action=self.missed_action,
            backhaul_ms=s.backhaul_ms,
        )

    def _known_subscriptions(self, wanted: list[str] | None) -> list[str]:
        known = metric_names(self.settings.links)
        if wanted is None:
            return known
        skipped = [name for name in wanted if name not in known]
        if skipped:
            logger.debug("%s: not reported (not measured here): %s", self.name, skipped)
        return order_rows([name for name in wanted if name in known])

    # -- time ------------------------------------------------------------------------------
    def start(self, env: simpy.Environment) -> None:
        """Register the sub-step process (one for all users) on ``env``."""
        env.process(self._drive(env))

    def _drive(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(max(self.model.next_tick_ms - float(env.now), 0.0))
            self.model.advance_to(float(env.now))

    def measure(self, now_ms: int) -> list[Record]:
        """Run the model to ``now_ms`` and report the subscribed metrics of the interval."""
        stats, probed = self.interval(now_ms)
        return build_records(self.subscriptions, stats, self.context, now_ms, probed)

    def interval(
        self, now_ms: int, stats: IntervalStats | None = None
    ) -> tuple[IntervalStats, bool]:
        """The first half of :meth:`measure`: the interval's statistics (the model run to
        ``now_ms``), and whether GMA probed its links in it.

        ``stats``: the model's ``end_interval()`` when it was taken already (many networks'
        intervals ended together).
        """
        if stats is None:
            self.model.advance_to(float(now_ms))
            stats = self.model.end_interval()
        # GMA reports a user's split once it was set: by an action (see _commit) or by its
        # own algorithm moving it from where it started.
        if self._start_split is None:
            self._start_split = stats.split_ratio_pct.copy()
        moved = np.any(np.abs(stats.split_ratio_pct - self._start_split) > 1e-9, axis=2)
        self.split_reported |= moved
        return stats, probe_due(now_ms - stats.measured_ms, float(now_ms))

    # -- actions ---------------------------------------------------------------------------
    def apply(self, action_list: Any, *, checked: bool = False) -> None:
        """Check every record of the policy, then apply them in order."""
        self.check_form(action_list, checked)
        records = action_list if isinstance(action_list, list) else [action_list]
        parsed = [self._parse_record(r, f"action_list[{i}]") for i, r in enumerate(records)]
        self._commit(parsed)
        self._mark_missed(parsed)

    def apply_array(self, name: str, values: np.ndarray) -> bool:
        """:meth:`apply` of one ``gma::<name>`` record for users 1 … N whose ``value`` is
        ``values`` as an array; same checks, same effect. False (nothing done) when the
        scenario does not take that record so: :meth:`apply` then. Here: split weights
        (``<d>::split_weight``, :meth:`_apply_weights`)."""
        direction, _, knob = name.partition("::")
        if knob == "split_weight" and direction in DIRECTIONS:
            return self._apply_weights(direction, values)
        return False

    def _apply_weights(self, direction: str, weights: np.ndarray) -> bool:
        """The split weight rows ``weights`` (``(N, links)``, the config's links); False
        when they are not of that shape, or not finite numbers >= 0, or the scenario reads
        weight rows its own way."""
        links = self.settings.links
        if (
            type(self)._weight_rows is not GmaScenario._weight_rows
            or weights.shape != (self.num_users, len(links))
            or not (weights.min() >= 0.0 and weights.max() < math.inf)  # NaN fails both
        ):
            return False
        rows = np.zeros((weights.shape[0], NUM_LINKS))
        rows[:, list(links)] = weights
        if not weights.sum(axis=1).min() > 0.0:  # (the config's links all have cells)
            self._check_rows(rows, "action_list[0].value")
        self.commit_split(direction, rows)
        return True

    def commit_split(self, direction: str, rows: np.ndarray) -> None:
        """Give every user the split rows ``rows`` (``(N, 3)``, checked) in ``direction``, as
        an action's one split record for users 1 … N does.

        Within :func:`staging_splits` (a lock-step pass) the rows are staged instead, to be
        committed with the other sessions' (:func:`commit_staged`)."""
        staged = _STAGED.get()
        if staged is not None and type(self)._commit is GmaScenario._commit:
            staged.append((self, direction, rows))
            return
        parsed: list[tuple[str, int, np.ndarray, np.ndarray | None]] = [
            ("split", DIRECTIONS.index(direction), np.arange(self.num_users), rows)
        ]
        self._commit(parsed)
        self._mark_missed(parsed)

    def _commit_fractions(self, direction: str, fractions: np.ndarray) -> None:
        """:meth:`commit_split` of rows whose burst shares are ``fractions``."""
        d = DIRECTIONS.index(direction)
        users = np.arange(self.num_users)
        self.model.set_fractions(d, users, fractions)
        self.split_reported[d] = True
        self._mark_missed([("split", d, users, fractions)])

    def _mark_missed(self, parsed: list[tuple[str, int, np.ndarray, np.ndarray | None]]) -> None:
        if self.reports_missed_split:
            # ns-3 marks the users the action gave no split in the traffic direction
            # (``value: []`` included); the other direction reports 0.
            traffic = 0 if self.settings.downlink else 1
            self.missed_action[:] = 0
            self.missed_action[traffic] = 1
            for kind, direction, users, rows in parsed:
                if kind == "split" and rows is not None and direction == traffic:
                    self.missed_action[traffic, users] = 0

    def _commit(self, parsed: list[tuple[str, int, np.ndarray, np.ndarray | None]]) -> None:
        """Apply parsed records in order (each was checked by :meth:`_parse_record`)."""
        for kind, direction, users, rows in parsed:
            if kind == "builtin":
                self.model.use_builtin(direction)
            elif kind == "split" and rows is not None:
                self.model.set_split(direction, users, rows)
                self.split_reported[direction, users] = True
            elif kind.startswith("priority") and rows is not None:
                self.priority[direction, users, int(kind[-1])] = rows[:, 0].astype(np.int64)

    def _parse_record(
        self, record: Mapping[str, Any], where: str
    ) -> tuple[str, int, np.ndarray, np.ndarray | None]:
        """``(kind, direction, user indices, rows or None for "built-in")`` of one record.

        ``kind`` is ``"split"``, ``"builtin"``, ``"priority<link>"`` or ``"noop"``.
        """
        knob = f"{record['source']}::{record['name']}"
        parts = knob.split("::")
        handler = self._knobs().get(knob)
        if handler is None:
            raise InvalidAction(
                f"{where}: unknown knob {knob!r} for {self.name}; known: "
                f"{', '.join(sorted(self._knobs()))}"
            )
        direction = DIRECTIONS.index(parts[-2])
        ids, values = record["id"], record["value"]
        if isinstance(values, list) and not values:
            # value [] = the built-in behaviour (for priority marks: leave them as they are).
            kind = "noop" if handler == "priority" else "builtin"
            return kind, direction, np.zeros(0, np.int64), None
        if not isinstance(ids, list) or not isinstance(values, list):
            raise InvalidAction(f"{where}.value: {knob} needs one entry per id in arrays")
        users = self._user_indices(ids, f"{where}.id")
        if handler == "priority":
            link = LINK_NAMES.index(parts[1])
            marks = [self._flag(v, f"{where}.value[{i}]") for i, v in enumerate(values)]
            return f"priority{link}", direction, users, np.array(marks, float)[:, None]
        rows = handler(values, f"{where}.value")
        return "split", direction, users, rows

    def _knobs(self) -> dict[str, Any]:
        knobs: dict[str, Any] = {f"gma::{d}::split_weight": self._weight_rows for d in DIRECTIONS}
        for d in DIRECTIONS:
            for link in self.settings.links:
                knobs[f"gma::{LINK_NAMES[link]}::{d}::priority"] = "priority"
        return knobs

    def _user_indices(self, ids: list[Any], where: str) -> np.ndarray:
        return entity_indices(ids, where, self.num_users, "user")

    @staticmethod
    def _flag(value: Any, where: str) -> int:
        if isinstance(value, bool) or value not in (0, 1):
            raise InvalidAction(f"{where}: must be 0 or 1, got {value!r:.40}")
        return int(value)

    def _weight_rows(self, values: list[Any], where: str) -> np.ndarray:
        """``(k, 3)`` model rows (Wi-Fi, NR, LTE) of ``k`` rows of one weight per config link."""
        links = self.settings.links
        width = len(links)
        rows = _plain_weight_rows(values, width)
        if rows is None:
            # Something is off: find the first bad entry and name it.
            rows = np.zeros((len(values), width))
            for i, row in enumerate(values):
                if not isinstance(row, list) or len(row) != width:
                    size = len(row) if isinstance(row, list) else "not a list"
                    raise InvalidAction(
                        f"{where}[{i}]: the action size: {size} is not equal the number of "
                        f"links: {width} (one weight per link: {link_label(links)}), "
                        f"got {row!r:.60}"
                    )
                for k, w in enumerate(row):
                    if (
                        isinstance(w, bool)
                        or not isinstance(w, int | float)
                        or not math.isfinite(w)
                        or w < 0
                    ):
                        raise InvalidAction(
                            f"{where}[{i}][{k}]: weight must be a finite number >= 0, got {w!r:.40}"
                        )
                    rows[i, k] = w
        full = np.zeros((rows.shape[0], NUM_LINKS))
        full[:, list(links)] = rows
        self._check_rows(full, where)
        return full

    def _check_rows(self, rows: np.ndarray, where: str) -> None:
        sums = rows.sum(axis=1)
        for i in np.nonzero(sums <= 0)[0]:
            raise InvalidAction(f"{where}[{i}]: weights must not all be 0")
        for link in range(NUM_LINKS):
            if self.settings.cells[link].count == 0:
                bad = np.nonzero(rows[:, link] > 0)[0]
                if bad.size:
                    raise InvalidAction(
                        f"{where}[{bad[0]}]: {LINK_NAMES[link]} chosen, but the "
                        f"topology has no {LINK_NAMES[link]} cell"
                    )


#: The splits staged in a lock-step pass (:func:`staging_splits`): (scenario, direction, rows).
Staged = list[tuple[GmaScenario, str, np.ndarray]]
_STAGED: ContextVar[Staged | None] = ContextVar("netgym_staged_splits", default=None)


@contextmanager
def staging_splits(staged: Staged) -> Iterator[None]:
    """Within: :meth:`GmaScenario.commit_split` appends its rows to ``staged`` (the scenarios
    with their own ``_commit`` excepted), for :func:`commit_staged`."""
    token = _STAGED.set(staged)
    try:
        yield
    finally:
        _STAGED.reset(token)


def commit_staged(staged: Staged) -> None:
    """Commit every staged split, as each scenario's :meth:`~GmaScenario.commit_split`
    would, with the burst shares of all computed in one pass (row by row: the same bits)."""
    if not staged:
        return
    fractions = gma.burst_fractions(np.concatenate([rows for _, _, rows in staged]))
    lo = 0
    for scenario, direction, rows in staged:
        hi = lo + rows.shape[0]
        scenario._commit_fractions(direction, fractions[lo:hi])
        lo = hi
