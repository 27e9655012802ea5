"""The server as a broker: clients on the frontend, env worker processes on the env port.

Rules:
- Two ROUTER sockets like the real server's (PROTOCOL.md §1): the frontend for clients and
  the backend (env port) for workers, both PLAIN servers checked by one ZAP authenticator
  over the accounts' passwords, both with ``ROUTER_HANDOVER`` (a restarted peer with the
  same identity takes over its route). Routing is :class:`~netgym_sim.serving.broker.Broker`'s.
- One thread owns both sockets and only moves bytes: every simulation step runs in a
  worker process, so a heavy or broken session costs its own worker only.
- ``workers`` local worker processes (``python -m netgym_sim worker``) of
  ``slots_per_worker`` slots each (identities ``"<official>-<n>-<hostname>.local"``, n = 0, 1, …
  over all slots) are started and supervised: a worker that exits is forgotten at once
  (the clients of its slots get "Worker Restarted, Try Again.") and restarted, after
  a back-off that doubles while it keeps dying young. Remote workers may register on the
  env port at any time.
- ``stop()`` wakes the thread through an inproc socket, stops the workers (SIGTERM, then
  SIGKILL after ``WORKER_STOP_S``) and releases every socket.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

import zmq

from netgym_client import protocol
from netgym_client.errors import ConfigError, TransportError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import DEFAULT_ACCOUNTS, Account, load_accounts
from netgym_sim.limits import Limits
from netgym_sim.serving.auth import Authenticator
from netgym_sim.serving.broker import BACKEND, FRONTEND, HELLO_EXPIRY_S, Broker, Outgoing
from netgym_sim.serving.routes import RouteBook
from netgym_sim.serving.server import (
    RCVHWM,
    SNDHWM,
    ConnectionWatch,
    ServingThread,
    bind_router,
    connection_of,
    load_secret_key,
    plain_in_clear,
)
from netgym_sim.serving.worker import (
    ACTION_TIMEOUT_S,
    HELLO_INTERVAL_S,
    SESSION_KEY_ENV,
    worker_identity,
)

__all__ = ["BrokerServer"]

logger = logging.getLogger(__name__)

#: How often the loop wakes up to expire workers, supervise and check for shutdown, in ms.
POLL_MS = 100
#: Messages taken from one socket before the other gets its turn.
BATCH = 64
#: A worker that dies sooner than this after its start is restarted after a growing delay.
YOUNG_S = 5.0
#: Longest delay before a restart, in seconds.
MAX_BACKOFF_S = 10.0
#: How long a worker has to exit on SIGTERM before it is killed, in seconds.
WORKER_STOP_S = 5.0


@dataclass
class _Local:
    worker_id: int
    identity: bytes
    slot_identities: list[bytes]
    proc: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    restart_at_s: float = 0.0
    backoff_s: float = 0.0
    restarts: int = 0


class BrokerServer(ServingThread):
    """A NetworkGym-compatible server relaying each client to an env worker.

    Args:
        host: Interface both ports bind (default loopback only).
        port: Client (frontend) port; 0 picks a free one.
        env_port: Worker (backend) port; 0 picks a free one.
        workers: Local worker processes to start and supervise.
        slots_per_worker: Sessions each local worker process runs at once (one DEALER
            each); the local workers' capacity is ``workers * slots_per_worker``.
        accounts: Accounts by name (default :data:`~netgym_sim.core.backend.DEFAULT_ACCOUNTS`).
        accounts_file: A CSV in the real server's format; overrides ``accounts``.
        official_account: The account whose workers may offer any env; local workers use it.
        hello_interval_s: Local workers' hello interval.
        hello_expiry_s: Idle workers silent for this long are forgotten.
        action_timeout_s: Local workers' wait for an action.
        worker_hostname: Host part of the local workers' identities (default: this machine's
            name + ``.local``, so that they never take over the route of a worker started
            on this machine by hand, e.g. the original's ``admin-1-<hostname>``).
        handover: As :class:`~netgym_sim.serving.server.FakeServer`'s, on both ports.
        limits: Per-request caps: the frontend applies ``max_message_bytes``, the local
            workers' sessions ``max_users`` and ``max_trace_points``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        env_port: int = 0,
        workers: int = 0,
        slots_per_worker: int = 1,
        accounts: Mapping[str, Account] | None = None,
        accounts_file: str | os.PathLike[str] | None = None,
        official_account: str = "admin",
        hello_interval_s: float = HELLO_INTERVAL_S,
        hello_expiry_s: float = HELLO_EXPIRY_S,
        action_timeout_s: float = ACTION_TIMEOUT_S,
        worker_hostname: str | None = None,
        limits: Limits | None = None,
        curve_secret_key_file: str | os.PathLike[str] | None = None,
        handover: bool = True,
    ) -> None:
        if accounts_file is not None:
            accounts = load_accounts(accounts_file)
        self.accounts = dict(accounts if accounts is not None else DEFAULT_ACCOUNTS)
        if workers < 0:
            raise ConfigError("workers", f"must be >= 0, got {workers}")
        if slots_per_worker < 1:
            raise ConfigError("slots_per_worker", f"must be >= 1, got {slots_per_worker}")
        self.slots_per_worker = slots_per_worker
        if workers and official_account not in self.accounts:
            raise ConfigError(
                "official_account",
                f"local workers sign in as {official_account!r}, which the accounts lack",
            )
        super().__init__(host, port)
        self.handover = handover
        self.env_port = env_port
        self._curve_keys = (
            None if curve_secret_key_file is None else load_secret_key(curve_secret_key_file)
        )
        self.limits = limits or Limits()
        self.broker = Broker(
            self.accounts,
            official_account=official_account,
            hello_expiry_s=hello_expiry_s,
            limits=self.limits,
        )
        self.official_account = official_account
        self.hello_interval_s = hello_interval_s
        self.action_timeout_s = action_timeout_s
        hostname = worker_hostname or f"{socket.gethostname()}.local"
        self._worker_hostname = hostname
        self._locals = []
        for i in range(workers):
            ids = [
                worker_identity(official_account, i * slots_per_worker + j, hostname)
                for j in range(slots_per_worker)
            ]
            local = _Local(i * slots_per_worker, ids[0].encode(), [x.encode() for x in ids])
            self._locals.append(local)
            for slot in local.slot_identities:
                self.broker.groups[slot] = local.identity
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._auth: Authenticator | None = None
        self._sockets: list[zmq.Socket[bytes]] = []
        self._watches: list[ConnectionWatch] = []

    @property
    def env_address(self) -> str:
        """``tcp://host:env_port`` workers connect to (valid once started)."""
        return f"tcp://{self.host}:{self.env_port}"

    def worker_pids(self) -> dict[bytes, int]:
        """The process id of each running local worker, by identity."""
        return {w.identity: w.proc.pid for w in self._locals if w.proc and w.proc.poll() is None}

    def restarts(self) -> int:
        """How many times local workers were restarted."""
        return sum(w.restarts for w in self._locals)

    def start(self) -> BrokerServer:
        """Bind both ports, start authentication, the serving thread and the workers.

        Raises:
            TransportError: A port cannot be bound.
        """
        if self._thread is not None:
            return self
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        curve = self._curve_keys
        auth = Authenticator(
            context,
            {a.name: a.password for a in self.accounts.values()},
            None if curve is None else curve[0].decode(),
        )
        auth.start()
        self._context, self._auth = context, auth
        for side, encrypted in (("clients", curve is not None), ("workers", False)):
            if plain_in_clear(self.host, encrypted):
                logger.warning(
                    "serving %s PLAIN on %s: passwords cross the network in clear", side, self.host
                )
        try:
            # clients' payloads up to twice the limit are read and refused with env-error;
            # workers' measurements may be as large as the wire codec allows. Clients may
            # use CURVE; workers (this machine's or remote ones) log in with PLAIN.
            frontend, self.port = bind_router(
                context,
                self.host,
                self.port,
                max_message_bytes=2 * self.limits.max_message_bytes,
                curve_keys=curve,
                handover=self.handover,
                # a client that never reads holds at most SNDHWM measurements
                options={zmq.RCVHWM: RCVHWM, zmq.SNDHWM: SNDHWM},
            )
            self._sockets.append(frontend)
            backend, self.env_port = bind_router(
                context,
                self.host,
                self.env_port,
                max_message_bytes=2 * protocol.MAX_MESSAGE_BYTES,
                handover=self.handover,
            )
            self._sockets.append(backend)
        except TransportError:
            self._release()
            raise
        self._watches = [ConnectionWatch(context, frontend), ConnectionWatch(context, backend)]
        for local in self._locals:
            self._spawn(local)
        self._start_thread(
            context, self._serve, frontend, backend, name=f"netgym-broker-{self.port}"
        )
        logger.info(
            "netgym_sim broker serving on %s, env workers on %s (%d local)",
            self.address,
            self.env_address,
            len(self._locals),
        )
        return self

    def _worker_server(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "*", "") else self.host
        return f"tcp://{host}:{self.env_port}"

    def _spawn(self, local: _Local) -> None:
        account = self.accounts[self.official_account]
        command = [
            sys.executable,
            "-m",
            "netgym_sim",
            "worker",
            "--server",
            self._worker_server(),
            "--session-name",
            account.name,
            "--id",
            str(local.worker_id),
            "--slots",
            str(self.slots_per_worker),
            "--hello-interval",
            str(self.hello_interval_s),
            "--action-timeout",
            str(self.action_timeout_s),
            "--log-level",
            logging.getLevelName(logging.getLogger("netgym_sim").getEffectiveLevel()),
        ]
        command += ["--hostname", self._worker_hostname]
        command += ["--parent-pid", str(os.getpid())]  # no orphans if this process dies
        command += ["--max-users", str(self.limits.max_users)]
        command += ["--max-trace-points", str(self.limits.max_trace_points)]
        # the password goes through the environment: a command line is readable by every
        # user of the machine (ps)
        env = {**os.environ, SESSION_KEY_ENV: account.password}
        local.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)
        local.started_s = time.monotonic()
        logger.info("started worker %s (pid %d)", _t(local.identity), local.proc.pid)

    def _supervise(self) -> list[Outgoing]:
        out: list[Outgoing] = []
        now_s = time.monotonic()
        for local in self._locals:
            if local.proc is not None:
                code = local.proc.poll()
                if code is None:
                    continue
                logger.warning("worker %s exited with %s; restarting it", _t(local.identity), code)
                for slot in local.slot_identities:
                    out += self.broker.worker_lost(slot)
                young = now_s - local.started_s < YOUNG_S
                local.backoff_s = (
                    min(MAX_BACKOFF_S, max(0.5, 2 * local.backoff_s)) if young else 0.0
                )
                local.restart_at_s = now_s + local.backoff_s
                local.proc = None
            if now_s >= local.restart_at_s and not self._stop.is_set():
                local.restarts += 1
                self._spawn(local)
        return out

    def _serve(
        self, frontend: zmq.Socket[bytes], backend: zmq.Socket[bytes], waker: zmq.Socket[bytes]
    ) -> None:
        try:
            self._loop(frontend, backend, waker)
        finally:
            waker.close(linger=0)
            for watch in self._watches:
                watch.close()
            self._watches = []

    def _loop(
        self, frontend: zmq.Socket[bytes], backend: zmq.Socket[bytes], waker: zmq.Socket[bytes]
    ) -> None:
        poller = zmq.Poller()
        for sock in (frontend, backend, waker):
            poller.register(sock, zmq.POLLIN)
        next_chores_s = 0.0
        # a message goes out only while the connection that last spoke for its identity (as
        # its own account) is open: never to whoever took the identity after it left
        books = {FRONTEND: RouteBook(), BACKEND: RouteBook()}
        while not self._stop.is_set():
            try:
                ready = dict(poller.poll(POLL_MS))
                out: list[Outgoing] = []
                self._note_closed(books)
                if frontend in ready:
                    for frames, user, conn in _drain(frontend, parts=2):
                        _note(books[FRONTEND], frames[0], user, conn)
                        out += self.broker.from_client(frames, user)
                if backend in ready:
                    for frames, user, conn in _drain(backend, parts=3):
                        _note(books[BACKEND], frames[0], user, conn)
                        out += self.broker.from_worker(frames, user)
                now_s = time.monotonic()
                if now_s >= next_chores_s:
                    next_chores_s = now_s + POLL_MS / 1000
                    out += self.broker.expire()
                    out += self._supervise()
                if out:
                    self._note_closed(books)
                for side, frames in out:
                    if books[side].may_send(frames[0]):
                        (backend if side == BACKEND else frontend).send_multipart(frames)
                    else:
                        logger.warning(
                            "message to %s held back: its connection has closed", _t(frames[0])
                        )
            except zmq.ZMQError as exc:
                if self._stop.is_set():
                    break
                logger.error("socket error (continuing): %s", exc)
            except Exception:  # a bug must never stop the broker for everyone
                logger.exception("internal error in the broker loop (continuing)")

    def _note_closed(self, books: dict[str, RouteBook]) -> None:
        if len(self._watches) == 2:
            for side, watch in zip((FRONTEND, BACKEND), self._watches, strict=True):
                watch.feed(books[side])

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving, stop the local workers, release everything (idempotent)."""
        self._stop_thread(timeout_s)
        self._stop_workers()
        self._release()

    def _stop_workers(self) -> None:
        running = [w.proc for w in self._locals if w.proc is not None]
        for proc in running:
            if proc.poll() is None:
                proc.terminate()
        deadline_s = time.monotonic() + WORKER_STOP_S
        for proc in running:
            try:
                proc.wait(max(0.0, deadline_s - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker pid %d ignored SIGTERM; killed", proc.pid)
                proc.kill()
                proc.wait(WORKER_STOP_S)
        for local in self._locals:
            local.proc = None

    def _release(self) -> None:
        for sock in self._sockets:
            sock.close(linger=0)
        self._sockets = []
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        if self._context is not None:
            self._context.term()
            self._context = None


def _note(book: RouteBook, identity: bytes, user: str | None, conn: int | None) -> None:
    """A message of ``identity`` on ``conn``: its route, if it spoke as its own account."""
    if user is None or identity.decode("utf-8", errors="replace").split("-")[0] == user:
        book.arrived(identity, conn)


def _drain(sock: zmq.Socket[bytes], parts: int) -> list[tuple[list[bytes], str | None, int | None]]:
    """Up to :data:`BATCH` messages waiting on ``sock``, with their ZAP User-Id and connection.

    A message of other than ``parts`` frames is refused by the broker whatever it holds: its
    payload frames are not copied (empty stand-ins keep their count for the refusal).
    """
    batch: list[tuple[list[bytes], str | None, int | None]] = []
    for _ in range(BATCH):
        try:
            received = sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            break
        try:
            user: str | None = str(received[-1].get("User-Id"))
        except zmq.ZMQError:  # no metadata: not an authenticated connection
            user = None
        frames = (
            [part.bytes for part in received]
            if len(received) == parts
            else [received[0].bytes] + [b""] * (len(received) - 1)
        )
        batch.append((frames, user, connection_of(received[-1])))
    return batch
