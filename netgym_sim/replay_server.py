"""``netgym replay``'s server: a ZeroMQ ROUTER that plays a recorded session to each client.

Rules:
- Sockets and authentication as :class:`~netgym_sim.server.FakeServer`'s frontend: ROUTER,
  PLAIN server over the accounts (default :data:`~netgym_sim.backend.DEFAULT_ACCOUNTS`),
  ``ROUTER_HANDOVER``.
- Every client identity gets its own :class:`~netgym_sim.replay.ReplaySession` of the same
  script, so several clients can replay at once; a client that sends ``env-start`` after
  its replay finished or stopped starts it again from the top.
- Payloads are parsed with the codec's JSON reader (limits included) but not validated as
  messages: the recording says what is right. A payload that is not a JSON object gets
  ``env-error``. Replies are the recorded payloads, written as compact JSON.
- One thread owns the socket; ``stop()`` wakes it through an inproc pipe.

This module imports zmq (it is a server); the replay logic itself is sans-IO.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Mapping
from types import TracebackType

import zmq
from zmq.auth.thread import ThreadAuthenticator

from netgym_client import protocol
from netgym_client.errors import ProtocolError, TransportError
from netgym_sim.backend import DEFAULT_ACCOUNTS, Account
from netgym_sim.handlers import CLIENT_MAX_BYTES
from netgym_sim.replay import Mode, ReplayReport, ReplaySession, Script

__all__ = ["ReplayServer"]

logger = logging.getLogger(__name__)

#: How often the loop wakes up when nothing happens, in ms.
POLL_MS = 200


class ReplayServer:
    """Serves one recorded script to every client that connects.

    Args:
        script: The ``(dir, payload)`` pairs to replay (one identity's).
        host: Interface to bind (loopback by default).
        port: TCP port; 0 picks a free one.
        mode: ``"strict"`` or ``"lenient"``.
        accounts: Accounts by name (PLAIN passwords).

    Attributes:
        reports: Every replay so far (one per client and start), oldest first.
        finished: Set whenever a replay finishes or stops.
    """

    def __init__(
        self,
        script: Script,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mode: Mode = "strict",
        accounts: Mapping[str, Account] | None = None,
    ) -> None:
        ReplaySession(script, mode=mode)  # refuse a bad script or mode now
        self.script = list(script)
        self.host, self.port, self.mode = host, port, mode
        self.accounts = dict(accounts if accounts is not None else DEFAULT_ACCOUNTS)
        self.reports: list[ReplayReport] = []
        self.finished = threading.Event()
        self._sessions: dict[bytes, ReplaySession] = {}
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._auth: ThreadAuthenticator | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake: zmq.Socket[bytes] | None = None

    @property
    def address(self) -> str:
        """``tcp://host:port`` clients connect to (valid once started)."""
        return f"tcp://{self.host}:{self.port}"

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ReplayServer:
        """Bind and start serving; returns ``self``.

        Raises:
            TransportError: The address cannot be bound.
        """
        if self._thread is not None:
            return self
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        auth = ThreadAuthenticator(context, log=logging.getLogger(f"{__name__}.auth"))
        auth.start()
        auth.configure_plain(
            domain="*", passwords={a.name: a.password for a in self.accounts.values()}
        )
        sock = context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.PLAIN_SERVER, 1)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        sock.setsockopt(zmq.MAXMSGSIZE, 2 * CLIENT_MAX_BYTES)
        try:
            if self.port == 0:
                self.port = sock.bind_to_random_port(f"tcp://{self.host}")
            else:
                sock.bind(self.address)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            auth.stop()
            context.term()
            raise TransportError(f"cannot bind {self.address}: {exc}") from exc
        wake_address = f"inproc://netgym-replay-wake-{id(self)}"
        waker = context.socket(zmq.PAIR)
        waker.bind(wake_address)
        self._wake = context.socket(zmq.PAIR)
        self._wake.setsockopt(zmq.LINGER, 0)
        self._wake.connect(wake_address)
        self._context, self._auth = context, auth
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, waker), name=f"netgym-replay-{self.port}", daemon=True
        )
        self._thread.start()
        logger.info("replaying %d messages on %s (%s)", len(self.script), self.address, self.mode)
        return self

    def _serve(self, sock: zmq.Socket[bytes], waker: zmq.Socket[bytes]) -> None:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(waker, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                try:
                    if sock in dict(poller.poll(POLL_MS)):
                        frames = sock.recv_multipart()
                        for payload in self._answer(frames):
                            sock.send_multipart([frames[0], payload])
                except zmq.ZMQError as exc:
                    if self._stop.is_set():
                        break
                    logger.error("socket error (continuing): %s", exc)
        finally:
            sock.close(linger=0)
            waker.close(linger=0)

    def _session(self, identity: bytes, kind: object) -> ReplaySession:
        session = self._sessions.get(identity)
        if session is None or (session.done and kind == "env-start"):
            name = identity.decode("utf-8", errors="replace")
            session = ReplaySession(self.script, name, mode=self.mode)
            self._sessions[identity] = session
            self.reports.append(session.report)
        return session

    def _answer(self, frames: list[bytes]) -> list[bytes]:
        if len(frames) != 2:
            return [_error(f"ProtocolError: expected 1 payload frame, got {len(frames) - 1}")]
        try:
            obj = protocol.decode_json(frames[1], max_bytes=CLIENT_MAX_BYTES)
        except ProtocolError as exc:
            return [_error(f"ProtocolError: {exc}")]
        session = self._session(frames[0], obj.get("type"))
        was_done = session.done
        replies = session.handle(obj)
        if session.done and not was_done:
            logger.info("%s", session.report.summary())
            self.finished.set()
        return [json.dumps(r, separators=(",", ":")).encode() for r in replies]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and release the socket, authenticator and context (idempotent)."""
        self._stop.set()
        if self._wake is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._wake.send(b"", zmq.NOBLOCK)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._wake is not None:
            self._wake.close(linger=0)
            self._wake = None
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._context is not None:
            self._context.term()
            self._context = None


def _error(text: str) -> bytes:
    return json.dumps({"type": "env-error", "error_msg": text}, separators=(",", ":")).encode()
