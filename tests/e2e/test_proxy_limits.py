"""The recording proxy against many identities and a failing disk (bounded, real sockets)."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netgym_client.recording import proxy as proxy_module
from netgym_client.recording.proxy import RecordingProxy
from netgym_client.recording.record import RecordingError, read_recording
from netgym_sim.serving.server import FakeServer
from tests.e2e.rawpeer import RawPeer

pytestmark = pytest.mark.e2e

END = {"type": "env-end"}
#: Distinct client identities that come and go (the proxy used to stop at 337).
CLIENTS = 400


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.02)


def test_clients_that_left_free_their_upstream(tmp_path: Path, zmq_context: Any) -> None:
    with (
        FakeServer() as server,
        RecordingProxy("tcp://127.0.0.1:0", server.address, tmp_path / "s.jsonl") as proxy,
    ):
        for i in range(CLIENTS):
            peer = RawPeer(zmq_context, proxy.address, f"admin-{i}")
            try:
                peer.send(END)
                assert peer.recv() is not None, f"client {i} got no answer"
            finally:
                peer.close()
        wait_until(lambda: len(proxy._upstreams) == 0, "the upstreams of the clients that left")
        assert proxy.running


def test_at_most_max_upstreams_are_open(
    tmp_path: Path, zmq_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proxy_module, "MAX_UPSTREAMS", 3)
    peers: list[RawPeer] = []
    with (
        FakeServer() as server,
        RecordingProxy("tcp://127.0.0.1:0", server.address, tmp_path / "s.jsonl") as proxy,
    ):
        try:
            for i in range(4):  # one after another: the order they reach the proxy is known
                peers.append(RawPeer(zmq_context, proxy.address, f"admin-{i}"))
                peers[-1].send(END)
                answer = peers[-1].recv(timeout_ms=3000 if i < 3 else 500)
                assert (answer is not None) == (i < 3), (i, answer)
            assert len(proxy._upstreams) == 3
            peers[0].close()  # one leaves: there is room again
            wait_until(lambda: len(proxy._upstreams) == 2, "the upstream of the one that left")
            late = RawPeer(zmq_context, proxy.address, "admin-9")
            peers.append(late)
            late.send(END)
            assert late.recv() is not None
        finally:
            for peer in peers:
                peer.close()


class _FillsUp:
    """A text file that takes ``room`` more writes, then fails as a full disk."""

    def __init__(self, inner: Any, room: int) -> None:
        self.inner, self.room = inner, room

    def write(self, text: str) -> int:
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= 1
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()


def test_a_full_disk_stops_the_proxy_with_a_typed_error(tmp_path: Path, zmq_context: Any) -> None:
    out = tmp_path / "s.jsonl"
    with (
        FakeServer() as server,
        RecordingProxy("tcp://127.0.0.1:0", server.address, out) as proxy,
    ):
        assert proxy.writer is not None
        proxy.writer._file = _FillsUp(proxy.writer._file, room=2)  # c2s and s2c of one message
        peer = RawPeer(zmq_context, proxy.address, "admin-0")
        try:
            peer.send(END)
            assert peer.recv() is not None
            peer.send(END)
            wait_until(lambda: not proxy.running, "the proxy to stop")
        finally:
            peer.close()
        assert isinstance(proxy.error, RecordingError)
        assert "No space left on device" in str(proxy.error)
    assert [e.type for e in read_recording(out).entries] == ["env-end", "env-end"]


def test_an_unwritable_recording_is_refused_at_start(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(RecordingError, match="cannot write"):
        RecordingProxy("tcp://127.0.0.1:0", "tcp://127.0.0.1:9", not_a_dir / "s.jsonl").start()


def test_a_refused_start_releases_its_sockets(tmp_path: Path) -> None:
    # the context of a refused start is terminated: a second start on the same port works
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(RecordingError):
        RecordingProxy("tcp://127.0.0.1:0", "tcp://127.0.0.1:9", not_a_dir / "s.jsonl").start()
    with RecordingProxy("tcp://127.0.0.1:0", "tcp://127.0.0.1:9", tmp_path / "ok.jsonl") as ok:
        assert ok.running
