"""What one request may cost the server: limits checked at the edge, before a session is built.

Rules:
- Every ``env-start`` and ``env-action`` is checked whole, in one bounded walk, before any
  scenario or model sees it: nesting depth, the number of JSON values, each list's length,
  each string's length, and every number (finite, integers within ±2**53 so that a float
  holds them exactly, floats within ±:attr:`Limits.max_abs_number`). ``-0.0`` is not a
  problem for the walk, but the scenarios turn it into ``0.0``.
- An ``env-start`` may only carry the keys its environment knows (GMA environments: their
  scenario's own list; ``custom`` and ``rmcat``: :data:`KNOWN_KEYS`); an unknown key is an
  ``env-error`` naming its dotted path, like the client's own config check.
- Size caps that depend on the environment: ``num_users`` / ``per_slice_config.num_users``
  (sum) <= :attr:`Limits.max_users`, ``bw_trace`` rows <= :attr:`Limits.max_trace_points`.
- A session keeps only what it needs (the scenario's parsed settings), never the
  ``env_config`` it was started with, so memory per session follows its users and trace,
  not the size of the request.
- Every failure is an :class:`~netgym_sim.errors.InvalidEnvConfig` or
  :class:`~netgym_sim.errors.InvalidAction` whose text starts with the dotted path and shows
  at most :data:`ECHO_CHARS` characters of the offending value.

The limits and their defaults are listed in ``docs/limits.md`` (one table, with the
``serve`` flags that change them).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netgym_sim.errors import InvalidAction, InvalidEnvConfig, SimError

__all__ = [
    "ECHO_CHARS",
    "KNOWN_KEYS",
    "MAX_EXACT_INT",
    "MAX_TIME_MS",
    "Limits",
    "LogTally",
    "check_action",
    "check_env_start",
    "echo",
]

#: Longest excerpt of a client's own value that an error reply repeats, in characters.
ECHO_CHARS = 60
#: Largest integer magnitude accepted anywhere (a float64 holds every integer up to it).
MAX_EXACT_INT = 2**53
#: Latest simulated time a session may name (start, end, trace times), ms: about 31 years.
MAX_TIME_MS = 10**12

#: The keys every env-start may carry (PROTOCOL.md §3), whatever its environment.
BASE_KEYS = frozenset(
    {
        "type",
        "env",
        "steps_per_episode",
        "episodes_per_session",
        "num_users",
        "measurement_start_time_ms",
        "measurement_interval_ms",
        "measurement_guard_interval_ms",
        "env_end_time_ms",
        "random_seed",
        "subscribed_network_stats",
    }
)
#: Keys of the environments whose scenario does not list its own (GMA scenarios do).
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "custom": BASE_KEYS,
    "rmcat": BASE_KEYS
    | {
        "nada_flows",
        "nada_flow_start_time_diff_ms",
        "tcp_flows",
        "tcp_flow_start_time_diff_ms",
        "udp_flows",
        "udp_flow_bw_kbps",
        "upd_flow_start_time_diff_ms",
        "udp_flow_start_time_diff_ms",
        "topo_default_bw_kbps",
        "topo_default_delay_ms",
        "bw_trace_file",
        "bw_trace",
    },
}


def echo(value: Any) -> str:
    """``repr(value)`` cut to :data:`ECHO_CHARS` characters (with ``…`` when cut)."""
    text = repr(value)
    return text if len(text) <= ECHO_CHARS else text[: ECHO_CHARS - 1] + "…"


@dataclass(frozen=True)
class Limits:
    """The per-request caps of one server (defaults in ``docs/limits.md``).

    Attributes:
        max_message_bytes: Largest client payload, bytes (larger: ``env-error``).
        max_users: Most users of one session (``num_users``, summed slices).
        max_trace_points: Most rows of an rmcat ``bw_trace``.
        max_list_len: Longest JSON array anywhere in a request.
        max_string_chars: Longest JSON string (key or value) in a request.
        max_values: Most JSON values (numbers, strings, arrays, objects…) in one request.
        max_depth: Deepest nesting of arrays/objects in one request.
        max_abs_number: Largest magnitude of a non-integer number.
    """

    max_message_bytes: int = 1024 * 1024
    max_users: int = 10_000
    max_trace_points: int = 10_000
    max_list_len: int = 30_000
    max_string_chars: int = 256
    max_values: int = 200_000
    max_depth: int = 8
    max_abs_number: float = 1e15

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {value!r}")


class LogTally:
    """Counts one kind of client fault: each at DEBUG, their number at WARNING now and then.

    A hostile peer can send thousands of bad messages a second; one log line each would
    cost more than answering them. The first one is logged at WARNING at once, then at most
    one WARNING per ``interval_s`` says how many came since.
    """

    def __init__(self, log: logging.Logger, what: str, interval_s: float = 60.0) -> None:
        self.log = log
        self.what = what
        self.interval_s = interval_s
        self.count = 0
        self._since_s = -math.inf

    def add(self, identity: bytes, problem: object) -> None:
        """Count one fault of ``identity`` (``problem`` says what it was)."""
        self.log.debug("%s sent %s: %s", echo(identity), self.what, echo(str(problem)))
        self.count += 1
        now_s = time.monotonic()
        if now_s - self._since_s >= self.interval_s:
            self.log.warning(
                "%d %s since the last such line; the latest from %s: %s",
                self.count,
                self.what,
                echo(identity),
                echo(str(problem)),
            )
            self.count, self._since_s = 0, now_s


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _walk(value: Any, path: str, limits: Limits, error: type[SimError]) -> None:
    """Check the JSON-level caps of the module docstring on ``value`` (iteratively).

    A node's dotted path is written only when it is needed (a container's, for its
    children, or an error's): an action of 1,000 users has ~10**4 leaves, and formatting a
    path for each was most of the check's time.
    """
    # (item, parent path, key: None for the root, depth)
    stack: list[tuple[Any, str, Any, int]] = [(value, path, None, 0)]
    seen = 0
    max_values, max_abs = limits.max_values, limits.max_abs_number
    isfinite = math.isfinite
    while stack:
        item, parent, key, depth = stack.pop()
        seen += 1
        if seen > max_values:
            raise error(f"{path}: more than {max_values} values in one request")
        kind = type(item)
        if kind is float:
            if not (isfinite(item) and abs(item) <= max_abs):
                raise error(
                    f"{_where(parent, key)}: must be finite with magnitude <= {max_abs:g}, "
                    f"got {echo(item)}"
                )
            continue
        if kind is bool or item is None:
            continue
        if kind is int:
            if not -MAX_EXACT_INT <= item <= MAX_EXACT_INT:
                raise error(f"{_where(parent, key)}: integer beyond ±2**53, got {echo(item)}")
            continue
        if kind is list and depth < limits.max_depth and len(item) <= limits.max_list_len:
            # rows of good floats (weight rows), or one such row: the walk would pop them
            # next, one after another, and find nothing but their count; count them at once
            count = _plain_rows(item, depth + 1, limits) or _plain_floats(item, max_abs)
            if count:
                seen += count
                if seen > max_values:
                    raise error(f"{path}: more than {max_values} values in one request")
                continue
        _check_other(item, parent, key, depth, stack, limits, error)


def _plain_rows(rows: list[Any], depth: int, limits: Limits) -> int:
    """How many values ``rows`` holds when it is a list of rows of good floats at ``depth``
    (within the caps); 0 otherwise."""
    if not rows or depth >= limits.max_depth or set(map(type, rows)) != {list}:
        return 0
    if max(map(len, rows)) > limits.max_list_len:
        return 0
    counted = len(rows)
    for row in rows:
        count = _plain_floats(row, limits.max_abs_number)
        if not count:
            return 0
        counted += count
    return counted


def _plain_floats(row: list[Any], max_abs: float) -> int:
    """``len(row)`` when ``row`` holds only floats, finite and of magnitude <= ``max_abs``
    (checked at C speed); 0 otherwise."""
    if not row or set(map(type, row)) != {float}:
        return 0
    magnitudes = list(map(abs, row))
    # a finite sum rules out NaN and infinities, so that max() compares numbers only
    good = math.isfinite(sum(magnitudes)) and max(magnitudes) <= max_abs
    return len(row) if good else 0


def _where(parent: str, key: Any) -> str:
    return parent if key is None else _join(parent, key)


def _check_other(  # noqa: PLR0917 - the walk's state, handed over for its rarer nodes
    item: Any,
    parent: str,
    key: Any,
    depth: int,
    stack: list[tuple[Any, str, Any, int]],
    limits: Limits,
    error: type[SimError],
) -> None:
    """The walk's nodes other than exact floats, ints, bools and None."""
    where = _where(parent, key)
    if isinstance(item, bool) or item is None:
        return
    if isinstance(item, int):
        if not -MAX_EXACT_INT <= item <= MAX_EXACT_INT:
            raise error(f"{where}: integer beyond ±2**53, got {echo(item)}")
    elif isinstance(item, float):
        if not (math.isfinite(item) and abs(item) <= limits.max_abs_number):
            raise error(
                f"{where}: must be finite with magnitude <= {limits.max_abs_number:g}, "
                f"got {echo(item)}"
            )
    elif isinstance(item, str):
        if len(item) > limits.max_string_chars:
            raise error(
                f"{where}: string of {len(item)} characters; at most "
                f"{limits.max_string_chars}: {echo(item)}"
            )
    elif isinstance(item, list | Mapping):
        if depth >= limits.max_depth:
            raise error(f"{where}: nested deeper than {limits.max_depth} levels")
        if len(item) > limits.max_list_len:
            raise error(f"{where}: {len(item)} entries; at most {limits.max_list_len}")
        if isinstance(item, list):
            stack.extend((v, where, i, depth + 1) for i, v in enumerate(item))
        else:
            for k, v in item.items():
                if len(k) > limits.max_string_chars:
                    raise error(f"{where}: a key of {len(k)} characters: {echo(k)}")
                stack.append((v, where, k, depth + 1))
    else:  # the codec yields JSON types only; anything else is a caller's bug
        raise error(f"{where}: not a JSON value: {type(item).__name__}")


def _users(env_config: Mapping[str, Any]) -> Any:
    per_slice = env_config.get("per_slice_config")
    if isinstance(per_slice, Mapping) and isinstance(per_slice.get("num_users"), list):
        counts = per_slice["num_users"]
        if all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            return sum(counts), "env_config.per_slice_config.num_users"
    return env_config.get("num_users"), "env_config.num_users"


def check_env_start(env_config: Mapping[str, Any], limits: Limits) -> None:
    """Check a whole ``env_config`` against ``limits`` before any scenario is built.

    Raises:
        InvalidEnvConfig: A cap is exceeded, a number is not finite or too large, or a key
            is unknown to the environment; the text names the dotted path.
    """
    _walk(env_config, "env_config", limits, InvalidEnvConfig)
    env = env_config.get("env")
    known = KNOWN_KEYS.get(env) if isinstance(env, str) else None
    if known is not None:
        for key in env_config:
            if key not in known:
                raise InvalidEnvConfig(
                    f"env_config.{echo(key)[1:-1]}: unknown key for {env}; known: "
                    f"{', '.join(sorted(known))}"
                )
    users, where = _users(env_config)
    if isinstance(users, int) and not isinstance(users, bool) and users > limits.max_users:
        raise InvalidEnvConfig(
            f"{where}: {users} users; this server takes at most {limits.max_users}"
        )
    trace = env_config.get("bw_trace")
    if isinstance(trace, Mapping):
        for column, values in trace.items():
            if isinstance(values, list) and len(values) > limits.max_trace_points:
                raise InvalidEnvConfig(
                    f"env_config.bw_trace.{echo(column)[1:-1]}: {len(values)} points; "
                    f"this server takes at most {limits.max_trace_points}"
                )
    for key in ("steps_per_episode", "episodes_per_session"):
        if key in env_config:
            value = env_config[key]
            whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            if isinstance(value, bool) or not whole or value < 1:
                raise InvalidEnvConfig(
                    f"env_config.{key}: must be an integer >= 1, got {echo(value)}"
                )


def check_action(action_list: Any, limits: Limits) -> None:
    """Check an ``env-action``'s ``action_list`` against the JSON-level caps.

    Raises:
        InvalidAction: A cap is exceeded or a number is not finite or too large.
    """
    _walk(action_list, "action_list", limits, InvalidAction)
