"""The codec against real wire captures (``fixtures/captures``, PROTOCOL.md §2–§5).

Each capture holds the frames a real server's ROUTER socket saw, the payload as text
(``payload_raw``) and as parsed by the capture tool (``payload``). We decode every payload to
its expected type and facts, and re-encode it: the original client and worker pretty-print
(``indent=2``), the server's own messages are compact, and a few hand-formatted server
replies (``", "`` separators) can only be matched as JSON, not byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netgym_client.errors import ProtocolError
from netgym_client.protocol import (
    EnvAction,
    EnvEnd,
    EnvHello,
    EnvMeasurement,
    EnvStart,
    ErrorReply,
    Message,
    NoWorkerReply,
    decode,
    encode,
    record_ids_values,
)

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"

#: How ``encode(decode(payload))`` relates to the captured bytes.
PRETTY, COMPACT, SAME_JSON, REFUSED = "indent=2", "compact", "same JSON", "refused"

#: capture → (expected class or ProtocolError, how it re-encodes).
EXPECTED: dict[str, tuple[type[Message] | type[ProtocolError], str]] = {
    "01_worker-to-server_env-hello.json": (EnvHello, PRETTY),
    "02_client-to-server_env-start.json": (EnvStart, PRETTY),
    "03_worker-from-server_env-start.json": (EnvStart, PRETTY),
    "04_worker-to-server_env-measurement.json": (EnvMeasurement, PRETTY),
    "05_client-from-server_env-measurement.json": (EnvMeasurement, PRETTY),
    "06_client-to-server_env-action.json": (EnvAction, PRETTY),
    "07_worker-from-server_env-action.json": (EnvAction, PRETTY),
    "08_worker-to-server_env-measurement_2.json": (EnvMeasurement, PRETTY),
    "09_client-from-server_env-measurement_2.json": (EnvMeasurement, PRETTY),
    "10_client-to-server_env-action_2.json": (EnvAction, PRETTY),
    "11_worker-from-server_env-action_2.json": (EnvAction, PRETTY),
    "12_worker-to-server_env-end.json": (EnvEnd, PRETTY),
    "13_worker-to-server_env-hello_2.json": (EnvHello, PRETTY),
    "14_client-to-server_foo.json": (ProtocolError, REFUSED),
    "15_client-from-server_env-error.json": (ErrorReply, SAME_JSON),
    "16_client-from-server_env-error_2.json": (ErrorReply, COMPACT),
    "17_client-to-server_env-start_2.json": (EnvStart, COMPACT),
    "18_client-from-server_no-available-worker.json": (NoWorkerReply, SAME_JSON),
    "19_client-from-server_env-error_3.json": (ErrorReply, SAME_JSON),
    "20_worker-from-server_env-start_2.json": (EnvStart, COMPACT),
}


def load(name: str) -> dict[str, Any]:
    """One capture file; fails (never skips) when the captures folder is missing."""
    assert CAPTURES.is_dir(), f"{CAPTURES} not found: the capture tests need fixtures/captures"
    capture: dict[str, Any] = json.loads((CAPTURES / name).read_text(encoding="utf-8"))
    return capture


def payload(name: str) -> bytes:
    return str(load(name)["payload_raw"]).encode("utf-8")


def decoded(name: str) -> Message:
    return decode(payload(name))


def test_the_captures_folder_is_present_and_fully_classified() -> None:
    assert CAPTURES.is_dir(), f"{CAPTURES} not found (fixtures/captures is part of the repository)"
    assert {p.name for p in CAPTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_payload_raw_is_the_last_frame_and_matches_payload(name: str) -> None:
    capture = load(name)
    assert capture["frames"][-1] == capture["payload_raw"]
    assert json.loads(capture["payload_raw"]) == capture["payload"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_decodes_to_its_type(name: str) -> None:
    expected, _ = EXPECTED[name]
    if expected is ProtocolError:
        with pytest.raises(ProtocolError) as info:
            decode(payload(name))
        assert info.value.field == "type" and "'foo'" in info.value.problem
    else:
        assert type(decoded(name)) is expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_keeps_every_key_the_capture_tool_saw(name: str) -> None:
    expected, _ = EXPECTED[name]
    if expected is ProtocolError:
        return
    reencoded = json.loads(encode(decoded(name)))
    assert reencoded == load(name)["payload"]
    assert list(reencoded) == list(load(name)["payload"])  # key order too


@pytest.mark.parametrize("name", sorted(n for n, (_, how) in EXPECTED.items() if how == PRETTY))
def test_pretty_capture_is_reproduced_byte_for_byte(name: str) -> None:
    assert encode(decoded(name), indent=2) == payload(name)


@pytest.mark.parametrize("name", sorted(n for n, (_, how) in EXPECTED.items() if how == COMPACT))
def test_compact_capture_is_reproduced_byte_for_byte(name: str) -> None:
    assert encode(decoded(name)) == payload(name)


@pytest.mark.parametrize("name", sorted(n for n, (_, how) in EXPECTED.items() if how == SAME_JSON))
def test_hand_formatted_capture_differs_only_in_whitespace(name: str) -> None:
    ours = encode(decoded(name))
    theirs = payload(name)
    assert ours != theirs  # the server wrote '", "' and '": "'; we write compact JSON
    assert ours == theirs.replace(b'", "', b'","').replace(b'": "', b'":"')


# ------------------------------------------------------------------------- facts of the session


def test_relayed_payloads_are_unchanged() -> None:
    # PROTOCOL.md §2: the server relays bytes without re-encoding them.
    pairs = [("02", "03"), ("04", "05"), ("06", "07"), ("08", "09"), ("10", "11")]
    names = {n[:2]: n for n in EXPECTED}
    for sent, relayed in pairs:
        assert payload(names[sent]) == payload(names[relayed])


def test_env_start_carries_the_config_and_its_end_time() -> None:
    msg = decoded("02_client-to-server_env-start.json")
    assert isinstance(msg, EnvStart)
    cfg = msg.env_config
    assert "type" not in cfg
    assert (cfg["env"], cfg["steps_per_episode"], cfg["episodes_per_session"]) == ("custom", 3, 2)
    assert cfg["num_users"] == 3
    # PROTOCOL.md §3: end = start + step_ms * (steps * episodes + 1).
    step_ms = cfg["measurement_interval_ms"] + cfg["measurement_guard_interval_ms"]
    expected_end = cfg["measurement_start_time_ms"] + step_ms * (
        cfg["steps_per_episode"] * cfg["episodes_per_session"] + 1
    )
    assert cfg["env_end_time_ms"] == expected_end == 8000


def test_minimal_env_starts_decode() -> None:
    assert decoded("17_client-to-server_env-start_2.json") == EnvStart({"env": "nqos_split"})
    msg = decoded("20_worker-from-server_env-start_2.json")
    assert isinstance(msg, EnvStart) and msg.env_config["env_end_time_ms"] == 5000


@pytest.mark.parametrize(
    ("name", "ts", "values"),
    [
        (
            "04_worker-to-server_env-measurement.json",
            2000,
            [[6, 5, 8], [5, 6, 7], [7, 6, 8], [9, 4, 8]],
        ),
        (
            "08_worker-to-server_env-measurement_2.json",
            3000,
            [[9, 9, 6], [7, 9, 5], [7, 9, 7], [8, 5, 5]],
        ),
    ],
)
def test_custom_measurements_use_the_nested_shape(
    name: str, ts: int, values: list[list[int]]
) -> None:
    msg = decoded(name)
    assert isinstance(msg, EnvMeasurement) and msg.workload_stats is None and msg.extra == {}
    names = [r["name"] for r in msg.network_stats]
    assert names == ["measurement_1", "measurement_2", "measurement_3", "measurement_4"]
    for rec, row in zip(msg.network_stats, values, strict=True):
        assert rec["source"] == "test" and rec["ts"] == ts
        assert "id" not in rec and "" in rec  # kept exactly as received
        assert record_ids_values(rec) == ([0, 1, 2], row)
        assert all(3 <= v <= 9 for v in row)  # PROTOCOL.md §13: dummy ints 3–9


@pytest.mark.parametrize(
    ("name", "ts", "value"),
    [
        (
            "06_client-to-server_env-action.json",
            2000,
            [0.6369616985321045, 0.2697867155075073, 0.04097352549433708],
        ),
        (
            "10_client-to-server_env-action_2.json",
            3000,
            [0.016527635976672173, 0.8132702112197876, 0.91275554895401],
        ),
    ],
)
def test_custom_actions_echo_the_measurement(name: str, ts: int, value: list[float]) -> None:
    msg = decoded(name)
    assert isinstance(msg, EnvAction) and isinstance(msg.action_list, dict)
    rec = msg.action_list
    assert (rec["source"], rec["name"], rec["ts"]) == ("test", "srate", ts)
    assert rec["id"] == [0, 1, 2] and rec["value"] == value


def test_worker_hello_and_end() -> None:
    assert decoded("01_worker-to-server_env-hello.json") == EnvHello(["custom"])
    assert decoded("13_worker-to-server_env-hello_2.json") == EnvHello(["custom"])
    assert decoded("12_worker-to-server_env-end.json") == EnvEnd()


def test_server_error_replies() -> None:
    assert decoded("15_client-from-server_env-error.json") == ErrorReply("unknown msg type")
    assert decoded("16_client-from-server_env-error_2.json") == ErrorReply(
        "algorithm client to network gym env worker mapping removed."
    )
    msg = decoded("19_client-from-server_env-error_3.json")
    assert isinstance(msg, ErrorReply) and msg.error_msg.startswith("Please reduce --client_id")


def test_no_available_worker_with_msg() -> None:
    msg = decoded("18_client-from-server_no-available-worker.json")
    assert isinstance(msg, NoWorkerReply) and msg.extra == {}
    assert msg.msg is not None and msg.msg.startswith("No available workers for env: nqos_split.")
