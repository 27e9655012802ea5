"""Record through the proxy, replay the corpus to our client and to a raw peer, over ZeroMQ."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from zmq.auth.thread import ThreadAuthenticator

from netgym_client.cli.agents import make_agent
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import EnvError
from netgym_client.recording.proxy import RecordingProxy
from netgym_client.recording.record import read_recording
from netgym_client.stats import NetworkStats
from netgym_sim.replay.server import ReplayServer
from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "recordings"
ENVS = ("custom", "nqos_split", "qos_steer", "network_slicing", "rmcat")
#: How fixtures/recordings/make_recordings.py ran each session.
STEPS_PER_EPISODE, EPISODES, SESSION_SEED, AGENT_SEED = 4, 2, 7, 0
CONFIG = {"env_config": {"steps_per_episode": STEPS_PER_EPISODE, "episodes_per_session": EPISODES}}
WAIT_S = 60.0


def run_random_session(env_name: str, address: str) -> list[np.ndarray]:
    """The corpus' session: the random agent (seed 0) in session seed 7; its observations."""
    env = NetworkGymEnv(env_name, config=CONFIG, server=address)
    agent = make_agent("random", env, AGENT_SEED)
    seen = []
    try:
        for episode in range(EPISODES):
            obs, info = env.reset(seed=SESSION_SEED) if episode == 0 else env.reset()
            seen.append(obs)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(np.asarray(agent.act(obs, info)))
                seen.append(obs)
                done = terminated or truncated
    finally:
        env.close()
    return seen


@pytest.mark.parametrize("env_name", ENVS)
def test_the_corpus_replays_to_our_client(env_name: str) -> None:
    recording = read_recording(CORPUS / f"{env_name}.jsonl")
    with ReplayServer(recording.script()) as replay:
        seen = run_random_session(env_name, replay.address)
        assert replay.finished.wait(WAIT_S)
    (report,) = replay.reports
    assert report.ok, report.summary()
    assert len(seen) == STEPS_PER_EPISODE * EPISODES
    # what the client saw is the adapter's view of the recorded measurements
    adapter = NetworkGymEnv(env_name, config=CONFIG).adapter
    recorded = [p for d, p in recording.script() if p["type"] == "env-measurement"]
    for obs, payload in zip(seen, recorded, strict=True):
        stats = NetworkStats.from_records(payload["network_stats"])
        assert np.array_equal(obs, adapter.observation(stats))


def test_the_original_clients_session_replays_to_our_client() -> None:
    recording = read_recording(CORPUS / "original_custom.jsonl")
    script = recording.script()
    start = script[0][1]
    actions = [p["action_list"]["value"] for d, p in script if p["type"] == "env-action"]
    steps = int(start["steps_per_episode"])
    overrides = {k: start[k] for k in ("steps_per_episode", "episodes_per_session", "num_users")}
    with ReplayServer(script) as replay:
        env = NetworkGymEnv("custom", config={"env_config": overrides}, server=replay.address)
        try:
            env.reset()
            for k, value in enumerate(actions, start=1):
                if k % steps == 0:  # the original's reset() re-sends the last action
                    env.reset()
                    continue
                env.step(np.asarray(value, dtype=np.float32))
        finally:
            env.close()
        assert replay.finished.wait(WAIT_S)
    (report,) = replay.reports
    assert report.ok, report.summary()


@pytest.mark.parametrize("name", [*ENVS, "original_custom"])
def test_the_corpus_replays_to_a_raw_peer(zmq_context: zmq.Context[Any], name: str) -> None:
    script = read_recording(CORPUS / f"{name}.jsonl").script()
    with ReplayServer(script) as replay:
        peer = RawPeer(zmq_context, replay.address)
        try:
            expected: list[dict[str, Any]] = []
            for direction, payload in script:
                if direction == "c2s":
                    peer.send(payload)  # pretty-printed, as the original client sends
                else:
                    expected.append(payload)
                    assert peer.recv() == payload
        finally:
            peer.close()
    assert replay.reports[0].ok and replay.reports[0].served == len(expected)


def test_a_diverging_action_gets_an_env_error_naming_step_and_field(
    zmq_context: zmq.Context[Any],
) -> None:
    script = read_recording(CORPUS / "rmcat.jsonl").script()
    with ReplayServer(script) as replay:
        peer = RawPeer(zmq_context, replay.address)
        try:
            actions = 0
            for direction, payload in script:
                if direction == "s2c":
                    continue
                actions += payload["type"] == "env-action"
                if actions == 2:
                    wrong = json.loads(json.dumps(payload))
                    wrong["action_list"]["value"][0] *= 1.5
                    peer.send(wrong)
                    reply = peer.recv()
                    break
                peer.send(payload)
                assert peer.recv() is not None
        finally:
            peer.close()
    assert reply is not None and reply["type"] == "env-error"
    assert "step 2 (client message 3): action_list.value[0]: recorded" in reply["error_msg"]
    assert replay.reports[0].stopped


def test_lenient_mode_serves_the_recording_whatever_the_actions() -> None:
    script = read_recording(CORPUS / "custom.jsonl").script()
    recorded = [p for d, p in script if d == "s2c"]
    config = {"env_config": {"steps_per_episode": STEPS_PER_EPISODE, "episodes_per_session": 2}}
    with ReplayServer(script, mode="lenient") as replay:
        env = NetworkGymEnv("custom", config=config, server=replay.address)
        try:
            _, info = env.reset(seed=SESSION_SEED)
            seen = [info["network_stats"].to_records()]
            for _ in range(STEPS_PER_EPISODE - 1):
                *_, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
                seen.append(info["network_stats"].to_records())
        finally:
            env.close()
    assert replay.reports[0].divergences  # zeros are not what the random agent sent
    rebuilt = [r["network_stats"] for r in recorded[: len(seen)]]
    assert [[{k: rec[k] for k in ("source", "name", "ts")} for rec in m] for m in seen] == [
        [{k: rec[k] for k in ("source", "name", "ts")} for rec in m] for m in rebuilt
    ]


def test_our_client_in_strict_mode_raises_the_divergence() -> None:
    script = read_recording(CORPUS / "custom.jsonl").script()
    config = {"env_config": {"steps_per_episode": STEPS_PER_EPISODE, "episodes_per_session": 2}}
    with ReplayServer(script) as replay:
        env = NetworkGymEnv("custom", config=config, server=replay.address)
        try:
            env.reset(seed=SESSION_SEED)
            with pytest.raises(EnvError, match=r"step 1 .*action_list\.value\[0\]"):
                env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        finally:
            env.close()


def test_the_proxy_records_our_client_and_writes_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    with (
        FakeServer() as server,
        RecordingProxy("tcp://127.0.0.1:0", server.address, out) as proxy,
    ):
        seen = run_random_session("custom", proxy.address)
    recording = read_recording(out)
    assert recording.header["source"] == "proxy"
    assert recording.identities() == ["admin-0"]
    measured = [e for e in recording.entries if e.type == "env-measurement"]
    assert len(measured) == len(seen) == STEPS_PER_EPISODE * EPISODES
    text = out.read_text().replace('"admin-0"', "")
    assert "admin" not in text  # neither the PLAIN user nor its password


@pytest.fixture
def raw_upstream() -> Any:
    """A bare PLAIN ROUTER accepting only test/test, to see exactly what reaches a server."""
    ctx: zmq.Context[Any] = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"test": "test"})
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.PLAIN_SERVER, 1)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    yield router, f"tcp://127.0.0.1:{port}"
    router.close(linger=0)
    auth.stop()
    ctx.term()


def test_the_proxy_passes_bytes_identity_and_credentials_through(
    raw_upstream: Any, zmq_context: zmq.Context[Any], tmp_path: Path
) -> None:
    router, address = raw_upstream
    out = tmp_path / "s.jsonl"
    sent = b'{\n  "type": "env-start",\n  "env": "custom"\n}'
    answer = b'{"type":"env-error","error_msg":"x"}'
    with RecordingProxy("tcp://127.0.0.1:0", address, out) as proxy:
        good = RawPeer(zmq_context, proxy.address, "test-0", "test", "test")
        bad = RawPeer(zmq_context, proxy.address, "test-1", "test", "wrong")
        try:
            bad.send_raw(sent)
            good.send_raw(sent)
            assert router.poll(int(WAIT_S * 1000))
            identity, payload = router.recv_multipart()
            assert (identity, payload) == (b"test-0", sent)  # the refused one never arrives
            router.send_multipart([identity, answer])
            assert good.socket.poll(int(WAIT_S * 1000))
            assert good.socket.recv_multipart() == [answer]
            assert bad.recv(timeout_ms=300) is None
            assert not router.poll(300)
            deadline = time.monotonic() + WAIT_S
            while not proxy.refused and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proxy.refused == {"test-1"}  # logged: the upstream refused its password
        finally:
            good.close()
            bad.close()
    entries = read_recording(out).entries
    assert sorted((e.direction, e.identity) for e in entries) == [
        ("c2s", "test-0"),
        ("c2s", "test-1"),  # recorded, though the upstream refused its password
        ("s2c", "test-0"),
    ]
    assert "wrong" not in out.read_text()


def test_netgym_replay_command_prints_the_divergence_summary() -> None:
    argv = [
        sys.executable, "-m", "netgym_client", "replay", str(CORPUS / "custom.jsonl"),
        "--port", "0", "--once",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        address = line.split(" on ")[1].split()[0]
        config = {"env_config": {"steps_per_episode": STEPS_PER_EPISODE, "episodes_per_session": 2}}
        env = NetworkGymEnv("custom", config=config, server=address)
        try:
            env.reset(seed=SESSION_SEED)
            with pytest.raises(EnvError):
                env.step(np.full(env.action_space.shape, 9.0, dtype=np.float32))
        finally:
            env.close()
        out, _ = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT_S)
    assert proc.returncode == 1
    assert "(strict): stopped; 1/" in out
    assert "diverged at step 1 (client message 2): action_list.value[0]" in out


def test_netgym_record_command_records_until_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    with FakeServer() as server:
        argv = [
            sys.executable, "-m", "netgym_client", "record", "--listen", "tcp://127.0.0.1:0",
            "--upstream", server.address, "--out", str(out),
        ]  # fmt: skip
        proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            address = line.split("recording ")[1].split(" -> ")[0]
            seen = run_random_session("rmcat", address)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(WAIT_S)
    assert proc.returncode == 0
    assert f"{2 * len(seen)} messages recorded" in err
    assert len(read_recording(out).entries) == 2 * len(seen)


def test_the_replay_accepts_any_login_unless_given_accounts(zmq_context: zmq.Context[Any]) -> None:
    from netgym_sim.core.backend import Account

    script = read_recording(CORPUS / "custom.jsonl").script()
    start = script[0][1]
    with ReplayServer(script) as open_replay:
        peer = RawPeer(zmq_context, open_replay.address, "alice-0", "alice", "s3cret")
        peer.send(start)
        assert (peer.recv() or {}).get("type") == "env-measurement"
        peer.close()
    accounts = {"alice": Account("alice", "s3cret", 1)}
    with ReplayServer(script, accounts=accounts) as checked:
        wrong = RawPeer(zmq_context, checked.address, "alice-0", "alice", "guess")
        wrong.send(start)
        assert wrong.recv(timeout_ms=500) is None  # refused at the handshake, as a real server
        wrong.close()
        right = RawPeer(zmq_context, checked.address, "alice-0", "alice", "s3cret")
        right.send(start)
        assert (right.recv() or {}).get("type") == "env-measurement"
        right.close()


def test_with_accounts_the_replay_serves_an_identity_only_to_its_account(
    zmq_context: zmq.Context[Any],
) -> None:
    from netgym_sim.core.backend import Account

    script = read_recording(CORPUS / "custom.jsonl").script()
    accounts = {"alice": Account("alice", "a", 1), "mallory": Account("mallory", "m", 1)}
    with ReplayServer(script, accounts=accounts) as checked:
        thief = RawPeer(zmq_context, checked.address, "alice-0", "mallory", "m")
        thief.send(script[0][1])
        refused = thief.recv() or {}
        thief.close()
        assert refused.get("type") == "env-error", refused
        assert "logged in as 'mallory'" in refused["error_msg"], refused
        assert checked.reports == []  # no replay was started for the thief


@pytest.mark.upstream
def test_record_a_real_server_then_replay_it_offline(tmp_path: Path) -> None:
    """NETGYM_UPSTREAM=tcp://host:port: record a custom session there, replay it here."""
    import os

    out = tmp_path / "real.jsonl"
    with RecordingProxy("tcp://127.0.0.1:0", os.environ["NETGYM_UPSTREAM"], out) as proxy:
        seen = run_random_session("custom", proxy.address)
    with ReplayServer(read_recording(out).script()) as replay:
        again = run_random_session("custom", replay.address)
    assert replay.reports[0].ok, replay.reports[0].summary()
    assert all(np.array_equal(a, b) for a, b in zip(seen, again, strict=True))
