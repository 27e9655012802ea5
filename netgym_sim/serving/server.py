"""The fake NetworkGym server: a ZeroMQ ROUTER frontend with PLAIN authentication.

Rules:
- Like the real server's frontend (PROTOCOL.md §1): ROUTER, ``plain_server``, a ZAP
  authenticator over the accounts' passwords. A refused password is refused at the
  handshake; nothing reaches the backend.
- ``ROUTER_HANDOVER`` as the original, so a client restarted with the same identity takes
  over its route. libzmq's ZAP request carries the server's own identity, not the peer's
  (and PLAIN's is sent before the peer's identity arrives), so an identity cannot be bound
  to its account at authentication: with handover another account's connection can take a
  live route and receive what is sent on it. ``handover=False`` (``serve --no-handover``)
  keeps a live route with its connection instead.
- A reply goes out only while the connection its request came on is open
  (:mod:`netgym_sim.serving.routes`); when another account's connection has spoken on a
  live route, the session's replies are held back (backend.py rule 1).
- No ZeroMQ heartbeats: libzmq 4.3.5 aborts the whole process (``Assertion failed:
  !_io_error``, stream_engine_base.cpp) when a connection whose route was handed over closes
  while its heartbeat timer is armed (the handover stops the old engine's input, the close
  marks it failed without destroying it, and the armed timer writes a PING to it). Dead
  peers are found by TCP keepalive instead (:data:`KEEPALIVE_IDLE_S`...), which the kernel
  runs, so a vanished client's connection still closes.
- Memory per peer is bounded: ZeroMQ queues at most :data:`RCVHWM` messages from it and
  :data:`SNDHWM` unread replies to it (more replies are dropped). ZeroMQ hands over a
  message of several frames only once all of them have arrived (each at most
  ``MAXMSGSIZE``); as no client message has several frames, their payloads are refused
  without being copied and released at once.
- One thread owns the socket and serves every session in lock step (a step is one call
  into the SimPy model). Before serving a message, every message already waiting on the
  socket is taken off it and its arrival noted (at most :data:`MAX_PENDING` messages and
  :data:`MAX_PENDING_BYTES` held), so idle time counts from arrival; held messages are
  served one identity at a time in turn, so a flooding peer delays a lock-step client by
  one message, not by its whole backlog. Idle sessions are expired between messages.
- Each frame carries the ZAP User-Id (the account, see :mod:`netgym_sim.serving.auth`) of its
  connection; the backend refuses an identity whose account is not that user (backend.py
  rule 1). Serving PLAIN on a non-loopback address logs a warning: PLAIN sends the password
  in clear; ``curve_secret_key_file`` serves CURVE instead (encrypted; a netgym client gives
  ``server.server_public_key``).
- It binds loopback unless told otherwise. ``port=0`` picks a free port.
- ``stop()`` wakes the serving thread through an inproc socket instead of waiting for its
  next poll timeout, so stopping takes milliseconds, not up to :data:`POLL_MS`.

This module is the simulator's only importer of zmq.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import zmq
import zmq.auth

from netgym_client import protocol
from netgym_client.errors import ConfigError, TransportError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import DEFAULT_ACCOUNTS, Account, Backend, load_accounts
from netgym_sim.core.faults import FaultInjector
from netgym_sim.core.handlers import handle_frames, handle_idle
from netgym_sim.core.warmup import warm_up
from netgym_sim.limits import Limits
from netgym_sim.serving.auth import Authenticator
from netgym_sim.serving.routes import RouteBook

__all__ = [
    "ConnectionWatch",
    "FakeServer",
    "ServingThread",
    "bind_router",
    "connection_of",
    "load_secret_key",
    "plain_in_clear",
]

logger = logging.getLogger(__name__)

#: How often the loop wakes up to expire idle sessions and check for shutdown, in ms.
POLL_MS = 100
#: Most received messages held, stamped, before they are served (then the socket waits).
MAX_PENDING = 1000
#: Most bytes of received messages held before they are served.
MAX_PENDING_BYTES = 64 * 1024 * 1024
#: Messages ZeroMQ queues per peer before it stops reading that peer (clients are lock-step).
RCVHWM = 8
#: Replies ZeroMQ queues for a peer that does not read them; more are dropped (a lock-step
#: client has one unread reply at a time), so a peer that never reads holds at most this many.
SNDHWM = 8
#: TCP keepalive of every accepted connection: first probe after this many idle seconds,
#: then one every KEEPALIVE_INTVL_S; KEEPALIVE_CNT unanswered probes close it (~16 s).
KEEPALIVE_IDLE_S, KEEPALIVE_INTVL_S, KEEPALIVE_CNT = 10, 2, 3
_LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def plain_in_clear(host: str, curve: bool) -> bool:
    """Whether serving on ``host`` would send PLAIN passwords off this machine in clear."""
    return not curve and not host.startswith(_LOOPBACK)


class _Pending:
    """Received messages waiting to be served, one queue per identity, served in turn.

    A peer that floods the socket fills only its own queue: a lock-step client's message is
    served after at most one message of every other peer, not after all of theirs.
    """

    def __init__(self) -> None:
        self._queues: dict[bytes, deque[tuple[list[bytes], str | None]]] = {}
        self.count = 0
        self.bytes = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def push(self, frames: list[bytes], user: str | None) -> None:
        self._queues.setdefault(frames[0], deque()).append((frames, user))
        self.count += 1
        self.bytes += sum(len(frame) for frame in frames)

    def pop(self) -> tuple[list[bytes], str | None]:
        identity = next(iter(self._queues))
        queue = self._queues.pop(identity)
        item = queue.popleft()
        if queue:
            self._queues[identity] = queue  # to the back of the turn
        self.count -= 1
        self.bytes -= sum(len(frame) for frame in item[0])
        return item


def load_secret_key(file: str | os.PathLike[str]) -> tuple[bytes, bytes]:
    """``(public, secret)`` Z85 keys of a ``.key_secret`` file written by ``netgym keys``.

    Raises:
        ConfigError: The file cannot be read or holds no secret key.
    """
    try:
        public, secret = zmq.auth.load_certificate(file)
    except (OSError, ValueError) as exc:
        raise ConfigError(str(file), f"cannot read the CURVE key pair: {exc}") from exc
    if secret is None:
        raise ConfigError(str(file), "holds no secret key (give the .key_secret file)")
    return public, secret


def _poll_ms(faults: FaultInjector | None) -> int:
    """How long the loop may sleep: until the next late reply is due, at most POLL_MS."""
    due_s = None if faults is None else faults.next_due_s()
    if due_s is None:
        return POLL_MS
    return max(0, min(POLL_MS, math.ceil((due_s - time.monotonic()) * 1000)))


def bind_router(
    context: zmq.Context[zmq.Socket[bytes]],
    host: str,
    port: int,
    *,
    max_message_bytes: int,
    curve_keys: tuple[bytes, bytes] | None = None,
    options: Mapping[int, int] | None = None,
    handover: bool = True,
) -> tuple[zmq.Socket[bytes], int]:
    """A ROUTER as NetworkGym's servers bind them (PROTOCOL.md §1), and the port it got.

    PLAIN (or CURVE with ``curve_keys``, public and secret) under the context's ZAP
    handler, ``ROUTER_HANDOVER`` so a restarted peer with the same identity takes over its
    route, TCP keepalive (never ZeroMQ heartbeats: see the module docstring), and
    ``MAXMSGSIZE``: a peer sending a larger frame is disconnected by ZeroMQ
    before it is buffered, and netgym's name as the handshake property
    :data:`~netgym_client.protocol.SERVER_PROPERTY`. ``options`` are further socket options,
    set before the bind.
    ``port`` 0 picks a free one. ``handover=False`` keeps a live route with its
    connection: a second connection with that identity is neither read nor written.

    Raises:
        TransportError: The address cannot be bound (the socket is closed).
    """
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    if curve_keys is None:
        sock.setsockopt(zmq.PLAIN_SERVER, 1)
    else:
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_SECRETKEY, curve_keys[1])
    sock.setsockopt(zmq.ROUTER_HANDOVER, int(handover))
    sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
    sock.setsockopt(zmq.TCP_KEEPALIVE_IDLE, KEEPALIVE_IDLE_S)
    sock.setsockopt(zmq.TCP_KEEPALIVE_INTVL, KEEPALIVE_INTVL_S)
    sock.setsockopt(zmq.TCP_KEEPALIVE_CNT, KEEPALIVE_CNT)
    sock.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    # netgym's name in the handshake's metadata (never in a message): a netgym client knows
    # its server is netgym's, not one whose ns-3 stops at 50 users
    sock.setsockopt(zmq.METADATA, protocol.SERVER_METADATA)
    for option, value in (options or {}).items():
        sock.setsockopt(option, value)
    try:
        if port == 0:
            port = sock.bind_to_random_port(f"tcp://{host}")
        else:
            sock.bind(f"tcp://{host}:{port}")
    except zmq.ZMQError as exc:
        sock.close(linger=0)
        raise TransportError(f"cannot bind tcp://{host}:{port}: {exc}") from exc
    return sock, port


def connection_of(frame: zmq.Frame) -> int | None:
    """The connection (file descriptor) a received frame came on, or None (no metadata)."""
    try:
        return int(frame.get("__fd"))
    except (zmq.ZMQError, ValueError, TypeError):
        return None


class ConnectionWatch:
    """The connections of one socket that ZeroMQ reports accepted and closed (a monitor).

    The monitor's inproc pipe has no high-water mark: libzmq writes events to it blocking,
    so a full pipe would stall every connection of the context until it is read.
    """

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], sock: zmq.Socket[bytes]) -> None:
        address = f"inproc://netgym-monitor-{id(sock)}"
        sock.monitor(address, zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self._sock = sock
        self._pair = context.socket(zmq.PAIR)
        self._pair.setsockopt(zmq.LINGER, 0)
        self._pair.setsockopt(zmq.RCVHWM, 0)
        self._pair.connect(address)

    def feed(self, book: RouteBook) -> None:
        """Tell ``book`` every connection accepted or closed since the last call, in order."""
        while True:
            try:
                frames = self._pair.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2 or len(frames[0]) != 6:
                continue
            event = int.from_bytes(frames[0][:2], sys.byteorder)
            conn = int.from_bytes(frames[0][2:6], sys.byteorder)
            if event == zmq.EVENT_ACCEPTED:
                book.opened(conn)
            elif event == zmq.EVENT_DISCONNECTED:
                book.closed(conn)

    def close(self) -> None:
        """Stop monitoring and close the pipe (on the thread that owns the socket)."""
        with contextlib.suppress(zmq.ZMQError):
            self._sock.disable_monitor()
        self._pair.close(linger=0)


_S = TypeVar("_S", bound="ServingThread")


class ServingThread:
    """A server whose sockets one thread serves; :meth:`stop` wakes that thread at once.

    The thread's poll also watches an inproc PAIR (the *waker*); ``stop()`` writes to its
    other end instead of waiting for the poll's timeout, so stopping takes milliseconds.
    Subclasses bind their sockets in ``start()``, hand them to :meth:`_start_thread`, and
    release them in ``stop()`` after :meth:`_stop_thread`.

    Args:
        host: Interface to bind.
        port: TCP port; 0 picks a free one (see :attr:`address`).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake: zmq.Socket[bytes] | None = None

    @property
    def address(self) -> str:
        """``tcp://host:port`` clients connect to (valid once started)."""
        return f"tcp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self: _S) -> _S:
        """Bind and start serving; returns ``self``."""
        raise NotImplementedError

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and release everything (idempotent)."""
        raise NotImplementedError

    def _start_thread(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        target: Callable[..., None],
        *sockets: zmq.Socket[bytes],
        name: str,
    ) -> None:
        """Start ``target(*sockets, waker)`` on the serving thread."""
        wake_address = f"inproc://netgym-wake-{id(self)}"
        waker = context.socket(zmq.PAIR)
        waker.setsockopt(zmq.LINGER, 0)
        waker.bind(wake_address)
        self._wake = context.socket(zmq.PAIR)
        self._wake.setsockopt(zmq.LINGER, 0)
        self._wake.connect(wake_address)
        self._stop.clear()
        self._thread = threading.Thread(
            target=target, args=(*sockets, waker), name=name, daemon=True
        )
        self._thread.start()

    def _stop_thread(self, timeout_s: float) -> None:
        """Wake the serving thread, wait for it (at most ``timeout_s``), close the waker."""
        self._stop.set()
        if self._wake is not None:
            # a full or dead pipe means the thread is awake or gone: nothing to wake
            with contextlib.suppress(zmq.ZMQError):
                self._wake.send(b"", zmq.NOBLOCK)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.error("serving thread did not stop within %.1f s", timeout_s)
            self._thread = None
        if self._wake is not None:
            self._wake.close(linger=0)
            self._wake = None


class FakeServer(ServingThread):
    """A NetworkGym-compatible server backed by the simulator.

    Args:
        host: Interface to bind (default loopback only).
        port: TCP port; 0 picks a free one (see :attr:`address`).
        accounts: Accounts by name (default :data:`~netgym_sim.core.backend.DEFAULT_ACCOUNTS`).
        accounts_file: A CSV in the real server's format; overrides ``accounts``.
        max_sessions: Sessions that may run at once; more get ``no-available-worker``.
        idle_timeout_s: Sessions silent for longer are dropped.
        limits: Per-request caps (:class:`~netgym_sim.limits.Limits`).
        curve_secret_key_file: A ``.key_secret`` file (``netgym keys``): serve CURVE, not PLAIN.
        handover: Hand a live identity's route to a new connection with that identity (as
            the original; a restarted client is served at once). False: never, so no
            connection of any account can take or listen to a live session; a client that
            reconnects with its identity before its old connection closed is not served on
            that connection (libzmq leaves it unread) and times out.
        warm_up: Compile the model's numba kernel in :meth:`start`, before serving
            (:mod:`netgym_sim.core.warmup`), so the first ``nqos_split`` session does not
            stall every session while it compiles.
        faults: A fault plan (:class:`~netgym_sim.core.faults.FaultPlan`, or a list of
            ``"KIND@AT[:PARAM]"`` strings and dicts): replies late, lost, doubled or
            replaced on cue (see :mod:`netgym_sim.core.faults`).

    Example:
        >>> with FakeServer() as server:
        ...     server.address.startswith("tcp://127.0.0.1:")
        True
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        accounts: Mapping[str, Account] | None = None,
        accounts_file: str | os.PathLike[str] | None = None,
        max_sessions: int = 64,
        idle_timeout_s: float = 30.0,
        faults: Any = None,
        limits: Limits | None = None,
        curve_secret_key_file: str | os.PathLike[str] | None = None,
        handover: bool = True,
        warm_up: bool = True,
    ) -> None:
        if accounts_file is not None:
            accounts = load_accounts(accounts_file)
        super().__init__(host, port)
        self.handover = handover
        self.warm_up = warm_up
        self._faults = FaultInjector(faults) if faults else None
        self.backend = Backend(
            accounts if accounts is not None else DEFAULT_ACCOUNTS,
            max_sessions=max_sessions,
            idle_timeout_s=idle_timeout_s,
            faults=self._faults,
            limits=limits,
        )
        self._curve_keys: tuple[bytes, bytes] | None = None
        if curve_secret_key_file is not None:
            self._curve_keys = load_secret_key(curve_secret_key_file)
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._auth: Authenticator | None = None
        self._socket: zmq.Socket[bytes] | None = None
        self._watch: ConnectionWatch | None = None
        self.routes = RouteBook()

    def start(self) -> FakeServer:
        """Bind, start authentication and the serving thread; returns ``self``.

        Raises:
            TransportError: The address cannot be bound.
        """
        if self._thread is not None:
            return self
        if self.warm_up:
            warm_up()  # numba compiles now, not on the serving thread during a session
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        passwords = {a.name: a.password for a in self.backend.accounts.values()}
        curve = self._curve_keys
        auth = Authenticator(context, passwords, None if curve is None else curve[0].decode())
        auth.start()
        if plain_in_clear(self.host, curve is not None):
            logger.warning("serving PLAIN on %s: passwords cross the network in clear", self.host)
        try:
            # up to twice the payload limit is read and answered with env-error; a peer
            # sending more is disconnected by ZeroMQ (no reply is possible then)
            sock, self.port = bind_router(
                context,
                self.host,
                self.port,
                max_message_bytes=2 * self.backend.limits.max_message_bytes,
                curve_keys=curve,
                options={zmq.RCVHWM: RCVHWM, zmq.SNDHWM: SNDHWM},
                handover=self.handover,
            )
        except TransportError:
            auth.stop()
            context.term()
            raise
        self._context, self._auth, self._socket = context, auth, sock
        self._watch = ConnectionWatch(context, sock)
        self._start_thread(context, self._serve, sock, name=f"netgym-sim-{self.port}")
        logger.info("netgym_sim serving on %s", self.address)
        return self

    def _serve(self, sock: zmq.Socket[bytes], waker: zmq.Socket[bytes]) -> None:
        try:
            self._loop(sock, waker)
        finally:
            waker.close(linger=0)
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    def _loop(self, sock: zmq.Socket[bytes], waker: zmq.Socket[bytes]) -> None:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(waker, zmq.POLLIN)
        faults = self._faults
        pending = _Pending()
        modules = len(sys.modules)
        while not self._stop.is_set():
            try:
                ready = dict(poller.poll(0 if pending else _poll_ms(faults)))
                if sock in ready or pending:
                    self._drain(sock, pending)
                replies = []
                if pending:
                    frames, user = pending.pop()
                    replies = handle_frames(self.backend, frames, user=user)
                    if len(sys.modules) != modules:
                        # a first session of an env loaded its model (numba's compiled kernel
                        # brings ~10**6 objects): keep the cycle collector from rescanning them
                        # on every full collection (~150 ms each, a stall for every session)
                        modules = len(sys.modules)
                        gc.freeze()
                replies += handle_idle(self.backend)
                if faults is not None:  # timed delivery: late replies wait in a queue
                    for identity, payload in replies:
                        faults.schedule(identity, payload)
                    replies = faults.due()
                if replies:
                    self._note_closed()
                for identity, payload in replies:
                    if not self.routes.may_send(identity):
                        logger.warning(
                            "reply to %s held back: the connection that asked has closed",
                            _t(identity),
                        )
                    elif not self.backend.route_ok(identity):
                        logger.warning(
                            "reply to %s held back: its route is another account's", _t(identity)
                        )
                    else:
                        sock.send_multipart([identity, payload])
            except zmq.ZMQError as exc:
                if self._stop.is_set():
                    break
                logger.error("socket error (continuing): %s", exc)
            except Exception:  # a bug must never stop the server for everyone
                logger.exception("internal error in the serving loop (continuing)")

    def _note_closed(self) -> None:
        if self._watch is not None:
            self._watch.feed(self.routes)

    def _drain(self, sock: zmq.Socket[bytes], pending: _Pending) -> None:
        """Take every waiting message off ``sock``, noting its arrival with the backend."""
        self._note_closed()  # before the messages: a reused connection number stays theirs
        while pending.count < MAX_PENDING and pending.bytes < MAX_PENDING_BYTES:
            try:
                parts = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            received_s = time.monotonic()
            if len(parts) == 2:
                frames = [part.bytes for part in parts]
            else:  # no client message has several frames: refused without copying them
                frames = [parts[0].bytes] + [b""] * (len(parts) - 1)
            try:
                user: str | None = str(parts[-1].get("User-Id"))
            except zmq.ZMQError:  # no metadata: not an authenticated connection
                user = None
            self.routes.arrived(frames[0], connection_of(parts[-1]))
            self.backend.note_arrival(frames[0], user, received_s)
            pending.push(frames, user)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and release the socket, authenticator and context (idempotent)."""
        self._stop_thread(timeout_s)
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._context is not None:
            self._context.term()
            self._context = None
