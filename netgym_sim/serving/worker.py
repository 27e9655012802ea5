"""A simulated NetworkGym env worker: one simulation slot on the southbound interface.

Rules (PROTOCOL.md §1–§5; captures 01, 03, 04, 07, 08, 11, 12, 13, 20):
- One DEALER per simulation slot with identity ``"<session_name>-<id>-<hostname>"`` (slot
  ``j`` of a multi-slot worker uses ``id + j``) and PLAIN credentials, connected to a
  server's env (backend) port. It receives ``[client_identity, payload]``
  and sends ``[client_identity, payload]``; its hello is ``[b"", payload]``.
- Idle, it sends ``env-hello`` with its ``env_list`` at once and then every
  ``hello_interval_s`` (5 s). An ``env-start`` whose ``env`` it offers starts a
  :class:`~netgym_sim.core.session.Session` (the same one the in-process server runs) and is
  answered with the first ``env-measurement``; any other message gets the original
  worker's ``env-error`` "Unkown MSG type, Expecting env-start!" (an ``env-end`` is ignored:
  there is nothing to end). An env it does not offer gets "Unkown Environment!".
- Busy, each ``env-action`` of its client runs one step and is answered with the next
  measurement; after the session's last measurement it sends ``env-end``, then a hello
  (captures 12, 13). A :class:`~netgym_sim.errors.SimError` becomes one ``env-error``
  (its ``error_msg``, as in :mod:`netgym_sim.core.handlers`) and ends the session. No action for
  ``action_timeout_s`` (30 s) → ``env-error`` "Timeout: No env-action received!".
  netgym's ``env-end`` from its client, or a new ``env-start`` of that client (the original
  server forwards a restarted client's start to its old worker), abandons the session
  silently. Another client's message gets an ``env-error`` naming the busy slot.
- After every session, whatever ended it, the worker is idle and says so with a hello.
- A worker that is stopped (SIGTERM, Ctrl-C: :meth:`Worker.stop`) first sends each busy
  slot's client ``env-error`` "Worker Stopped, Try Again." (lingering up to
  :data:`STOP_LINGER_MS` for it to leave), so the server relays it and drops the route
  instead of leaving the client to its reply timeout (the original server's 60 s).
- Each hello also says which run of the slot sent it and how many ``env-start`` it has
  received (``"netgym_boot"``: a token drawn when the slot is made; ``"netgym_starts"``),
  keys the original server ignores: netgym's broker tells from them a hello that crossed a
  start on the wire (same run, fewer starts than sent) from a restarted worker (another run).
  A hello that falls due is sent only after the messages already waiting on the socket
  are handled (a start that came in while another slot was busy is answered, not greeted).
- Reconnection is ZeroMQ's: a restarted server is re-dialled and learns of the worker from
  its next hello. Messages are never queued for a server that is not connected
  (``IMMEDIATE``): they would reach a restarted server that knows none of their clients.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from netgym_client import protocol
from netgym_client.errors import ConfigError, ProtocolError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import IDLE_TIMEOUT_MSG
from netgym_sim.core.session import Session
from netgym_sim.core.warmup import warm_up
from netgym_sim.errors import SimError
from netgym_sim.limits import Limits
from netgym_sim.scenarios import SCENARIOS

__all__ = [
    "ACTION_TIMEOUT_S",
    "HELLO_INTERVAL_S",
    "NOT_A_START_MSG",
    "SESSION_KEY_ENV",
    "UNKNOWN_ENV_MSG",
    "WORKER_STOPPED_MSG",
    "Worker",
    "WorkerSlot",
    "worker_identity",
]

#: The environment variable ``python -m netgym_sim worker`` reads its password from when
#: ``--session-key`` is not given (a command line is readable by every user through ``ps``).
SESSION_KEY_ENV = "NETGYM_SESSION_KEY"

logger = logging.getLogger(__name__)

#: How often an idle worker says hello, in seconds (the original's 5 s).
HELLO_INTERVAL_S = 5.0
#: How long a busy worker waits for an action, in seconds (the original's 30 s).
ACTION_TIMEOUT_S = 30.0
#: The original worker's answer to anything but a start while it is idle.
NOT_A_START_MSG = "Unkown MSG type, Expecting env-start!"
#: The original worker's answer to a start for an environment it does not offer.
UNKNOWN_ENV_MSG = "Unkown Environment!"
#: How often the socket loop checks for shutdown at the latest, in ms.
POLL_MS = 100
#: What a stopped worker tells the client of each session it was running.
WORKER_STOPPED_MSG = "Worker Stopped, Try Again."
#: How long a stopping worker waits for those env-errors to leave, in ms.
STOP_LINGER_MS = 1000

Frames = list[bytes]


def worker_identity(session_name: str, worker_id: int, hostname: str | None = None) -> str:
    """The DEALER identity ``"<session_name>-<id>-<hostname>"``."""
    return f"{session_name}-{worker_id}-{hostname or socket.gethostname()}"


def _send(client: bytes, msg: protocol.Message) -> Frames:
    return [client, protocol.encode(msg, validate=False)]


class WorkerSlot:
    """One slot's state machine (sans-IO): payloads in, frames out.

    Args:
        env_list: The environments offered (names of :data:`~netgym_sim.scenarios.SCENARIOS`).
        hello_interval_s: Seconds between hellos while idle.
        action_timeout_s: Seconds a session waits for an action before it is ended.
        limits: The sessions' caps (:class:`~netgym_sim.limits.Limits`; default its defaults).
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        env_list: Sequence[str],
        *,
        hello_interval_s: float = HELLO_INTERVAL_S,
        action_timeout_s: float = ACTION_TIMEOUT_S,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env_list = list(env_list)
        self.limits = limits or Limits()
        self.hello_interval_s = hello_interval_s
        self.action_timeout_s = action_timeout_s
        self._clock = clock
        self.client: bytes | None = None
        self.session: Session | None = None
        self._next_hello_s = clock()  # the first hello goes out at once
        self._deadline_s = float("inf")
        self.boot = secrets.token_hex(8)
        self.starts_received = 0
        self.sessions_run = 0

    @property
    def _hello(self) -> bytes:
        extra = {"netgym_boot": self.boot, "netgym_starts": self.starts_received}
        return protocol.encode(protocol.EnvHello(self.env_list, extra=extra), validate=False)

    @property
    def hello_due(self) -> bool:
        """Whether the next :meth:`tick` says hello."""
        return self.session is None and self._clock() >= self._next_hello_s

    @property
    def busy(self) -> bool:
        """Whether a session is running."""
        return self.session is not None

    def _idle(self) -> Frames:
        """End the session (if any) and say hello at once."""
        self.client, self.session = None, None
        self._deadline_s = float("inf")
        self._next_hello_s = self._clock() + self.hello_interval_s
        return [b"", self._hello]

    def hello_now(self) -> None:
        """Say hello at the next :meth:`tick` if idle (a server has just been reached)."""
        self._next_hello_s = self._clock()

    def tick(self) -> list[Frames]:
        """The hello or timeout due now, if any."""
        now_s = self._clock()
        if self.session is None:
            if now_s < self._next_hello_s:
                return []
            self._next_hello_s = now_s + self.hello_interval_s
            return [[b"", self._hello]]
        if now_s < self._deadline_s:
            return []
        assert self.client is not None
        logger.info(
            "no action from %s for %.1f s; session ended", _t(self.client), self.action_timeout_s
        )
        return [_send(self.client, protocol.ErrorReply(IDLE_TIMEOUT_MSG)), self._idle()]

    def stop(self) -> list[Frames]:
        """The worker is stopping: ``env-error`` to the running session's client, if any."""
        if self.session is None or self.client is None:
            return []
        client = self.client
        logger.info("stopping: %s is told its session ended", _t(client))
        self.client, self.session = None, None
        self._deadline_s = float("inf")
        return [_send(client, protocol.ErrorReply(WORKER_STOPPED_MSG))]

    def seconds_to_next_event(self) -> float:
        """Seconds until :meth:`tick` has something to do (hello or timeout)."""
        due_s = self._next_hello_s if self.session is None else self._deadline_s
        return max(0.0, due_s - self._clock())

    def handle(self, client: bytes, payload: bytes) -> list[Frames]:
        """Answer one ``[client, payload]`` from the server; never raises."""
        try:
            obj = protocol.decode_json(payload)
            kind = obj.get("type")
            if kind == "env-start":
                self.starts_received += 1
            if self.session is None:
                return self._when_idle(client, kind, obj)
            return self._when_busy(client, kind, obj)
        except ProtocolError as exc:
            logger.info("%s sent a malformed message: %s", _t(client), exc)
            return self._fail(client, f"ProtocolError: {exc}")
        except SimError as exc:
            return self._fail(client, exc.error_msg)
        except Exception as exc:  # a bug must cost one session, not the worker
            logger.exception("internal error while serving %s", _t(client))
            return self._fail(client, f"InternalError: {type(exc).__name__}: {exc}")

    def _fail(self, client: bytes, text: str) -> list[Frames]:
        out = [_send(client, protocol.ErrorReply(text))]
        if self.session is not None and client == self.client:
            out.append(self._idle())
        elif self.session is None:
            out.append(self._idle())  # the server dropped the route: we are idle again
        return out

    def _when_idle(self, client: bytes, kind: Any, obj: dict[str, Any]) -> list[Frames]:
        if kind == "env-end":
            return []
        if kind != "env-start":
            return [_send(client, protocol.ErrorReply(NOT_A_START_MSG))]
        start = protocol.decode_object(obj)
        assert isinstance(start, protocol.EnvStart)
        env = start.env_config.get("env")
        if env not in self.env_list:
            text = f"{UNKNOWN_ENV_MSG} {env!r} is not in this worker's env_list {self.env_list}"
            return self._fail(client, text)
        session = Session(start.env_config, self.limits)
        records = session.first_measurement()
        self.sessions_run += 1
        logger.info("%s started a %s session", _t(client), session.env_name)
        return self._measured(client, session, records)

    def _measured(self, client: bytes, session: Session, records: list[Any]) -> list[Frames]:
        out = [_send(client, protocol.EnvMeasurement(network_stats=records))]
        if session.finished:
            logger.info("%s finished its session", _t(client))
            out += [_send(client, protocol.EnvEnd()), self._idle()]
        else:
            self.client, self.session = client, session
            self._deadline_s = self._clock() + self.action_timeout_s
        return out

    def _when_busy(self, client: bytes, kind: Any, obj: dict[str, Any]) -> list[Frames]:
        assert self.session is not None
        if client != self.client:
            text = f"this worker is running a session for {self.client!r}; try another worker"
            return [_send(client, protocol.ErrorReply(text))]
        if kind in ("env-end", "env-start"):
            logger.info("%s left its session (%s); abandoned", _t(client), kind)
            return [self._idle()]
        if kind != "env-action":
            logger.warning("%s sent %r during its session; ignored", _t(client), kind)
            return []
        action = protocol.decode_object(obj)
        assert isinstance(action, protocol.EnvAction)
        session = self.session
        records = session.step(action.action_list)
        return self._measured(client, session, records)


class Worker:
    """The socket side: one DEALER per slot, connected to a server's env port.

    Slot ``j`` of ``slots`` has the identity ``"<session_name>-<worker_id + j>-<hostname>"``.
    The slots of one worker share its thread: a step of one delays the others' (use one
    slot per process for full isolation).

    Args:
        server: ``tcp://host:port`` of the server's env (backend) port.
        session_name: Account name (PLAIN username, identity prefix).
        session_key: Account password.
        worker_id: The ``<id>`` of the first slot's identity.
        hostname: The identity's host part (default: this machine's name).
        env_list: Environments offered (default: every simulated one).
        slots: Simulation slots (DEALER sockets).
        hello_interval_s: Seconds between hellos while idle.
        action_timeout_s: Seconds a session waits for an action.
        limits: The sessions' caps.
        parent_pid: Exit when this process is no longer the parent (a supervising server
            that died without stopping its workers).
    """

    def __init__(
        self,
        server: str,
        *,
        session_name: str = "admin",
        session_key: str = "admin",
        worker_id: int = 0,
        hostname: str | None = None,
        env_list: Sequence[str] | None = None,
        slots: int = 1,
        hello_interval_s: float = HELLO_INTERVAL_S,
        action_timeout_s: float = ACTION_TIMEOUT_S,
        limits: Limits | None = None,
        parent_pid: int | None = None,
    ) -> None:
        if slots < 1:
            raise ConfigError("slots", f"must be >= 1, got {slots}")
        self.server = server
        self.session_name = session_name
        self.session_key = session_key
        self.identities = [
            worker_identity(session_name, worker_id + j, hostname) for j in range(slots)
        ]
        self.identity = self.identities[0]
        self.slots = [
            WorkerSlot(
                sorted(SCENARIOS) if env_list is None else env_list,
                hello_interval_s=hello_interval_s,
                action_timeout_s=action_timeout_s,
                limits=limits,
            )
            for _ in range(slots)
        ]
        self.slot = self.slots[0]
        self.parent_pid = parent_pid
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Worker:
        """Run :meth:`run` in a daemon thread; returns ``self``."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, name=f"worker-{self.identity}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask :meth:`run` to return and wait for its thread (if :meth:`start` made one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _dealer(self, context: zmq.Context[zmq.Socket[bytes]], identity: str) -> zmq.Socket[bytes]:
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IDENTITY, identity.encode())
        sock.setsockopt(zmq.PLAIN_USERNAME, self.session_name.encode())
        sock.setsockopt(zmq.PLAIN_PASSWORD, self.session_key.encode())
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        return sock

    def run(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` (or :meth:`stop`) is set."""
        stop_event = stop or self._stop
        if "nqos_split" in self.slot.env_list or "qos_steer" in self.slot.env_list:
            warm_up()  # before the first hello: no session of this worker waits for numba
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        events = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        sockets = [self._dealer(context, identity) for identity in self.identities]
        monitors = [sock.get_monitor_socket(events | zmq.EVENT_DISCONNECTED) for sock in sockets]
        poller = zmq.Poller()
        for sock, monitor in zip(sockets, monitors, strict=True):
            sock.connect(self.server)
            poller.register(sock, zmq.POLLIN)
            poller.register(monitor, zmq.POLLIN)
        logger.info(
            "worker %s dialling %s with %d slot(s) offering %s",
            self.identity,
            self.server,
            len(sockets),
            self.slot.env_list,
        )
        modules = len(sys.modules)
        try:
            while not stop_event.is_set():
                if self.parent_pid is not None and os.getppid() != self.parent_pid:
                    logger.warning("worker %s: its server process is gone; exiting", self.identity)
                    break
                soonest_s = min(slot.seconds_to_next_event() for slot in self.slots)
                ready = dict(poller.poll(min(POLL_MS, int(soonest_s * 1000) + 1)))
                for sock, monitor, slot in zip(sockets, monitors, self.slots, strict=True):
                    if monitor in ready:
                        self._log_event(recv_monitor_message(monitor), slot)
                    out: list[Frames] = []
                    # a start that came while another slot was busy is answered before a
                    # hello that fell due meanwhile could tell the server this slot is idle
                    if sock in ready or (slot.hello_due and sock.poll(0, zmq.POLLIN)):
                        frames = sock.recv_multipart()
                        if len(frames) == 2:
                            out = slot.handle(frames[0], frames[1])
                        else:
                            logger.warning("the server sent %d frames; expected 2", len(frames))
                    out += slot.tick()
                    self._send(sock, out)
                if len(sys.modules) != modules:
                    # a first session of an env loaded its model (numba's kernel brings ~10**6
                    # objects): keep the cycle collector from rescanning them ever after
                    modules = len(sys.modules)
                    gc.freeze()
        finally:
            for sock, monitor, slot in zip(sockets, monitors, self.slots, strict=True):
                told = slot.stop()
                self._send(sock, told)
                sock.disable_monitor()
                monitor.close(linger=0)
                sock.close(linger=STOP_LINGER_MS if told else 0)
            context.term()

    def _send(self, sock: zmq.Socket[bytes], out: list[Frames]) -> None:
        for frames in out:
            try:
                sock.send_multipart(frames, zmq.NOBLOCK)
            except zmq.Again:  # a hello before the handshake is simply repeated later
                level = logging.DEBUG if frames[0] == b"" else logging.WARNING
                logger.log(level, "not connected to %s: message dropped", self.server)

    def _log_event(self, event: Mapping[str, Any], slot: WorkerSlot) -> None:
        kind = event.get("event")
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            logger.error("%s refused the credentials of %s", self.server, self.session_name)
        elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            logger.debug("worker %s connected to %s", self.identity, self.server)
            slot.hello_now()
        elif kind == zmq.EVENT_DISCONNECTED:
            logger.info("worker %s lost %s; redialling", self.identity, self.server)
