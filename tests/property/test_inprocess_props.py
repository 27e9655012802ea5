"""Properties of the wire shortcuts: what the in-process path and the lean encoder skip.

- ``encode(validate=False)`` writes the same bytes as ``encode`` for every valid message.
- ``check_message`` accepts exactly what ``encode`` accepts, with the same error.
- A measurement handed over without JSON reads the same as one that crossed the wire.
- ``decode_object(decode_json(b)) == decode(b)``: parsing once changes nothing.
- An adapter's policy for any action passes ``check_message`` and crosses the wire intact.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client.adapters import adapter_class
from netgym_client.config import ENVIRONMENTS, load_config
from netgym_client.errors import ProtocolError
from netgym_client.protocol import (
    EnvAction,
    EnvMeasurement,
    Message,
    check_message,
    decode,
    decode_json,
    decode_object,
    encode,
)
from netgym_client.stats import NetworkStats
from netgym_client.testing._message_strategies import (
    action_lists,
    env_measurements,
    hostile_payloads,
    json_values,
    messages,
)
from netgym_client.testing.strategies import actions, measurements


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ProtocolError as exc:
        return ("refused", exc.field, exc.problem)


@given(msg=messages())
def test_unvalidated_encoding_writes_the_same_bytes(msg: Message) -> None:
    assert encode(msg, validate=False) == encode(msg)


@given(msg=env_measurements())
def test_a_measurement_without_json_reads_as_one_that_crossed_the_wire(
    msg: EnvMeasurement,
) -> None:
    crossed = decode(encode(msg, validate=False))
    assert isinstance(crossed, EnvMeasurement)
    direct = NetworkStats.from_records(msg.network_stats, validate=False)
    assert direct == NetworkStats.from_records(crossed.network_stats, validate=False)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@settings(max_examples=25)
@given(data=st.data())
def test_scenario_like_records_read_the_same_in_process(env: str, data: st.DataObject) -> None:
    records = data.draw(measurements(env=env, num_users=4)).network_stats
    crossed = decode(encode(EnvMeasurement(network_stats=records), validate=False))
    assert isinstance(crossed, EnvMeasurement)
    assert NetworkStats.from_records(records, validate=False) == NetworkStats.from_records(
        crossed.network_stats
    )


@given(
    action_list=st.one_of(action_lists(), json_values()),
    extra=st.dictionaries(st.text(max_size=3), json_values(max_leaves=3), max_size=2),
)
def test_check_message_accepts_what_encode_accepts(action_list: Any, extra: Any) -> None:
    extra.pop("action_list", None)
    extra.pop("type", None)
    msg = EnvAction(action_list=action_list, extra=extra)
    checked = outcome(check_message, msg)
    encoded = outcome(encode, msg)
    if checked is None:
        assert isinstance(encoded, bytes)
        assert decode(encoded) == msg
    else:
        assert checked == encoded


@given(data=hostile_payloads())
def test_parsing_once_gives_what_decode_gives(data: bytes) -> None:
    once = outcome(lambda b: decode_object(decode_json(b)), data)
    assert once == outcome(decode, data)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@settings(max_examples=20)
@given(data=st.data())
def test_policies_pass_the_in_process_check_and_cross_intact(env: str, data: st.DataObject) -> None:
    config = load_config(env)
    adapter = adapter_class(env)(config)
    records = data.draw(measurements(env=env, num_users=config.num_users)).network_stats
    stats = NetworkStats.from_records(records)
    action = data.draw(st.one_of(st.none(), actions(adapter.action_space)))
    policy = adapter.policy(action, stats)
    msg = EnvAction(action_list=policy)
    check_message(msg)
    assert decode(encode(msg)) == msg
