"""Hypothesis strategies for northbound messages: valid ones of every type, and hostile bytes.

Every value the valid strategies draw satisfies the rules of :mod:`netgym_client.protocol`, so
``decode(encode(m)) == m`` holds for each; :func:`hostile_payloads` draws bytes that a peer
must survive (``decode`` returns a message or raises ``ProtocolError``, nothing else).

>>> from hypothesis import given
>>> from netgym_client.protocol import decode, encode
>>> @given(messages())
... def test_round_trip(msg):
...     assert decode(encode(msg)) == msg
>>> test_round_trip()
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from netgym_client.protocol import (
    MAX_NESTING_DEPTH,
    EnvAction,
    EnvEnd,
    EnvHello,
    EnvMeasurement,
    EnvStart,
    ErrorReply,
    Message,
    NoWorkerReply,
    encode,
)

__all__ = [
    "ENV_NAMES",
    "action_lists",
    "action_records",
    "env_actions",
    "env_ends",
    "env_hellos",
    "env_measurements",
    "env_starts",
    "error_replies",
    "extra_keys",
    "hostile_payloads",
    "json_values",
    "measurement_records",
    "messages",
    "no_worker_replies",
    "numbers",
    "sliced_values",
]

#: Environment names of the real system (PROTOCOL.md §8–§12).
ENV_NAMES = ("custom", "nqos_split", "qos_steer", "network_slicing", "rmcat")

#: Keys a measurement record's extra keys must avoid (they decide its shape).
_RECORD_KEYS = frozenset({"source", "name", "ts", "id", "value", ""})
_ACTION_KEYS = frozenset({"source", "name", "ts", "id", "value"})
_SLICED_KEYS = frozenset({"slice", "value"})

_texts = st.text(max_size=12)
_ids = st.integers(-(2**31), 2**31)
_timestamps = st.integers(0, 2**53)


def numbers() -> st.SearchStrategy[int | float]:
    """Finite JSON numbers: any int (never bool) or any finite float, ``-0.0`` included."""
    return st.integers() | st.floats(allow_nan=False, allow_infinity=False)


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values (finite numbers, text without lone surrogates), shallowly nested.

    Args:
        max_leaves: Bound on the size, and so on the depth (well under ``MAX_NESTING_DEPTH``).
    """
    scalars = st.none() | st.booleans() | numbers() | _texts
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
        max_leaves=min(max_leaves, MAX_NESTING_DEPTH // 2),
    )


def extra_keys(
    reserved: Collection[str] = (), max_size: int = 3
) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of unknown keys (avoiding ``reserved``) to JSON values, as a peer may add."""
    keys = _texts.filter(lambda key: key not in reserved)
    return st.dictionaries(keys, json_values(), max_size=max_size)


@st.composite
def sliced_values(draw: st.DrawFn, max_slices: int = 4) -> dict[str, Any]:
    """A per-cell-per-slice value ``{"slice": [int, …], "value": [number, …]}``."""
    n = draw(st.integers(0, max_slices))
    value = {
        "slice": draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)),
        "value": draw(st.lists(numbers(), min_size=n, max_size=n)),
    }
    value.update(draw(extra_keys(_SLICED_KEYS, max_size=1)))
    return value


@st.composite
def measurement_records(
    draw: st.DrawFn,
    shape: str | None = None,
    ts: int | None = None,
    max_entities: int = 6,
) -> dict[str, Any]:
    """A measurement record, flat (``id``/``value``) or nested under ``""`` (custom worker).

    Args:
        draw: Supplied by hypothesis.
        shape: ``"flat"``, ``"nested"`` or ``None`` for either.
        ts: The record's ``ts``; drawn when ``None``.
        max_entities: Most ids in the record.
    """
    if shape not in (None, "flat", "nested"):
        raise InvalidArgument(f"shape must be 'flat', 'nested' or None, got {shape!r}")
    n = draw(st.integers(0, max_entities))
    ids = draw(st.lists(_ids, min_size=n, max_size=n))
    value_items = (numbers() | sliced_values()) if draw(st.booleans()) else numbers()
    values = draw(st.lists(value_items, min_size=n, max_size=n))
    record: dict[str, Any] = {
        "source": draw(_texts),
        "name": draw(_texts),
        "ts": draw(_timestamps) if ts is None else ts,
    }
    nested = draw(st.booleans()) if shape is None else shape == "nested"
    if nested:
        record[""] = {"id": ids, "value": values}
    else:
        record["id"], record["value"] = ids, values
    record.update(draw(extra_keys(_RECORD_KEYS, max_size=2)))
    return record


@st.composite
def action_records(
    draw: st.DrawFn, form: str | None = None, max_entities: int = 6
) -> dict[str, Any]:
    """An action record in one of the forms the workers accept.

    Args:
        draw: Supplied by hypothesis.
        form: ``"numbers"`` (one number per id), ``"rows"`` (a list of numbers per id, as
            nqos_split's N×L weights), ``"sliced"`` (a ``{slice, value}`` object per cell),
            ``"scalar"`` (scalar id and value), ``"default"`` (``value == []``) or ``None``.
        max_entities: Most ids in the record.
    """
    forms = ("numbers", "rows", "sliced", "scalar", "default")
    if form is not None and form not in forms:
        raise InvalidArgument(f"form must be one of {forms} or None, got {form!r}")
    chosen = draw(st.sampled_from(forms)) if form is None else form
    record: dict[str, Any] = {
        "source": draw(_texts),
        "name": draw(_texts),
        "ts": draw(_timestamps),
    }
    n = draw(st.integers(1, max_entities))
    if chosen == "scalar":
        record["id"], record["value"] = draw(_ids), draw(numbers())
    elif chosen == "default":
        record["id"], record["value"] = draw(st.lists(json_values(), max_size=n)), []
    else:
        item = {
            "numbers": numbers(),
            "rows": st.lists(numbers(), min_size=3, max_size=3),
            "sliced": sliced_values(),
        }[chosen]
        record["id"] = draw(st.lists(_ids, min_size=n, max_size=n))
        record["value"] = draw(st.lists(item, min_size=n, max_size=n))
    record.update(draw(extra_keys(_ACTION_KEYS, max_size=2)))
    return record


def action_lists() -> st.SearchStrategy[dict[str, Any] | list[dict[str, Any]]]:
    """An ``action_list``: one action record or a non-empty list of them."""
    return action_records() | st.lists(action_records(), min_size=1, max_size=3)


@st.composite
def env_starts(draw: st.DrawFn, env: str | None = None) -> EnvStart:
    """An ``env-start`` with the keys PROTOCOL.md §3 lists, plus unknown ones.

    Args:
        draw: Supplied by hypothesis.
        env: The environment name; a known or arbitrary one when ``None``.
    """
    config: dict[str, Any] = {
        "env": draw(st.sampled_from(ENV_NAMES) | _texts) if env is None else env
    }
    small = st.integers(0, 10**6)
    for key in (
        "steps_per_episode",
        "episodes_per_session",
        "num_users",
        "measurement_start_time_ms",
        "measurement_interval_ms",
        "measurement_guard_interval_ms",
        "env_end_time_ms",
    ):
        if draw(st.booleans()):
            config[key] = draw(small)
    config.update(draw(extra_keys({"type", "env"})))
    return EnvStart(env_config=config)


def env_actions() -> st.SearchStrategy[EnvAction]:
    """An ``env-action``."""
    return st.builds(
        EnvAction, action_list=action_lists(), extra=extra_keys({"type", "action_list"})
    )


@st.composite
def env_measurements(draw: st.DrawFn, max_records: int = 4) -> EnvMeasurement:
    """An ``env-measurement`` whose records share one ``ts``, sometimes with workload_stats."""
    ts = draw(_timestamps)
    records = draw(st.lists(measurement_records(ts=ts), max_size=max_records))
    workload = draw(st.none() | st.dictionaries(_texts, json_values(), max_size=2))
    extra = draw(extra_keys({"type", "network_stats", "workload_stats"}))
    return EnvMeasurement(network_stats=records, workload_stats=workload, extra=extra)


def env_ends() -> st.SearchStrategy[EnvEnd]:
    """An ``env-end``."""
    return st.builds(EnvEnd, extra=extra_keys({"type"}))


def env_hellos() -> st.SearchStrategy[EnvHello]:
    """An ``env-hello``."""
    names = st.lists(st.sampled_from(ENV_NAMES) | _texts, max_size=5)
    return st.builds(EnvHello, env_list=names, extra=extra_keys({"type", "env_list"}))


def error_replies() -> st.SearchStrategy[ErrorReply]:
    """An ``env-error``."""
    return st.builds(ErrorReply, error_msg=st.text(), extra=extra_keys({"type", "error_msg"}))


def no_worker_replies() -> st.SearchStrategy[NoWorkerReply]:
    """A ``no-available-worker``, with or without ``msg``."""
    return st.builds(NoWorkerReply, msg=st.none() | st.text(), extra=extra_keys({"type", "msg"}))


def messages() -> st.SearchStrategy[Message]:
    """A valid message of any type."""
    return st.one_of(
        env_starts(),
        env_actions(),
        env_measurements(),
        env_ends(),
        env_hellos(),
        error_replies(),
        no_worker_replies(),
    )


# ------------------------------------------------------------------------------- hostile


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A valid payload with bytes flipped, inserted or removed."""
    data = bytearray(encode(draw(messages()), indent=draw(st.sampled_from([None, 2]))))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("flip", "insert", "delete")))
        if op == "insert" or pos == len(data):
            data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        elif op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        else:
            del data[pos]
    return bytes(data)


@st.composite
def _truncated(draw: st.DrawFn) -> bytes:
    data = encode(draw(messages()))
    return data[: draw(st.integers(0, max(0, len(data) - 1)))]


@st.composite
def _deep(draw: st.DrawFn) -> bytes:
    """Arrays or objects nested around and past ``MAX_NESTING_DEPTH``, or far past it."""
    depth = draw(st.integers(MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH + 2) | st.just(100_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + "1" + closer * depth
    where = draw(st.sampled_from(["top", "extra", "record"]))
    if where == "top":
        return inner.encode()
    if where == "extra":
        return f'{{"type":"env-end","x":{inner}}}'.encode()
    return (
        '{"type":"env-measurement","network_stats":[{"source":"s","name":"n","ts":1,'
        f'"id":[1],"value":[{inner}]}}]}}'
    ).encode()


_NUMBER_TEXTS = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000, "1e-400", "-0", "1.5e308"]
) | st.integers().map(str)


@st.composite
def _odd_leaves(draw: st.DrawFn) -> bytes:
    """Valid structure with odd leaves: huge or non-finite numbers, lone surrogates, bools."""
    leaf = draw(
        _NUMBER_TEXTS
        | st.sampled_from(['"\\ud800"', '"\\udfff x"', '"\\ud83d\\ude00"', "true", "null"])
    )
    template = draw(
        st.sampled_from(
            [
                '{"type":"env-measurement","network_stats":[{"source":"s","name":"n",'
                '"ts":1,"id":[1],"value":[%s]}]}',
                '{"type":"env-measurement","network_stats":[{"source":"s","name":"n",'
                '"ts":%s,"":{"id":[1],"value":[1]}}]}',
                '{"type":"env-action","action_list":{"source":"s","name":"n","ts":1,'
                '"id":%s,"value":[[1,2,3]]}}',
                '{"type":"env-error","error_msg":%s}',
                '{"type":"env-start","env":"custom","x":%s}',
                '{"type":%s}',
                '{%s:1,"type":"env-end"}',
            ]
        )
    )
    return (template % leaf).encode()


def _non_objects() -> st.SearchStrategy[bytes]:
    return (
        json_values()
        .filter(lambda v: not isinstance(v, dict))
        .map(lambda v: json.dumps(v).encode())
    )


@st.composite
def _wrong_objects(draw: st.DrawFn) -> bytes:
    """A JSON object with a real or random ``type`` and random fields."""
    obj: dict[str, Any] = draw(st.dictionaries(_texts, json_values(), max_size=4))
    kind = draw(
        st.sampled_from(
            [
                "env-start",
                "env-action",
                "env-measurement",
                "env-end",
                "env-hello",
                "env-error",
                "no-available-worker",
            ]
        )
        | json_values()
    )
    obj["type"] = kind
    for key in ("env", "action_list", "network_stats", "env_list", "error_msg", "msg"):
        if draw(st.booleans()):
            obj[key] = draw(json_values())
    return json.dumps(obj).encode()


def hostile_payloads() -> st.SearchStrategy[bytes]:
    """Bytes a peer might send by mistake or malice.

    Random bytes, valid messages mutated or truncated, nesting around the depth limit,
    huge and non-finite numbers, lone surrogates, non-object JSON, and objects whose fields
    have random types.
    """
    return st.one_of(
        st.binary(max_size=200),
        _mutated(),
        _truncated(),
        _deep(),
        _odd_leaves(),
        _non_objects(),
        _wrong_objects(),
    )
