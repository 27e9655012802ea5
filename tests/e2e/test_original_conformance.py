"""Conformance: the original NetworkGym client scripts, unchanged, against netgym.

Every script the original ships (``start_client.py``, ``start_client_demo.py``,
``start_client_sequential_training.py``) for every environment it ships, with netgym's
current-layout configs, on two paths: ``netgym serve`` (``python -m netgym_sim serve``) and
the original server (``start_server.py`` of the checkout) with a netgym env worker on its env
port. A run conforms when the script exits 0 and its client printed no env-error.

Run locally against a checkout of the original (never in CI)::

    NETGYM_ORIGINAL=/path/to/networkgym NETGYM_ORIGINAL_PYTHON=/path/to/venv/bin/python \\
        .venv/bin/python -m pytest -m original tests/e2e/test_original_conformance.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netgym_sim.core.backend import NO_MAPPING_MSG
from netgym_sim.serving.worker import WORKER_STOPPED_MSG
from tests.e2e import original
from tests.e2e.rawpeer import RawPeer
from tests.e2e.test_original_peers import start_of
from tests.e2e.test_serve_process import START_TIMEOUT_S, free_port, wait_for_line

pytestmark = [pytest.mark.e2e, pytest.mark.upstream, pytest.mark.original, pytest.mark.slow]

#: How long the original server and a netgym worker get to find each other.
REGISTER_TIMEOUT_S = 60.0


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def netgym_serve() -> Iterator[int]:
    """``python -m netgym_sim serve`` on a free port: the client port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(proc, f"serving on tcp://127.0.0.1:{port}", START_TIMEOUT_S)
        yield port
    finally:
        stop(proc)
        assert proc.stderr is not None
        proc.stderr.close()


@pytest.fixture(scope="module")
def original_with_netgym_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The original server with one netgym worker (two slots) on its env port."""
    workdir = tmp_path_factory.mktemp("original-server")
    port, env_port = free_port(), free_port()
    tree = original.server_tree(workdir, port, env_port)
    log = workdir / "server.log"
    server = original.start_original_server(tree, log)
    worker = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "worker", "--server", f"tcp://127.0.0.1:{env_port}",
         "--id", "1", "--slots", "2", "--hostname", "conformance"],
        env={**os.environ, "NETGYM_SESSION_KEY": "admin"},
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while b"env-hello" not in log.read_bytes():
            assert server.poll() is None, log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "the original server saw no hello"
            time.sleep(0.2)
        yield port
    finally:
        stop(worker)
        stop(server)


@pytest.fixture(params=["netgym-serve", "original-server+netgym-worker"])
def port(request: pytest.FixtureRequest) -> int:
    name = "netgym_serve" if request.param == "netgym-serve" else "original_with_netgym_worker"
    value: int = request.getfixturevalue(name)
    return value


@pytest.mark.parametrize("env", original.ENVS)
@pytest.mark.parametrize("script", original.SCRIPTS)
def test_the_original_client_script_runs_unchanged(
    script: str, env: str, port: int, tmp_path: Path
) -> None:
    tree = original.client_tree(tmp_path, port)
    run = original.run_script(tree, script, env)
    assert run.returncode == 0 and not run.env_errors, run.output[-3000:]


@pytest.fixture
def original_server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The original server alone (client port, env port); workers are the test's."""
    port, env_port = free_port(), free_port()
    tree = original.server_tree(tmp_path, port, env_port)
    server = original.start_original_server(tree, tmp_path / "server.log")
    try:
        yield port, env_port
    finally:
        stop(server)


def start_worker(env_port: int, worker_id: int, slots: int = 1) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "worker", "--server", f"tcp://127.0.0.1:{env_port}",
         "--id", str(worker_id), "--hostname", "conformance", "--envs", "custom",
         "--slots", str(slots)],
        env={**os.environ, "NETGYM_SESSION_KEY": "admin"},
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def first_measurement(peer: RawPeer, timeout_s: float = REGISTER_TIMEOUT_S) -> dict[str, Any]:
    """Start a custom session, repeating the start until a worker has registered."""
    deadline = time.monotonic() + timeout_s
    while True:
        peer.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
        reply = peer.recv()
        if reply is not None and reply["type"] == "env-measurement":
            return reply
        assert reply is not None and reply["type"] == "no-available-worker", reply
        assert time.monotonic() < deadline, "no worker registered"
        time.sleep(0.5)


def test_behind_the_original_server_a_stopped_worker_tells_its_client(
    original_server: tuple[int, int], zmq_context: Any
) -> None:
    """Before: the client waited the original's 60 s and got OSError."""
    port, env_port = original_server
    worker = start_worker(env_port, 3)
    peer = RawPeer(zmq_context, f"tcp://127.0.0.1:{port}", "admin-0")
    try:
        first_measurement(peer)
        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        told = peer.recv(timeout_ms=10_000)
        waited_s = time.monotonic() - stopped_at
        assert told == {"type": "env-error", "error_msg": WORKER_STOPPED_MSG}, told
        assert waited_s < 3.0, waited_s
        print(f"client told its worker stopped after {waited_s:.3f} s")
        action = {"source": "test", "name": "srate", "ts": 0, "id": [0], "value": [1.0]}
        peer.send({"type": "env-action", "action_list": action})  # the mapping went with it
        assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
    finally:
        peer.close()
        stop(worker)


def test_behind_the_original_server_a_bad_action_ends_the_session(
    original_server: tuple[int, int], zmq_context: Any
) -> None:
    port, env_port = original_server
    worker = start_worker(env_port, 4)
    peer = RawPeer(zmq_context, f"tcp://127.0.0.1:{port}", "admin-0")
    try:
        first = first_measurement(peer)
        ts = first["network_stats"][0]["ts"]
        bad = {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": [1.0]}
        peer.send({"type": "env-action", "action_list": bad})
        error = peer.recv()
        assert error is not None and error["type"] == "env-error", error
        good = {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": [1.0, 1.0]}
        peer.send({"type": "env-action", "action_list": good})
        assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
    finally:
        peer.close()
        stop(worker)


def conversation(peer_of: Any) -> list[Any]:
    """What a server answers to the cases whose texts and routes issue 24 compared."""
    replies: list[Any] = []
    admin = peer_of("admin-0", "admin")
    first_measurement(admin)  # a worker is there (and one slot of it still idle)
    test = peer_of("test-0", "test")
    test.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
    replies.append(test.recv())  # custom is per account: test-custom
    admin.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
    replies.append(admin.recv())  # a restarted client: Mapping Exits
    admin.send({"type": "env-foo"})
    replies.append(admin.recv())
    return replies


def comparable(reply: Any) -> Any:
    """A reply with the listing of idle workers cut off (whose names differ by design)."""
    if isinstance(reply, dict) and "msg" in reply:
        return {**reply, "msg": reply["msg"].partition("Available_workers")[0]}
    return reply


def test_texts_and_routes_match_the_original_servers(
    original_server: tuple[int, int], netgym_serve: int, zmq_context: Any
) -> None:
    port, env_port = original_server
    worker = start_worker(env_port, 5, slots=2)
    peers: list[RawPeer] = []

    def on(server_port: int) -> Any:
        def make(identity: str, account: str) -> RawPeer:
            address = f"tcp://127.0.0.1:{server_port}"
            peers.append(RawPeer(zmq_context, address, identity, account, account))
            return peers[-1]

        return make

    try:
        theirs = conversation(on(port))
        ours = conversation(on(netgym_serve))
    finally:
        for peer in peers:
            peer.close()
        stop(worker)
    assert theirs[0]["type"] == "no-available-worker", theirs
    assert [comparable(r) for r in ours] == [comparable(r) for r in theirs]
