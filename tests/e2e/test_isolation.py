"""The server against one account's hostile connection patterns, over real sockets.

Bounded: every loop has a count and a deadline; the whole module runs in seconds.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import zmq

from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer, action_from_template
from tests.e2e.test_server_raw import custom_start

pytestmark = pytest.mark.e2e

#: Same-identity pairs opened and closed against one server.
PAIRS = 1000
#: Longest the stress loop may run, s (it takes a few seconds).
STRESS_DEADLINE_S = 60.0


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
