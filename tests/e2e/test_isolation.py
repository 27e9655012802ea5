"""The server against one account's hostile connection patterns, over real sockets.

Bounded: every loop has a count and a deadline; the whole module runs in seconds.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.serving.server import RCVHWM, SNDHWM, FakeServer
from tests.e2e.rawpeer import RawPeer, action_from_template
from tests.e2e.test_server_raw import custom_start

pytestmark = pytest.mark.e2e

#: Same-identity pairs opened and closed against one server.
PAIRS = 1000
#: Longest the stress loop may run, s (it takes a few seconds).
STRESS_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[FakeServer]:
    with FakeServer(warm_up=False) as server:
        yield server


@pytest.fixture(scope="module")
def fuzz_context() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def _dealer(context: zmq.Context[Any], address: str, heartbeats: bool) -> zmq.Socket[bytes]:
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, b"test-0")
    sock.setsockopt(zmq.PLAIN_USERNAME, b"test")
    sock.setsockopt(zmq.PLAIN_PASSWORD, b"test")
    if heartbeats:  # as NorthboundClient sets them
        sock.setsockopt(zmq.HEARTBEAT_IVL, 100)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 1000)
        sock.setsockopt(zmq.HEARTBEAT_TTL, 2000)
    sock.connect(address)
    return sock


def test_one_identity_opened_twice_and_closed_many_times_never_kills_the_server(
    served: tuple[subprocess.Popen[str], int], zmq_context: zmq.Context[Any]
) -> None:
    """``serve`` survives PAIRS connect-twice-then-close rounds of one account's identity.

    Before: libzmq aborted the process (``Assertion failed: !_io_error``) within about a
    hundred rounds, when a handed-over connection closed with its heartbeat timer armed.
    """
    proc, port = served
    address = f"tcp://127.0.0.1:{port}"
    deadline_s = time.monotonic() + STRESS_DEADLINE_S
    rounds = 0
    while rounds < PAIRS and time.monotonic() < deadline_s and proc.poll() is None:
        pair = [_dealer(zmq_context, address, heartbeats=rounds % 2 == 0) for _ in range(2)]
        for sock in pair:
            sock.send(b'{"type": "env-end"}')
        time.sleep(0.005)  # let the handshakes and the handover happen
        for sock in pair:
            sock.close(linger=0)
        rounds += 1
    assert proc.poll() is None, f"the server died after {rounds} rounds: {proc.poll()}"
    assert rounds == PAIRS, f"only {rounds} rounds within {STRESS_DEADLINE_S} s"
    probe = _dealer(zmq_context, address, heartbeats=True)
    try:
        probe.send(b'{"type": "env-end"}')
        assert probe.poll(5000), "the server no longer answers"
        assert probe.recv() == b'{"type":"env-end"}'
    finally:
        probe.close(linger=0)


def _step(peer: RawPeer, reply: dict[str, Any]) -> None:
    peer.send(action_from_template(reply["network_stats"][0], "srate", [0.5, 0.5, 0.5]))


def _wait_connected(server: FakeServer, thief: RawPeer) -> None:
    """Until the thief's handshake is done (its route taken, where it can be)."""
    monitor = thief.socket.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    try:
        assert monitor.poll(5000), "the thief's handshake did not complete"
    finally:
        thief.socket.disable_monitor()
        monitor.close(linger=0)


def test_without_handover_another_account_cannot_listen_to_a_live_session(
    zmq_context: zmq.Context[Any],
) -> None:
    """``serve --no-handover``: a listener with a live session's identity gets nothing.

    Before (handover, the only mode): the listener took the route and received the victim's
    measurement; the victim waited for its step timeout.
    """
    with FakeServer(handover=False) as server:
        victim = RawPeer(zmq_context, server.address, "admin-7")
        thief = None
        try:
            victim.send(custom_start(steps=5, episodes=1))
            first = victim.recv()
            assert first is not None and first["type"] == "env-measurement", first
            thief = RawPeer(zmq_context, server.address, "admin-7", "test", "test")
            _wait_connected(server, thief)
            _step(victim, first)
            second = victim.recv()
            assert second is not None and second["type"] == "env-measurement", second
            assert thief.recv(timeout_ms=300) is None
        finally:
            victim.close()
            if thief is not None:
                thief.close()


def test_a_reply_is_held_when_the_connection_that_asked_has_closed(
    zmq_context: zmq.Context[Any],
) -> None:
    """A late reply never goes to whoever holds the identity after the asker left.

    Before: the second account connected with the identity after the victim closed and,
    sending nothing, received the victim's late measurement.
    """
    with FakeServer(faults=["delay@2:1000"]) as server:
        victim = RawPeer(zmq_context, server.address, "admin-7")
        thief = None
        try:
            victim.send(custom_start(steps=5, episodes=1))
            first = victim.recv()
            assert first is not None and first["type"] == "env-measurement", first
            _step(victim, first)  # its measurement comes 1 s late
            victim.close()
            thief = RawPeer(zmq_context, server.address, "admin-7", "test", "test")
            _wait_connected(server, thief)
            assert thief.recv(timeout_ms=2000) is None
        finally:
            victim.close()
            if thief is not None:
                thief.close()


def test_a_message_of_many_frames_is_refused_by_name(zmq_context: zmq.Context[Any]) -> None:
    with FakeServer() as server:
        peer = RawPeer(zmq_context, server.address, "admin-5")
        try:
            peer.send_raw(*([b"x" * 1024] * 300))
            reply = peer.recv()
            assert reply is not None and reply["type"] == "env-error", reply
            assert "expected 1 payload frame, got 300" in reply["error_msg"]
        finally:
            peer.close()


def test_the_server_queues_few_replies_for_a_peer() -> None:
    with FakeServer() as server:
        assert server._socket is not None
        assert server._socket.getsockopt(zmq.SNDHWM) == SNDHWM <= 16
        assert server._socket.getsockopt(zmq.RCVHWM) == RCVHWM <= 16


@settings(max_examples=40, deadline=None)
@given(
    frames=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    identity=st.sampled_from(["admin-8", "test-0", "admin-99", "ghost-1", "test-a-0"]),
)
def test_hostile_frames_get_a_typed_answer_or_none_and_the_server_keeps_serving(
    fuzz_server: FakeServer, fuzz_context: zmq.Context[Any], frames: list[bytes], identity: str
) -> None:
    account = identity.partition("-")[0] if identity.startswith(("admin", "test")) else "test"
    peer = RawPeer(fuzz_context, fuzz_server.address, identity, account, account)
    good = RawPeer(fuzz_context, fuzz_server.address, "admin-9")
    try:
        peer.send_raw(*frames)
        reply = peer.recv(timeout_ms=2000)
        assert reply is None or reply["type"] in {"env-error", "no-available-worker", "env-end"}
        good.send({"type": "env-end"})
        assert good.recv(timeout_ms=5000) == {"type": "env-end"}
    finally:
        peer.close()
        good.close()
    assert fuzz_server.running
