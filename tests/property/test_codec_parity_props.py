"""The optional orjson parser gives exactly what the standard library's json gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netgym_client import protocol
from netgym_client.errors import ProtocolError
from netgym_client.testing._message_strategies import hostile_payloads, json_values, messages

orjson = pytest.importorskip("orjson", reason="the [fast] extra is part of [dev]")


def outcome(data: bytes, monkeypatch: pytest.MonkeyPatch, fast: bool) -> Any:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(protocol.jsontext, "_orjson", None)
        assert protocol.json_codec() == ("orjson" if fast else "json")
        try:
            obj = protocol.decode_json(data)
        except ProtocolError as exc:
            return ("refused", exc.field, exc.problem)
        # same values, same types (an int stays an int), same key order
        return json.dumps(obj), repr(obj)


def assert_same(data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        assert outcome(data, patch, fast=True) == outcome(data, patch, fast=False)


@given(data=hostile_payloads())
def test_hostile_bytes_get_the_same_answer(data: bytes) -> None:
    assert_same(data)


@given(msg=messages(), indent=st.sampled_from([None, 2]))
def test_messages_parse_the_same(msg: protocol.Message, indent: int | None) -> None:
    assert_same(protocol.encode(msg, indent=indent))


@given(value=json_values(), big=st.integers())
@example(value=0, big=2**64)
@example(value=0, big=-(2**63) - 1)
@example(value=0, big=10**18)
def test_numbers_of_any_size_parse_the_same(value: Any, big: int) -> None:
    assert_same(json.dumps({"type": "env-end", "x": value, "big": [big, 1.5]}).encode())


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":2}',
        '{"a":"\\ud800"}',
        '{"a":"\\ud83d\\ude00 é"}',
        '{"a":1e400}',
        '{"a":NaN}',
        '{"a":0.12345678901234567890123}',
        '{"a":"\x01"}',
        "\ufeff{}",
        '{"a":[' * 40 + "]" * 40 + "}",
        "[1]",
        '{"a":-0}',
    ],
)
def test_edge_cases_parse_the_same(text: str) -> None:
    assert_same(text.encode("utf-8", errors="surrogatepass"))
