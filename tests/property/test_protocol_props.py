"""Properties of the wire codec: round trips, canonical output, and survival of hostile bytes."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netgym_client.errors import ProtocolError
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
    decode,
    decode_json,
    encode,
    record_ids_values,
    validate_action_list,
    validate_measurement_record,
)
from netgym_client.testing._message_strategies import (
    action_lists,
    action_records,
    env_actions,
    env_measurements,
    env_starts,
    hostile_payloads,
    json_values,
    measurement_records,
    messages,
)

MESSAGE_CLASSES = (EnvStart, EnvAction, EnvMeasurement, EnvEnd, EnvHello, ErrorReply, NoWorkerReply)


def decode_or_error(data: bytes) -> Message | ProtocolError:
    """``decode``'s outcome; any exception but ProtocolError escapes and fails the test."""
    try:
        return decode(data)
    except ProtocolError as exc:
        return exc


# ------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("indent", [None, 2])
@given(msg=messages())
def test_decode_inverts_encode(indent: int | None, msg: Message) -> None:
    assert decode(encode(msg, indent=indent)) == msg  # dataclass == also compares the class


@pytest.mark.parametrize("indent", [None, 2])
@given(msg=messages())
def test_encoding_is_canonical(indent: int | None, msg: Message) -> None:
    data = encode(msg, indent=indent)
    assert encode(decode(data), indent=indent) == data


@given(msg=messages())
def test_compact_and_pretty_encodings_hold_the_same_json(msg: Message) -> None:
    compact, pretty = encode(msg), encode(msg, indent=2)
    assert json.loads(compact) == json.loads(pretty)
    # compact: no whitespace between tokens (strings may hold any text, ": " included)
    assert compact == json.dumps(json.loads(compact), separators=(",", ":")).encode()
    assert compact.startswith(b'{"type":')
    assert pretty.startswith(b'{\n  "type": ')


@given(msg=messages())
def test_encoding_is_ascii_with_type_first(msg: Message) -> None:
    data = encode(msg)
    data.decode("ascii")
    obj = json.loads(data)
    assert next(iter(obj)) == "type"


@given(msg=env_starts())
def test_env_start_is_type_plus_the_config_in_order(msg: EnvStart) -> None:
    obj = json.loads(encode(msg, indent=2))
    assert list(obj) == ["type", *msg.env_config]
    assert obj == {"type": "env-start", **msg.env_config}


@given(msg=env_measurements())
def test_measurement_records_are_kept_as_received(msg: EnvMeasurement) -> None:
    decoded = decode(encode(msg))
    assert isinstance(decoded, EnvMeasurement)
    for sent, got in zip(msg.network_stats, decoded.network_stats, strict=True):
        assert list(got) == list(sent)  # same keys, same order
        assert got == sent


@given(msg=env_actions())
def test_action_list_keeps_its_form(msg: EnvAction) -> None:
    decoded = decode(encode(msg, indent=2))
    assert isinstance(decoded, EnvAction)
    assert type(decoded.action_list) is type(msg.action_list)


# ------------------------------------------------------------------------- record helpers


@given(record=measurement_records())
def test_generated_records_are_valid(record: dict[str, Any]) -> None:
    validate_measurement_record(record, where="r")


@given(record=measurement_records(shape="nested"))
def test_record_ids_values_reads_both_shapes_alike(record: dict[str, Any]) -> None:
    flat = {k: v for k, v in record.items() if k != ""}
    flat["id"], flat["value"] = record[""]["id"], record[""]["value"]
    validate_measurement_record(flat, where="r")
    ids, values = record_ids_values(record)
    assert (ids, values) == record_ids_values(flat)
    assert ids is record[""]["id"] and values is record[""]["value"]


@given(action_list=action_lists())
def test_generated_action_lists_are_valid(action_list: Any) -> None:
    validate_action_list(action_list)


@given(record=measurement_records(), key=st.sampled_from(["source", "name", "ts"]))
def test_a_record_without_a_header_key_is_refused_there(record: dict[str, Any], key: str) -> None:
    del record[key]
    with pytest.raises(ProtocolError) as info:
        validate_measurement_record(record, where="network_stats[4]")
    assert info.value.field == f"network_stats[4].{key}"


@given(record=action_records(), key=st.sampled_from(["source", "name", "ts", "id", "value"]))
def test_an_action_without_a_key_is_refused_there(record: dict[str, Any], key: str) -> None:
    del record[key]
    with pytest.raises(ProtocolError) as info:
        encode(EnvAction(action_list=[record]))
    assert info.value.field == f"action_list[0].{key}"


@given(record=measurement_records(shape="flat", max_entities=4), data=st.data())
def test_a_bool_or_float_id_is_refused_at_its_index(
    record: dict[str, Any], data: st.DataObject
) -> None:
    ids = record["id"]
    i = data.draw(st.integers(0, len(ids)), label="index")
    ids.insert(i, data.draw(st.sampled_from([True, False, 1.0, "1", None])))
    record["value"].insert(i, 1)
    with pytest.raises(ProtocolError) as info:
        validate_measurement_record(record, where="r")
    assert info.value.field == f"r.id[{i}]"


@given(record=measurement_records(shape="flat", max_entities=4), extra=st.integers(1, 3))
def test_a_length_mismatch_is_refused(record: dict[str, Any], extra: int) -> None:
    record["value"] = record["value"] + [1] * extra
    with pytest.raises(ProtocolError) as info:
        validate_measurement_record(record, where="r")
    assert info.value.field == "r.value"
    assert str(len(record["id"])) in info.value.problem


@given(
    record=measurement_records(shape="flat", max_entities=4),
    bad=st.sampled_from([math.inf, -math.inf, math.nan]),
    data=st.data(),
)
def test_a_non_finite_value_is_refused_at_its_index(
    record: dict[str, Any], bad: float, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(record["id"])), label="index")
    record["id"].insert(i, 0)
    record["value"].insert(i, bad)
    with pytest.raises(ProtocolError) as info:
        encode(EnvMeasurement(network_stats=[record]))
    assert info.value.field == f"network_stats[0].value[{i}]"


# ------------------------------------------------------------------------- hostile input


@given(data=hostile_payloads())
@example(data=b"")
@example(data=b"\xff\xfe{}")
@example(data=b"\xef\xbb\xbf{}")
@example(data=b'"\\ud800"')
@example(data=b"[" * 100_000)
def test_hostile_bytes_decode_to_a_message_or_protocol_error(data: bytes) -> None:
    outcome = decode_or_error(data)
    if isinstance(outcome, ProtocolError):
        assert str(outcome)
        return
    # Whatever decode accepts, encode accepts too and reproduces.
    for indent in (None, 2):
        assert decode(encode(outcome, indent=indent)) == outcome


@given(data=hostile_payloads())
def test_decode_json_raises_only_protocol_error(data: bytes) -> None:
    try:
        obj = decode_json(data)
    except ProtocolError:
        return
    assert isinstance(obj, dict)


@given(data=st.binary(max_size=64), limit=st.integers(0, 63))
def test_the_size_limit_comes_first(data: bytes, limit: int) -> None:
    payload = b"\xff" + data  # never UTF-8 at byte 0, so only the size check can name the size
    if len(payload) <= limit:
        return
    with pytest.raises(ProtocolError) as info:
        decode(payload, max_bytes=limit)
    assert info.value.field == ""
    assert str(len(payload)) in info.value.problem


@given(depth=st.integers(1, MAX_NESTING_DEPTH + 3))
def test_nesting_up_to_the_limit_is_accepted_beyond_refused(depth: int) -> None:
    # The top-level object is level 1; "x" holds depth - 1 more levels of arrays.
    inner = "[" * (depth - 1) + "]" * (depth - 1) if depth > 1 else "1"
    outcome = decode_or_error(f'{{"type":"env-end","x":{inner}}}'.encode())
    if depth <= MAX_NESTING_DEPTH:
        assert isinstance(outcome, EnvEnd)
    else:
        assert isinstance(outcome, ProtocolError)
        assert outcome.field.startswith("x")
        assert "deeper" in outcome.problem


@given(msg=messages(), value=json_values(), data=st.data())
def test_any_field_replaced_by_any_json_value_decodes_or_is_refused(
    msg: Message, value: Any, data: st.DataObject
) -> None:
    obj = json.loads(encode(msg))
    node: Any = obj
    # Walk down a random path, then overwrite what is there.
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys), label="key")
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans(), label="deeper"):
            node = child
            continue
        node[key] = copy.deepcopy(value)
        break
    outcome = decode_or_error(json.dumps(obj).encode())
    if not isinstance(outcome, ProtocolError):
        assert decode(encode(outcome)) == outcome


@pytest.mark.parametrize("cls", MESSAGE_CLASSES)
@given(data=st.data())
def test_encode_of_badly_typed_fields_raises_only_protocol_error(
    cls: type[Message], data: st.DataObject
) -> None:
    junk = json_values() | st.tuples(st.integers()) | st.just(math.nan) | st.builds(object)
    kwargs: dict[str, Any] = {}
    for name in cls.__dataclass_fields__:
        kwargs[name] = data.draw(junk | st.dictionaries(st.text(max_size=3), junk), label=name)
    msg = cls(**kwargs)
    try:
        encoded = encode(msg)
    except ProtocolError:
        return
    assert decode(encoded) == msg


@given(st.binary(max_size=120) | st.text(max_size=120))
def test_identity_text_is_one_printable_line_without_bytes_markers(identity: bytes | str) -> None:
    from netgym_client.protocol import identity_text

    text = identity_text(identity)
    assert text.isprintable() and "\n" not in text
    assert len(text) <= 80
    plain = identity if isinstance(identity, str) else None
    if plain is not None and plain.isprintable() and 0 < len(plain) <= 80:
        assert text == plain
    assert identity_text(b"admin-0") == "admin-0"
