"""The wire codec: each rejection rule with its field path, the encodings, and golden messages."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_client import protocol
from netgym_client.errors import ProtocolError
from netgym_client.protocol import (
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    EnvAction,
    EnvEnd,
    EnvHello,
    EnvMeasurement,
    EnvStart,
    ErrorReply,
    Message,
    NoWorkerReply,
    decode,
    decode_json,
    encode,
    record_ids_values,
    validate_action_list,
    validate_measurement_record,
)

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"


def refused(data: bytes | str, **kwargs: Any) -> ProtocolError:
    """The ProtocolError ``decode`` raises for ``data`` (text is UTF-8 encoded)."""
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ProtocolError) as info:
        decode(raw, **kwargs)
    return info.value


def refused_encode(msg: Any, indent: int | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        encode(msg, indent=indent)
    return info.value


def measurement(*records: Any) -> str:
    return json.dumps({"type": "env-measurement", "network_stats": list(records)})


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"source": "gma", "name": "dl::rate", "ts": 1100}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def action(action_list: Any) -> str:
    return json.dumps({"type": "env-action", "action_list": action_list})


# ------------------------------------------------------------------------- the JSON layer


def test_limits_are_the_documented_ones() -> None:
    assert MAX_MESSAGE_BYTES == 64 * 1024 * 1024
    assert MAX_NESTING_DEPTH == 32


def test_oversized_payload_is_refused_before_reading_it() -> None:
    err = refused(b"\xff" * 11, max_bytes=10)  # invalid UTF-8 too: size is checked first
    assert err.field == ""
    assert "11 bytes" in err.problem and "10" in err.problem


def test_payload_at_the_size_limit_is_accepted() -> None:
    data = b'{"type":"env-end"}'
    assert decode(data, max_bytes=len(data)) == EnvEnd()


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b'{"type":"env-error","error_msg":"\xff"}', "\\xff"),
        (b'{"type":"env-error","error_msg":"\xed\xa0\x80"}', "\\xed"),  # UTF-8 of a surrogate
        (b"\xff\xfe{\x00}\x00", "\\xff"),  # UTF-16 with BOM
    ],
)
def test_non_utf8_is_refused(data: bytes, shown: str) -> None:
    err = refused(data)
    assert err.field == "" and "UTF-8" in err.problem and shown in err.problem


@pytest.mark.parametrize(
    "text", ['{"type":"env-end"', '{"type":"env-end"} x', "", "{'type':'env-end'}", "\ufeff{}"]
)
def test_non_json_is_refused(text: str) -> None:
    err = refused(text)
    assert err.field == "" and "not JSON" in err.problem


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_refused(literal: str) -> None:
    err = refused(measurement(record(id=[1], value=["X"])).replace('"X"', literal))
    assert err.field == "" and literal in err.problem


def test_a_number_overflowing_a_double_is_refused_at_its_path() -> None:
    err = refused(measurement(record(id=[1, 2], value=[1, "X"])).replace('"X"', "1e400"))
    assert err.field == "network_stats[0].value[1]"
    assert "inf" in err.problem


def test_an_integer_past_the_digit_limit_is_refused() -> None:
    err = refused('{"type":"env-end","x":' + "9" * 5000 + "}")
    assert err.field == ""


def test_huge_but_parsable_integers_are_kept() -> None:
    big = 10**400
    msg = decode(f'{{"type":"env-end","x":{big},"y":[{big},1.5]}}'.encode())
    assert msg == EnvEnd(extra={"x": big, "y": [big, 1.5]})


@pytest.mark.parametrize("text", ["[]", '"env-end"', "1", "null", "true", '[{"type":"env-end"}]'])
def test_top_level_must_be_an_object(text: str) -> None:
    err = refused(text)
    assert err.field == "" and "object" in err.problem


def nested(depth: int) -> str:
    """An env-end whose ``x`` makes the deepest container sit at level ``depth``."""
    return '{"type":"env-end","x":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_nesting_at_the_limit_is_accepted() -> None:
    assert isinstance(decode(nested(MAX_NESTING_DEPTH).encode()), EnvEnd)


def test_nesting_past_the_limit_is_refused_with_its_path() -> None:
    err = refused(nested(MAX_NESTING_DEPTH + 1))
    assert err.field == "x" + "[0]" * (MAX_NESTING_DEPTH - 1)  # x is level 2
    assert str(MAX_NESTING_DEPTH) in err.problem


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_nesting_past_the_parsers_recursion_limit_is_refused(opener: str) -> None:
    err = refused(opener * 200_000)
    assert err.field == "" and "deeper" in err.problem


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"type":"env-error","error_msg":"a \\ud800 b"}', "error_msg"),
        ('{"type":"env-error","error_msg":"x","k":["\\udc00"]}', "k[0]"),
        ('{"type":"env-end","\\ud800":1}', '["\\ud800"]'),
    ],
)
def test_lone_surrogates_are_refused(text: str, field: str) -> None:
    err = refused(text)
    assert err.field == field and "surrogate" in err.problem


def test_surrogate_pairs_are_characters_and_accepted() -> None:
    msg = decode(b'{"type":"env-error","error_msg":"\\ud83d\\ude00 \\\\ud800"}')
    assert msg == ErrorReply("\U0001f600 \\ud800")


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(ProtocolError) as info:
        decode('{"type":"env-end"}')  # type: ignore[arg-type]
    assert "bytes" in info.value.problem


def test_decode_accepts_bytearray_and_memoryview() -> None:
    # zmq can hand out any bytes-like frame; the API is typed for bytes, the usual case.
    data = b'{"type":"env-end"}'
    frames: list[Any] = [bytearray(data), memoryview(data)]
    assert [decode(frame) for frame in frames] == [EnvEnd(), EnvEnd()]
    big: Any = memoryview(b"{}" * 10)
    assert refused(big, max_bytes=5).field == ""


def test_decode_json_keeps_order_and_duplicates_keep_the_last() -> None:
    obj = decode_json(b'{"b":1,"a":2,"b":3}')
    assert obj == {"b": 3, "a": 2}
    assert list(obj) == ["b", "a"]


def test_any_whitespace_is_accepted() -> None:
    assert decode(b' \n\t{ "type" :\r\n "env-end" }\n ') == EnvEnd()


# ------------------------------------------------------------------------- the type key


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"error_msg":"x"}', "missing"),
        ('{"type":5}', "must be a string, got 5"),
        ('{"type":null}', "got null"),
        ('{"type":"env-reset"}', "'env-reset'"),
        ('{"type":"ENV-END"}', "unknown"),
    ],
)
def test_type_must_name_a_known_message(text: str, problem: str) -> None:
    err = refused(text)
    assert err.field == "type" and problem in err.problem


# ------------------------------------------------------------------------- per message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"type":"env-start"}', "env"),
        ('{"type":"env-start","env":3}', "env"),
        ('{"type":"env-start","env":null}', "env"),
        ('{"type":"env-error"}', "error_msg"),
        ('{"type":"env-error","error_msg":["x"]}', "error_msg"),
        ('{"type":"env-hello"}', "env_list"),
        ('{"type":"env-hello","env_list":"custom"}', "env_list"),
        ('{"type":"env-hello","env_list":["custom",7]}', "env_list[1]"),
        ('{"type":"no-available-worker","msg":7}', "msg"),
        ('{"type":"env-action"}', "action_list"),
        ('{"type":"env-measurement"}', "network_stats"),
        ('{"type":"env-measurement","network_stats":{}}', "network_stats"),
        ('{"type":"env-measurement","network_stats":[],"workload_stats":[1]}', "workload_stats"),
    ],
)
def test_missing_or_mistyped_fields_are_refused(text: str, field: str) -> None:
    assert refused(text).field == field


def test_env_start_needs_only_env() -> None:
    msg = decode(b'{"type":"env-start","env":"custom","steps_per_episode":"x","num_users":null}')
    assert msg == EnvStart({"env": "custom", "steps_per_episode": "x", "num_users": None})


def test_optional_fields_may_be_absent_or_null() -> None:
    assert decode(b'{"type":"no-available-worker"}') == NoWorkerReply()
    assert decode(b'{"type":"no-available-worker","msg":null}') == NoWorkerReply()
    msg = decode(b'{"type":"env-measurement","network_stats":[],"workload_stats":null}')
    assert msg == EnvMeasurement(network_stats=[])


def test_unknown_keys_are_preserved_at_every_level() -> None:
    rec = record(id=[1], value=[{"slice": [0], "value": [1.0], "cell": "x"}], unit="Mbps")
    text = json.dumps(
        {"type": "env-measurement", "network_stats": [rec], "workload_stats": {"a": 1}, "z": [1]}
    )
    msg = decode(text.encode())
    assert msg == EnvMeasurement(network_stats=[rec], workload_stats={"a": 1}, extra={"z": [1]})
    assert decode(b'{"type":"env-error","error_msg":"e","code":3}') == ErrorReply("e", {"code": 3})
    assert decode(b'{"type":"env-hello","env_list":[],"v":2}') == EnvHello([], {"v": 2})
    assert decode(b'{"x":1,"type":"env-end"}') == EnvEnd({"x": 1})
    act = decode(
        action({"source": "s", "name": "n", "ts": 1, "id": 1, "value": 2, "k": 0}).encode()
    )
    assert isinstance(act, EnvAction) and act.action_list == {
        "source": "s",
        "name": "n",
        "ts": 1,
        "id": 1,
        "value": 2,
        "k": 0,
    }


# ------------------------------------------------------------------------- measurement records


@pytest.mark.parametrize(
    ("rec", "field", "problem"),
    [
        ([1, 2], "network_stats[0]", "object"),
        (record(source=...), "network_stats[0].source", "missing"),
        (record(name=7), "network_stats[0].name", "string"),
        (record(ts=True, id=[], value=[]), "network_stats[0].ts", "integer, got true"),
        (record(ts=1.0, id=[], value=[]), "network_stats[0].ts", "integer, got 1.0"),
        (record(), "network_stats[0]", '""'),
        (record(id=[1]), "network_stats[0].value", "missing"),
        (record(value=[1]), "network_stats[0].id", "missing"),
        (record(id=1, value=1), "network_stats[0].id", "array"),
        (record(id=[1], value=1), "network_stats[0].value", "array"),
        (record(id=[1, True], value=[1, 2]), "network_stats[0].id[1]", "true"),
        (record(id=[1, 2.0], value=[1, 2]), "network_stats[0].id[1]", "2.0"),
        (record(id=[1, 2], value=[1]), "network_stats[0].value", "1 items but id has 2"),
        (record(id=[1, 2], value=[1, "2"]), "network_stats[0].value[1]", "'2'"),
        (record(id=[1, 2], value=[1, False]), "network_stats[0].value[1]", "false"),
        (record(id=[1, 2], value=[1, None]), "network_stats[0].value[1]", "null"),
        (record(id=[1], value=[[1.0]]), "network_stats[0].value[0]", "array"),
        (record(id=[1], value=[{"value": [1]}]), "network_stats[0].value[0].slice", "missing"),
        (
            record(id=[1], value=[{"slice": [0, 1], "value": [1]}]),
            "network_stats[0].value[0].value",
            "1 items but slice has 2",
        ),
        (
            record(id=[1], value=[{"slice": [0], "value": ["a"]}]),
            "network_stats[0].value[0].value[0]",
            "'a'",
        ),
        (
            record(id=[1], value=[{"slice": [0.5], "value": [1]}]),
            "network_stats[0].value[0].slice[0]",
            "0.5",
        ),
        (record(**{"": 5}), 'network_stats[0][""]', "object"),
        (record(**{"": {"id": [1]}}), 'network_stats[0][""].value', "missing"),
        (record(**{"": {"id": [1, "2"], "value": [1, 2]}}), 'network_stats[0][""].id[1]', "'2'"),
        (
            record(id=[1], value=[1], **{"": {"id": [1], "value": [1]}}),
            "network_stats[0]",
            "both",
        ),
    ],
)
def test_bad_measurement_records_are_refused_at_their_path(
    rec: Any, field: str, problem: str
) -> None:
    err = refused(measurement(rec))
    assert err.field == field
    assert problem in err.problem


def test_only_the_bad_record_is_named() -> None:
    good = record(id=[1], value=[1.5])
    err = refused(measurement(good, good, good, record(id=[1, 2, 3], value=[1, 2, "x"])))
    assert err.field == "network_stats[3].value[2]"


@pytest.mark.parametrize(
    "rec",
    [
        record(id=[], value=[]),
        record(id=[1, 2, 3], value=[12, 15.5, -1]),
        record(id=[1], value=[{"slice": [0, 1], "value": [30.5, 28]}]),
        record(id=[1, 2], value=[{"slice": [], "value": []}, 3]),
        {"name": "measurement_1", "ts": 2000, "source": "test", "": {"id": [0], "value": [6]}},
        record(id=[1], value=[1], **{"unit": "Mbps", "id_type": "user"}),
        record(id=[-5, 10**30], value=[10**30, -0.0]),
    ],
)
def test_valid_measurement_records_are_accepted(rec: dict[str, Any]) -> None:
    validate_measurement_record(rec, where="r")
    msg = decode(measurement(rec).encode())
    assert isinstance(msg, EnvMeasurement) and msg.network_stats == [rec]


def test_record_ids_values_reads_both_shapes() -> None:
    flat = record(id=[1, 2], value=[3.0, 4.0])
    nested = {"name": "m", "ts": 1, "source": "test", "": {"id": [1, 2], "value": [3.0, 4.0]}}
    assert record_ids_values(flat) == ([1, 2], [3.0, 4.0])
    assert record_ids_values(nested) == ([1, 2], [3.0, 4.0])
    with pytest.raises(ProtocolError):
        record_ids_values(record())
    with pytest.raises(ProtocolError):
        record_ids_values({"": [1]})


def test_validate_measurement_record_names_the_given_path() -> None:
    with pytest.raises(ProtocolError) as info:
        validate_measurement_record(record(id=[1], value=[math.nan]), where="stats[7]")
    assert info.value.field == "stats[7].value[0]"


# ------------------------------------------------------------------------- action records


def act(**fields: Any) -> dict[str, Any]:
    return record(name="dl::split_weight", **fields)


@pytest.mark.parametrize(
    ("action_list", "field", "problem"),
    [
        ([], "action_list", "at least one"),
        ("x", "action_list", "string"),
        (None, "action_list", "null"),
        ([act(id=1, value=1), 5], "action_list[1]", "object"),
        (act(ts="1", id=1, value=1), "action_list.ts", "integer"),
        (act(ts=False, id=1, value=1), "action_list.ts", "false"),
        (act(value=[1]), "action_list.id", "missing"),
        (act(id=[1]), "action_list.value", "missing"),
        (act(id=1, value=[1.0]), "action_list.id", "array"),
        (act(id=[1], value=1.0), "action_list.value", "array"),
        (act(id=1, value=[]), "action_list.id", "array"),
        (act(id="1", value=1), "action_list.id", "integer"),
        (act(id=True, value=1), "action_list.id", "true"),
        (act(id=1, value="fast"), "action_list.value", "'fast'"),
        (act(id=1, value={"slice": [0], "value": [1]}), "action_list.value", "object"),
        (act(id=[1, 2], value=[1]), "action_list.value", "1 items but id has 2"),
        (act(id=[1, "2"], value=[1, 2]), "action_list.id[1]", "'2'"),
        (act(id=[1, 2], value=[[1, 0, 0], [0.5, "x", 0.5]]), "action_list.value[1][1]", "'x'"),
        (act(id=[1], value=[[[1]]]), "action_list.value[0][0]", "array"),
        (act(id=[1], value=[None]), "action_list.value[0]", "null"),
        (
            [act(id=[1], value=[1]), act(id=[1], value=[{"slice": [0, 1], "value": [1]}])],
            "action_list[1].value[0].value",
            "1 items but slice has 2",
        ),
    ],
)
def test_bad_action_lists_are_refused_at_their_path(
    action_list: Any, field: str, problem: str
) -> None:
    err = refused(action(action_list))
    assert err.field == field
    assert problem in err.problem
    with pytest.raises(ProtocolError) as info:
        validate_action_list(action_list, where="policy")
    assert info.value.field == "policy" + field.removeprefix("action_list")


@pytest.mark.parametrize(
    "action_list",
    [
        act(id=[1, 2, 3], value=[0.1, 0.5, 1]),
        act(id=0, value=300000.0),
        act(id=[1, 2], value=[[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]]),
        act(id=[1, 2], value=[[], [1]]),
        act(id=[1, 2, 3], value=[]),
        act(id=["any", None, 1.5], value=[]),
        act(id=[], value=[]),
        [act(id=[1], value=[{"slice": [0, 1], "value": [6, 12]}]), act(id=0, value=-1)],
        act(id=[1], value=[1], extra_key={"copied": "from the measurement"}),
    ],
)
def test_valid_action_lists_are_accepted(action_list: Any) -> None:
    validate_action_list(action_list)
    msg = decode(action(action_list).encode())
    assert msg == EnvAction(action_list=action_list)


# ------------------------------------------------------------------------- encode


def test_compact_encoding_has_type_first_and_no_spaces() -> None:
    msg = EnvAction({"source": "test", "name": "srate", "ts": 2000, "id": [0], "value": [0.5]})
    assert encode(msg) == (
        b'{"type":"env-action","action_list":'
        b'{"source":"test","name":"srate","ts":2000,"id":[0],"value":[0.5]}}'
    )


def test_pretty_encoding_is_two_space_indented() -> None:
    assert (
        encode(ErrorReply("oops"), indent=2)
        == b'{\n  "type": "env-error",\n  "error_msg": "oops"\n}'
    )
    assert encode(EnvEnd(), indent=2) == b'{\n  "type": "env-end"\n}'


def test_fields_come_in_declared_order_then_extra() -> None:
    msg = EnvMeasurement(network_stats=[], workload_stats={"t": 1}, extra={"a": 0})
    assert (
        encode(msg)
        == b'{"type":"env-measurement","network_stats":[],"workload_stats":{"t":1},"a":0}'
    )
    assert encode(NoWorkerReply("m", {"b": 1})) == b'{"type":"no-available-worker","msg":"m","b":1}'
    assert encode(EnvHello(["custom"])) == b'{"type":"env-hello","env_list":["custom"]}'


def test_absent_optional_fields_are_not_written() -> None:
    assert encode(NoWorkerReply()) == b'{"type":"no-available-worker"}'
    assert encode(EnvMeasurement([])) == b'{"type":"env-measurement","network_stats":[]}'


def test_env_start_is_type_then_the_config() -> None:
    msg = EnvStart({"steps_per_episode": 3, "env": "custom"})
    assert encode(msg) == b'{"type":"env-start","steps_per_episode":3,"env":"custom"}'


def test_non_ascii_text_is_escaped() -> None:
    assert encode(ErrorReply("café ✓")) == b'{"type":"env-error","error_msg":"caf\\u00e9 \\u2713"}'


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (EnvStart({"num_users": 3}), "env"),
        (EnvStart({"env": "custom", "type": "env-start"}), "env_config.type"),
        (EnvStart(["env"]), "env_config"),  # type: ignore[arg-type]
        (EnvAction([]), "action_list"),
        (EnvAction(act(id=1, value=math.nan)), "action_list.value"),
        (EnvAction(act(id=1, value=1), extra={"action_list": 1}), "extra.action_list"),
        (EnvMeasurement([], extra={"workload_stats": {}}), "extra.workload_stats"),
        (NoWorkerReply(extra={"msg": "x"}), "extra.msg"),
        (EnvEnd(extra={"type": "x"}), "extra.type"),
        (EnvEnd(extra=[1]), "extra"),  # type: ignore[arg-type]
        (EnvHello(["a", None]), "env_list[1]"),  # type: ignore[list-item]
        (ErrorReply(7), "error_msg"),  # type: ignore[arg-type]
        (EnvEnd(extra={"x": math.inf}), "x"),
        (EnvEnd(extra={"x": [1.0, -math.inf]}), "x[1]"),
        (EnvEnd(extra={"x": (1, 2)}), "x"),
        (EnvEnd(extra={"x": {1: "a"}}), 'x["1"]'),
        (EnvEnd(extra={"x": {"k": np.int64(3)}}), "x.k"),
        (EnvEnd(extra={"x": {1, 2}}), "x"),
        (EnvEnd(extra={"bad key": "\ud800"}), '["bad key"]'),
    ],
)
def test_encode_refuses_what_decode_would_refuse(msg: Any, field: str) -> None:
    assert refused_encode(msg).field == field


def test_encode_refuses_non_messages() -> None:
    assert "not a message" in refused_encode({"type": "env-end"}).problem


def test_encode_refuses_circular_data() -> None:
    loop: list[Any] = []
    loop.append(loop)
    err = refused_encode(EnvEnd(extra={"loop": loop}))
    assert "deeper" in err.problem


def test_encode_refuses_integers_past_the_digit_limit() -> None:
    assert refused_encode(EnvEnd(extra={"x": 10**5000})).field == ""


def test_encode_refuses_oversized_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol.codec, "MAX_MESSAGE_BYTES", 40)
    assert encode(ErrorReply("short")) == b'{"type":"env-error","error_msg":"short"}'
    assert "exceeds" in refused_encode(ErrorReply("a longer message")).problem


def test_subclasses_of_json_types_encode_as_their_values() -> None:
    msg = EnvEnd(extra={"od": OrderedDict(a=1), "f": np.float64(0.25)})
    assert encode(msg) == b'{"type":"env-end","od":{"a":1},"f":0.25}'


def test_messages_compare_by_value() -> None:
    assert EnvEnd() == EnvEnd({}) and ErrorReply("x") != ErrorReply("y")
    assert EnvStart({"env": "a", "b": 1}) == EnvStart({"b": 1, "env": "a"})


# ------------------------------------------------------------------------- golden messages

#: file → (layout, message class, facts written from PROTOCOL.md).
VALID_GOLDEN: dict[str, tuple[int | None, type[Message], dict[str, Any]]] = {
    "01_client_env-start_rmcat.json": (
        2,
        EnvStart,
        {
            "env": "rmcat",
            "env_end_time_ms": 101100,
            "bw_trace.bw_kbps": [1000.0, 2000.0, 500.0, 1000.0],
        },
    ),
    "02_client_env-action_nqos_split.json": (
        2,
        EnvAction,
        {"name": "dl::split_weight", "ts": 1100, "value": [[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]]},
    ),
    "03_client_env-action_network_slicing.json": (
        2,
        EnvAction,
        {"names": ["drb_allocation", "prb_allocation", "srb_allocation"], "prb": [6, 12]},
    ),
    "04_client_env-action_default.json": (2, EnvAction, {"id": [1, 2, 3, 4, 5], "value": []}),
    "05_client_env-action_scalar.json": (None, EnvAction, {"id": 0, "value": 300000.0}),
    "06_worker_env-measurement_nqos_split.json": (
        None,
        EnvMeasurement,
        {
            "gma::dl::owd": ([1, 2, 3], [12, 15, -1]),
            "lte::cell_id": ([1, 2, 3], [1, 1, 255]),
            "wifi::cell_id": ([1, 2], [1, 2]),
            "lte::dl::cell::max_rate": ([1], [{"slice": [0, 1], "value": [30.5, 28.25]}]),
            "sim_time_%": 97.3,
        },
    ),
    "07_server_no-available-worker.json": (None, NoWorkerReply, {"msg": None}),
    "08_worker_env-error.json": (
        None,
        ErrorReply,
        {
            "error_msg": 'Traceback (most recent call last):\n  File "sim.py", line 7\n'
            'ValueError: café → "bad"'
        },
    ),
    "09_worker_env-hello.json": (
        2,
        EnvHello,
        {"env_list": ["nqos_split", "qos_steer", "network_slicing", "rmcat", "custom"]},
    ),
    "10_worker_env-end.json": (None, EnvEnd, {"extra": {"session": {"id": 7, "tags": []}}}),
}

INVALID_GOLDEN = {
    "measurement_nan.json": "",
    "measurement_bool_ts.json": "network_stats[0].ts",
    "measurement_length_mismatch.json": "network_stats[1].value",
    "measurement_sliced_mismatch.json": "network_stats[0].value[0].value",
    "measurement_nested_string_value.json": 'network_stats[0][""].value[1]',
    "action_empty_list.json": "action_list",
    "action_scalar_id_list_value.json": "action_list.id",
    "action_row_string.json": "action_list.value[1][1]",
    "start_without_env.json": "env",
    "hello_non_string.json": "env_list[1]",
    "top_level_array.json": "",
    "unknown_type.json": "type",
}


def golden_payload(path: Path) -> bytes:
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n"), f"{path}: one trailing newline"
    return raw[:-1]


def test_every_golden_file_is_listed() -> None:
    assert {p.name for p in GOLDEN.glob("*.json")} == set(VALID_GOLDEN)
    assert {p.name for p in (GOLDEN / "invalid").glob("*.json")} == set(INVALID_GOLDEN)


def facts_of(msg: Message) -> dict[str, Any]:
    """The facts ``VALID_GOLDEN`` states, read from the decoded message."""
    if isinstance(msg, EnvStart):
        cfg = msg.env_config
        return {
            "env": cfg["env"],
            "env_end_time_ms": cfg["env_end_time_ms"],
            "bw_trace.bw_kbps": cfg["bw_trace"]["bw_kbps"],
        }
    if isinstance(msg, EnvAction):
        if isinstance(msg.action_list, list):
            prb = msg.action_list[1]["value"][0]["value"]
            return {"names": [r["name"] for r in msg.action_list], "prb": prb}
        rec = msg.action_list
        if rec["source"] == "gma" and rec["value"]:
            return {"name": rec["name"], "ts": rec["ts"], "value": rec["value"]}
        return {"id": rec["id"], "value": rec["value"]}
    if isinstance(msg, EnvMeasurement):
        by_key = {f"{r['source']}::{r['name']}": record_ids_values(r) for r in msg.network_stats}
        assert msg.workload_stats is not None
        facts: dict[str, Any] = {
            k: by_key[k]
            for k in ("gma::dl::owd", "lte::cell_id", "wifi::cell_id", "lte::dl::cell::max_rate")
        }
        facts["sim_time_%"] = msg.workload_stats["time_lapse"][0]["sim_time_%"]
        return facts
    if isinstance(msg, NoWorkerReply):
        return {"msg": msg.msg}
    if isinstance(msg, ErrorReply):
        return {"error_msg": msg.error_msg}
    if isinstance(msg, EnvHello):
        return {"env_list": msg.env_list}
    return {"extra": msg.extra}


@pytest.mark.parametrize("name", sorted(VALID_GOLDEN))
def test_golden_message_decodes_to_its_facts(name: str) -> None:
    _, cls, facts = VALID_GOLDEN[name]
    msg = decode(golden_payload(GOLDEN / name))
    assert type(msg) is cls
    assert facts_of(msg) == facts


@pytest.mark.parametrize("name", sorted(VALID_GOLDEN))
def test_golden_message_is_reproduced_byte_for_byte(name: str) -> None:
    layout, _, _ = VALID_GOLDEN[name]
    payload = golden_payload(GOLDEN / name)
    assert encode(decode(payload), indent=layout) == payload


@pytest.mark.parametrize("name", sorted(INVALID_GOLDEN))
def test_invalid_golden_message_is_refused_at_its_field(name: str) -> None:
    err = refused(golden_payload(GOLDEN / "invalid" / name))
    assert err.field == INVALID_GOLDEN[name]


def test_a_top_level_key_named_extra_round_trips() -> None:
    payload = (
        b'{"type":"env-action","action_list":{"source":"gma","name":"x","ts":1,"id":[],'
        b'"value":[]},"extra":null}'
    )
    msg = decode(payload)
    assert isinstance(msg, EnvAction)
    assert msg.extra == {"extra": None}
    assert decode(encode(msg)) == msg
    assert encode(msg) == payload


@pytest.mark.parametrize(
    ("bad", "where", "problem"),
    [
        (float("nan"), "action_list.value[2][1]", "non-finite"),
        (True, "action_list.value[2][1]", "got true"),
        ("x", "action_list.value[2][1]", "string"),
        (1e308, None, None),  # finite, though the rows' sum overflows: accepted
        (10**400, None, None),  # a big int beside floats: looked at one by one, accepted
    ],
)
def test_rows_of_numbers_name_the_first_bad_item(
    bad: Any, where: str | None, problem: str | None
) -> None:
    rows: list[list[Any]] = [[0.5, 0.5], [1e308, 1e308], [0.25, 0.75]]
    rows[2][1] = bad
    record = {"source": "gma", "name": "dl::split_weight", "ts": 1, "id": [1, 2, 3]}
    msg = EnvAction(action_list={**record, "value": rows})
    if where is None:
        assert decode(encode(msg)) == msg
        return
    with pytest.raises(ProtocolError) as info:
        encode(msg)
    assert info.value.field == where
    assert problem is not None and problem in info.value.problem
