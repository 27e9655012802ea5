"""FakeServer against a raw peer that behaves like the original NetworkGym client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from netgym_sim.core.backend import (
    IDLE_TIMEOUT_MSG,
    INSTANCE_LIMIT_MSG,
    NO_MAPPING_MSG,
    UNKNOWN_ACCOUNT_MSG,
    UNKNOWN_TYPE_MSG,
)
from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer, action_from_template, flatten
from tests.property.test_model_laws import default_config

pytestmark = pytest.mark.e2e

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"


def capture_payload(name: str) -> dict[str, Any]:
    path = CAPTURES / name
    assert path.exists(), (
        f"golden capture missing: {path} (fixtures/captures is part of the repository)"
    )
    payload: dict[str, Any] = json.loads(path.read_text())["payload"]
    return payload


def custom_start(steps: int = 3, episodes: int = 2, users: int = 3) -> dict[str, Any]:
    start, step = 1000, 1000
    return {
        "type": "env-start",
        "steps_per_episode": steps,
        "episodes_per_session": episodes,
        "num_users": users,
        "measurement_start_time_ms": start,
        "measurement_interval_ms": step,
        "measurement_guard_interval_ms": 0,
        "env": "custom",
        "env_end_time_ms": start + step * (steps * episodes + 1),
    }


def test_full_custom_session_like_the_original_client(peer_factory: Any) -> None:
    """The captured session's env-start: 3 steps × 2 episodes, actions echo template rows."""
    peer: RawPeer = peer_factory()
    peer.send(capture_payload("02_client-to-server_env-start.json"))
    seen_ts = []
    for i in range(6):
        reply = peer.recv()
        assert reply is not None and reply["type"] == "env-measurement", reply
        records = reply["network_stats"]
        assert [r["name"] for r in records] == [f"measurement_{k}" for k in range(1, 5)]
        for record in records:
            # the dummy worker's nested shape: id/value under the empty-string key
            assert list(record) == ["name", "ts", "source", ""]
            assert record["source"] == "test"
            assert record[""]["id"] == [0, 1, 2]
            assert all(3 <= v <= 9 for v in record[""]["value"])
        ts = records[0]["ts"]
        assert {r["ts"] for r in records} == {ts}
        seen_ts.append(ts)
        if i < 5:  # N measurements, N - 1 actions; the client closes after the last
            peer.send(action_from_template(records[0], "srate", [0.25, 0.5, 0.75]))
    assert seen_ts == [2000, 3000, 4000, 5000, 6000, 7000]
    # the session ended with its last measurement: a further action has no route
    peer.send(action_from_template(records[0], "srate", [0.1, 0.2, 0.3]))
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}


def original_start(env: str, steps: int, episodes: int) -> dict[str, Any]:
    """The env-start the original client sends for ``env`` (PROTOCOL.md §7.2), fewer steps."""
    config = default_config(env) if env != "rmcat" else rmcat_start()
    config.update(steps_per_episode=steps, episodes_per_session=episodes)
    step = config["measurement_interval_ms"] + config.get("measurement_guard_interval_ms", 0)
    config["env_end_time_ms"] = config["measurement_start_time_ms"] + step * (steps * episodes + 1)
    return config


def rmcat_start() -> dict[str, Any]:
    """rmcat's shipped env_config plus the ``bw_trace`` columns the adapter adds (§12)."""
    configs = Path(__file__).resolve().parents[2] / "netgym_client" / "configs"
    config: dict[str, Any] = json.loads((configs / "rmcat.json").read_text())["env_config"]
    lines = (configs / "bw_trace.csv").read_text().split()
    header = lines[0].split(",")
    rows = [[float(x) for x in line.split(",")] for line in lines[1:]]
    config["bw_trace"] = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    config["env"] = "rmcat"
    return config


@pytest.mark.parametrize(
    ("env", "template", "knob"),
    [("nqos_split", "dl::rate", "dl::split_weight"), ("rmcat", "rtt", "srate")],
)
def test_original_client_session_of_a_simulated_env(
    peer_factory: Any, env: str, template: str, knob: str
) -> None:
    """Indented env-start of the shipped config; each action a template row copy (§7.3)."""
    peer: RawPeer = peer_factory()
    start = original_start(env, steps=3, episodes=2)
    peer.send(start)
    step = start["measurement_interval_ms"] + start.get("measurement_guard_interval_ms", 0)
    expected = [start["measurement_start_time_ms"] + step * k for k in range(1, 7)]
    seen = []
    for i in range(6):
        reply = peer.recv()
        assert reply is not None and reply["type"] == "env-measurement", reply
        records = {r["name"]: r for r in reply["network_stats"]}
        row = records[template]
        seen.append(row["ts"])
        assert {r["ts"] for r in reply["network_stats"]} == {row["ts"]}
        if i == 5:
            break
        if env == "nqos_split":
            assert row["id"] == list(range(1, start["num_users"] + 1))
            value: Any = [[0.5, 0.0, 0.5]] * len(row["id"])
        else:
            assert row["id"] == [0]
            value = [600000.0]
        peer.send(action_from_template(row, knob, value))
    assert seen == expected
    peer.send(action_from_template(row, knob, value))
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}


def test_minimal_start_capture_runs_to_env_end_time(peer_factory: Any) -> None:
    """captures/20: a start with no steps/episodes keys; env_end_time_ms rules."""
    payload = capture_payload("20_worker-from-server_env-start_2.json")
    peer: RawPeer = peer_factory("admin-10")
    peer.send(payload)
    ts = []
    for _ in range(3):  # (5000 - 1000) / 1000 - 1
        reply = peer.recv()
        assert reply is not None and reply["type"] == "env-measurement", reply
        record = reply["network_stats"][0]
        ts.append(record["ts"])
        peer.send(action_from_template(record, "srate", []))
    assert ts == [2000, 3000, 4000]
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}


def test_unknown_type_and_action_without_session(peer_factory: Any) -> None:
    peer = peer_factory("admin-7")
    peer.send(capture_payload("14_client-to-server_foo.json"))
    assert peer.recv() == capture_payload("15_client-from-server_env-error.json")
    peer.send(
        {
            "type": "env-action",
            "action_list": {"source": "test", "name": "srate", "ts": 1, "id": [0], "value": [1]},
        }
    )
    assert peer.recv() == capture_payload("16_client-from-server_env-error_2.json")


def test_unknown_env_gets_no_available_worker_with_msg(peer_factory: Any) -> None:
    peer = peer_factory("admin-9")
    peer.send({"type": "env-start", "env": "no_such_env"})
    reply = peer.recv()
    assert reply is not None and reply["type"] == "no-available-worker"
    assert "no_such_env" in reply["msg"]


def test_instance_limit_and_unknown_account(peer_factory: Any) -> None:
    over = peer_factory("admin-40")
    over.send(custom_start())
    assert over.recv() == {"type": "env-error", "error_msg": INSTANCE_LIMIT_MSG}
    test_second = peer_factory("test-1", "test", "test")
    test_second.send(custom_start())
    assert test_second.recv() == {"type": "env-error", "error_msg": INSTANCE_LIMIT_MSG}
    test_first = peer_factory("test-0", "test", "test")
    test_first.send(custom_start())
    reply = test_first.recv()  # within its limit; custom is the account's own, as the original
    assert reply is not None and reply["type"] == "no-available-worker", reply
    stranger = peer_factory("nobody-0")  # authenticates as admin, identity names no account
    stranger.send(custom_start())
    assert stranger.recv() == {"type": "env-error", "error_msg": UNKNOWN_ACCOUNT_MSG}


def test_wrong_password_is_silent(peer_factory: Any) -> None:
    peer = peer_factory("admin-0", "admin", "wrong")
    peer.send(custom_start())
    assert peer.recv(timeout_ms=500) is None


def test_capacity_full_gets_no_available_worker(zmq_context: Any) -> None:
    with FakeServer(max_sessions=1) as srv:
        first = RawPeer(zmq_context, srv.address, "admin-0")
        second = RawPeer(zmq_context, srv.address, "admin-1")
        try:
            first.send(custom_start())
            reply = first.recv()
            assert reply is not None and reply["type"] == "env-measurement"
            second.send(custom_start())
            assert second.recv() == {"type": "no-available-worker"}
        finally:
            first.close()
            second.close()


def test_client_killed_mid_episode_then_restarted(peer_factory: Any) -> None:
    first = peer_factory("admin-3")
    first.send(custom_start())
    m1 = first.recv()
    assert m1 is not None
    first.send(action_from_template(m1["network_stats"][0], "srate", [0.0, 0.0, 0.0]))
    assert first.recv() is not None
    first.close()  # killed: no goodbye
    again = peer_factory("admin-3")
    again.send(custom_start())
    reply = again.recv()
    assert reply is not None and reply["type"] == "env-error"
    assert "Worker Mapping Exits" in reply["error_msg"]
    again.send(custom_start())  # the original client re-sends env-start after 1 s
    fresh = again.recv()
    assert fresh is not None and fresh["type"] == "env-measurement"
    assert fresh["network_stats"][0]["ts"] == 2000  # a new session from the start


def test_malformed_bytes_do_not_disturb_other_sessions(peer_factory: Any) -> None:
    good = peer_factory("admin-1")
    bad = peer_factory("admin-2")
    good.send(custom_start(steps=10, episodes=1))
    m = good.recv()
    assert m is not None
    junk = [
        b"\xff\xfe",
        b"not json",
        b"[1,2,3]",
        b"{}",
        b'{"type": 5}',
        b"[" * 5000,
        b'{"type":"env-start"}',
        b'{"type":"env-action","action_list":7}',
        b"NaN",
    ]
    for i, payload in enumerate(junk):
        bad.send_raw(payload)
        reply = bad.recv()
        assert reply is not None and reply["type"] == "env-error", (payload, reply)
        good.send(action_from_template(m["network_stats"][0], "srate", [0.5, 0.5, 0.5]))
        m = good.recv()
        assert m is not None and m["type"] == "env-measurement"
        assert m["network_stats"][0]["ts"] == 2000 + 1000 * (i + 1)
    bad.send_raw(b"a", b"b")  # two payload frames
    reply = bad.recv()
    assert reply is not None and reply["type"] == "env-error"


def test_action_with_wrong_ts_ends_that_session_only(peer_factory: Any) -> None:
    peer = peer_factory("admin-4")
    peer.send(custom_start())
    m = peer.recv()
    assert m is not None
    row = action_from_template(m["network_stats"][0], "srate", [0.1, 0.1, 0.1])
    row["action_list"]["ts"] += 1
    peer.send(row)
    reply = peer.recv()
    assert reply is not None and reply["type"] == "env-error"
    assert "ts" in reply["error_msg"]


def test_idle_session_expires(zmq_context: Any) -> None:
    with FakeServer(idle_timeout_s=0.3) as srv:
        peer = RawPeer(zmq_context, srv.address, "admin-0")
        try:
            # The idle clock starts on the server before our receive returns: time from the send.
            started = time.monotonic()
            peer.send(custom_start())
            assert peer.recv() is not None
            assert peer.recv(timeout_ms=3000) == {
                "type": "env-error",
                "error_msg": IDLE_TIMEOUT_MSG,
            }
            assert time.monotonic() - started >= 0.3
            assert srv.backend.session_count == 0
        finally:
            peer.close()


def test_server_messages_are_compact_json(peer_factory: Any) -> None:
    peer = peer_factory("admin-5")
    peer.send_raw(b'{"type":"foo"}')
    frames = peer.socket.recv_multipart() if peer.socket.poll(5000) else []
    assert frames == [b'{"type":"env-error","error_msg":"unknown msg type"}']
    assert UNKNOWN_TYPE_MSG in frames[0].decode()


def test_flatten_keeps_record_order() -> None:
    record = {"name": "m", "ts": 1, "source": "test", "": {"id": [0], "value": [3]}}
    assert list(flatten(record)) == ["name", "ts", "source", "id", "value"]


def test_stop_wakes_the_serving_thread_without_waiting_for_a_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import netgym_sim.serving.server as server_module

    monkeypatch.setattr(server_module, "POLL_MS", 600_000)  # the poll alone would take 10 min
    srv = FakeServer().start()
    assert srv.running
    srv.stop(timeout_s=10.0)
    assert not srv.running


def test_env_end_over_the_socket_ends_the_session(peer_factory: Any) -> None:
    peer = peer_factory("admin-3")
    peer.send(
        {
            "type": "env-start",
            "env": "custom",
            "num_users": 2,
            "measurement_start_time_ms": 0,
            "measurement_interval_ms": 10,
            "env_end_time_ms": 100,
        }
    )
    assert peer.recv()["type"] == "env-measurement"
    peer.send({"type": "env-end"})
    assert peer.recv() == {"type": "env-end"}
    peer.send(
        {
            "type": "env-action",
            "action_list": {"source": "test", "name": "srate", "ts": 10, "id": [0], "value": [1]},
        }
    )
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
