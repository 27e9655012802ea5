"""``netgym replay``'s server: a ZeroMQ ROUTER that plays a recorded session to each client.

Rules:
- Sockets as :class:`~netgym_sim.serving.server.FakeServer`'s frontend: a ROUTER that is a PLAIN
  server, with ``ROUTER_HANDOVER``. A replay is of one's own recording, made with whatever
  account the real server gave, so by default any PLAIN username and password is accepted;
  with ``accounts`` only theirs are, and an identity ``<account>-…`` is served only to a
  connection logged in as that account (another login gets ``env-error`` and nothing of
  the replay). The ZAP requests are answered in the serving loop.
- Every client identity gets its own :class:`~netgym_sim.replay.script.ReplaySession` of the same
  script, so several clients can replay at once; a client that sends ``env-start`` after
  its replay finished or stopped starts it again from the top.
- Payloads are parsed with the codec's JSON reader (limits included) but not validated as
  messages: the recording says what is right. A payload that is not a JSON object gets
  ``env-error``. Replies are the recorded payloads, written as compact JSON.
- One thread owns the socket; ``stop()`` wakes it through an inproc pipe.

This module imports zmq (it is a server); the replay logic itself is sans-IO.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping

import zmq

from netgym_client import protocol
from netgym_client.errors import ProtocolError, TransportError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import Account
from netgym_sim.core.handlers import CLIENT_MAX_BYTES
from netgym_sim.replay.script import Mode, ReplayReport, ReplaySession, Script
from netgym_sim.serving.server import ServingThread, bind_router

__all__ = ["ReplayServer"]

logger = logging.getLogger(__name__)

#: The inproc endpoint libzmq sends ZAP requests to (RFC 27).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: How often the loop wakes up when nothing happens, in ms.
POLL_MS = 200


class ReplayServer(ServingThread):
    """Serves one recorded script to every client that connects.

    Args:
        script: The ``(dir, payload)`` pairs to replay (one identity's).
        host: Interface to bind (loopback by default).
        port: TCP port; 0 picks a free one.
        mode: ``"strict"`` or ``"lenient"``.
        accounts: Accounts by name whose PLAIN passwords are checked (default: any login).

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
        super().__init__(host, port)
        self.mode = mode
        self.passwords = (
            None if accounts is None else {a.name: a.password for a in accounts.values()}
        )
        self.reports: list[ReplayReport] = []
        self.finished = threading.Event()
        self._sessions: dict[bytes, ReplaySession] = {}
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None

    def start(self) -> ReplayServer:
        """Bind and start serving; returns ``self``.

        Raises:
            TransportError: The address cannot be bound.
        """
        if self._thread is not None:
            return self
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        zap = context.socket(zmq.REP)
        zap.setsockopt(zmq.LINGER, 0)
        zap.bind(ZAP_ENDPOINT)
        try:
            sock, self.port = bind_router(
                context, self.host, self.port, max_message_bytes=2 * CLIENT_MAX_BYTES
            )
        except TransportError:
            zap.close(linger=0)
            context.term()
            raise
        self._context = context
        self._start_thread(context, self._serve, sock, zap, name=f"netgym-replay-{self.port}")
        logger.info("replaying %d messages on %s (%s)", len(self.script), self.address, self.mode)
        return self

    def _serve(
        self, sock: zmq.Socket[bytes], zap: zmq.Socket[bytes], waker: zmq.Socket[bytes]
    ) -> None:
        poller = zmq.Poller()
        for each in (sock, zap, waker):
            poller.register(each, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                try:
                    ready = dict(poller.poll(POLL_MS))
                    if zap in ready:
                        self._answer_zap(zap)
                    if sock in ready:
                        parts = sock.recv_multipart(copy=False)
                        frames = [part.bytes for part in parts]
                        for payload in self._answer(frames, _user_of(parts[-1])):
                            sock.send_multipart([frames[0], payload])
                except zmq.ZMQError as exc:
                    if self._stop.is_set():
                        break
                    logger.error("socket error (continuing): %s", exc)
        finally:
            for each in (sock, zap, waker):
                each.close(linger=0)

    def _answer_zap(self, zap: zmq.Socket[bytes]) -> None:
        request = zap.recv_multipart()
        version, request_id = request[0], request[1]
        plain = len(request) >= 8 and request[5] == b"PLAIN"
        user, password = (request[6], request[7]) if plain else (b"", b"")
        name = user.decode("utf-8", errors="replace")
        allowed = plain and (
            self.passwords is None
            or self.passwords.get(name) == password.decode("utf-8", "replace")
        )
        if allowed:
            zap.send_multipart([version, request_id, b"200", b"OK", user, b""])
        else:
            logger.info("refused the PLAIN login of %r", name)
            zap.send_multipart([version, request_id, b"400", b"refused", b"", b""])

    def _session(self, identity: bytes, kind: object) -> ReplaySession:
        session = self._sessions.get(identity)
        if session is None or (session.done and kind == "env-start"):
            name = identity.decode("utf-8", errors="replace")
            session = ReplaySession(self.script, name, mode=self.mode)
            self._sessions[identity] = session
            self.reports.append(session.report)
        return session

    def _answer(self, frames: list[bytes], user: str | None = None) -> list[bytes]:
        account = frames[0].decode("utf-8", errors="replace").partition("-")[0]
        if self.passwords is not None and user is not None and user != account:
            # with accounts, an identity is its account's: another login gets nothing of it
            logger.warning(
                "refused identity %s: the connection logged in as %r", _t(frames[0]), user
            )
            return [
                _error(
                    f"identity {frames[0].decode('utf-8', 'replace')[:64]!r} belongs to account "
                    f"{account[:32]!r}, but this connection logged in as {user[:32]!r}"
                )
            ]
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
        self._stop_thread(timeout_s)
        if self._context is not None:
            self._context.term()
            self._context = None


def _user_of(frame: zmq.Frame) -> str | None:
    """The ZAP User-Id of the connection a frame came on, or None (no metadata)."""
    try:
        return str(frame.get("User-Id"))
    except zmq.ZMQError:
        return None


def _error(text: str) -> bytes:
    return json.dumps({"type": "env-error", "error_msg": text}, separators=(",", ":")).encode()
