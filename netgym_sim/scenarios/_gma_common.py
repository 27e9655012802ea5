"""Shared by the GMA-based scenarios: config parsing, the model, records and split actions.

Rules (PROTOCOL.md §3, §9, §10, §13, §14):
- Only the current layout is accepted (lowercase ``gma``/``wifi``/``lte``/``nr``,
  ``lte_enb_locations``, ``nr_gnb_locations``, ``wifi_ap_locations``, ``per_slice_config``).
  The first key that is not part of it raises :class:`InvalidEnvConfig` naming it (with the
  current name when it is an old-layout key). Keys of a section left out take §9's defaults.
- ``num_users``, when given, must equal the sum of ``per_slice_config.num_users``; users are
  numbered 1 … N (the IMSI), slice by slice.
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
from collections.abc import Generator, Mapping
from typing import Any, ClassVar

import numpy as np
import simpy

from netgym_client.errors import ProtocolError
from netgym_client.protocol import validate_action_list
from netgym_sim.errors import InvalidAction, InvalidEnvConfig
from netgym_sim.limits import BASE_KEYS
from netgym_sim.model.mobility import WalkParams
from netgym_sim.model.network import MultiAccessNetwork, NetworkParams, UserParams
from netgym_sim.model.radio import lte_profile, nr_profile, wifi_profile
from netgym_sim.model.topology import LINK_NAMES, LTE, NUM_LINKS, Area, Cells
from netgym_sim.model.traffic import TrafficSpec
from netgym_sim.scenarios._gma_records import (
    DIRECTIONS,
    RecordContext,
    build_records,
    metric_names,
    order_rows,
    probe_due,
)
from netgym_sim.scenarios.base import Record, Scenario

__all__ = ["MAX_USERS", "GmaScenario", "GmaSettings", "entity_indices", "link_label"]

logger = logging.getLogger(__name__)

#: Largest number of users simulated (the model is vectorised; ns-3 itself stops at 50).
MAX_USERS = 10_000
#: Slices per scenario (PROTOCOL.md §9).
MAX_SLICES = 8
#: Most cells of one technology.
MAX_CELLS = 64
#: Largest coordinate magnitude of a cell or of the user area, m (100 km).
MAX_COORD_M = 100_000.0
#: Largest backhaul delay, ms (10 s).
MAX_BACKHAUL_MS = 10_000.0
#: Largest per-user UDP rate, Mbit/s (100 Gbit/s).
MAX_RATE_MBPS = 100_000.0
#: Largest walking speed, m/s.
MAX_SPEED_MPS = 1_000.0
#: Largest magnitude of a walk direction bound, radians.
MAX_ANGLE_RAD = 1_000.0
#: Longest straight walk before a new draw, m.
MAX_WALK_DISTANCE_M = 1_000_000.0
#: Longest measurement interval or guard, ms (1 h).
MAX_INTERVAL_MS = 3_600_000
#: Largest delay bound or test threshold, ms (about 11.6 days).
MAX_DELAY_BOUND_MS = 1e9
#: Most resource block groups one slice may ask for.
MAX_RBG = 10_000
#: LTE channel sizes in resource blocks (3GPP TS 36.101 Table 5.6-1).
LTE_RESOURCE_BLOCKS = (6, 15, 25, 50, 75, 100)
#: Old-layout keys (PROTOCOL.md §10, §11) and what replaced them (§14).
LEGACY_KEYS = {
    "GMA": "gma",
    "Wi-Fi": "wifi",
    "LTE": "lte",
    "NR": "nr",
    "enb_locations": "lte_enb_locations",
    "ap_locations": "wifi_ap_locations",
    "slice_list": "per_slice_config",
    "qos_requirement": "per_slice_config",
    "transport_protocol": "per_slice_config.transport_protocol",
    "udp_poisson_arrival": "per_slice_config.udp_poisson_arrival",
    "min_udp_rate_per_user_mbps": "per_slice_config.min_udp_rate_per_user_mbps",
    "max_udp_rate_per_user_mbps": "per_slice_config.max_udp_rate_per_user_mbps",
    "downlink_mode": "per_slice_config.downlink_mode",
    "uplink_mode": "per_slice_config.uplink_mode",
}
TOP_KEYS = BASE_KEYS | frozenset(
    {
        "downlink_traffic",
        "max_wait_time_for_action_ms",
        "lte_enb_locations",
        "nr_gnb_locations",
        "wifi_ap_locations",
        "per_slice_config",
        "user_random_walk",
        "user_location_range",
        "gma",
        "wifi",
        "nr",
        "lte",
    }
)
#: Section defaults (PROTOCOL.md §9).
SECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "gma": {
        "mx_algorithm": "gma",
        "enable_dynamic_flow_prioritization": False,
        "measurement_interval_ms": 100,
        "measurement_guard_interval_ms": 0,
    },
    "wifi": {
        "backhaul_delay_ms": 0,
        "ap_share_same_band": False,
        "enable_rx_signal_based_handover": True,
        "measurement_interval_ms": 100,
        "measurement_guard_interval_ms": 0,
    },
    "nr": {"backhaul_delay_ms": 0},
    "lte": {
        "backhaul_delay_ms": 0,
        "resource_block_num": 50,
        "measurement_interval_ms": 100,
        "measurement_guard_interval_ms": 0,
    },
    "user_random_walk": {
        "min_speed_m/s": 1,
        "max_speed_m/s": 2,
        "min_direction_gradients": 0.0,
        "max_direction_gradients": 6.283184,
        "distance_m": 3,
    },
}
#: Per-slice defaults (PROTOCOL.md §9, first slice); ``num_users`` has none.
SLICE_DEFAULTS: dict[str, Any] = {
    "dedicated_rbg": 0,
    "prioritized_rbg": 0,
    "shared_rbg": 25,
    "packet_size_bytes": 1400,
    "transport_protocol": "udp",
    "udp_poisson_arrival": False,
    "min_udp_rate_per_user_mbps": 2,
    "max_udp_rate_per_user_mbps": 2,
    "qos_test_duration_ms": 500,
    "qos_loss_target": 0.01,
    "qos_delay_violation_target": 0.01,
    "qos_delay_requirement_ms": 10,
    "delay_test_1_thresh_ms": 1_000_000,
    "delay_test_2_thresh_ms": 1_000_000,
    "downlink_mode": "auto",
    "uplink_mode": "auto",
}
_MODES = ("auto", "split", "steer")


def _fail(path: str, problem: str) -> InvalidEnvConfig:
    return InvalidEnvConfig(f"env_config.{path}: {problem}")


def _number(value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"must be a finite number, got {value!r:.60}")
    if lo is not None and value < lo:
        raise _fail(path, f"must be >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise _fail(path, f"must be <= {hi}, got {value!r}")
    return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0 (numpy's bounds checks tell them apart)


def _integer(value: Any, path: str, lo: int = 0, hi: int | None = None) -> int:
    number = _number(value, path, lo, hi)
    if number != int(number):
        raise _fail(path, f"must be an integer, got {value!r}")
    return int(number)


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {value!r:.60}")
    return value


def _section(config: Mapping[str, Any], name: str, required: bool) -> dict[str, Any]:
    if name not in config:
        if required:
            raise _fail(name, "is required")
        return dict(SECTION_DEFAULTS.get(name, {}))
    value = config[name]
    if not isinstance(value, Mapping):
        raise _fail(name, f"must be an object, got {value!r:.60}")
    known = SECTION_DEFAULTS.get(name)
    if known is not None:
        for key in value:
            if key not in known:
                raise _fail(f"{name}.{key}", f"unknown key; known: {', '.join(known)}")
        return {**known, **value}
    return dict(value)


def _points(value: Any, path: str, *, allow_object: bool) -> list[tuple[float, float, float]]:
    items = [value] if allow_object and isinstance(value, Mapping) else value
    if not isinstance(items, list) or len(items) > MAX_CELLS:
        raise _fail(path, f"must be a list of at most {MAX_CELLS} {{x, y, z}} objects")
    points = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        if not isinstance(item, Mapping) or set(item) != {"x", "y", "z"}:
            raise _fail(where, f"must be an object with keys x, y, z, got {item!r:.60}")
        points.append(
            (
                _number(item["x"], f"{where}.x", -MAX_COORD_M, MAX_COORD_M),
                _number(item["y"], f"{where}.y", -MAX_COORD_M, MAX_COORD_M),
                _number(item["z"], f"{where}.z", 0.0, MAX_COORD_M),
            )
        )
    return points


def _per_slice(value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, Mapping):
        raise _fail("per_slice_config", f"must be an object, got {value!r:.60}")
    for key in value:
        if key != "num_users" and key not in SLICE_DEFAULTS:
            raise _fail(f"per_slice_config.{key}", "unknown key")
    counts = value.get("num_users")
    if not isinstance(counts, list) or not 1 <= len(counts) <= MAX_SLICES:
        raise _fail("per_slice_config.num_users", f"must list 1..{MAX_SLICES} slice sizes")
    slices = len(counts)
    out: dict[str, list[Any]] = {}
    for key in ("num_users", *SLICE_DEFAULTS):
        column = value.get(key, [SLICE_DEFAULTS.get(key)] * slices)
        if not isinstance(column, list) or len(column) != slices:
            raise _fail(
                f"per_slice_config.{key}", f"must list one entry per slice ({slices} slices)"
            )
        out[key] = column
    path = "per_slice_config"
    for s in range(slices):
        out["num_users"][s] = _integer(counts[s], f"{path}.num_users[{s}]", 0, MAX_USERS)
        for key in ("dedicated_rbg", "prioritized_rbg", "shared_rbg"):
            _integer(out[key][s], f"{path}.{key}[{s}]", 0, MAX_RBG)
        _integer(out["packet_size_bytes"][s], f"{path}.packet_size_bytes[{s}]", 1, 65507)
        proto = out["transport_protocol"][s]
        if not isinstance(proto, str) or not (proto in ("udp", "tcp") or proto.startswith("Tcp")):
            raise _fail(
                f"{path}.transport_protocol[{s}]",
                f"must be udp, tcp or Tcp<Variant>, got {proto!r:.40}",
            )
        _boolean(out["udp_poisson_arrival"][s], f"{path}.udp_poisson_arrival[{s}]")
        low = _number(
            out["min_udp_rate_per_user_mbps"][s],
            f"{path}.min_udp_rate_per_user_mbps[{s}]",
            0,
            MAX_RATE_MBPS,
        )
        _number(
            out["max_udp_rate_per_user_mbps"][s],
            f"{path}.max_udp_rate_per_user_mbps[{s}]",
            low,
            MAX_RATE_MBPS,
        )
        _integer(out["qos_test_duration_ms"][s], f"{path}.qos_test_duration_ms[{s}]", 100, 25000)
        for key in ("qos_loss_target", "qos_delay_violation_target"):
            _number(out[key][s], f"{path}.{key}[{s}]", 0, 1)
        for key in ("qos_delay_requirement_ms", "delay_test_1_thresh_ms", "delay_test_2_thresh_ms"):
            _number(out[key][s], f"{path}.{key}[{s}]", 0, MAX_DELAY_BOUND_MS)
        for key in ("downlink_mode", "uplink_mode"):
            if out[key][s] not in _MODES:
                raise _fail(
                    f"{path}.{key}[{s}]", f"must be one of {list(_MODES)}, got {out[key][s]!r:.40}"
                )
    total = sum(out["num_users"])
    if not 1 <= total <= MAX_USERS:
        raise _fail(f"{path}.num_users", f"users must total 1..{MAX_USERS}, got {total}")
    return out


def entity_indices(ids: list[Any], where: str, count: int, what: str) -> np.ndarray:
    """0-based indices of the 1-based ``ids`` of ``count`` entities (users, LTE cells).

    Raises:
        InvalidAction: An id is not an integer in 1..count, or ids repeat.
    """
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


class GmaSettings:
    """A checked GMA ``env_config``, in model terms."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        for key in config:
            if key not in TOP_KEYS:
                if key in LEGACY_KEYS:
                    hint = f"old config layout; the current layout uses {LEGACY_KEYS[key]!r}"
                else:
                    hint = "not a key of this environment"
                raise _fail(str(key), f"unknown key ({hint})")
        self.slices = _per_slice(config.get("per_slice_config"))
        self.num_users = sum(self.slices["num_users"])
        if "num_users" in config and config["num_users"] != self.num_users:
            raise _fail(
                "num_users",
                f"must equal the sum of per_slice_config.num_users ({self.num_users}), "
                f"got {config['num_users']!r:.40}",
            )
        self.downlink = _boolean(config.get("downlink_traffic", True), "downlink_traffic")
        if "max_wait_time_for_action_ms" in config:
            _number(config["max_wait_time_for_action_ms"], "max_wait_time_for_action_ms")
        self.start_ms = _integer(
            config.get("measurement_start_time_ms"), "measurement_start_time_ms"
        )
        sections = {
            name: _section(config, name, required=name in ("gma", "wifi", "lte"))
            for name in ("gma", "wifi", "lte", "nr", "user_random_walk")
        }
        gma, wifi, lte, nr, walk = (
            sections[k] for k in ("gma", "wifi", "lte", "nr", "user_random_walk")
        )
        if gma["mx_algorithm"] not in ("gma", "gma2"):
            raise _fail(
                "gma.mx_algorithm", f"must be 'gma' or 'gma2', got {gma['mx_algorithm']!r:.40}"
            )
        _boolean(
            gma["enable_dynamic_flow_prioritization"], "gma.enable_dynamic_flow_prioritization"
        )
        steps = {}
        for name, section in (("gma", gma), ("wifi", wifi), ("lte", lte)):
            interval = _integer(
                section["measurement_interval_ms"],
                f"{name}.measurement_interval_ms",
                1,
                MAX_INTERVAL_MS,
            )
            guard = _integer(
                section["measurement_guard_interval_ms"],
                f"{name}.measurement_guard_interval_ms",
                0,
                MAX_INTERVAL_MS,
            )
            steps[name] = (interval, guard)
        self.interval_ms, self.guard_ms = steps["gma"]
        for name in ("wifi", "lte"):
            if sum(steps[name]) != sum(steps["gma"]):
                raise _fail(
                    f"{name}.measurement_interval_ms",
                    f"interval + guard must equal gma's ({sum(steps['gma'])} ms), "
                    f"got {sum(steps[name])} ms",
                )
        top = (
            config.get("measurement_interval_ms", self.interval_ms),
            config.get("measurement_guard_interval_ms", self.guard_ms),
        )
        if top != (self.interval_ms, self.guard_ms):
            raise _fail(
                "measurement_interval_ms",
                f"top-level interval/guard {top} must equal gma's "
                f"{(self.interval_ms, self.guard_ms)}",
            )
        self.wifi_handover = _boolean(
            wifi["enable_rx_signal_based_handover"], "wifi.enable_rx_signal_based_handover"
        )
        self.wifi_shared_band = _boolean(wifi["ap_share_same_band"], "wifi.ap_share_same_band")
        rbs = lte["resource_block_num"]
        if rbs not in LTE_RESOURCE_BLOCKS or isinstance(rbs, bool):
            raise _fail(
                "lte.resource_block_num",
                f"must be one of {list(LTE_RESOURCE_BLOCKS)}, got {rbs!r:.40}",
            )
        self.resource_blocks = int(rbs)
        self.backhaul_ms = (
            _number(wifi["backhaul_delay_ms"], "wifi.backhaul_delay_ms", 0, MAX_BACKHAUL_MS),
            _number(nr["backhaul_delay_ms"], "nr.backhaul_delay_ms", 0, MAX_BACKHAUL_MS),
            _number(lte["backhaul_delay_ms"], "lte.backhaul_delay_ms", 0, MAX_BACKHAUL_MS),
        )
        if "lte_enb_locations" not in config:
            raise _fail("lte_enb_locations", "is required")
        lte_points = _points(config["lte_enb_locations"], "lte_enb_locations", allow_object=True)
        if not lte_points:
            raise _fail("lte_enb_locations", "must hold at least one eNB")
        cells = (
            Cells.from_points(
                _points(
                    config.get("wifi_ap_locations", []), "wifi_ap_locations", allow_object=False
                )
            ),
            Cells.from_points(
                _points(config.get("nr_gnb_locations", []), "nr_gnb_locations", allow_object=False)
            ),
            Cells.from_points(lte_points),
        )
        self.cells = cells
        #: The links the config has, in ns-3's link order (the split weights' columns).
        self.links = tuple(link for link in range(NUM_LINKS) if cells[link].count > 0)
        speeds = [
            _number(walk[k], f"user_random_walk.{k}", 0, MAX_SPEED_MPS)
            for k in ("min_speed_m/s", "max_speed_m/s")
        ]
        angles = [
            _number(walk[k], f"user_random_walk.{k}", -MAX_ANGLE_RAD, MAX_ANGLE_RAD)
            for k in ("min_direction_gradients", "max_direction_gradients")
        ]
        if speeds[1] < speeds[0] or angles[1] < angles[0]:
            raise _fail("user_random_walk", "each max_* must be >= its min_*")
        distance = _number(
            walk["distance_m"], "user_random_walk.distance_m", 0, MAX_WALK_DISTANCE_M
        )
        if distance <= 0:
            raise _fail("user_random_walk.distance_m", f"must be > 0, got {distance}")
        self.walk = WalkParams(speeds[0], speeds[1], angles[0], angles[1], distance)
        area = config.get("user_location_range")
        keys = ("min_x", "max_x", "min_y", "max_y", "z")
        if not isinstance(area, Mapping) or set(area) != set(keys):
            raise _fail("user_location_range", f"must be an object with keys {', '.join(keys)}")
        bounds = [
            _number(area[k], f"user_location_range.{k}", -MAX_COORD_M, MAX_COORD_M) for k in keys
        ]
        if bounds[1] < bounds[0] or bounds[3] < bounds[2] or bounds[4] < 0:
            raise _fail("user_location_range", f"needs min <= max and z >= 0, got {dict(area)}")
        self.area = Area(*bounds)
        self.subscriptions = config.get("subscribed_network_stats")
        if self.subscriptions is not None and (
            not isinstance(self.subscriptions, list)
            or not all(isinstance(s, str) for s in self.subscriptions)
        ):
            raise _fail("subscribed_network_stats", "must be a list of 'source::name' strings")

    def per_user(self, key: str) -> list[Any]:
        """The slice setting ``key`` repeated for each user of the slice, in user order."""
        return [
            v
            for v, count in zip(self.slices[key], self.slices["num_users"], strict=True)
            for _ in range(count)
        ]


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
        self.model.advance_to(float(now_ms))
        stats = self.model.end_interval()
        # GMA reports a user's split once it was set: by an action (see _commit) or by its
        # own algorithm moving it from where it started.
        if self._start_split is None:
            self._start_split = stats.split_ratio_pct.copy()
        moved = np.any(np.abs(stats.split_ratio_pct - self._start_split) > 1e-9, axis=2)
        self.split_reported |= moved
        probed = probe_due(now_ms - stats.measured_ms, float(now_ms))
        return build_records(self.subscriptions, stats, self.context, now_ms, probed)

    # -- actions ---------------------------------------------------------------------------
    def apply(self, action_list: Any) -> None:
        """Check every record of the policy, then apply them in order."""
        try:
            validate_action_list(action_list)
        except ProtocolError as exc:
            raise InvalidAction(str(exc)) from exc
        records = action_list if isinstance(action_list, list) else [action_list]
        parsed = [self._parse_record(r, f"action_list[{i}]") for i, r in enumerate(records)]
        self._commit(parsed)
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
