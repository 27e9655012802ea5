"""The env worker's state machine (sans-IO) against the southbound facts and the captures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netgym_client import protocol
from netgym_sim.core.backend import IDLE_TIMEOUT_MSG
from netgym_sim.serving.worker import NOT_A_START_MSG, UNKNOWN_ENV_MSG, WorkerSlot, worker_identity
from tests.unit.test_broker import Clock, capture, frames_of

CLIENT = b"admin-0"


def slot(clock: Clock, **kwargs: Any) -> WorkerSlot:
    return WorkerSlot(["custom", "nqos_split"], clock=clock, **kwargs)


def parsed(frames: list[bytes]) -> tuple[bytes, dict[str, Any]]:
    assert len(frames) == 2, frames
    obj: dict[str, Any] = json.loads(frames[1])
    return frames[0], obj


def shape(record: dict[str, Any]) -> tuple[str, str, int, list[int]]:
    ids, _ = protocol.record_ids_values(record)
    return record["source"], record["name"], record["ts"], list(ids)


def test_identity_is_session_id_hostname() -> None:
    assert worker_identity("admin", 1, "vm") == "admin-1-vm"  # captures 01, 03: admin-1-vm


def test_hello_at_once_then_every_interval_while_idle() -> None:
    clock = Clock()
    worker = slot(clock, hello_interval_s=5.0)
    (first,) = worker.tick()
    assert first[0] == b""  # hello frames: [b"", payload] (captures 01, 13)
    hello = parsed(first)[1]
    assert {k: hello[k] for k in ("type", "env_list")} == {
        "type": "env-hello",
        "env_list": ["custom", "nqos_split"],
    }
    # netgym's keys, which the original server ignores: this run of the slot, starts received
    assert hello["netgym_boot"] == worker.boot and hello["netgym_starts"] == 0
    assert worker.tick() == []
    clock.now_s += 4.9
    assert worker.tick() == []
    clock.now_s += 0.2
    assert len(worker.tick()) == 1


def test_the_captured_custom_session_in_the_captures_framing() -> None:
    # start as in capture 03; answers shaped like 04/08; actions as 07/11; end as 12, 13
    clock = Clock()
    worker = slot(clock)
    worker.tick()
    start = frames_of("03")[1:]  # the DEALER sees [client, payload]
    (out,) = worker.handle(*start)
    client, measurement = parsed(out)
    assert client == CLIENT
    captured = capture("04")["payload"]
    assert measurement["type"] == "env-measurement"
    assert [shape(r) for r in measurement["network_stats"]] == [
        shape(r) for r in captured["network_stats"]
    ]
    assert worker.busy
    ts = 2000
    for n in range(2, 7):  # 3 steps x 2 episodes = 6 measurements
        action = capture("07")["payload"]
        action["action_list"]["ts"] = ts
        out_frames = worker.handle(CLIENT, json.dumps(action, indent=2).encode())
        client, measurement = parsed(out_frames[0])
        ts += 1000
        assert {r["ts"] for r in measurement["network_stats"]} == {ts}, n
        if n == 2:  # the second measurement, ts 3000 (capture 08)
            assert [shape(r) for r in measurement["network_stats"]] == [
                shape(r) for r in capture("08")["payload"]["network_stats"]
            ]
    assert len(out_frames) == 3
    assert parsed(out_frames[1]) == (CLIENT, capture("12")["payload"])
    ours = {"env_list": worker.env_list, "netgym_boot": worker.boot, "netgym_starts": 1}
    assert parsed(out_frames[2]) == (b"", capture("13")["payload"] | ours)
    assert not worker.busy


def test_a_start_without_episode_keys_runs_to_env_end_time() -> None:
    # capture 20: no steps_per_episode; env_end_time_ms 5000 → (5000-1000)//1000 - 1 = 3
    worker = slot(Clock())
    client, start = frames_of("20")[1:]
    outs = [worker.handle(client, start)]
    for ts in (2000, 3000):
        act = {
            "type": "env-action",
            "action_list": {
                "source": "test",
                "name": "srate",
                "ts": ts,
                "id": [0, 1, 2],
                "value": [0.1, 0.2, 0.3],
            },
        }
        outs.append(worker.handle(client, json.dumps(act).encode()))
    assert [parsed(o[0])[1]["type"] for o in outs] == ["env-measurement"] * 3
    assert parsed(outs[-1][1])[1] == {"type": "env-end"}


def test_idle_worker_answers_anything_but_a_start_with_the_originals_text() -> None:
    worker = slot(Clock())
    (out,) = worker.handle(CLIENT, b'{"type": "env-action", "action_list": []}')
    assert parsed(out) == (CLIENT, {"type": "env-error", "error_msg": NOT_A_START_MSG})
    assert worker.handle(CLIENT, b'{"type": "env-end"}') == []


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ({"env": "rmcat"}, UNKNOWN_ENV_MSG),
        ({"env": "nqos_split", "measurement_start_time_ms": "x"}, "InvalidEnvConfig: env_config."),
        ({"env": "custom"}, "InvalidEnvConfig: env_config.measurement_start_time_ms"),
    ],
)
def test_a_bad_start_is_an_env_error_then_a_hello(start: dict[str, Any], expected: str) -> None:
    worker = slot(Clock())
    out = worker.handle(CLIENT, json.dumps({"type": "env-start", **start}).encode())
    assert len(out) == 2
    client, error = parsed(out[0])
    assert client == CLIENT and error["type"] == "env-error"
    assert error["error_msg"].startswith(expected)
    assert out[1][0] == b"" and parsed(out[1])[1]["type"] == "env-hello"
    assert not worker.busy


def started(clock: Clock, **kwargs: Any) -> WorkerSlot:
    worker = slot(clock, **kwargs)
    worker.handle(*frames_of("03")[1:])
    assert worker.busy
    return worker


def test_no_action_within_the_timeout_ends_the_session_with_the_originals_text() -> None:
    clock = Clock()
    worker = started(clock, action_timeout_s=30.0)
    clock.now_s += 29.0
    assert worker.tick() == []
    clock.now_s += 1.5
    error, hello = worker.tick()
    assert parsed(error) == (CLIENT, {"type": "env-error", "error_msg": IDLE_TIMEOUT_MSG})
    assert hello[0] == b""
    assert not worker.busy


def test_a_bad_action_ends_the_session_with_an_env_error() -> None:
    worker = started(Clock())
    bad = {
        "type": "env-action",
        "action_list": {"source": "test", "name": "srate", "ts": 1, "id": [0], "value": [1]},
    }
    error, hello = worker.handle(CLIENT, json.dumps(bad).encode())
    assert parsed(error)[1]["error_msg"].startswith("InvalidAction: action_list[0].ts")
    assert hello[0] == b"" and not worker.busy


def test_env_end_or_a_new_start_of_its_client_abandons_the_session() -> None:
    for payload in (b'{"type":"env-end"}', frames_of("03")[2]):
        worker = started(Clock())
        (hello,) = worker.handle(CLIENT, payload)
        assert hello[0] == b"" and not worker.busy


def test_a_busy_worker_refuses_another_client() -> None:
    worker = started(Clock())
    (out,) = worker.handle(b"admin-5", frames_of("03")[2])
    assert parsed(out)[0] == b"admin-5"
    assert "running a session" in parsed(out)[1]["error_msg"]
    assert worker.busy and worker.client == CLIENT


def test_malformed_bytes_are_an_env_error_never_an_exception() -> None:
    worker = started(Clock())
    out = worker.handle(CLIENT, b"\xff{")
    assert parsed(out[0])[1]["error_msg"].startswith("ProtocolError")
    assert not worker.busy


def test_a_stopping_slot_tells_its_client_and_says_no_hello() -> None:
    from netgym_sim.serving.worker import WORKER_STOPPED_MSG

    clock = Clock()
    worker = slot(clock)
    assert worker.stop() == []  # idle: nobody to tell
    worker.handle(*frames_of("03")[1:])
    assert worker.busy
    (told,) = worker.stop()
    assert parsed(told) == (CLIENT, {"type": "env-error", "error_msg": WORKER_STOPPED_MSG})
    assert not worker.busy and worker.stop() == []
