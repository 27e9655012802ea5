"""What the original NetworkGym peers do, over real ZeroMQ on loopback (issue 24's cases).

Each case runs direct (``netgym serve``'s in-process sessions) and through the broker with
netgym workers (``serve --workers``), with a raw peer that sends what the original client
sends. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netgym_client.config import load_config
from netgym_sim.core.backend import NO_MAPPING_MSG
from netgym_sim.serving.broker_server import BrokerServer
from netgym_sim.serving.server import FakeServer
from netgym_sim.serving.worker import WORKER_STOPPED_MSG, Worker
from tests.e2e.rawpeer import RawPeer
from tests.e2e.test_worker import (  # noqa: F401 (fixtures)
    broker,
    idle_count,
    peers,
    wait_until,
    workers,
)

pytestmark = pytest.mark.e2e

CONFIGS = Path(__file__).resolve().parents[2] / "netgym_client" / "configs"


def start_of(env: str, **overrides: Any) -> dict[str, Any]:
    """The env-start the original client sends for netgym's shipped config of ``env``."""
    config = load_config(env, {"env_config": overrides})
    return dict(config.env_config)


@pytest.fixture(params=["direct", "workers"])
def peer_of(request: pytest.FixtureRequest, zmq_context: Any) -> Callable[[str], RawPeer]:
    """A raw peer factory for one path: a FakeServer, or a broker with one netgym worker."""
    if request.param == "direct":
        server = FakeServer(idle_timeout_s=30.0).start()
        request.addfinalizer(server.stop)
        address = server.address
    else:
        hub = BrokerServer(hello_expiry_s=60.0).start()
        request.addfinalizer(hub.stop)
        worker = Worker(hub.env_address, worker_id=1, hostname="t", hello_interval_s=0.1)
        worker.start()
        request.addfinalizer(worker.stop)
        wait_until(idle_count(hub, 1), "the worker's hello")
        address = hub.address
    made: list[RawPeer] = []

    def make(identity: str = "admin-0") -> RawPeer:
        made.append(RawPeer(zmq_context, address, identity))
        return made[-1]

    request.addfinalizer(lambda: [p.close() for p in made])
    return make


def original_no_action(measurement: dict[str, Any]) -> list[dict[str, Any]]:
    """The original network_slicing adapter's get_policy([]): per cell, slices, no values."""
    row = next(r for r in measurement["network_stats"] if r["name"] == "dl::cell::max_rate")
    return [
        {
            "name": name,
            "ts": row["ts"],
            "source": "lte",
            "id": row["id"],
            "value": [{"slice": cell["slice"], "value": []} for cell in row["value"]],
        }
        for name in ("drb_allocation", "prb_allocation", "srb_allocation")
    ]


def test_the_original_slicing_no_action_is_the_system_default(
    peer_of: Callable[[str], RawPeer],
) -> None:
    peer = peer_of("admin-0")
    peer.send(start_of("network_slicing", steps_per_episode=3, episodes_per_session=1))
    reply = peer.recv()
    for _ in range(2):
        assert reply is not None and reply["type"] == "env-measurement", reply
        peer.send({"type": "env-action", "action_list": original_no_action(reply)})
        reply = peer.recv()
    assert reply is not None and reply["type"] == "env-measurement", reply


def test_a_bad_action_ends_the_session_as_the_original_does(
    peer_of: Callable[[str], RawPeer],
) -> None:
    peer = peer_of("admin-0")
    peer.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
    first = peer.recv()
    assert first is not None and first["type"] == "env-measurement", first
    ts = first["network_stats"][0]["ts"]
    bad = {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": [1.0]}
    peer.send({"type": "env-action", "action_list": bad})
    error = peer.recv()
    assert error is not None and error["type"] == "env-error", error
    assert "has 1 items but id has 2" in error["error_msg"]
    good = {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": [1.0, 1.0]}
    peer.send({"type": "env-action", "action_list": good})  # the session is gone
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
    peer.send({"type": "env-action", "action_list": bad})  # malformed or not
    assert peer.recv() == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
    # a client of that identity starts afresh, without "Mapping Exits" (behind the broker its
    # worker is free again once its hello came back: a start may meet no idle worker first)
    deadline = time.monotonic() + 10.0
    while True:
        peer.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
        again = peer.recv()
        if again != {"type": "no-available-worker"} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert again is not None and again["type"] == "env-measurement", again


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_worker_tells_its_running_session(
    broker: BrokerServer,  # noqa: F811 (the fixture)
    zmq_context: Any,
    signum: int,
) -> None:
    """A worker process stopped mid-session sends env-error: the client is not left waiting."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "worker", "--server", broker.env_address,
         "--id", "5", "--hostname", "t", "--envs", "custom", "--hello-interval", "0.1"],
        env={**os.environ, "NETGYM_SESSION_KEY": "admin"},
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peer = RawPeer(zmq_context, broker.address, "admin-0")
    try:
        wait_until(idle_count(broker, 1), "the worker's hello", 60.0)
        peer.send(start_of("custom", steps_per_episode=5, episodes_per_session=1))
        first = peer.recv()
        assert first is not None and first["type"] == "env-measurement", first
        stopped_at = time.monotonic()
        proc.send_signal(signum)
        told = peer.recv(timeout_ms=5_000)
        waited_s = time.monotonic() - stopped_at
        assert told == {"type": "env-error", "error_msg": WORKER_STOPPED_MSG}, told
        assert waited_s < 3.0, waited_s
        assert proc.wait(15) == 0
        assert broker.broker.routes == {}  # the route went with the error
    finally:
        peer.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_start_that_came_while_another_slot_loaded_is_answered_before_a_hello(
    zmq_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A two-slot worker loads slot 0's first session while slot 1's start comes in: slot 1
    must not greet the server as idle after that start (the hello the broker took for a
    restart)."""
    import json

    import zmq
    from zmq.auth.thread import ThreadAuthenticator

    from netgym_sim.core.session import Session

    slow = Session.first_measurement

    def loading(self: Session) -> Any:
        time.sleep(1.0)  # a first session that loads longer than the hello interval
        return slow(self)

    monkeypatch.setattr(Session, "first_measurement", loading)
    auth = ThreadAuthenticator(zmq_context)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "admin"})
    router = zmq_context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.PLAIN_SERVER, 1)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    worker = Worker(
        f"tcp://127.0.0.1:{port}", hostname="t", slots=2, hello_interval_s=0.2, env_list=["custom"]
    ).start()
    try:
        seen: dict[bytes, list[dict[str, Any]]] = {b"admin-0-t": [], b"admin-1-t": []}

        def receive(timeout_ms: int) -> None:
            if router.poll(timeout_ms):
                slot, _, payload = router.recv_multipart()
                seen[slot].append(json.loads(payload))

        deadline = time.monotonic() + 15
        while not all(seen.values()):
            assert time.monotonic() < deadline, "no hello from both slots"
            receive(100)
        start = json.dumps(start_of("custom", steps_per_episode=3)).encode()
        router.send_multipart([b"admin-0-t", b"admin-0", start])
        loading_until = time.monotonic() + 0.3
        while time.monotonic() < loading_until:  # slot 0 is loading; earlier hellos drain
            receive(20)
        router.send_multipart([b"admin-1-t", b"admin-1", start])
        count = len(seen[b"admin-1-t"])
        deadline = time.monotonic() + 10
        while len(seen[b"admin-1-t"]) == count and time.monotonic() < deadline:
            receive(100)
        first = seen[b"admin-1-t"][count]
        assert first["type"] == "env-measurement", first
    finally:
        worker.stop()
        router.close(linger=0)
        auth.stop()
