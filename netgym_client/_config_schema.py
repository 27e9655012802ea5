"""What a valid netgym configuration looks like: key sets, types and ranges, per section.

Rules:
    - Every check is ``check(value, path) -> None`` and raises :class:`ConfigError` naming the
      dotted path (``env_config.per_slice_config.num_users[1]``), the value and the allowed
      range. Nothing else may escape: any JSON-like input ends in success or ConfigError.
    - Unknown keys are errors with a close-match suggestion, except inside the ``custom``
      environment's ``env_config``, which is the user's own free-form environment.
    - ``bool`` is not an integer; an ``int`` is accepted where a float is expected; floats
      must be finite (NaN and infinities cannot be sent as JSON).

The facts (keys, defaults, ranges) come from PROTOCOL.md §6–§14.
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netgym_client.errors import ConfigError

__all__ = [
    "BW_TRACE_COLUMNS",
    "COMMON_KEYS",
    "ENV_SCHEMAS",
    "EXTRA_REWARD_TYPES",
    "GMA_ENVS",
    "INT64_MAX",
    "LEGACY_KEYS",
    "LTE_RESOURCE_BLOCKS",
    "MAX_CUSTOM_USERS",
    "MAX_SLICES",
    "MAX_SLICE_USERS",
    "NS3_MAX_USERS",
    "REWARD_TYPES",
    "RMCAT_INTERVAL_MS",
    "SERVER_SCHEMA",
    "Check",
    "Field",
    "allowed_reward_types",
    "check_bw_trace",
    "check_env_config",
    "check_object",
    "check_rl_config",
    "check_session_name",
    "join",
    "show",
    "step_sums_ms",
    "top_level_schema",
    "unknown_key",
]

#: A check: raises ConfigError for a bad value at a dotted path; its result is ignored.
Check = Callable[[Any, str], object]

#: Environments whose config has the lowercase ``gma``/``wifi``/``lte`` sections (§9, §14).
GMA_ENVS = frozenset({"nqos_split", "qos_steer", "network_slicing"})
#: Slices per GMA-based environment: ns-3 accepts 1–8 (§9).
MAX_SLICES = 8
#: Total users over all slices: the simulator's limit (netgym_sim takes up to 10,000).
#: ns-3 NetworkGym servers stop at 50 (§9); the env logs a warning when a session with more
#: users goes to a server that is not the embedded one (see :data:`NS3_MAX_USERS`).
MAX_SLICE_USERS = 10_000
#: Users over all slices that ns-3 NetworkGym servers accept (§9).
NS3_MAX_USERS = 50
#: Users of the custom (dummy) environment; the same cap as the simulator's custom scenario.
MAX_CUSTOM_USERS = 10_000
#: LTE channel sizes in resource blocks: 1.4, 3, 5, 10, 15, 20 MHz (3GPP TS 36.101
#: Table 5.6-1), the values ns-3's LTE eNB accepts; §9 names 25/50/75/100.
LTE_RESOURCE_BLOCKS = frozenset({6, 15, 25, 50, 75, 100})
#: rmcat's measurement interval is fixed by NADA in ns-3 (§12), in ms.
RMCAT_INTERVAL_MS = 100
#: ZMQ PLAIN user names and passwords are at most 255 octets (ZMTP 23/ZMTP-PLAIN).
MAX_PLAIN_OCTETS = 255
#: Integers must fit the peer's JSON parser (ns-3 stores them as 64-bit integers).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Largest finite float: a larger int cannot become a JSON float.
MAX_FLOAT = sys.float_info.max
#: Longest value representation quoted in an error message.
MAX_SHOWN_CHARS = 80

#: The reward types each environment's original adapter accepts (§8–§12).
REWARD_TYPES: dict[str, frozenset[str]] = {
    "custom": frozenset({""}),
    "nqos_split": frozenset({"utility"}),
    "qos_steer": frozenset({"wifi_qos_user_num"}),
    "network_slicing": frozenset({""}),
    "rmcat": frozenset({""}),
}
#: Opt-in reward types netgym adds (§14); extend this mapping to register more.
EXTRA_REWARD_TYPES: dict[str, set[str]] = {
    "nqos_split": {"normalized_utility"},
    "network_slicing": {"slice_utility"},
    "rmcat": {"delay_aware_throughput"},
}

#: ``rl_config.adapter``: an importable ``"package.module:Class"`` (dotted names both sides).
ADAPTER_TARGET = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"

#: Keys of the original layout (§10, §11) and what replaced them in the current one (§14).
LEGACY_KEYS: dict[str, str] = {
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


def allowed_reward_types(env: str) -> frozenset[str]:
    """The reward types ``env`` accepts now (the originals plus :data:`EXTRA_REWARD_TYPES`)."""
    return REWARD_TYPES.get(env, frozenset()) | frozenset(EXTRA_REWARD_TYPES.get(env, ()))


def join(path: str, key: str) -> str:
    """The dotted path of ``key`` inside ``path``."""
    return f"{path}.{key}" if path else key


def show(value: Any) -> str:
    """A short ``repr`` of ``value`` for error messages."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        return f"<integer of {value.bit_length()} bits>" if isinstance(value, int) else "<?>"
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def unknown_key(path: str, key: str, known: Iterable[str]) -> ConfigError:
    """The error for an unknown ``key`` at ``path``, suggesting the closest known key."""
    known = sorted(known)
    where = join(path, key)
    if key in LEGACY_KEYS:
        return ConfigError(
            where, f"unknown key (old config layout); did you mean {LEGACY_KEYS[key]!r}?"
        )
    # Case-insensitive so that e.g. 'Num_Users' still finds 'num_users'.
    lowered = {name.lower(): name for name in known}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return ConfigError(where, f"unknown key; did you mean {lowered[close[0]]!r}?")
    return ConfigError(where, f"unknown key; known keys: {', '.join(known)}")


@dataclass(frozen=True)
class Field:
    """One key of an object: how to check its value, and whether it must be present."""

    check: Check
    required: bool = True


def check_object(
    value: Any, path: str, fields: Mapping[str, Field], *, open_keys: bool = False
) -> Mapping[str, Any]:
    """Check that ``value`` is an object with known keys only, each valid.

    Args:
        value: The candidate object.
        path: Its dotted path.
        fields: The known keys.
        open_keys: Accept unknown keys too (their values must still be JSON values).

    Returns:
        ``value``, typed as a mapping.
    """
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"must be an object, got {show(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(path, f"keys must be strings, got {show(key)}")
        if key not in fields:
            if not open_keys:
                raise unknown_key(path, key, fields)
            _check_json(value[key], join(path, key))
    for key, field in fields.items():
        if key in value:
            field.check(value[key], join(path, key))
        elif field.required:
            raise ConfigError(join(path, key), "is required")
    return value


def _check_json(value: Any, path: str) -> None:
    """Check that ``value`` can go on the wire as JSON (free-form keys of ``custom``)."""
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ConfigError(path, f"must fit in a signed 64-bit integer, got {show(value)}")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {show(value)}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(path, f"keys must be strings, got {show(key)}")
            _check_json(item, join(path, key))
        return
    raise ConfigError(path, f"must be a JSON value, got {show(value)}")


# -- scalar checks -------------------------------------------------------------------------
def _range_problem(value: float, lo: float | None, hi: float | None, lo_open: bool) -> str | None:
    """Why ``value`` is outside ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``), or None."""
    low_ok = lo is None or (value > lo if lo_open else value >= lo)
    high_ok = hi is None or value <= hi
    if low_ok and high_ok:
        return None
    if lo is not None and lo == hi:
        return f"must be {lo}, got {show(value)}"
    if lo is not None and hi is not None:
        return f"must be in {'(' if lo_open else '['}{lo}, {hi}], got {show(value)}"
    if not low_ok:
        return f"must be {'>' if lo_open else '>='} {lo}, got {show(value)}"
    return f"must be <= {hi}, got {show(value)}"


def integer(
    lo: int | None = None,
    hi: int | None = None,
    *,
    lo_open: bool = False,
    choices: frozenset[int] | None = None,
) -> Check:
    """An integer (not a bool) within ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``) or ``choices``."""

    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"must be an integer, got {show(value)}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise ConfigError(path, f"must fit in a signed 64-bit integer, got {show(value)}")
        if choices is not None and value not in choices:
            raise ConfigError(path, f"must be one of {sorted(choices)}, got {show(value)}")
        problem = _range_problem(value, lo, hi, lo_open)
        if problem:
            raise ConfigError(path, problem)

    return check


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Check:
    """A finite number (int or float, not a bool) within ``[lo, hi]`` (``(lo, hi]``)."""

    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"must be a number, got {show(value)}")
        if isinstance(value, int) and abs(value) > MAX_FLOAT:
            raise ConfigError(path, f"must be a finite number, got {show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {value}")
        problem = _range_problem(value, lo, hi, lo_open)
        if problem:
            raise ConfigError(path, problem)

    return check


def boolean(value: Any, path: str) -> None:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(path, f"must be true or false, got {show(value)}")


def string(
    *, choices: Iterable[str] | None = None, pattern: str | None = None, nonempty: bool = False
) -> Check:
    """A string, optionally one of ``choices`` or fully matching ``pattern``."""
    allowed = None if choices is None else sorted(choices)
    regex = None if pattern is None else re.compile(pattern)

    def check(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, got {show(value)}")
        if nonempty and not value:
            raise ConfigError(path, "must not be empty")
        if allowed is not None and value not in allowed:
            raise ConfigError(path, f"must be one of {allowed}, got {show(value)}")
        if regex is not None and not regex.fullmatch(value):
            raise ConfigError(path, f"must match {regex.pattern!r}, got {show(value)}")

    return check


def list_of(item: Check, *, min_len: int = 0, max_len: int | None = None) -> Check:
    """A JSON array whose every item passes ``item``."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, list | tuple):
            raise ConfigError(path, f"must be a list, got {show(value)}")
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            bound = f"{min_len}..{max_len}" if max_len is not None else f">= {min_len}"
            raise ConfigError(path, f"must have {bound} entries, got {len(value)}")
        for i, entry in enumerate(value):
            item(entry, f"{path}[{i}]")

    return check


def obj(fields: Mapping[str, Field], *, open_keys: bool = False) -> Check:
    """A nested object with the given ``fields``."""

    def check(value: Any, path: str) -> None:
        check_object(value, path, fields, open_keys=open_keys)

    return check


def check_session_name(value: Any, path: str) -> None:
    """A PLAIN user name that survives the server's identity split on ``-`` (§4)."""
    string(nonempty=True)(value, path)
    if "-" in value:
        raise ConfigError(
            path, f"must not contain '-' (the server splits the identity on it), got {show(value)}"
        )
    if len(value.encode()) > MAX_PLAIN_OCTETS:
        raise ConfigError(path, f"must be at most {MAX_PLAIN_OCTETS} UTF-8 bytes")


def _check_session_key(value: Any, path: str) -> None:
    string(nonempty=True)(value, path)
    if len(value.encode()) > MAX_PLAIN_OCTETS:
        raise ConfigError(path, f"must be at most {MAX_PLAIN_OCTETS} UTF-8 bytes")


_ADDRESS = re.compile(
    r"embedded|embedded\+tcp|tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})"
    r"|ipc://\S+|inproc://\S+"
)
MAX_PORT = 65535


def _check_address(value: Any, path: str) -> None:
    string()(value, path)
    match = _ADDRESS.fullmatch(value)
    port = match.group("port") if match else None
    if match is None or (port is not None and not 1 <= int(port) <= MAX_PORT):
        raise ConfigError(
            path,
            "must be 'embedded', 'embedded+tcp', 'tcp://<host>:<port 1-65535>', 'ipc://<path>' or "
            f"'inproc://<name>', got {show(value)}",
        )


def _check_client_id(value: Any, path: str) -> None:
    if value == "auto":  # leased per machine: netgym_client.client_ids
        return
    try:
        integer(0)(value, path)
    except ConfigError as exc:
        raise ConfigError(path, f"must be an integer >= 0 or 'auto', got {show(value)}") from exc


_seconds = number(0, lo_open=True)
_port = integer(1, MAX_PORT)

#: ``server``: where and as whom to connect, and how long to wait.
SERVER_SCHEMA: dict[str, Field] = {
    "address": Field(_check_address),
    "session_name": Field(check_session_name),
    "session_key": Field(_check_session_key),
    "client_id": Field(_check_client_id),
    "connect_timeout_s": Field(_seconds),
    "step_timeout_s": Field(_seconds),
    "embedded_step_timeout_s": Field(_seconds),
    "heartbeat_timeout_s": Field(_seconds),
    "server_public_key": Field(string()),
}

#: The original client's ``common_config.json`` keys (§7.1), kept at the top level.
COMMON_KEYS: dict[str, Field] = {
    "connect_via_server_ip_and_server_port": Field(boolean),
    "server_ip": Field(string(nonempty=True)),
    "server_port": Field(_port),
    "local_fowarded_port": Field(_port),
    "session_name": Field(check_session_name),
    "session_key": Field(_check_session_key),
    "enable_wandb": Field(boolean),
    "enable_terminal_redering": Field(boolean),
}


def check_rl_config(env: str, value: Any, path: str = "rl_config") -> Mapping[str, Any]:
    """``rl_config``: ``agent``, ``reward_type`` and the optional ``adapter`` and flag.

    ``agent`` is any string, ``reward_type`` one that ``env`` accepts, ``adapter`` a
    ``"package.module:Class"`` that replaces the environment's built-in adapter, and
    ``terminate_on_session_end`` (bool, default false) makes the session's last step
    ``terminated=True`` as in the original client instead of ``truncated=True`` (§14).
    """
    fields = {
        "agent": Field(string()),
        "reward_type": Field(string(choices=allowed_reward_types(env))),
        "adapter": Field(string(pattern=ADAPTER_TARGET), required=False),
        "terminate_on_session_end": Field(boolean, required=False),
    }
    return check_object(value, path, fields)


# -- env_config sections -------------------------------------------------------------------
_ms = integer(0)
_interval_ms = integer(0, lo_open=True)
_coordinate_m = number()
_height_m = number(0)
_location = obj({"x": Field(_coordinate_m), "y": Field(_coordinate_m), "z": Field(_height_m)})
_subscriptions = list_of(string(pattern=r"[A-Za-z0-9_]+(::[A-Za-z0-9_]+)+"))

#: Keys every environment has (§3, §7.2); ``env``/``env_end_time_ms`` are derived.
_BASE: dict[str, Field] = {
    "type": Field(string(choices=("env-start",))),
    "env": Field(string(), required=False),
    "steps_per_episode": Field(integer(2)),
    "episodes_per_session": Field(integer(1)),
    "measurement_start_time_ms": Field(_ms),
    "env_end_time_ms": Field(integer(0), required=False),
    "random_seed": Field(integer(0), required=False),
}

_CUSTOM: dict[str, Field] = {
    **_BASE,
    "num_users": Field(integer(1, MAX_CUSTOM_USERS)),
    "measurement_interval_ms": Field(_interval_ms),
    "measurement_guard_interval_ms": Field(_ms, required=False),
}

_TIMING = {
    "measurement_interval_ms": Field(_interval_ms),
    "measurement_guard_interval_ms": Field(_ms),
}

_PER_SLICE: dict[str, Field] = {
    "num_users": Field(list_of(integer(0, MAX_SLICE_USERS), min_len=1, max_len=MAX_SLICES)),
    "dedicated_rbg": Field(list_of(integer(0))),
    "prioritized_rbg": Field(list_of(integer(0))),
    "shared_rbg": Field(list_of(integer(0))),
    # Largest IPv4 UDP payload, bytes.
    "packet_size_bytes": Field(list_of(integer(1, 65507))),
    # "udp", or TCP: bare "tcp" (BBR) or an ns-3 socket type "Tcp<Variant>" (§9).
    "transport_protocol": Field(list_of(string(pattern=r"udp|tcp|Tcp[A-Za-z0-9]+"))),
    "udp_poisson_arrival": Field(list_of(boolean)),
    "min_udp_rate_per_user_mbps": Field(list_of(number(0))),
    "max_udp_rate_per_user_mbps": Field(list_of(number(0))),
    "qos_test_duration_ms": Field(list_of(integer(100, 25000))),
    "qos_loss_target": Field(list_of(number(0, 1))),
    "qos_delay_violation_target": Field(list_of(number(0, 1))),
    "qos_delay_requirement_ms": Field(list_of(number(0))),
    "delay_test_1_thresh_ms": Field(list_of(number(0))),
    "delay_test_2_thresh_ms": Field(list_of(number(0))),
    "downlink_mode": Field(list_of(string(choices=("auto", "split", "steer")))),
    "uplink_mode": Field(list_of(string(choices=("auto", "split", "steer")))),
}

_GMA: dict[str, Field] = {
    **_BASE,
    "subscribed_network_stats": Field(_subscriptions),
    "random_seed": Field(integer(0)),
    "downlink_traffic": Field(boolean),
    # ns-3 caps values < 0 or > 600000 to 600000 ms (§9), so any integer is meaningful.
    "max_wait_time_for_action_ms": Field(integer()),
    "lte_enb_locations": Field(_location),
    "nr_gnb_locations": Field(list_of(_location)),
    "wifi_ap_locations": Field(list_of(_location)),
    "per_slice_config": Field(obj(_PER_SLICE)),
    "user_random_walk": Field(
        obj(
            {
                "min_speed_m/s": Field(number(0)),
                "max_speed_m/s": Field(number(0)),
                "min_direction_gradients": Field(number()),
                "max_direction_gradients": Field(number()),
                "distance_m": Field(number(0, lo_open=True)),
            }
        )
    ),
    "user_location_range": Field(
        obj(
            {
                "min_x": Field(_coordinate_m),
                "max_x": Field(_coordinate_m),
                "min_y": Field(_coordinate_m),
                "max_y": Field(_coordinate_m),
                "z": Field(_height_m),
            }
        )
    ),
    "gma": Field(
        obj(
            {
                "mx_algorithm": Field(string(choices=("gma", "gma2"))),
                "enable_dynamic_flow_prioritization": Field(boolean),
                **_TIMING,
            }
        )
    ),
    "wifi": Field(
        obj(
            {
                "backhaul_delay_ms": Field(number(0)),
                "ap_share_same_band": Field(boolean),
                "enable_rx_signal_based_handover": Field(boolean),
                **_TIMING,
            }
        )
    ),
    "nr": Field(obj({"backhaul_delay_ms": Field(number(0))})),
    "lte": Field(
        obj(
            {
                "backhaul_delay_ms": Field(number(0)),
                "resource_block_num": Field(integer(choices=LTE_RESOURCE_BLOCKS)),
                **_TIMING,
            }
        )
    ),
    # Derived from the sections above (§7.2); accepted when they agree.
    "num_users": Field(integer(0), required=False),
    "measurement_interval_ms": Field(_interval_ms, required=False),
    "measurement_guard_interval_ms": Field(_ms, required=False),
}

#: Columns of an rmcat bandwidth trace (§12): start of each period, bottleneck bandwidth,
#: one-way delay and loss ratio during it.
BW_TRACE_COLUMNS: dict[str, Field] = {
    "time_ms": Field(list_of(number(0), min_len=1)),
    "bw_kbps": Field(list_of(number(0, lo_open=True), min_len=1)),
    "delay_ms": Field(list_of(number(0), min_len=1)),
    "loss": Field(list_of(number(0, 1), min_len=1)),
}


def check_bw_trace(value: Any, path: str) -> None:
    """An rmcat bandwidth trace: four equal-length columns, times strictly increasing."""
    trace = check_object(value, path, BW_TRACE_COLUMNS)
    times = trace["time_ms"]
    for name in BW_TRACE_COLUMNS:
        if len(trace[name]) != len(times):
            raise ConfigError(
                join(path, name), f"has {len(trace[name])} entries but time_ms has {len(times)}"
            )
    for i in range(1, len(times)):
        if not times[i] > times[i - 1]:
            raise ConfigError(
                f"{path}.time_ms[{i}]",
                f"must be > time_ms[{i - 1}] = {times[i - 1]} (times increase), got {times[i]}",
            )


_RMCAT: dict[str, Field] = {
    **_BASE,
    "subscribed_network_stats": Field(_subscriptions),
    # ns-3's rmcat scenario drives exactly one RL (NADA) flow (§12).
    "nada_flows": Field(integer(1, 1)),
    "nada_flow_start_time_diff_ms": Field(_ms),
    "tcp_flows": Field(integer(0)),
    "tcp_flow_start_time_diff_ms": Field(_ms),
    "udp_flows": Field(integer(0)),
    "udp_flow_bw_kbps": Field(number(0)),
    "upd_flow_start_time_diff_ms": Field(_ms),  # sic: the original's spelling
    "measurement_interval_ms": Field(integer(RMCAT_INTERVAL_MS, RMCAT_INTERVAL_MS)),
    "topo_default_bw_kbps": Field(number(0, lo_open=True)),
    "topo_default_delay_ms": Field(number(0)),
    "bw_trace_file": Field(string(nonempty=True)),
    "bw_trace": Field(check_bw_trace, required=False),
}

#: ``env_config`` keys per environment, and whether unknown keys are accepted.
ENV_SCHEMAS: dict[str, tuple[dict[str, Field], bool]] = {
    "custom": (_CUSTOM, True),
    "nqos_split": (_GMA, False),
    "qos_steer": (_GMA, False),
    "network_slicing": (_GMA, False),
    "rmcat": (_RMCAT, False),
}


# -- relations between keys ----------------------------------------------------------------
def _check_min_max(section: Mapping[str, Any], path: str, low: str, high: str) -> None:
    if section[high] < section[low]:
        raise ConfigError(
            join(path, high), f"must be >= {low} = {section[low]}, got {section[high]}"
        )


def _check_slices(per_slice: Mapping[str, Any], path: str) -> None:
    num_users = per_slice["num_users"]
    slices = len(num_users)
    for key in _PER_SLICE:
        if len(per_slice[key]) != slices:
            raise ConfigError(
                join(path, key),
                f"has {len(per_slice[key])} entries but num_users has {slices} "
                "(one entry per slice)",
            )
    total = sum(num_users)
    if not 1 <= total <= MAX_SLICE_USERS:
        raise ConfigError(
            join(path, "num_users"),
            f"users over all slices must total 1..{MAX_SLICE_USERS}, got {total}",
        )
    low, high = per_slice["min_udp_rate_per_user_mbps"], per_slice["max_udp_rate_per_user_mbps"]
    for i in range(slices):
        if high[i] < low[i]:
            raise ConfigError(
                f"{path}.max_udp_rate_per_user_mbps[{i}]",
                f"must be >= min_udp_rate_per_user_mbps[{i}] = {low[i]}, got {high[i]}",
            )


def step_sums_ms(env_config: Mapping[str, Any]) -> dict[str, int]:
    """``interval + guard`` of the ``gma``, ``wifi`` and ``lte`` sections, in ms."""
    return {
        name: env_config[name]["measurement_interval_ms"]
        + env_config[name]["measurement_guard_interval_ms"]
        for name in ("gma", "wifi", "lte")
    }


def check_env_config(env: str, value: Any, path: str = "env_config") -> Mapping[str, Any]:
    """Check an environment's ``env_config``: keys, types, ranges and relations.

    Derived keys (``env``, ``env_end_time_ms``, ``num_users`` of the slice environments, the
    top-level intervals of the GMA ones) are only type-checked here.

    Returns:
        ``value``, typed as a mapping.
    """
    fields, open_keys = ENV_SCHEMAS[env]
    config = check_object(value, path, fields, open_keys=open_keys)
    if env in GMA_ENVS:
        _check_slices(config["per_slice_config"], join(path, "per_slice_config"))
        walk_path = join(path, "user_random_walk")
        _check_min_max(config["user_random_walk"], walk_path, "min_speed_m/s", "max_speed_m/s")
        _check_min_max(
            config["user_random_walk"],
            walk_path,
            "min_direction_gradients",
            "max_direction_gradients",
        )
        area_path = join(path, "user_location_range")
        _check_min_max(config["user_location_range"], area_path, "min_x", "max_x")
        _check_min_max(config["user_location_range"], area_path, "min_y", "max_y")
        sums = step_sums_ms(config)
        for name in ("wifi", "lte"):
            if sums[name] != sums["gma"]:
                listing = ", ".join(f"{path}.{n}: {ms} ms" for n, ms in sums.items())
                raise ConfigError(
                    f"{path}.{name}.measurement_interval_ms",
                    "measurement_interval_ms + measurement_guard_interval_ms must be equal in "
                    f"gma, wifi and lte, got {listing}",
                )
    return config


def top_level_schema(env: str) -> dict[str, Field]:
    """The keys of a whole configuration of ``env`` in its nested form."""
    return {
        "server": Field(obj(SERVER_SCHEMA)),
        "rl_config": Field(lambda value, path: check_rl_config(env, value, path)),
        "env_config": Field(lambda value, path: check_env_config(env, value, path)),
        **COMMON_KEYS,
    }
