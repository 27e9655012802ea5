"""``netgym record``'s proxy: sits between NetworkGym clients and a server and records both ways.

Rules:
- The listen side is a ROUTER that is a PLAIN server. Its ZAP handler (answered in the
  proxy's own loop, no extra thread) accepts whatever credentials a client presents and
  keeps them in memory only, under a token that ZeroMQ hands back as each message's
  ``User-Id`` property. The first message of an identity opens one upstream DEALER with
  the same identity and the credentials that client presented, so the real server sees
  exactly the client it would have seen: its own account checks, limits and routing apply.
  A password the upstream refuses is refused there: the client then hears nothing, as it
  would from the real server (PROTOCOL.md §1); the refusal is logged.
- Bytes pass through unchanged: every payload frame goes on as received, both ways. Each
  message is then written to the recording (:mod:`netgym_client.recording.record`), credentials
  never. The proxy decodes nothing it forwards.
- ``ROUTER_HANDOVER`` on the listen side: a client restarted with the same identity takes
  over its route, as with the real server. A client that presents other credentials under
  the same identity gets a fresh upstream DEALER.
- An upstream DEALER lives while its client's connection does: when ZeroMQ reports the
  client's connection closed, the upstream of every identity that last spoke on it is
  closed. At most :data:`MAX_UPSTREAMS` are open at once (each costs file descriptors); a
  new identity beyond that is not forwarded (logged), so a flood of identities can exhaust
  neither the proxy's descriptors nor its memory. Credentials of connections that never
  sent a message are kept for the newest :data:`MAX_LOGINS` logins only.
- A recording that cannot be written (disk full, read-only) stops the proxy: the file keeps
  every complete line, and :attr:`RecordingProxy.error` holds the one-line
  :class:`~netgym_client.recording.record.RecordingError` (``netgym record`` exits with it).
- One thread owns every socket; ``stop()`` wakes it through an inproc pipe.

This is one of the few modules that import zmq (a proxy must open sockets both ways).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
from types import TracebackType
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from netgym_client.errors import TransportError
from netgym_client.protocol import identity_text as _t
from netgym_client.recording.record import RecordingError, RecordingWriter

__all__ = ["RecordingProxy"]

logger = logging.getLogger(__name__)

#: The inproc endpoint libzmq sends ZAP requests to (RFC 27).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: How often the loop wakes up when nothing happens, in ms.
POLL_MS = 200
#: Linger of the upstream sockets on close, in ms.
LINGER_MS = 200
#: Most upstream connections (one per client identity) open at once.
MAX_UPSTREAMS = 256
#: Most logins whose credentials are held before their connection's first message.
MAX_LOGINS = 4096


class RecordingProxy:
    """A recording proxy between NetworkGym clients and one server.

    Args:
        listen: Where clients connect, ``tcp://host:port`` (port ``0`` picks a free one).
        upstream: The server's frontend, ``tcp://host:port``.
        out: The recording file to write.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
        >>> with RecordingProxy("tcp://127.0.0.1:0", "tcp://127.0.0.1:8088", out) as proxy:
        ...     proxy.address.startswith("tcp://127.0.0.1:")
        True
    """

    def __init__(self, listen: str, upstream: str, out: str | os.PathLike[str]) -> None:
        self.listen = listen
        self.upstream = upstream
        self.out = out
        self.address = listen
        self.writer: RecordingWriter | None = None
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake: zmq.Socket[bytes] | None = None
        self._tokens = itertools.count(1)
        self._credentials: dict[bytes, tuple[bytes, bytes]] = {}  # memory only
        self._upstreams: dict[bytes, tuple[bytes, zmq.Socket[bytes]]] = {}
        self._monitors: dict[zmq.Socket[bytes], bytes] = {}  # upstream monitor -> identity
        #: Identities whose credentials the upstream refused (logged once each).
        self.refused: set[str] = set()
        self.messages = 0
        #: Why the proxy stopped on its own (the recording could not be written), if it did.
        self.error: RecordingError | None = None
        self._front_conn: dict[bytes, int] = {}  # identity -> the client connection it spoke on
        self._front_closed: set[int] = set()  # closed connections, until their number is reused
        self._front_watch: zmq.Socket[bytes] | None = None

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the proxy's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RecordingProxy:
        """Bind the listen side, open the recording and start forwarding; returns ``self``.

        Raises:
            TransportError: The listen address cannot be bound.
        """
        if self._thread is not None:
            return self
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        zap = context.socket(zmq.REP)
        zap.setsockopt(zmq.LINGER, 0)
        zap.bind(ZAP_ENDPOINT)
        front = context.socket(zmq.ROUTER)
        front.setsockopt(zmq.LINGER, 0)
        front.setsockopt(zmq.PLAIN_SERVER, 1)
        front.setsockopt(zmq.ROUTER_HANDOVER, 1)
        try:
            host, _, port = self.listen.rpartition(":")
            if port == "0":
                self.address = f"{host}:{front.bind_to_random_port(host)}"
            else:
                front.bind(self.listen)
        except zmq.ZMQError as exc:
            front.close(linger=0)
            zap.close(linger=0)
            context.term()
            raise TransportError(f"cannot bind {self.listen}: {exc}") from exc
        wake_address = f"inproc://netgym-proxy-wake-{id(self)}"
        waker = context.socket(zmq.PAIR)
        waker.bind(wake_address)
        self._wake = context.socket(zmq.PAIR)
        self._wake.setsockopt(zmq.LINGER, 0)
        self._wake.connect(wake_address)
        try:
            self.writer = RecordingWriter(self.out, source="proxy", upstream=self.upstream)
        except RecordingError:
            for sock in (front, zap, waker, self._wake):
                sock.close(linger=0)
            self._wake = None
            context.term()
            raise
        watch_address = f"inproc://netgym-proxy-watch-{id(self)}"
        front.monitor(watch_address, zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self._front_watch = context.socket(zmq.PAIR)
        self._front_watch.setsockopt(zmq.LINGER, 0)
        self._front_watch.setsockopt(zmq.RCVHWM, 0)  # libzmq writes events blocking
        self._front_watch.connect(watch_address)
        self._context = context
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(front, zap, waker), name="netgym-record", daemon=True
        )
        self._thread.start()
        logger.info("recording %s -> %s into %s", self.address, self.upstream, self.out)
        return self

    def _serve(
        self, front: zmq.Socket[bytes], zap: zmq.Socket[bytes], waker: zmq.Socket[bytes]
    ) -> None:
        try:
            self._loop(front, zap, waker)
        finally:
            if self._front_watch is not None:
                with contextlib.suppress(zmq.ZMQError):
                    front.disable_monitor()
                self._front_watch.close(linger=0)
                self._front_watch = None
            for monitor in self._monitors:
                monitor.close(linger=0)
            self._monitors.clear()
            for _, sock in self._upstreams.values():
                sock.close(linger=LINGER_MS)
            self._upstreams.clear()
            self._credentials.clear()
            for sock in (front, zap, waker):
                sock.close(linger=0)

    def _loop(
        self, front: zmq.Socket[bytes], zap: zmq.Socket[bytes], waker: zmq.Socket[bytes]
    ) -> None:
        while not self._stop.is_set():
            poller = zmq.Poller()
            for sock in (front, zap, waker):
                poller.register(sock, zmq.POLLIN)
            if self._front_watch is not None:
                poller.register(self._front_watch, zmq.POLLIN)
            owners: dict[zmq.Socket[bytes], bytes] = {}
            for identity, (_, sock) in self._upstreams.items():
                poller.register(sock, zmq.POLLIN)
                owners[sock] = identity
            for monitor in self._monitors:
                poller.register(monitor, zmq.POLLIN)
            try:
                ready = dict(poller.poll(POLL_MS))
                self._close_left()
                if zap in ready:
                    self._answer_zap(zap)
                if front in ready:
                    self._from_client(front)
                for sock, identity in owners.items():
                    if sock in ready:
                        self._from_server(front, identity, sock)
                for monitor, identity in list(self._monitors.items()):
                    if monitor in ready:
                        self._watch(monitor, identity)
            except zmq.ZMQError as exc:
                if self._stop.is_set():
                    break
                logger.error("socket error (continuing): %s", exc)
            except RecordingError as exc:
                logger.error("%s: recording stopped", exc)
                self.error = exc
                self._stop.set()

    def _close_left(self) -> None:
        """Close the upstreams of clients whose connection closed."""
        if self._front_watch is None:
            return
        while True:
            try:
                event = self._front_watch.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(event) != 2 or len(event[0]) != 6:
                continue
            conn = int.from_bytes(event[0][2:6], sys.byteorder)
            if int.from_bytes(event[0][:2], sys.byteorder) == zmq.EVENT_ACCEPTED:
                self._front_closed.discard(conn)
                continue
            self._front_closed.add(conn)
            for identity, spoke_on in list(self._front_conn.items()):
                if spoke_on == conn:
                    del self._front_conn[identity]
                    if identity in self._upstreams:
                        self._close_upstream(identity)
                        logger.info("client %s left: upstream connection closed", _t(identity))

    def _answer_zap(self, zap: zmq.Socket[bytes]) -> None:
        request = zap.recv_multipart()
        version, request_id = request[0], request[1]
        mechanism = request[5] if len(request) > 5 else b""
        if mechanism != b"PLAIN" or len(request) < 8:
            zap.send_multipart([version, request_id, b"400", b"PLAIN only", b"", b""])
            return
        token = f"client-{next(self._tokens)}".encode()
        self._credentials[token] = (request[6], request[7])
        while len(self._credentials) > MAX_LOGINS:  # the oldest login never spoke: forget it
            del self._credentials[next(iter(self._credentials))]
        zap.send_multipart([version, request_id, b"200", b"OK", token, b""])

    def _upstream_for(self, identity: bytes, token: bytes) -> zmq.Socket[bytes] | None:
        known = self._upstreams.get(identity)
        credentials = self._credentials.get(token)
        if known is not None and (credentials is None or known[0] == token):
            return known[1]
        if credentials is None:
            logger.warning("no credentials for %s: message dropped", _t(identity))
            return None
        if known is not None:
            self._close_upstream(identity)
        elif len(self._upstreams) >= MAX_UPSTREAMS:
            logger.warning(
                "%s: %d upstream connections already open: message not forwarded",
                _t(identity),
                MAX_UPSTREAMS,
            )
            return None
        assert self._context is not None
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.IDENTITY, identity)
        sock.setsockopt(zmq.PLAIN_USERNAME, credentials[0])
        sock.setsockopt(zmq.PLAIN_PASSWORD, credentials[1])
        monitor = sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )
        self._monitors[monitor] = identity
        sock.connect(self.upstream)
        self._upstreams[identity] = (token, sock)
        logger.info("client %s: upstream connection opened", _t(identity))
        return sock

    def _close_upstream(self, identity: bytes) -> None:
        _, sock = self._upstreams.pop(identity)
        for monitor, owner in list(self._monitors.items()):
            if owner == identity:
                sock.disable_monitor()
                monitor.close(linger=0)
                del self._monitors[monitor]
        sock.close(linger=LINGER_MS)

    def _watch(self, monitor: zmq.Socket[bytes], identity: bytes) -> None:
        """Log the upstream's verdict on a client's credentials (the client hears nothing)."""
        event = recv_monitor_message(monitor)
        name = identity.decode("utf-8", errors="replace")
        if int(event["event"]) == zmq.EVENT_HANDSHAKE_FAILED_AUTH and name not in self.refused:
            self.refused.add(name)
            logger.warning(
                "%s: the upstream refused this client's credentials; it will hear nothing", name
            )

    def _from_client(self, front: zmq.Socket[bytes]) -> None:
        frames: list[Any] = front.recv_multipart(copy=False)
        identity = bytes(frames[0].bytes)
        token = str(frames[-1].get("User-Id")).encode()
        conn: int | None = None
        with contextlib.suppress(zmq.ZMQError, ValueError):  # no metadata: not tracked
            conn = int(frames[-1].get("__fd"))
        if conn is not None:
            self._front_conn[identity] = conn
        payload = [bytes(f.bytes) for f in frames[1:]]
        upstream = self._upstream_for(identity, token)
        if upstream is None:
            return
        try:
            # never blocking: libzmq drops the pipe of a connection whose handshake the
            # upstream refused, and a DEALER without a pipe would block the proxy for everyone
            upstream.send_multipart(payload, zmq.NOBLOCK)
        except zmq.Again:
            logger.warning(
                "%s: the upstream takes no message (credentials refused?): not forwarded",
                _t(identity),
            )
        self._record("c2s", identity, payload)
        if conn is not None and conn in self._front_closed:  # read after its client left
            self._front_conn.pop(identity, None)
            self._close_upstream(identity)

    def _from_server(
        self, front: zmq.Socket[bytes], identity: bytes, sock: zmq.Socket[bytes]
    ) -> None:
        payload = sock.recv_multipart()
        with contextlib.suppress(zmq.ZMQError):  # the client is gone: nothing to deliver
            front.send_multipart([identity, *payload])
        self._record("s2c", identity, payload)

    def _record(self, direction: str, identity: bytes, payload: list[bytes]) -> None:
        assert self.writer is not None
        name = identity.decode("utf-8", errors="replace")
        self.writer.write_frames("c2s" if direction == "c2s" else "s2c", name, payload)
        self.messages += 1

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop forwarding, close every socket and the recording (idempotent)."""
        self._stop.set()
        if self._wake is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._wake.send(b"", zmq.NOBLOCK)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.error("proxy thread did not stop within %.1f s", timeout_s)
            self._thread = None
        if self._wake is not None:
            self._wake.close(linger=0)
            self._wake = None
        if self._context is not None:
            self._context.term()
            self._context = None
        if self.writer is not None:
            self.writer.close()
