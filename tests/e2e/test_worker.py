"""The broker and the env worker over real ZeroMQ on loopback (every wait bounded)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from netgym_client.config import load_config
from netgym_sim.core.backend import Account
from netgym_sim.serving.broker import WORKER_RESTARTED_MSG
from netgym_sim.serving.broker_server import BrokerServer
from netgym_sim.serving.worker import Worker
from tests.e2e.rawpeer import RawPeer
from tests.e2e.test_serve_process import free_port

pytestmark = pytest.mark.e2e

WAIT_S = 15.0
HELLO_S = 0.1

CUSTOM = {
    "type": "env-start",
    "env": "custom",
    "num_users": 2,
    "measurement_start_time_ms": 1000,
    "measurement_interval_ms": 100,
    "measurement_guard_interval_ms": 0,
    "env_end_time_ms": 1400,  # 3 measurements
}


class StderrLines:
    """Every line a process writes to stderr, read by a thread (no pipe left to fill up)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.append(line)

    def close(self, proc: subprocess.Popen[str]) -> None:
        """After ``proc`` exited: the reader has seen EOF; close the pipe."""
        self._thread.join(10)
        assert proc.stderr is not None
        proc.stderr.close()

    def wait_for(self, needle: str, count: int = 1, timeout_s: float = 30.0) -> None:
        wait_until(
            lambda: sum(needle in line for line in self.lines) >= count,
            f"{count} x {needle!r} on stderr (so far: {self.lines[-5:]})",
            timeout_s,
        )


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.02)


def idle_count(server: BrokerServer, n: int) -> Callable[[], bool]:
    return lambda: len(server.broker.idle_workers()) == n


def action(measurement: dict[str, Any]) -> dict[str, Any]:
    ts = measurement["network_stats"][0]["ts"]
    return {
        "type": "env-action",
        "action_list": {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": [1, 1]},
    }


@pytest.fixture
def broker() -> Iterator[BrokerServer]:
    with BrokerServer(hello_expiry_s=60.0) as server:
        yield server


@pytest.fixture
def workers(broker: BrokerServer) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def make(worker_id: int, **kwargs: Any) -> Worker:
        kwargs.setdefault("hello_interval_s", HELLO_S)
        worker = Worker(broker.env_address, worker_id=worker_id, hostname="t", **kwargs).start()
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def peers(broker: BrokerServer) -> Iterator[Callable[[str], RawPeer]]:
    context: zmq.Context[Any] = zmq.Context()
    made: list[RawPeer] = []

    def make(identity: str) -> RawPeer:
        made.append(RawPeer(context, broker.address, identity))
        return made[-1]

    yield make
    for peer in made:
        peer.close()
    context.destroy(linger=0)


def run_session(peer: RawPeer) -> list[dict[str, Any]]:
    peer.send(CUSTOM)
    replies = [peer.recv()]
    while replies[-1] is not None and replies[-1]["type"] == "env-measurement" and len(replies) < 3:
        peer.send(action(replies[-1]))
        replies.append(peer.recv())
    assert all(r is not None for r in replies), replies
    return [r for r in replies if r is not None]


def test_a_worker_registers_and_serves_a_whole_session(
    broker: BrokerServer, workers: Callable[..., Worker], peers: Callable[[str], RawPeer]
) -> None:
    worker = workers(1)
    wait_until(idle_count(broker, 1), "the worker's hello")
    assert broker.broker.idle_workers() == [b"admin-1-t"]
    replies = run_session(peers("admin-0"))
    assert [r["type"] for r in replies] == ["env-measurement"] * 3
    assert [r["network_stats"][0]["ts"] for r in replies] == [1100, 1200, 1300]
    wait_until(idle_count(broker, 1), "idle again after env-end and hello")
    assert broker.broker.routes == {} and worker.slot.sessions_run == 1


def test_clients_go_to_different_workers_then_no_available_worker(
    broker: BrokerServer, workers: Callable[..., Worker], peers: Callable[[str], RawPeer]
) -> None:
    workers(1)
    workers(2, env_list=["nqos_split"])
    wait_until(idle_count(broker, 2), "two hellos")
    first, second, third = peers("admin-0"), peers("admin-1"), peers("admin-2")
    first.send(CUSTOM)
    assert first.recv() is not None
    second.send(CUSTOM)  # the only custom worker is busy; the other offers nqos_split only
    reply = second.recv()
    assert reply is not None and reply["type"] == "no-available-worker"
    assert "admin-2-t" in reply["msg"] and "nqos_split" in reply["msg"]
    third.send(load_config("nqos_split").env_config)
    nqos = third.recv()
    assert nqos is not None
    assert {r["source"] for r in nqos["network_stats"]} >= {"gma", "lte", "wifi"}
    assert broker.broker.routes == {b"admin-0": b"admin-1-t", b"admin-2": b"admin-2-t"}
    fourth = peers("admin-3")
    fourth.send(CUSTOM)
    reply = fourth.recv()
    assert reply == {"type": "no-available-worker"}  # no idle worker at all


def test_a_remote_worker_joins_a_running_server(
    broker: BrokerServer, workers: Callable[..., Worker], peers: Callable[[str], RawPeer]
) -> None:
    workers(1)
    wait_until(idle_count(broker, 1), "first hello")
    busy = peers("admin-0")
    busy.send(CUSTOM)
    assert busy.recv() is not None
    late = peers("admin-1")
    late.send(CUSTOM)
    assert late.recv() == {"type": "no-available-worker"}
    workers(7, session_name="test", session_key="test")  # another account: only test-custom
    wait_until(idle_count(broker, 1), "the joining worker's hello")
    assert broker.broker.workers[b"test-7-t"].env_list == ["test-custom"]
    late.send(CUSTOM)
    reply = late.recv()
    assert reply is not None and reply["type"] == "no-available-worker"  # admin's custom
    tester = RawPeer(zmq.Context.instance(), broker.address, "test-0", "test", "test")
    try:
        assert [r["type"] for r in run_session(tester)] == ["env-measurement"] * 3
    finally:
        tester.close()


def test_a_silent_idle_worker_is_forgotten() -> None:
    with BrokerServer(hello_expiry_s=0.5) as server:
        worker = Worker(server.env_address, hostname="t", hello_interval_s=HELLO_S).start()
        try:
            wait_until(idle_count(server, 1), "hello")
        finally:
            worker.stop()
        wait_until(idle_count(server, 0), "expiry after 0.5 s without hello", timeout_s=5.0)
        assert server.broker.workers == {}


def test_env_errors_reach_the_client_and_the_worker_is_idle_again(
    broker: BrokerServer, workers: Callable[..., Worker], peers: Callable[[str], RawPeer]
) -> None:
    workers(1, action_timeout_s=0.5)
    wait_until(idle_count(broker, 1), "hello")
    peer = peers("admin-0")
    peer.send({**CUSTOM, "measurement_interval_ms": 0})
    reply = peer.recv()
    assert reply is not None and reply["type"] == "env-error"
    assert reply["error_msg"].startswith("InvalidEnvConfig: env_config.measurement_interval_ms")
    wait_until(idle_count(broker, 1), "idle after the bad config")
    peer.send(CUSTOM)
    first = peer.recv()
    assert first is not None and first["type"] == "env-measurement"
    bad = action(first)
    bad["action_list"]["ts"] = 1
    peer.send(bad)
    reply = peer.recv()
    assert reply is not None and reply["error_msg"].startswith("InvalidAction")
    assert broker.broker.routes == {}
    wait_until(idle_count(broker, 1), "idle after the bad action")
    peer.send(CUSTOM)
    assert peer.recv() is not None
    reply = peer.recv(timeout_ms=5_000)  # no action: the worker's own timeout (0.5 s)
    assert reply == {"type": "env-error", "error_msg": "Timeout: No env-action received!"}


def test_the_worker_finds_a_restarted_server() -> None:
    port, env_port = free_port(), free_port()
    first = BrokerServer(port=port, env_port=env_port).start()
    worker = Worker(first.env_address, hostname="t", hello_interval_s=HELLO_S).start()
    try:
        wait_until(idle_count(first, 1), "hello to the first server")
        first.stop()
        with BrokerServer(port=port, env_port=env_port) as second:
            wait_until(idle_count(second, 1), "hello to the restarted server")
            peer = RawPeer(zmq.Context.instance(), second.address, "admin-0")
            try:
                assert len(run_session(peer)) == 3
            finally:
                peer.close()
    finally:
        worker.stop()
        first.stop()


def test_a_killed_worker_process_costs_only_its_own_sessions_and_is_restarted() -> None:
    with BrokerServer(
        workers=2, slots_per_worker=2, hello_interval_s=HELLO_S, worker_hostname="t"
    ) as server:
        wait_until(idle_count(server, 4), "the local workers' hellos", timeout_s=30.0)
        context: zmq.Context[Any] = zmq.Context()
        peers = [RawPeer(context, server.address, f"admin-{i}") for i in range(3)]
        try:
            firsts: list[dict[str, Any]] = []
            for peer in peers:
                peer.send(CUSTOM)
                first = peer.recv()
                assert first is not None
                firsts.append(first)
            # the least busy process first: the first two clients are on different processes
            group = {c: server.broker.groups[w] for c, w in server.broker.routes.items()}
            assert group[b"admin-0"] != group[b"admin-1"]
            victim = group[b"admin-0"]
            pid = server.worker_pids()[victim]
            os.kill(pid, signal.SIGKILL)
            for i, peer in enumerate(peers):
                if group[f"admin-{i}".encode()] == victim:
                    reply = peer.recv(timeout_ms=10_000)
                    assert reply == {"type": "env-error", "error_msg": WORKER_RESTARTED_MSG}
                else:  # a session on the other process goes on
                    peer.send(action(firsts[i]))
                    second = peer.recv()
                    assert second is not None and second["type"] == "env-measurement"
            wait_until(lambda: server.restarts() == 1, "the restart")
            survivors = sum(g != victim for g in group.values())  # still busy elsewhere
            wait_until(idle_count(server, 4 - survivors), "the restarted worker's hellos", 30.0)
            assert server.worker_pids()[victim] != pid
            assert [r["type"] for r in run_session(peers[0])] == ["env-measurement"] * 3
        finally:
            for peer in peers:
                peer.close()
            context.destroy(linger=0)


def test_netgym_serve_workers_runs_sessions_and_stops_its_workers() -> None:
    port, env_port = free_port(), free_port()
    command = [sys.executable, "-m", "netgym_client", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", "1", "--env-port", str(env_port)], stderr=subprocess.PIPE, text=True
    )
    lines = StderrLines(proc)
    try:
        lines.wait_for("registered offering")
        peer = RawPeer(zmq.Context.instance(), f"tcp://127.0.0.1:{port}", "admin-0")
        try:
            assert [r["type"] for r in run_session(peer)] == ["env-measurement"] * 3
        finally:
            peer.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        lines.close(proc)


def test_a_worker_logged_in_as_another_account_is_not_registered(broker: BrokerServer) -> None:
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, b"admin-9-t")  # claims the official account
    sock.setsockopt(zmq.PLAIN_USERNAME, b"test")
    sock.setsockopt(zmq.PLAIN_PASSWORD, b"test")
    sock.connect(broker.env_address)
    try:
        honest = Worker(broker.env_address, session_name="test", session_key="test", hostname="t")
        honest.slot.hello_interval_s = HELLO_S
        honest.start()
        for _ in range(10):
            sock.send_multipart([b"", b'{"type":"env-hello","env_list":["nqos_split"]}'])
            time.sleep(0.02)
        wait_until(lambda: b"test-0-t" in broker.broker.workers, "the honest worker's hello")
        honest.stop()
        assert b"admin-9-t" not in broker.broker.workers
    finally:
        sock.close(linger=0)
        context.destroy(linger=0)


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_local_workers_exit_when_their_server_is_killed() -> None:
    port, env_port = free_port(), free_port()
    command = [sys.executable, "-m", "netgym_sim", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", "1", "--env-port", str(env_port)], stderr=subprocess.PIPE, text=True
    )
    lines = StderrLines(proc)
    try:
        lines.wait_for("registered offering")
        (worker_pid,) = children_of(proc.pid)
        proc.kill()  # no chance to stop its workers
        proc.wait(10)
        wait_until(lambda: not Path(f"/proc/{worker_pid}").exists() or zombie(worker_pid), "exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        lines.close(proc)


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_local_worker_gets_its_password_from_the_environment_not_its_command_line() -> None:
    secret = "s3cret-key-not-for-ps"
    accounts = {"admin": Account("admin", secret, 4)}
    with BrokerServer(workers=1, accounts=accounts, hello_interval_s=HELLO_S) as server:
        wait_until(idle_count(server, 1), "the local worker's hello", timeout_s=30.0)
        (pid,) = server.worker_pids().values()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert argv and b"worker" in argv, argv
        assert not any(secret.encode() in arg for arg in argv), argv


def test_a_worker_identity_taken_after_the_worker_left_gets_no_clients_start(
    broker: BrokerServer,
) -> None:
    """Another account that takes a gone worker's identity receives no client's env-start."""
    context: zmq.Context[Any] = zmq.Context()
    client = RawPeer(context, broker.address, "admin-0")
    thief = context.socket(zmq.DEALER)
    thief.setsockopt(zmq.LINGER, 0)
    try:
        honest = Worker(broker.env_address, hostname="gone")  # admin-0-gone
        honest.slot.hello_interval_s = HELLO_S
        honest.start()
        wait_until(lambda: b"admin-0-gone" in broker.broker.idle_workers(), "the worker's hello")
        honest.stop()  # its connection closes; the broker still lists it until hello expiry
        thief.setsockopt(zmq.IDENTITY, b"admin-0-gone")
        thief.setsockopt(zmq.PLAIN_USERNAME, b"test")
        thief.setsockopt(zmq.PLAIN_PASSWORD, b"test")
        thief.connect(broker.env_address)
        time.sleep(0.2)  # its handshake: it now holds the route, sending nothing
        client.send(CUSTOM)
        assert not thief.poll(1000), "the thief received a client's env-start"
    finally:
        client.close()
        thief.close(linger=0)
        context.destroy(linger=0)


def test_the_broker_refuses_a_message_of_many_frames_by_name(broker: BrokerServer) -> None:
    context: zmq.Context[Any] = zmq.Context()
    peer = RawPeer(context, broker.address, "admin-0")
    try:
        peer.send_raw(*([b"x" * 1024] * 200))
        reply = peer.recv()
        assert reply is not None and "expected 1 payload frame, got 200" in reply["error_msg"]
    finally:
        peer.close()
        context.destroy(linger=0)


def test_without_handover_a_live_workers_identity_cannot_be_taken() -> None:
    """``serve --workers --no-handover``: another account's connection with a live worker's
    identity receives no client's env-start; the worker gets it and answers."""
    with BrokerServer(handover=False, hello_expiry_s=60.0) as server:
        context: zmq.Context[Any] = zmq.Context()
        client = RawPeer(context, server.address, "admin-0")
        thief = context.socket(zmq.DEALER)
        thief.setsockopt(zmq.LINGER, 0)
        honest = Worker(server.env_address, hostname="live")  # admin-0-live
        honest.slot.hello_interval_s = HELLO_S
        honest.start()
        try:
            wait_until(lambda: b"admin-0-live" in server.broker.idle_workers(), "the hello")
            thief.setsockopt(zmq.IDENTITY, b"admin-0-live")
            thief.setsockopt(zmq.PLAIN_USERNAME, b"test")
            thief.setsockopt(zmq.PLAIN_PASSWORD, b"test")
            thief.connect(server.env_address)
            time.sleep(0.2)  # its handshake
            client.send(CUSTOM)
            first = client.recv()
            assert first is not None and first["type"] == "env-measurement", first
            assert not thief.poll(300), "the thief received a client's env-start"
        finally:
            honest.stop()
            client.close()
            thief.close(linger=0)
            context.destroy(linger=0)
