"""Record checks: a measurement record and an action list as PROTOCOL.md §4 defines them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netgym_client.errors import ProtocolError
from netgym_client.protocol.jsontext import (
    _MISSING,
    _all_numbers,
    _describe,
    _is_int,
    _is_number,
    _join,
    _number_rows,
)


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


def _check_sliced(value: Mapping[str, Any], path: str, *, action: bool = False) -> None:
    """A per-cell-per-slice value: ``{"slice": [int, …], "value": [number, …]}``.

    In an action (``action``), ``value: []`` is the original adapters' "no action" for that
    cell (the system default), whatever ``slice`` lists.
    """
    slices = _require(value, "slice", path, list, "an array")
    numbers = _require(value, "value", path, list, "an array")
    if action and not numbers:
        _check_ints(slices, _join(path, "slice"))
        return
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
            _check_sliced(v, f"{path}[{i}]", action=rows)
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
    ``{"slice": [int, …], "value": [number, …]}`` object, whose ``value`` may be ``[]`` (the
    original network_slicing adapter's "no action" for that cell). Extra keys are allowed.

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


def users_action_record(name: str, ts: int, values: Any) -> dict[str, Any]:
    """One ``gma`` action record for users 1 … N whose values are the entries (rows or
    numbers) of the array ``values`` (``.shape``, ``.tolist()``; this package imports only the
    standard library), keys in the original client's order."""
    return {
        "name": name,
        "ts": ts,
        "source": "gma",
        "id": list(range(1, values.shape[0] + 1)),
        "value": values.tolist(),
    }


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
