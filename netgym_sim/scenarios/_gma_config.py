"""The GMA-based scenarios' ``env_config``: checked and turned into model terms.

Rules (PROTOCOL.md §9, §10, §14):
- Only the current layout is accepted (lowercase ``gma``/``wifi``/``lte``/``nr``,
  ``lte_enb_locations``, ``nr_gnb_locations``, ``wifi_ap_locations``, ``per_slice_config``).
  The first key that is not part of it raises :class:`InvalidEnvConfig` naming it (with the
  current name when it is an old-layout key). Keys of a section left out take §9's defaults.
- ``num_users``, when given, must equal the sum of ``per_slice_config.num_users``; users are
  numbered 1 … N (the IMSI), slice by slice.
- The config's links (:attr:`GmaSettings.links`) are Wi-Fi (with APs), NR (with gNBs) and
  LTE, in ns-3's link order: the columns of the split weights.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from netgym_sim.errors import InvalidEnvConfig
from netgym_sim.limits import BASE_KEYS
from netgym_sim.model.mobility import WalkParams
from netgym_sim.model.topology import NUM_LINKS, Area, Cells

logger = logging.getLogger(__name__)

__all__ = ["MAX_USERS", "GmaSettings"]

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


#: Old-layout keys the original network_slicing adapter reads from the config it also sends
#: (``slice_list``, ``LTE.resource_block_num``): in a network_slicing start, beside their
#: current key, ignored, as ns-3 ignores keys it does not read; otherwise refused as the old
#: layout.
ORIGINAL_ADAPTER_KEYS = {"slice_list": "per_slice_config", "LTE": "lte"}


class GmaSettings:
    """A checked GMA ``env_config``, in model terms."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        for key in config:
            if config.get("env") == "network_slicing" and ORIGINAL_ADAPTER_KEYS.get(key) in config:
                logger.debug("env_config.%s ignored beside %s", key, ORIGINAL_ADAPTER_KEYS[key])
                continue
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
