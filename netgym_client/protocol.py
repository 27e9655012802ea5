"""The northbound wire codec: message types, ``encode`` and ``decode`` (sans-IO, stdlib only).

Every payload is one UTF-8 JSON object whose ``"type"`` names the message (PROTOCOL.md §2–§3).
This module turns bytes into typed, validated messages and back; it owns no socket, so the
client and the simulated server share it.

Rules:
- ``decode`` turns *any* input into a :data:`Message` or raises
  :class:`~netgym_client.errors.ProtocolError` naming the offending field as a dotted path
  (``network_stats[3][""].value[2]``) and showing the value briefly. No other exception leaks.
- ``encode`` applies the same rules before writing, so we never put on the wire what we would
  refuse to read: ``decode(encode(m)) == m`` for every message ``encode`` accepts. Only the JSON
  data model is encodable (dict with str keys, list, str, int, float, bool, None); tuples,
  numpy scalars and other objects are refused rather than silently converted.
- Limits: a payload over :data:`MAX_MESSAGE_BYTES` (64 MiB) is refused before it is even read as
  text. The largest real message is a measurement: a 256-user ``nqos_split`` measurement is well
  under 1 MiB even pretty-printed, so 64 MiB leaves ample room for big custom scenarios while
  bounding what a hostile peer can make us parse. JSON nested deeper than
  :data:`MAX_NESTING_DEPTH` (32) containers is refused: the deepest legitimate message has 7
  levels (measurement → records → record → ``""`` → value → ``{slice, value}`` → slice ids), and
  32 keeps everything downstream that recurses (``json.dumps``, ``repr``, ``copy.deepcopy``) far
  from Python's recursion limit.
- ``NaN``/``Infinity`` literals and numbers that overflow a double are refused (they are not
  JSON, RFC 8259 §6); strings holding a lone UTF-16 surrogate (``"\\ud800"``) are refused (they
  cannot be re-encoded as UTF-8, RFC 8259 §8.2). Duplicate object keys keep the last value,
  as Python's ``json`` and the original peers do.
- Unknown extra keys are allowed everywhere and preserved: at the top level in ``extra``
  (``env-start``: in ``env_config``), inside records as received.
- Codec: payloads are parsed with ``orjson`` when it is installed (``pip install
  'netgym[fast]'``), else with the standard library's ``json``; both give the same objects
  and the same errors. orjson's answer is taken only where it is exactly the stdlib's: a
  payload orjson refuses is parsed again by ``json`` (so errors keep the stdlib's wording),
  and one holding a run of 19 or more digits (an integer orjson would turn into a float
  beyond 64 bits) goes to ``json`` directly. Encoding always uses ``json`` (C accelerated),
  so the bytes we write do not depend on what is installed, and numpy scalars and other
  non-JSON objects stay refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from netgym_client.errors import EnvError, NoAvailableWorker, ProtocolError

_orjson: Any  # the optional fast parser (extra "fast"); json is the fallback
try:
    _orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on what is installed
    _orjson = None

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_NESTING_DEPTH",
    "EnvAction",
    "EnvEnd",
    "EnvHello",
    "EnvMeasurement",
    "EnvStart",
    "ErrorReply",
    "Message",
    "NoWorkerReply",
    "check_message",
    "decode",
    "decode_json",
    "decode_object",
    "encode",
    "expect_measurement",
    "json_codec",
    "record_ids_values",
    "validate_action_list",
    "validate_measurement_record",
]

#: Largest payload ``decode`` accepts, in bytes (see the module's Rules).
MAX_MESSAGE_BYTES: int = 64 * 1024 * 1024
#: Deepest nesting of JSON arrays/objects accepted; the top-level object is level 1.
MAX_NESTING_DEPTH: int = 32


# --------------------------------------------------------------------------- message types
# Each message is a frozen dataclass; ``extra`` holds the unknown top-level keys, preserved.


@dataclass(frozen=True)
class EnvStart:
    """``env-start`` (client → server → worker): start a session.

    Attributes:
        env_config: The client's whole ``env_config`` without ``"type"``, keys in order; must
            hold the environment name ``env`` (str). Unknown keys simply live here.
    """

    env_config: dict[str, Any]


@dataclass(frozen=True)
class EnvAction:
    """``env-action`` (client → server → worker): the policy answering one measurement.

    Attributes:
        action_list: One action record or a non-empty list of them.
        extra: Unknown top-level keys.
    """

    action_list: dict[str, Any] | list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvMeasurement:
    """``env-measurement`` (worker → server → client): one measurement interval's records.

    Attributes:
        network_stats: The records exactly as received (flat ``id``/``value`` or the custom
            worker's nested ``""`` shape); read them with :func:`record_ids_values`.
        workload_stats: ns-3's timing report, if sent.
        extra: Unknown top-level keys.
    """

    network_stats: list[dict[str, Any]]
    workload_stats: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvEnd:
    """``env-end`` (worker → server): the session's last measurement was sent.

    Attributes:
        extra: Unknown top-level keys.
    """

    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvHello:
    """``env-hello`` (worker → server): an idle worker offers these environments.

    Attributes:
        env_list: Environment names the worker can run.
        extra: Unknown top-level keys.
    """

    env_list: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorReply:
    """``env-error`` (server or worker → client): the session failed.

    Attributes:
        error_msg: The sender's explanation.
        extra: Unknown top-level keys.
    """

    error_msg: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoWorkerReply:
    """``no-available-worker`` (server → client): no idle worker offers the environment.

    Attributes:
        msg: The server's explanation, when it gives one.
        extra: Unknown top-level keys.
    """

    msg: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Message: TypeAlias = (
    EnvStart | EnvAction | EnvMeasurement | EnvEnd | EnvHello | ErrorReply | NoWorkerReply
)

#: Message class of each wire ``type``.
_CLASSES: dict[str, type[Message]] = {
    "env-start": EnvStart,
    "env-action": EnvAction,
    "env-measurement": EnvMeasurement,
    "env-end": EnvEnd,
    "env-hello": EnvHello,
    "env-error": ErrorReply,
    "no-available-worker": NoWorkerReply,
}
_WIRE_TYPES = {cls: name for name, cls in _CLASSES.items()}


# --------------------------------------------------------------------------- error helpers

_MISSING: Any = object()
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_KEY_SHOWN = 40

_repr = reprlib.Repr()  # abridged reprs: an error names a value, it does not dump it
_repr.maxstring = _repr.maxother = 60
_repr.maxlong, _repr.maxlist, _repr.maxdict, _repr.maxlevel = 40, 4, 4, 2
_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "number", float: "number"}


def _describe(value: Any) -> str:
    """A short description of ``value`` for an error message: kind and abridged repr."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    kind = _JSON_NAMES.get(type(value), type(value).__name__)
    try:
        shown = _repr.repr(value)
    except Exception:  # a broken __repr__ or an int too long to print must not hide the error
        return kind
    return shown if kind == "number" else f"{kind} {shown}"


def _join(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` when the key is not identifier-like (e.g. ``""``)."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    shown = key if len(key) <= _MAX_KEY_SHOWN else key[:_MAX_KEY_SHOWN] + "…"
    return f"{path}[{json.dumps(shown)}]"


# --------------------------------------------------------------------------- JSON layer

#: Lone-surrogate escapes can only come from ``\uD800``–``\uDFFF`` escapes in the text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBERS = frozenset({int, float})


class _ConstantError(ValueError):
    """Raised by the decoder hook on ``NaN``, ``Infinity`` or ``-Infinity``."""


def _refuse_constant(name: str) -> Any:
    raise _ConstantError(name)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)

#: Maps every ASCII digit to "0" and every other byte to " ": a run of 19 digits becomes
#: b"0" * 19, found at C speed (an integer of 19+ digits may pass 64 bits).
_DIGITS = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def json_codec() -> str:
    """The parser in use: ``"orjson"`` or ``"json"``."""
    return "json" if _orjson is None else "orjson"


def _fast_parse(raw: bytes | bytearray) -> Any:
    """orjson's parse of ``raw``, or ``_MISSING`` where only ``json`` gives the exact answer."""
    if _orjson is None or _LONG_DIGIT_RUN in raw.translate(_DIGITS):
        return _MISSING
    try:
        return _orjson.loads(raw)
    except (_orjson.JSONDecodeError, MemoryError):  # the stdlib path names the problem
        return _MISSING


def decode_json(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Parse one payload into a JSON object, enforcing the JSON-level rules only.

    Checks, in order: size (before anything else), UTF-8, JSON syntax, no ``NaN``/``Infinity``,
    top level is an object, nesting depth, finite numbers, no lone surrogates.

    Args:
        data: The payload frame.
        max_bytes: Largest payload accepted, in bytes.

    Returns:
        The parsed object, keys in wire order.

    Raises:
        ProtocolError: The payload breaks one of the rules.
    """
    raw: object = data
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ProtocolError("", f"payload must be bytes, got {type(raw).__name__}")
    size = memoryview(raw).nbytes
    if size > max_bytes:
        raise ProtocolError("", f"payload of {size} bytes exceeds the limit of {max_bytes} bytes")
    fast = _fast_parse(raw if isinstance(raw, bytes | bytearray) else bytes(raw))
    if fast is not _MISSING:
        if not isinstance(fast, dict):
            raise ProtocolError("", f"top level must be a JSON object, got {_describe(fast)}")
        # orjson refuses lone surrogates, NaN and overflowing numbers itself
        _check_tree(fast, strings=False, parsed=True)
        return fast
    try:
        text = str(raw, "utf-8")
    except UnicodeDecodeError as exc:
        bad = bytes(raw)[exc.start : exc.start + 4]
        raise ProtocolError("", f"not UTF-8: {bad!r}… at byte {exc.start}") from None
    try:
        obj = _DECODER.decode(text)
    except _ConstantError as exc:
        problem = f"{exc.args[0]} is not JSON (non-finite numbers are refused)"
        raise ProtocolError("", problem) from None
    except json.JSONDecodeError as exc:
        near = text[exc.pos : exc.pos + 20]
        raise ProtocolError(
            "", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (near {near!r})"
        ) from None
    except ValueError as exc:  # e.g. an integer literal past sys.get_int_max_str_digits()
        raise ProtocolError("", f"not usable JSON: {str(exc)[:120]}") from None
    except RecursionError:
        raise ProtocolError("", f"nested deeper than {MAX_NESTING_DEPTH} levels") from None
    except MemoryError:
        raise ProtocolError("", f"payload of {size} bytes is too large to parse") from None
    if not isinstance(obj, dict):
        raise ProtocolError("", f"top level must be a JSON object, got {_describe(obj)}")
    strings = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    _check_tree(obj, strings=strings, parsed=True)
    return obj


def _check_tree(root: dict[str, Any], *, strings: bool, parsed: bool = False) -> None:
    """Walk a JSON value: depth, keys, leaf types, finite floats; lone surrogates if asked.

    Iterative, and each numeric array is checked at C speed (``sum``, ``set(map(type, …))``),
    so a large measurement costs little more than parsing it.
    """
    stack: list[tuple[Any, str, int]] = [(root, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_NESTING_DEPTH:
            raise ProtocolError(path, f"nested deeper than {MAX_NESTING_DEPTH} levels")
        if isinstance(node, dict):
            for k, value in node.items():
                if not isinstance(k, str):
                    problem = f"object key {_describe(k)} is not a string"
                    raise ProtocolError(_join(path, str(k)), problem)
                if strings and _SURROGATE.search(k):
                    raise ProtocolError(_join(path, k), "key holds a lone UTF-16 surrogate")
                if _check_leaf(value, path, k, strings):
                    stack.append((value, _join(path, k), depth + 1))
            continue
        if parsed:  # from the parser, a list that sum() takes holds only numbers
            try:
                total = sum(node)
                if total - total == 0:  # all finite (inf - inf and nan - nan are nan)
                    continue
            except (TypeError, OverflowError):  # strings, containers, or ints past a double
                pass
        if _all_numbers(node, path):
            continue
        if depth < MAX_NESTING_DEPTH and _number_rows(node):  # e.g. nqos_split's weights
            continue
        for i, value in enumerate(node):
            if _check_leaf(value, path, i, strings):
                stack.append((value, f"{path}[{i}]", depth + 1))


def _number_rows(values: list[Any]) -> bool:
    """Whether ``values`` is a non-empty list of lists of finite numbers (at C speed).

    False means "look one by one", which then names the first bad item exactly.
    """
    if not values or set(map(type, values)) != {list}:
        return False
    flat = list(itertools.chain.from_iterable(values))
    if not set(map(type, flat)) <= _NUMBERS:
        return False
    try:
        total = sum(flat)
    except OverflowError:  # a huge int beside floats
        return False
    return bool(total - total == 0)  # inf - inf and nan - nan are nan


def _child(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else _join(path, key)


def _check_leaf(value: Any, path: str, key: str | int, strings: bool) -> bool:
    """Check a scalar in place; return True when ``value`` is a container to visit.

    Subclasses of the JSON types (OrderedDict, IntEnum, numpy.float64…) encode faithfully and
    are accepted; anything else (tuple, set, numpy.int64…) is refused, not converted.
    """
    kind = type(value)
    if kind is dict or kind is list:
        return True
    if kind is int or kind is bool or value is None:
        return False
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(_child(path, key), f"non-finite number {value!r} is not JSON")
    elif isinstance(value, str):
        if strings and _SURROGATE.search(value):
            raise ProtocolError(_child(path, key), "string holds a lone UTF-16 surrogate")
    elif isinstance(value, (dict, list)):
        return True
    elif not isinstance(value, int):
        raise ProtocolError(
            _child(path, key),
            f"{kind.__name__} is not a JSON type (use dict, list, str, int, float, bool or None)",
        )
    return False


def _all_numbers(values: list[Any], path: str) -> bool:
    """Whether ``values`` holds only ints and floats (at C speed); refuses a non-finite float."""
    types = set(map(type, values))
    if not types <= _NUMBERS:
        return False
    if float in types:
        try:
            total = sum(values)
            if total - total == 0:  # inf - inf and nan - nan are nan
                return True
        except OverflowError:  # a huge int beside floats: look one by one
            pass
        for i, v in enumerate(values):
            if isinstance(v, float) and not math.isfinite(v):
                raise ProtocolError(f"{path}[{i}]", f"non-finite number {v!r} is not JSON")
    return True


# --------------------------------------------------------------------------- record rules


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _get(record: Mapping[str, Any], key: str, where: str) -> Any:
    value = record.get(key, _MISSING)
    if value is _MISSING:
        raise ProtocolError(_join(where, key), "required key is missing")
    return value


def _require(record: Mapping[str, Any], key: str, where: str, kind: type[Any], what: str) -> Any:
    """``record[key]``, which must be a ``kind`` (never a bool)."""
    value = _get(record, key, where)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError(_join(where, key), f"must be {what}, got {_describe(value)}")
    return value


def _check_ints(values: list[Any], path: str) -> None:
    """A list of integers (bool is not an integer)."""
    if set(map(type, values)) <= {int}:
        return
    for i, v in enumerate(values):
        if not _is_int(v):
            raise ProtocolError(f"{path}[{i}]", f"must be an integer, got {_describe(v)}")


def _check_numbers(values: list[Any], path: str) -> None:
    """A list of finite numbers (bool is not a number)."""
    if not _all_numbers(values, path):
        for i, v in enumerate(values):
            if not _is_number(v):
                problem = f"must be a finite number, got {_describe(v)}"
                raise ProtocolError(f"{path}[{i}]", problem)


def _check_sliced(value: Mapping[str, Any], path: str) -> None:
    """A per-cell-per-slice value: ``{"slice": [int, …], "value": [number, …]}``."""
    slices = _require(value, "slice", path, list, "an array")
    numbers = _require(value, "value", path, list, "an array")
    if len(slices) != len(numbers):
        raise ProtocolError(
            _join(path, "value"), f"has {len(numbers)} items but slice has {len(slices)}"
        )
    _check_ints(slices, _join(path, "slice"))
    _check_numbers(numbers, _join(path, "value"))


def _check_values(values: list[Any], path: str, *, rows: bool) -> None:
    """Per-entity values: numbers, ``{slice, value}`` objects and, if ``rows``, number lists."""
    if _all_numbers(values, path) or (rows and _number_rows(values)):
        return
    for i, v in enumerate(values):
        if _is_number(v):
            continue
        if isinstance(v, dict):
            _check_sliced(v, f"{path}[{i}]")
        elif rows and isinstance(v, list):
            _check_numbers(v, f"{path}[{i}]")
        else:
            allowed = "a number, an array of numbers" if rows else "a finite number"
            raise ProtocolError(
                f"{path}[{i}]",
                f"must be {allowed} or a {{slice, value}} object, got {_describe(v)}",
            )


def _check_header(record: Any, where: str, what: str) -> None:
    if not isinstance(record, dict):
        raise ProtocolError(where, f"{what} must be an object, got {_describe(record)}")
    _require(record, "source", where, str, "a string")
    _require(record, "name", where, str, "a string")
    _require(record, "ts", where, int, "an integer")


def validate_measurement_record(record: Any, *, where: str) -> None:
    """Check one ``network_stats`` record (PROTOCOL.md §3).

    A record is an object with str ``source``, str ``name``, int ``ts`` and either flat
    ``id``/``value`` arrays or the custom worker's nested ``""`` object holding them. ``id`` is
    a list of integers; ``value`` has one item per id: a finite number or a per-cell-per-slice
    ``{"slice": [int, …], "value": [number, …]}`` object. Extra keys are allowed.

    Args:
        record: The decoded record.
        where: Its dotted path, used in errors (e.g. ``network_stats[3]``).

    Raises:
        ProtocolError: The record breaks a rule; ``field`` names the offending part.
    """
    _check_header(record, where, "a measurement record")
    if "id" in record or "value" in record:
        if "" in record:
            raise ProtocolError(where, 'has both flat id/value and the nested "" object')
        holder, base = record, where
    else:
        holder = record.get("", _MISSING)
        base = _join(where, "")
        if holder is _MISSING:
            raise ProtocolError(where, 'needs "id" and "value" (flat, or under the "" key)')
        if not isinstance(holder, dict):
            raise ProtocolError(
                base, f"must be an object with id and value, got {_describe(holder)}"
            )
    ids = _require(holder, "id", base, list, "an array")
    values = _require(holder, "value", base, list, "an array")
    if len(ids) != len(values):
        raise ProtocolError(_join(base, "value"), f"has {len(values)} items but id has {len(ids)}")
    _check_ints(ids, _join(base, "id"))
    _check_values(values, _join(base, "value"), rows=False)


def _check_action_record(record: Any, where: str) -> None:
    _check_header(record, where, "an action record")
    ids = _get(record, "id", where)
    values = _get(record, "value", where)
    id_path, value_path = _join(where, "id"), _join(where, "value")
    if isinstance(values, list):
        if not isinstance(ids, list):
            raise ProtocolError(id_path, f"must be an array like value, got {_describe(ids)}")
        if not values:  # [] asks the worker for its built-in algorithm; id is then free
            return
        if len(ids) != len(values):
            raise ProtocolError(value_path, f"has {len(values)} items but id has {len(ids)}")
        _check_ints(ids, id_path)
        _check_values(values, value_path, rows=True)
        return
    if isinstance(ids, list):
        raise ProtocolError(value_path, f"must be an array like id, got {_describe(values)}")
    if not _is_int(ids):
        raise ProtocolError(id_path, f"must be an integer or an array, got {_describe(ids)}")
    if not _is_number(values):
        raise ProtocolError(
            value_path, f"must be a finite number or an array, got {_describe(values)}"
        )


def validate_action_list(action_list: Any, *, where: str = "action_list") -> None:
    """Check an ``env-action``'s policy: one action record or a non-empty list of them.

    An action record has str ``source``, str ``name``, int ``ts`` and ``id``/``value`` that are
    either both scalars (an integer id, a finite number), or equal-length arrays, or
    ``value == []`` (the worker's built-in algorithm; ``id`` is then any array). A value in an
    array is a finite number, an array of numbers (``nqos_split`` sends one row per id), or a
    ``{"slice": [int, …], "value": [number, …]}`` object. Extra keys are allowed.

    Args:
        action_list: The decoded ``action_list``.
        where: Its dotted path, used in errors.

    Raises:
        ProtocolError: The policy breaks a rule; ``field`` names the offending part.
    """
    if isinstance(action_list, list):
        if not action_list:
            raise ProtocolError(where, "must hold at least one action record, got []")
        for i, record in enumerate(action_list):
            _check_action_record(record, f"{where}[{i}]")
    elif isinstance(action_list, dict):
        _check_action_record(action_list, where)
    else:
        raise ProtocolError(
            where, f"must be an action record or an array of them, got {_describe(action_list)}"
        )


def record_ids_values(record: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """The ``(id, value)`` arrays of a measurement record, flat or nested under ``""``.

    Args:
        record: A record that passed :func:`validate_measurement_record`.

    Returns:
        The record's own ``id`` and ``value`` lists (not copies).

    Raises:
        ProtocolError: The record has neither shape.
    """
    holder: Any = record if "id" in record else record.get("", record)
    if not isinstance(holder, Mapping):
        holder = {}
    ids, values = holder.get("id", _MISSING), holder.get("value", _MISSING)
    if not isinstance(ids, list) or not isinstance(values, list):
        raise ProtocolError("record", 'has no "id"/"value" arrays (flat or under "")')
    return ids, values


# --------------------------------------------------------------------------- message layer


def _check_str_list(obj: dict[str, Any], key: str) -> None:
    for i, name in enumerate(_require(obj, key, "", list, "an array of strings")):
        if not isinstance(name, str):
            raise ProtocolError(f"{key}[{i}]", f"must be a string, got {_describe(name)}")


def _check_records(obj: dict[str, Any], key: str) -> None:
    for i, record in enumerate(_require(obj, key, "", list, "an array of records")):
        validate_measurement_record(record, where=f"{key}[{i}]")


#: How each top-level field is checked, given the message object and the field's name.
_FIELD_CHECKS: dict[str, Callable[[dict[str, Any], str], object]] = {
    "action_list": lambda obj, key: validate_action_list(_get(obj, key, ""), where=key),
    "network_stats": _check_records,
    "workload_stats": lambda obj, key: _require(obj, key, "", dict, "an object"),
    "env_list": _check_str_list,
    "error_msg": lambda obj, key: _require(obj, key, "", str, "a string"),
    "msg": lambda obj, key: _require(obj, key, "", str, "a string"),
}


def _from_dict(obj: dict[str, Any]) -> Message:
    kind = _get(obj, "type", "")
    if not isinstance(kind, str):
        raise ProtocolError("type", f"must be a string, got {_describe(kind)}")
    cls = _CLASSES.get(kind)
    if cls is None:
        expected = sorted(_CLASSES)
        raise ProtocolError("type", f"unknown message type {_describe(kind)}; expected {expected}")
    if cls is EnvStart:
        _require(obj, "env", "", str, "a string")
        return EnvStart({k: v for k, v in obj.items() if k != "type"})
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name != "extra":
            kwargs[f.name] = obj.get(f.name)
            if f.default is not None or kwargs[f.name] is not None:  # default None: optional
                _FIELD_CHECKS[f.name](obj, f.name)
    kwargs["extra"] = {k: v for k, v in obj.items() if k != "type" and k not in kwargs}
    return cls(**kwargs)


def decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
    """Decode one payload frame into a validated message.

    Args:
        data: The payload frame (UTF-8 JSON object; any whitespace).
        max_bytes: Largest payload accepted, in bytes.

    Returns:
        The message; records and unknown keys are kept exactly as received.

    Raises:
        ProtocolError: The payload is not a valid message. Nothing else is raised, whatever
            the bytes.
    """
    return _from_dict(decode_json(data, max_bytes=max_bytes))


def decode_object(obj: dict[str, Any]) -> Message:
    """The message of an object :func:`decode_json` returned (so a payload is parsed once).

    Raises:
        ProtocolError: The object is not a valid message.
    """
    return _from_dict(obj)


def expect_measurement(msg: Message) -> EnvMeasurement:
    """``msg`` if it is a measurement; the typed error a server's other answers mean.

    Raises:
        EnvError: ``msg`` is an ``env-error``.
        NoAvailableWorker: ``msg`` is a ``no-available-worker``.
        ProtocolError: ``msg`` is of a type a server does not send a client.
    """
    if isinstance(msg, EnvMeasurement):
        return msg
    if isinstance(msg, ErrorReply):
        raise EnvError(msg.error_msg)
    if isinstance(msg, NoWorkerReply):
        raise NoAvailableWorker(msg.msg or "no available worker")
    raise ProtocolError("type", f"unexpected {type(msg).__name__} from the server")


def _to_dict(msg: Message) -> dict[str, Any]:
    """The wire object: ``type`` first, then the fields in declaration order, then ``extra``."""
    wire_type = _WIRE_TYPES.get(type(msg))
    if wire_type is None:
        raise ProtocolError("", f"not a message: {_describe(msg)}")
    if isinstance(msg, EnvStart):
        config = msg.env_config
        if not isinstance(config, dict):
            raise ProtocolError("env_config", f"must be a dict, got {_describe(config)}")
        if "type" in config:
            raise ProtocolError("env_config.type", "must be absent: encode adds the message type")
        return {"type": wire_type, **config}
    obj: dict[str, Any] = {"type": wire_type}
    for f in dataclasses.fields(msg):
        if f.name != "extra":
            value = getattr(msg, f.name)
            if value is not None or f.default is not None:  # optional fields: absent if None
                obj[f.name] = value
    extra = msg.extra
    if not isinstance(extra, dict):
        raise ProtocolError("extra", f"must be a dict, got {_describe(extra)}")
    # "extra" is not a wire field: a peer's top-level "extra" key lives in extra itself.
    reserved = {f.name for f in dataclasses.fields(msg) if f.name != "extra"} | {"type"}
    for key, value in extra.items():
        if key in reserved:
            raise ProtocolError(_join("extra", key), "collides with a field of the message")
        obj[key] = value
    return obj


def check_message(msg: Message) -> None:
    """Check a message by exactly the rules :func:`encode` applies, without writing it.

    For a peer in the same process: what passes here, ``encode`` would put on the wire and
    ``decode`` would give back equal.

    Raises:
        ProtocolError: As :func:`encode` would (except for the size limit).
    """
    obj = _to_dict(msg)
    _check_tree(obj, strings=True)
    _from_dict(obj)


def encode(msg: Message, *, indent: int | None = None, validate: bool = True) -> bytes:
    """Encode a message as one payload frame, after checking it by the rules of :func:`decode`.

    Args:
        msg: The message.
        indent: ``None`` for compact JSON (separators ``,`` and ``:``, as the real server writes);
            ``2`` to pretty-print as the original client and worker do.
        validate: Check the message's fields and records first. ``False`` is for messages
            the caller built itself from trusted data (the server's replies): the encoder
            still refuses what JSON cannot write (numpy integers, non-finite numbers…).

    Returns:
        UTF-8 (in fact ASCII: non-ASCII text is ``\\u``-escaped) JSON bytes, ``type`` first.

    Raises:
        ProtocolError: The message would not decode (missing or mistyped field, bad record,
            non-finite number, non-JSON value, too deep, larger than ``MAX_MESSAGE_BYTES``).
    """
    obj = _to_dict(msg)
    if validate:
        _check_tree(obj, strings=False)
        _from_dict(obj)
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        text = json.dumps(obj, indent=indent, separators=separators, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an int past the digit limit
        raise ProtocolError("", f"cannot encode: {str(exc)[:120]}") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        _check_tree(obj, strings=True)
    data = text.encode("ascii")
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("", f"encoded size {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data
