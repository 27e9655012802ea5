"""The JSON layer: parse a payload once, with limits on size, depth, numbers and strings."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import re
import reprlib
from typing import Any

from netgym_client.errors import ProtocolError
from netgym_client.protocol.messages import MAX_MESSAGE_BYTES, MAX_NESTING_DEPTH

_orjson: Any  # the optional fast parser (extra "fast"); json is the fallback
try:
    _orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on what is installed
    _orjson = None


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
