"""The server against hostile peers over real sockets: identities bound to accounts, caps."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from netgym_sim.core.backend import INSTANCE_LIMIT_MSG
from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer, action_from_template
from tests.e2e.test_server_raw import custom_start

pytestmark = pytest.mark.e2e


def step(peer: RawPeer, reply: dict[str, Any]) -> dict[str, Any] | None:
    peer.send(action_from_template(reply["network_stats"][0], "srate", [0.5, 0.5, 0.5]))
    return peer.recv()


def test_another_account_cannot_act_in_or_end_a_session(peer_factory: Any) -> None:
    """Defect 1: ``test`` using admin's live identity gets nothing of admin's session.

    ZeroMQ hands the route to the thief's connection (ROUTER_HANDOVER, kept for restarted
    clients); the server refuses the thief's messages, leaves the session as it was and
    sends nothing on the route while another account holds it. The victim reconnects (a new
    socket with its identity takes the route back) and its session goes on where it was.
    """
    victim = peer_factory("admin-7")
    victim.send(custom_start(steps=5, episodes=1))
    first = victim.recv()
    assert first is not None and first["type"] == "env-measurement", first
    thief = peer_factory("admin-7", "test", "test")
    thief.send(action_from_template(first["network_stats"][0], "srate", [0.0, 0.0, 0.0]))
    thief.send(custom_start())  # an env-start must not end the victim's session either
    assert thief.recv(timeout_ms=500) is None
    victim.close()
    victim = peer_factory("admin-7")
    reply = step(victim, first)
    assert reply is not None and reply["type"] == "env-measurement", reply
    assert reply["network_stats"][0]["ts"] == first["network_stats"][0]["ts"] + 1000
    assert thief.recv(timeout_ms=100) is None


def test_another_account_is_refused_by_name(peer_factory: Any) -> None:
    """Defect 1: without a live route, another account's identity gets env-error."""
    thief = peer_factory("admin-7", "test", "test")
    thief.send(custom_start())
    refused = thief.recv()
    assert refused is not None and refused["type"] == "env-error", refused
    assert "belongs to account 'admin'" in refused["error_msg"]
    assert "logged in as 'test'" in refused["error_msg"]


def test_same_identity_restart_gets_its_route(peer_factory: Any) -> None:
    """A client that closed (was killed) and restarts with its identity is served again."""
    first = peer_factory("admin-3")
    first.send(custom_start(steps=5, episodes=1))
    assert first.recv() is not None
    first.close()
    second = peer_factory("admin-3")
    second.send(custom_start())
    reply = second.recv()
    assert reply is not None and reply["type"] == "env-error", reply  # "Mapping Exits"
    second.send(custom_start())
    reply = second.recv()
    assert reply is not None and reply["type"] == "env-measurement", reply


@pytest.mark.parametrize(
    ("identity", "username", "needle"),
    [
        ("test-0", "test", None),
        ("test-1", "test", INSTANCE_LIMIT_MSG),
        ("test-a-0", "test", "non-negative integer"),
        ("admin-10", "test", "belongs to account 'admin'"),
        ("admin--3", "admin", "non-negative integer"),
        ("admin-a-b-28", "admin", "non-negative integer"),
        ("admin-+1", "admin", "non-negative integer"),
        ("admin-01", "admin", "non-negative integer"),
    ],
)
def test_identity_grammar_and_instance_limit(
    peer_factory: Any, identity: str, username: str, needle: str | None
) -> None:
    """Defect 2: the instance limit holds for every spelling of an identity."""
    peer = peer_factory(identity, username, username)
    peer.send(custom_start())
    reply = peer.recv()
    assert reply is not None, identity
    if needle is None:  # accepted: custom is per account, as the original routes it
        assert reply["type"] == "no-available-worker", reply
        assert "No available workers for env: test-custom." in reply["msg"], reply
    else:
        assert reply["type"] == "env-error" and needle in reply["error_msg"], reply


def test_oversize_and_echo_are_bounded(peer_factory: Any, server: FakeServer) -> None:
    """Defect 8: a payload over the limit gets env-error; a huge env name is not echoed."""
    peer = peer_factory()
    limit = server.backend.limits.max_message_bytes
    peer.send_raw(b'{"type": "env-start", "pad": "' + b"x" * limit + b'"}')
    reply = peer.recv()
    assert reply is not None and reply["type"] == "env-error", reply
    assert "exceeds the limit" in reply["error_msg"]
    start = custom_start()
    start["env"] = "w" * 500_000
    peer.send(start)
    reply = peer.recv()
    assert reply is not None and reply["type"] == "env-error", reply
    assert len(reply["error_msg"]) < 300


def test_failed_logins_warn_with_the_address_not_the_password(
    zmq_context: Any, server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect 8: wrong passwords are logged at WARNING (rate-limited), never the password."""
    caplog.set_level(logging.WARNING, logger="netgym_sim.serving.auth")
    peers = [
        RawPeer(zmq_context, server.address, "admin-0", "admin", f"secret-{i}") for i in range(5)
    ]
    try:
        for peer in peers:
            peer.send(custom_start())
        for peer in peers:
            assert peer.recv(timeout_ms=300) is None
    finally:
        for peer in peers:
            peer.close()
    lines = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert lines and "127.0.0.1" in lines[0]
    assert len(lines) == 1  # five failures inside one rate-limit interval: one line
    assert not any("secret-" in r.getMessage() for r in caplog.records)
