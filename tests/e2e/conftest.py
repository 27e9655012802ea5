"""Fixtures for end-to-end tests: a FakeServer on a random loopback port, a zmq context, and
``python -m netgym_sim serve`` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer
from tests.e2e.test_serve_process import START_TIMEOUT_S, free_port, wait_for_line


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(idle_timeout_s=30.0) as srv:
        yield srv


@pytest.fixture
def zmq_context() -> Iterator[zmq.Context[Any]]:
    ctx: zmq.Context[Any] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def peer_factory(zmq_context: zmq.Context[Any], server: FakeServer) -> Iterator[Any]:
    peers: list[RawPeer] = []

    def make(
        identity: str = "admin-0", username: str = "admin", password: str = "admin"
    ) -> RawPeer:
        peer = RawPeer(zmq_context, server.address, identity, username, password)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``python -m netgym_sim serve`` (warnings as errors) on a free port, killed after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "netgym_sim", "serve", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(proc, f"serving on tcp://127.0.0.1:{port}", START_TIMEOUT_S)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def _runnable(item: pytest.Item) -> bool:
    """An ``upstream`` test needs ``NETGYM_UPSTREAM`` (a real server), or for an ``original``
    one ``NETGYM_ORIGINAL`` (a checkout of the original code, which the test runs itself)."""
    if item.get_closest_marker("upstream") is None:
        return True
    if item.get_closest_marker("original") is not None:
        return bool(os.environ.get("NETGYM_ORIGINAL"))
    return bool(os.environ.get("NETGYM_UPSTREAM"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ``upstream`` tests whose peer is not named (see :func:`_runnable`)."""
    kept = [item for item in items if _runnable(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
