"""The broker's routing state: clients on the frontend, env workers on the backend (sans-IO).

Rules (PROTOCOL.md §4, without the original server's known defects):
- Frontend, for every client message, exactly as the in-process server (the same
  :meth:`~netgym_sim.core.backend.Backend.check_identity` and texts of
  :mod:`netgym_sim.core.backend`):
  refused identity → ``env-error``; malformed payload → ``env-error`` "ProtocolError: …";
  a type a client may not send → ``env-error`` "unknown msg type".
- ``env-start`` of a routed client: the start still goes to its worker (as the original
  server does), the client gets "…Mapping Exits…" and the route is dropped. Otherwise
  ``custom`` becomes ``"<account>-custom"`` and the first idle worker (in registration
  order) offering the env gets the client and the start bytes, unchanged. Among slots the
  broker knows to share a process (its local multi-slot workers, :attr:`Broker.groups`),
  those of the least busy process come first, so sessions spread over the cores. No idle worker →
  ``no-available-worker`` without msg; idle workers, none offering it → with a msg listing
  what they offer (the asking account's own workers by identity, every other worker under
  one anonymous name: worker identities are not told to other accounts).
- ``env-action`` of a routed client → its worker (bytes unchanged); unrouted → "…mapping
  removed." (malformed or not). A malformed action of a routed client ends its session: the
  route is dropped, the worker is sent ``env-end`` (it abandons the session) and the client
  gets the ``env-error``, as a bad action ends an ns-3 session behind the original server.
  netgym's ``env-end`` from a client drops its route, is passed to the worker
  (which abandons the session) and is answered with ``env-end``, as in-process.
- Backend: ``env-hello`` makes a worker idle; a non-official account's worker offers only
  ``["<account>-custom"]``, an official worker's ``custom`` is renamed; a hello from a worker
  that has a client means it restarted: the client gets "Worker Restarted, Try Again." and
  the route is dropped, unless the hello crossed the start on the wire. A netgym worker's
  hello names its run and the starts it had received (``netgym_boot``, ``netgym_starts``):
  the same run with fewer starts than the broker sent it crossed a start (the worker may
  still be loading it), another run is a restart. A hello without them (an ns-3 worker's)
  crossed when it came within ``hello_grace_s`` of the start, before the worker's first
  answer. A worker that has no
  client and sent no hello for ``hello_expiry_s`` is forgotten.
- A worker's message about a client is relayed only while that client is routed to that
  very worker (a late message of an abandoned session never reaches a client's new
  session). ``env-measurement`` bytes are relayed unchanged; ``env-error`` is relayed and
  drops the route; ``env-end`` drops the route and is not relayed; other types are relayed.
  After its session a worker is busy until its next hello.
- A worker's identity must name the account its connection logged in as (its privileges
  follow the account); worker ids are not limited by ``Max_Instances``, as in the original.
- :meth:`Broker.worker_lost` (a supervised worker process died) drops the worker and tells
  its client "Worker Restarted, Try Again.".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from netgym_client import protocol
from netgym_client.errors import ProtocolError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import (
    DEFAULT_ACCOUNTS,
    MAPPING_EXISTS_MSG,
    NO_MAPPING_MSG,
    UNKNOWN_TYPE_MSG,
    WORKER_RESTARTED_MSG,
    Account,
    Backend,
    no_worker_text,
)
from netgym_sim.core.handlers import CLIENT_TYPES
from netgym_sim.limits import Limits

__all__ = [
    "BACKEND",
    "FRONTEND",
    "HELLO_EXPIRY_S",
    "WORKER_RESTARTED_MSG",
    "Broker",
    "Outgoing",
]

logger = logging.getLogger(__name__)

#: The socket an outgoing message leaves by.
FRONTEND = "frontend"
BACKEND = "backend"

#: ``(socket, frames)``: frames as the ROUTER sends them (routing id first).
Outgoing = tuple[str, list[bytes]]

#: An idle worker silent for longer than this is forgotten (the original's 60 s).
HELLO_EXPIRY_S = 60.0
#: A hello this soon after the broker sent a worker its start (and before the worker's first
#: answer) crossed the start on the wire: the worker was idle when it sent it.
HELLO_GRACE_S = 2.0

# A payload whose first key is "type": the worker's message type without parsing megabytes.
_LEADING_TYPE = re.compile(rb'\s*\{\s*"type"\s*:\s*"([A-Za-z-]{1,40})"\s*,')
_END_BYTES = protocol.encode(protocol.EnvEnd())


@dataclass
class WorkerEntry:
    """What the broker knows of one worker (one DEALER, one simulation slot)."""

    identity: bytes
    env_list: list[str]
    client: bytes | None
    idle: bool
    last_hello_s: float
    assigned_s: float = 0.0
    heard_since_assigned: bool = False
    #: The run of the worker its hellos name (``netgym_boot``; None: a worker that names none).
    boot: str | None = None
    #: ``env-start`` messages sent to it in that run.
    starts_sent: int = 0


def _reply(identity: bytes, msg: protocol.Message) -> Outgoing:
    return (FRONTEND, [identity, protocol.encode(msg, validate=False)])


class Broker:
    """Routes clients to env workers; the caller owns the two ROUTER sockets.

    Args:
        accounts: Known accounts by name (clients and workers authenticate alike).
        official_account: The account whose workers may offer any environment.
        custom_env_name: The env name that is made per-account (``"<account>-custom"``).
        hello_expiry_s: An idle worker is forgotten after this long without a hello.
        hello_grace_s: A hello this soon after a start, before anything else from that
            worker, was sent before the start arrived: it is not a restart.
        limits: The in-process server's caps; the frontend applies ``max_message_bytes``
            (the sessions' own caps are the workers').
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        accounts: Mapping[str, Account] = DEFAULT_ACCOUNTS,
        *,
        official_account: str = "admin",
        custom_env_name: str = "custom",
        hello_expiry_s: float = HELLO_EXPIRY_S,
        hello_grace_s: float = HELLO_GRACE_S,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # the in-process backend's identity rules, shared rather than copied
        self._identities = Backend(accounts, max_sessions=0)
        self.max_message_bytes = (limits or Limits()).max_message_bytes
        self.official_account = official_account
        self.custom_env_name = custom_env_name
        self.hello_expiry_s = hello_expiry_s
        self.hello_grace_s = hello_grace_s
        self._clock = clock
        self.workers: dict[bytes, WorkerEntry] = {}
        self.routes: dict[bytes, bytes] = {}  # client identity → worker identity
        #: Slots known to share one process (by identity): the least busy process is chosen
        #: first; a slot not listed is a process of its own (the original's plain order).
        self.groups: dict[bytes, bytes] = {}

    # ------------------------------------------------------------------ frontend
    def from_client(self, frames: list[bytes], user: str | None = None) -> list[Outgoing]:
        """Answer the frames the frontend ROUTER received (``[client, payload]``).

        Args:
            frames: The frames, routing id first.
            user: The account the connection logged in as (ZAP User-Id), when known.
        """
        identity = frames[0]
        if len(frames) != 2:
            text = f"ProtocolError: expected 1 payload frame, got {len(frames) - 1}"
            return [_reply(identity, protocol.ErrorReply(text))]
        refusal = self._identities.check_identity(identity, user)
        if refusal is not None:
            return [_reply(identity, protocol.ErrorReply(refusal))]
        payload = frames[1]
        kind: object = None
        try:
            obj = protocol.decode_json(payload, max_bytes=self.max_message_bytes)
            kind = obj.get("type")
            if isinstance(kind, str) and kind not in CLIENT_TYPES:
                return [_reply(identity, protocol.ErrorReply(UNKNOWN_TYPE_MSG))]
            msg = protocol.decode_object(obj)
        except ProtocolError as exc:
            logger.info("%s sent a malformed message: %s", _t(identity), exc)
            out: list[Outgoing] = []
            if kind == "env-action":
                worker = self._drop_route(identity)
                if worker is None:  # no session: the original's answer to any action
                    return [_reply(identity, protocol.ErrorReply(NO_MAPPING_MSG))]
                # the session ends with the error, as when ns-3 aborts on a bad action
                out.append((BACKEND, [worker, identity, _END_BYTES]))
            return [*out, _reply(identity, protocol.ErrorReply(f"ProtocolError: {exc}"))]
        if isinstance(msg, protocol.EnvStart):
            return self._start(identity, msg, payload)
        if isinstance(msg, protocol.EnvAction):
            worker = self.routes.get(identity)
            if worker is None:
                return [_reply(identity, protocol.ErrorReply(NO_MAPPING_MSG))]
            return [(BACKEND, [worker, identity, payload])]
        # netgym's own env-end (backend.py rule 5): end the session here and at the worker
        out = []
        worker = self._drop_route(identity)
        if worker is not None:
            logger.info("%s ended its session on %s", _t(identity), _t(worker))
            out.append((BACKEND, [worker, identity, _END_BYTES]))
        out.append(_reply(identity, protocol.EnvEnd()))
        return out

    def _drop_route(self, client: bytes) -> bytes | None:
        """Drop ``client``'s route; its worker stays busy until its next hello."""
        worker = self.routes.pop(client, None)
        entry = self.workers.get(worker) if worker is not None else None
        if entry is not None and entry.client == client:
            entry.client = None
        return worker

    def _start(self, identity: bytes, msg: protocol.EnvStart, payload: bytes) -> list[Outgoing]:
        worker = self._drop_route(identity)
        if worker is not None:
            logger.info("%s restarted while routed to %s; route dropped", _t(identity), _t(worker))
            self._count_start(worker)
            return [
                (BACKEND, [worker, identity, payload]),
                _reply(identity, protocol.ErrorReply(MAPPING_EXISTS_MSG)),
            ]
        env = msg.env_config.get("env")
        account = identity.decode("utf-8", errors="replace").split("-")[0]
        if env == self.custom_env_name:
            env = f"{account}-{self.custom_env_name}"
        idle = [w for w in self.workers.values() if w.idle]
        if not idle:
            return [_reply(identity, protocol.NoWorkerReply())]
        for entry in self._by_load(idle):
            if env in entry.env_list:
                entry.idle = False
                entry.client = identity
                entry.assigned_s = self._clock()
                entry.heard_since_assigned = False
                entry.starts_sent += 1
                self.routes[identity] = entry.identity
                logger.info("%s → %s (%s)", _t(identity), _t(entry.identity), env)
                return [(BACKEND, [entry.identity, identity, payload])]
        # another account's worker identities are its own business: they are listed under
        # one anonymous name, by the environments they offer
        listing: dict[bytes | str, list[str]] = {}
        for entry in idle:
            own = entry.identity.decode("utf-8", errors="replace").split("-")[0] == account
            name = entry.identity if own else "other-workers"
            offered = listing.setdefault(name, [])
            offered += [e for e in entry.env_list if e not in offered]
        return [_reply(identity, protocol.NoWorkerReply(msg=no_worker_text(str(env), listing)))]

    def _count_start(self, worker: bytes) -> None:
        entry = self.workers.get(worker)
        if entry is not None:
            entry.starts_sent += 1

    def _by_load(self, idle: list[WorkerEntry]) -> list[WorkerEntry]:
        """Idle workers, those of the least busy process first (stable: registration order)."""
        if not self.groups:
            return idle
        busy: dict[bytes, int] = {}
        for entry in self.workers.values():
            if not entry.idle:
                group = self.groups.get(entry.identity, entry.identity)
                busy[group] = busy.get(group, 0) + 1
        return sorted(idle, key=lambda e: busy.get(self.groups.get(e.identity, e.identity), 0))

    # ------------------------------------------------------------------ backend
    def from_worker(self, frames: list[bytes], user: str | None = None) -> list[Outgoing]:
        """Handle the frames the backend ROUTER received (``[worker, client, payload]``).

        Args:
            frames: The frames, routing id first.
            user: The account the connection logged in as (ZAP User-Id), when known: a
                worker's identity must name that account (its privileges follow it).
        """
        worker = frames[0]
        if len(frames) != 3:
            logger.warning("worker %s sent %d frames; expected 3", _t(worker), len(frames))
            return []
        account = worker.decode("utf-8", errors="replace").split("-")[0]
        if user is not None and account != user:  # no worker ids limit: the original has none
            logger.warning("worker %s refused: it logged in as %r", _t(worker), user)
            return []
        client, payload = frames[1], frames[2]
        sniffed = _LEADING_TYPE.match(payload)
        kind = sniffed.group(1).decode() if sniffed else None
        if kind != "env-measurement":  # small messages: parse them whole
            try:
                obj = protocol.decode_json(payload)
            except ProtocolError as exc:
                logger.warning("worker %s sent a malformed message: %s", _t(worker), exc)
                return []
            kind = obj.get("type")
            if kind == "env-hello":
                return self._hello(worker, obj)
        entry = self.workers.get(worker)
        if entry is None or entry.client is None or entry.client != client:
            logger.info(
                "dropped a %r from %s about %s: not routed there", kind, _t(worker), _t(client)
            )
            return []
        entry.heard_since_assigned = True
        if kind == "env-end":
            self._unroute(entry)
            return []
        if kind == "env-error":
            self._unroute(entry)
        return [(FRONTEND, [client, payload])]

    def _hello(self, worker: bytes, obj: dict[str, object]) -> list[Outgoing]:
        try:
            hello = protocol.decode_object(obj)
        except ProtocolError as exc:
            logger.warning("worker %s sent a malformed hello: %s", _t(worker), exc)
            return []
        if not isinstance(hello, protocol.EnvHello):  # pragma: no cover - type was env-hello
            return []
        account = worker.decode("utf-8", errors="replace").split("-")[0]
        custom = f"{account}-{self.custom_env_name}"
        if account != self.official_account:
            env_list = [custom]
        else:
            env_list = [custom if e == self.custom_env_name else e for e in hello.env_list]
        boot, starts = hello.extra.get("netgym_boot"), hello.extra.get("netgym_starts")
        counted = isinstance(boot, str) and type(starts) is int
        out: list[Outgoing] = []
        entry = self.workers.get(worker)
        if entry is None:
            logger.info("worker %s registered offering %s", _t(worker), env_list)
            entry = WorkerEntry(worker, env_list, None, True, self._clock())
            self.workers[worker] = entry
        elif entry.client is not None:
            if self._crossed(entry, boot if counted else None, starts):
                return []
            out = self._restarted(entry)
        if counted:  # the worker's own count: the starts it has, from this run on
            assert isinstance(boot, str) and isinstance(starts, int)
            entry.boot, entry.starts_sent = boot, starts
        entry.env_list = env_list
        entry.idle = True
        entry.last_hello_s = self._clock()
        return out

    def _crossed(self, entry: WorkerEntry, boot: str | None, starts: object) -> bool:
        """Whether a hello crossed the start on the wire (sent idle, before the start came).

        A netgym worker says so itself: its hello names its run (``boot``) and the starts it
        had received; the same run with fewer starts than were sent to it was sent before the
        last start arrived (however long that start then took to load), and another run is a
        restart. For other workers (ns-3's), a hello within ``hello_grace_s`` of the start and
        before any answer is taken as crossed.
        """
        if boot is not None and isinstance(starts, int):
            if boot == entry.boot and starts < entry.starts_sent:
                logger.debug("a hello of %s crossed its env-start; ignored", _t(entry.identity))
                return True
            return False
        recent = self._clock() - entry.assigned_s < self.hello_grace_s
        if recent and not entry.heard_since_assigned:
            logger.debug("a hello of %s crossed its env-start; ignored", _t(entry.identity))
            return True
        return False

    def _unroute(self, entry: WorkerEntry) -> None:
        if entry.client is not None and self.routes.get(entry.client) == entry.identity:
            del self.routes[entry.client]
        entry.client = None

    def _restarted(self, entry: WorkerEntry) -> list[Outgoing]:
        client = entry.client
        self._unroute(entry)
        if client is None:
            return []
        logger.info(
            "worker %s restarted; its client %s is told to try again",
            _t(entry.identity),
            _t(client),
        )
        return [_reply(client, protocol.ErrorReply(WORKER_RESTARTED_MSG))]

    def worker_lost(self, worker: bytes) -> list[Outgoing]:
        """Forget a worker whose process died; its client (if any) is told to try again."""
        entry = self.workers.pop(worker, None)
        if entry is None:
            return []
        return self._restarted(entry)

    def expire(self) -> list[Outgoing]:
        """Forget client-less workers without a hello for ``hello_expiry_s``."""
        now_s = self._clock()
        for identity, entry in list(self.workers.items()):
            if entry.client is None and now_s - entry.last_hello_s > self.hello_expiry_s:
                logger.info(
                    "worker %s sent no hello for %.0f s; forgotten",
                    _t(identity),
                    self.hello_expiry_s,
                )
                del self.workers[identity]
        return []

    def idle_workers(self) -> list[bytes]:
        """The idle workers, in the order they are offered to clients."""
        return [w.identity for w in self.workers.values() if w.idle]
