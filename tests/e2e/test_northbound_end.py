"""``NorthboundClient.end_session`` against a peer that answers like the real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from zmq.auth.thread import ThreadAuthenticator

from netgym_client import protocol
from netgym_client.errors import EnvError, TransportError
from netgym_client.northbound import UNKNOWN_TYPE_MSG, NorthboundClient
from netgym_sim.core.backend import Account
from netgym_sim.serving.server import FakeServer

pytestmark = pytest.mark.e2e

WAIT_MS = 5000


@pytest.fixture
def real_like_server() -> Iterator[tuple[str, zmq.Socket[bytes]]]:
    """A PLAIN ROUTER that the test drives by hand, frame by frame."""
    context: zmq.Context[Any] = zmq.Context()
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "admin"})
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.PLAIN_SERVER, 1)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    try:
        yield f"tcp://127.0.0.1:{port}", sock
    finally:
        sock.close(linger=0)
        auth.stop()
        context.term()


def recv(sock: zmq.Socket[bytes]) -> tuple[bytes, dict[str, Any]]:
    assert sock.poll(WAIT_MS), "the client sent nothing"
    identity, payload = sock.recv_multipart()
    return identity, json.loads(payload)


def measurement(ts: int) -> bytes:
    record = {"source": "test", "name": "m", "ts": ts, "id": [0], "value": [1]}
    return protocol.encode(protocol.EnvMeasurement(network_stats=[record]))


def test_a_real_servers_unknown_type_answer_and_stale_errors_are_dropped(
    real_like_server: tuple[str, zmq.Socket[bytes]],
) -> None:
    address, server = real_like_server
    client = NorthboundClient(address, reply_timeout_s=WAIT_MS / 1000)
    try:
        client.start({"env": "custom", "num_users": 1})
        identity, start = recv(server)
        assert identity == b"admin-0" and start["type"] == "env-start"
        server.send_multipart([identity, measurement(2000)])
        assert client.receive().network_stats[0]["ts"] == 2000
        # the server expired the session meanwhile and said so, unread
        stale = protocol.ErrorReply("Timeout: No env-action received!")
        server.send_multipart([identity, protocol.encode(stale)])
        client.end_session()
        client.start({"env": "custom", "num_users": 1})
        assert recv(server)[1] == {"type": "env-end"}
        server.send_multipart([identity, protocol.encode(protocol.ErrorReply(UNKNOWN_TYPE_MSG))])
        assert recv(server)[1]["type"] == "env-start"
        server.send_multipart([identity, measurement(2000)])
        # the stale error and the answer to env-end are dropped; the start's answer counts
        assert client.receive().network_stats[0]["ts"] == 2000
        # an env-error after that is a real one again
        server.send_multipart([identity, protocol.encode(stale)])
        with pytest.raises(EnvError, match="Timeout"):
            client.receive()
    finally:
        client.close()


@pytest.mark.parametrize(
    "answer",
    [protocol.EnvEnd(), protocol.ErrorReply(UNKNOWN_TYPE_MSG)],
    ids=["netgym", "real-server"],
)
def test_the_answer_to_an_earlier_sockets_env_end_is_dropped(
    real_like_server: tuple[str, zmq.Socket[bytes]], answer: protocol.Message
) -> None:
    """An earlier socket of this identity sent env-end and closed; its answer reaches this
    one (the server's ROUTER_HANDOVER), which never sent an env-end itself."""
    address, server = real_like_server
    client = NorthboundClient(address, reply_timeout_s=WAIT_MS / 1000)
    try:
        client.start({"env": "custom", "num_users": 1})
        identity, start = recv(server)
        assert start["type"] == "env-start"
        server.send_multipart([identity, protocol.encode(answer, validate=False)])
        server.send_multipart([identity, measurement(2000)])
        assert client.receive().network_stats[0]["ts"] == 2000
    finally:
        client.close()


def test_end_session_before_connecting_sends_nothing(
    real_like_server: tuple[str, zmq.Socket[bytes]],
) -> None:
    address, server = real_like_server
    client = NorthboundClient(address)
    client.end_session()
    client.close()
    assert not server.poll(100)


def test_a_send_after_the_server_refuses_the_reconnect_raises_instead_of_hanging() -> None:
    first = FakeServer().start()
    port = first.port
    client = NorthboundClient(first.address, connect_timeout_s=5.0)
    try:
        client.connect()
        first.stop()
        # the same port, now without the admin account: the reconnect's handshake is refused
        # and libzmq drops the DEALER's pipe
        with FakeServer(port=port, accounts={"other": Account("other", "x", 1)}):
            deadline = time.monotonic() + 10.0
            raised = False
            while time.monotonic() < deadline and not raised:
                try:
                    client.end_session()  # never raises: a best-effort end
                    client.send_action(
                        {"source": "test", "name": "x", "ts": 1, "id": 0, "value": 0}
                    )
                except TransportError as exc:
                    assert "cannot send" in str(exc)
                    raised = True
                time.sleep(0.05)
            assert raised, "the send kept queueing for a server that refuses us"
    finally:
        client.close()
