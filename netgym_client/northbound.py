"""The northbound interface: one ZeroMQ DEALER socket talking to a NetworkGym server.

Rules:
- Identity is ``"<session_name>-<client_id>"``; PLAIN username/password are the session name
  and key (PROTOCOL.md §1). Every payload is one frame of UTF-8 JSON, sent compact: the
  original client pretty-prints (``indent=2``), but every peer must accept any valid JSON
  whatever its whitespace (§2), and compact JSON is smaller and faster to write.
- :meth:`NorthboundClient.end_session` sends netgym's ``env-end`` to end the running session
  at once. netgym's server answers ``env-end``; a real server answers ``env-error`` "unknown
  msg type" and keeps the session. Either answer is read and dropped by the next
  :meth:`~NorthboundClient.receive`, so the caller can send ``env-start`` right after it on
  the same socket.
- :meth:`NorthboundClient.connect` waits at most ``connect_timeout_s`` for the PLAIN
  handshake, watched through ZeroMQ's socket monitor, so "nobody there" and "wrong
  password" are told apart at once instead of after a reply timeout.
- Every receive is bounded by a timeout and ends in a typed error; nothing here prints or
  exits. ``close()`` is idempotent and bounded (linger).
- A server that is gone is noticed fast: ZeroMQ heartbeats (a ping every
  :data:`HEARTBEAT_IVL_MS`; no answer for ``heartbeat_timeout_s`` closes the connection) and
  the socket monitor's disconnect event. While a reply is awaited, a connection that is down
  and not back within ``heartbeat_timeout_s`` ends the wait with
  :class:`~netgym_client.errors.ServerUnavailable`; a live server that is merely slow still
  answers the pings, so it gets the whole ``reply_timeout_s``.
- With ``server_public_key`` the connection is CURVE-encrypted instead of PLAIN; the
  client's key pair is derived from the account and password (:mod:`netgym_client.keys`).
  An empty account or password is a :class:`~netgym_client.errors.ConfigError`.

This module is the client side's only importer of zmq.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from netgym_client import protocol
from netgym_client.errors import (
    AuthenticationFailed,
    ConfigError,
    ProtocolError,
    ServerUnavailable,
    TransportError,
)
from netgym_client.keys import client_keypair, load_public_key

__all__ = ["NorthboundClient"]

logger = logging.getLogger(__name__)

#: The real server's answer to a message type it does not know (PROTOCOL.md §4).
UNKNOWN_TYPE_MSG = "unknown msg type"

#: How long ``close()`` may block flushing unsent messages, in ms.
LINGER_MS = 200
#: Interval of the ZeroMQ heartbeat pings, ms.
HEARTBEAT_IVL_MS = 1000
#: Default wait for a lost connection to come back while a reply is awaited, s.
HEARTBEAT_TIMEOUT_S = 5.0
_MONITOR_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_DISCONNECTED
)

_HANDSHAKE_FAILURES: dict[int, str] = {
    int(zmq.EVENT_HANDSHAKE_FAILED_AUTH): "auth",
    int(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL): "protocol",
    int(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL): "handshake",
}


class NorthboundClient:
    """A client of the NetworkGym northbound interface.

    Args:
        address: ``tcp://host:port`` (or ``inproc://``/``ipc://``) of the server's frontend.
        session_name: Account name: PLAIN username and first part of the identity.
        session_key: PLAIN password.
        client_id: Instance number: last part of the identity.
        connect_timeout_s: Longest wait for the connection and PLAIN handshake.
        reply_timeout_s: Default longest wait for each reply.
        heartbeat_timeout_s: A lost connection not back within this ends a wait for a reply.
        server_public_key: The server's CURVE public key (Z85 text or a ``.key`` file):
            encrypt with CURVE instead of PLAIN.
        context: A ZeroMQ context to use (default: the process-wide instance).

    Raises:
        ConfigError: An empty account or password, or an unreadable server key.

    Example:
        >>> client = NorthboundClient("tcp://127.0.0.1:8088")
        >>> client.identity
        'admin-0'
        >>> client.close()
    """

    def __init__(
        self,
        address: str,
        *,
        session_name: str = "admin",
        session_key: str = "admin",
        client_id: int = 0,
        connect_timeout_s: float = 5.0,
        reply_timeout_s: float = 60.0,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
        server_public_key: str | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if not session_name:
            raise ConfigError("server.session_name", "must not be empty")
        if not session_key:
            raise ConfigError("server.session_key", "must not be empty (PLAIN needs a password)")
        self.server_public_key = (
            None if server_public_key is None else load_public_key(server_public_key)
        )
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._monitor: zmq.Socket[bytes] | None = None
        self.address = address
        self.session_name = session_name
        self.session_key = session_key
        self.client_id = client_id
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket[bytes] | None = None
        self._closed = False
        self._unanswered_ends = 0
        #: What the server's handshake named it (:data:`~netgym_client.protocol.SERVER_PROPERTY`:
        #: ``"netgym"``), read from its first reply; None before that, or when the server
        #: names itself not (a NetworkGym server, ns-3 behind it).
        self.server_software: str | None = None
        self._server_checked = False

    @property
    def identity(self) -> str:
        """The DEALER identity, ``"<session_name>-<client_id>"``."""
        return f"{self.session_name}-{self.client_id}"

    @property
    def connected(self) -> bool:
        """Whether :meth:`connect` succeeded and the socket is open."""
        return self._socket is not None

    def __enter__(self) -> NorthboundClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> None:
        """Open the socket and wait for the PLAIN handshake to succeed.

        Raises:
            ServerUnavailable: No handshake within ``connect_timeout_s``.
            AuthenticationFailed: The server refused the credentials.
            TransportError: The client is closed or the address is invalid.
        """
        if self._closed:
            raise TransportError("this NorthboundClient is closed; create a new one")
        if self._socket is not None:
            return
        sock: zmq.Socket[bytes] = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.IDENTITY, self.identity.encode("utf-8"))
        if self.server_public_key is None:
            sock.setsockopt(zmq.PLAIN_USERNAME, self.session_name.encode("utf-8"))
            sock.setsockopt(zmq.PLAIN_PASSWORD, self.session_key.encode("utf-8"))
        else:
            public, secret = client_keypair(
                self.server_public_key, self.session_name, self.session_key
            )
            sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_public_key.encode("ascii"))
            sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
            sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
        timeout_ms = max(1, int(self.heartbeat_timeout_s * 1000))
        sock.setsockopt(zmq.HEARTBEAT_IVL, min(HEARTBEAT_IVL_MS, max(1, timeout_ms // 2)))
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, timeout_ms)
        # the server may drop us after twice that without a ping (TTL is in deciseconds)
        sock.setsockopt(zmq.HEARTBEAT_TTL, min(655_000, 2 * timeout_ms))
        monitor = sock.get_monitor_socket(_MONITOR_EVENTS)
        try:
            try:
                sock.connect(self.address)
            except zmq.ZMQError as exc:
                raise TransportError(f"cannot connect to {self.address!r}: {exc}") from exc
            self._await_handshake(monitor)
        except BaseException:
            sock.disable_monitor()
            monitor.close(linger=0)
            sock.close(linger=0)
            raise
        self._socket, self._monitor = sock, monitor
        logger.debug("connected to %s as %s", self.address, self.identity)

    def _await_handshake(self, monitor: zmq.Socket[bytes]) -> None:
        started = time.monotonic()
        deadline = started + self.connect_timeout_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 or not monitor.poll(remaining_ms):
                raise ServerUnavailable(self.address, time.monotonic() - started, what="connection")
            event = recv_monitor_message(monitor)
            kind = int(event["event"])
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                return
            if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                raise AuthenticationFailed(self.address, self.session_name)
            if kind in _HANDSHAKE_FAILURES:
                mechanism = "PLAIN" if self.server_public_key is None else "CURVE with this key"
                raise TransportError(
                    f"handshake with {self.address} failed ({_HANDSHAKE_FAILURES[kind]}); "
                    f"is it a NetworkGym server speaking {mechanism}?"
                )

    def _send(self, msg: protocol.Message) -> None:
        if self._socket is None:
            self.connect()
        assert self._socket is not None  # connect() either set it or raised
        self._send_bytes(protocol.encode(msg))

    def _send_bytes(self, payload: bytes) -> None:
        """Queue ``payload`` without blocking.

        A DEALER blocks a send while it has no pipe, and libzmq drops the pipe of a
        connection whose handshake the server refused: a blocking send would then hang.

        Raises:
            TransportError: The socket takes no message (the server refused us, or the
                send queue is full).
        """
        assert self._socket is not None
        try:
            self._socket.send(payload, zmq.NOBLOCK)
        except zmq.Again as exc:
            raise TransportError(
                f"cannot send to {self.address}: no connection takes messages (refused "
                "credentials, or a full send queue)"
            ) from exc

    def start(self, env_config: Mapping[str, Any]) -> None:
        """Send ``env-start`` with the whole ``env_config`` (as the original client does)."""
        config = {k: v for k, v in env_config.items() if k != "type"}
        if not isinstance(config.get("env"), str):
            raise ProtocolError("env_config.env", "env-start needs the environment name")
        self._send(protocol.EnvStart(env_config=config))

    def send_action(self, action_list: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Send ``env-action`` carrying one policy record or a list of them."""
        self._send(protocol.EnvAction(action_list=action_list))

    def end_session(self) -> None:
        """Send ``env-end``: end this identity's session on a netgym server (no wait).

        Does nothing before :meth:`connect`. The answer is dropped by the next
        :meth:`receive`; if the socket is closed first, nobody reads it, which is harmless.
        """
        if self._socket is None:
            return
        try:
            self._send_bytes(protocol.encode(protocol.EnvEnd(), validate=False))
        except TransportError:
            logger.debug("env-end not sent: %s", self.address)
            return
        self._unanswered_ends += 1

    def receive(self, timeout_s: float | None = None) -> protocol.EnvMeasurement:
        """Wait for the next measurement.

        Args:
            timeout_s: Longest wait; default ``reply_timeout_s``.

        Raises:
            ServerUnavailable: Nothing arrived in time.
            EnvError: The server sent ``env-error``.
            NoAvailableWorker: The server sent ``no-available-worker``.
            ProtocolError: The reply is malformed or of an unexpected type.
        """
        if self._socket is None:
            raise TransportError("receive() before connect()/start()")
        wait_s = self.reply_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait_s
        while True:
            msg = self._receive_one(max(0.0, deadline - time.monotonic()))
            if isinstance(msg, protocol.EnvEnd) or (
                isinstance(msg, protocol.ErrorReply) and msg.error_msg == UNKNOWN_TYPE_MSG
            ):
                # the answer to an env-end: env-end (netgym) or "unknown msg type" (a real
                # server). Never the answer to a start or an action, whose types every server
                # knows; it may be the answer to an env-end that an earlier socket of this
                # identity sent just before it closed, routed here by the server's handover.
                if self._unanswered_ends:
                    self._unanswered_ends -= 1
                else:
                    logger.debug("dropped the answer to an earlier socket's env-end")
                continue
            if self._unanswered_ends:
                # anything before the answer to our env-end is stale (e.g. an idle timeout)
                logger.info("dropped a stale %s before the end of a session", msg)
                continue
            return protocol.expect_measurement(msg)

    def _receive_one(self, wait_s: float) -> protocol.Message:
        assert self._socket is not None and self._monitor is not None
        self._await_readable(self._socket, self._monitor, wait_s)
        if not self._server_checked:
            self._server_checked = True
            first = self._socket.recv_multipart(copy=False)
            self.server_software = _property(first[0], protocol.SERVER_PROPERTY)
            frames = [frame.bytes for frame in first]
        else:
            frames = self._socket.recv_multipart()
        if len(frames) != 1:
            raise ProtocolError("", f"expected 1 frame from the server, got {len(frames)}")
        return protocol.decode(frames[0])

    def _await_readable(
        self, sock: zmq.Socket[bytes], monitor: zmq.Socket[bytes], wait_s: float
    ) -> None:
        """Wait until ``sock`` has a message: at most ``wait_s``, or ``heartbeat_timeout_s``
        after the connection went down and did not come back.

        Raises:
            ServerUnavailable: Nothing arrived in time, or the connection stayed lost.
        """
        started = time.monotonic()
        deadline = started + wait_s
        lost_at: float | None = None
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        while True:
            now = time.monotonic()
            give_up = (
                deadline if lost_at is None else min(deadline, lost_at + self.heartbeat_timeout_s)
            )
            if now >= give_up:
                if lost_at is not None and give_up < deadline:
                    raise ServerUnavailable(
                        self.address,
                        now - started,
                        reason=f"the connection was lost and not back within "
                        f"{self.heartbeat_timeout_s:g} s (server.heartbeat_timeout_s)",
                    )
                raise ServerUnavailable(self.address, wait_s)
            ready = dict(poller.poll(max(1, int((give_up - now) * 1000))))
            if sock in ready:
                return
            if monitor in ready:
                kind = int(recv_monitor_message(monitor)["event"])
                if kind == zmq.EVENT_DISCONNECTED and lost_at is None:
                    lost_at = time.monotonic()
                    logger.info("lost the connection to %s; waiting for it", self.address)
                elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    lost_at = None

    def close(self) -> None:
        """Close the socket (idempotent; blocks at most ``LINGER_MS``)."""
        self._closed = True
        if self._monitor is not None:
            if self._socket is not None:
                self._socket.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        if self._socket is not None:
            self._socket.close(linger=LINGER_MS)
            self._socket = None


def _property(frame: zmq.Frame, name: str) -> str | None:
    """A ZMTP metadata property of the connection ``frame`` came on, or None."""
    try:
        value = frame.get(name)
    except zmq.ZMQError:  # the peer's handshake did not carry it
        return None
    return value if isinstance(value, str) else None
