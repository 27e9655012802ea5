"""The fake server's state: accounts, the session table, limits and expiry.

Rules (PROTOCOL.md §4, in the real server's order, without its known defects):
1. The identity is split on ``-``: an unknown account (first part) gets ``env-error``
   "Unkown user account" (sic, as the original). Over ZeroMQ the account must also be the
   user the connection authenticated as (the ZAP User-Id of the frame): another account's
   identity is refused without touching that identity's session, so one account can neither
   act in nor end another's session. The identity must then be exactly
   ``<account>-<instance>`` with a canonical non-negative integer instance (``0``, ``7``; not
   ``+1``, ``-3``, ``07``, ``a-0``), and the instance must be < the account's
   ``Max_Instances`` (the original's text for the limit). Workers' identities,
   ``<account>-<instance>-<host>``, follow the same rules (:meth:`Backend.check_worker_identity`).
   ZeroMQ hands a live route over to a new connection with the same identity (a restarted
   client); when that connection is another account's, the session is left as it was and
   its replies are held back until its own account's frames arrive again
   (:meth:`Backend.route_ok`).
2. ``env-start``: if the identity already has a session (a client killed and restarted
   with the same identity), that session is dropped and the client gets ``env-error``
   "…Worker Mapping Exits…"; the original client answers by sending ``env-start`` again
   one second later, which then starts afresh. Otherwise the scenario is built and its
   first measurement sent. A full server answers ``no-available-worker`` (no msg); an env
   we do not simulate answers ``no-available-worker`` with the original's msg listing what
   the simulated worker offers. As the original routes ``custom`` per account
   (``"<account>-custom"``) and the simulated worker is the official account's (``admin``),
   another account's ``custom`` gets that answer too (``test`` may run every other env).
3. ``env-action`` with a session: applied, one step run, the next measurement sent; after
   the session's last measurement the session is dropped (the worker's ``env-end``, which
   the server never relays). Without a session: ``env-error`` "algorithm client to network
   gym env worker mapping removed.".
4. Any other type: ``env-error`` "unknown msg type".
5. netgym's own extension, which no original peer sends: a client's ``env-end`` ends its
   session at once (if it has one) and is answered with ``env-end``. The netgym client sends
   it before it starts a new session inside a running one, so the next ``env-start`` needs no
   "Mapping Exits" retry; the real server answers it with "unknown msg type" (rule 4) and
   the client then falls back to that retry.
A :class:`~netgym_sim.errors.SimError` from a session becomes one ``env-error`` and drops that
session only. Sessions idle longer than ``idle_timeout_s`` are dropped with the original
worker's ``env-error`` "Timeout: No env-action received!".
"""

from __future__ import annotations

import csv
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from netgym_client import protocol
from netgym_client.errors import ConfigError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.session import ArrayPolicy, Session
from netgym_sim.errors import SimError, UnknownEnvironment
from netgym_sim.limits import Limits, LogTally, echo
from netgym_sim.scenarios import SCENARIOS, Record
from netgym_sim.scenarios._gma_batch import DeferredRecords

__all__ = [
    "DEFAULT_ACCOUNTS",
    "Account",
    "Backend",
    "Reply",
    "load_accounts",
]

logger = logging.getLogger(__name__)

Reply = tuple[bytes, protocol.Message]


class FaultHook(Protocol):
    """A fault plan in front of the backend (:class:`~netgym_sim.core.faults.FaultInjector`).

    The backend only holds it: :func:`~netgym_sim.core.handlers.handle_message` hands each
    message to it, and it decides, then asks the backend (the plan knows the backend, not the
    other way round).
    """

    def handle(self, backend: Backend, identity: bytes, msg: protocol.Message) -> list[Reply]:
        """The replies to ``msg``, with the plan's faults applied."""


UNKNOWN_ACCOUNT_MSG = "Unkown user account"
INSTANCE_LIMIT_MSG = (
    "Please reduce --client_id, e.g., --client_id=0. We are limiting the number of instances "
    "launched per client. Please contact us to add more instances."
)
MAPPING_EXISTS_MSG = (
    "NetworkGym Client - Worker Mapping Exits (Client was force quited, e.g., ctrl+c!). "
    "Restart the client."
)
NO_MAPPING_MSG = "algorithm client to network gym env worker mapping removed."
UNKNOWN_TYPE_MSG = "unknown msg type"
IDLE_TIMEOUT_MSG = "Timeout: No env-action received!"
#: What the real server tells a client whose worker restarted mid-session (PROTOCOL.md §4).
WORKER_RESTARTED_MSG = "Worker Restarted, Try Again."
#: Identities of another account than the connection's (refused; counted, logged seldom).
_foreign = LogTally(logger, "identities of another account")
#: A canonical non-negative instance number (at most 9 digits; no sign, no leading zero).
_INSTANCE = re.compile(r"0|[1-9][0-9]{0,8}")
#: A worker's host part: a host name (letters, digits, ``.``, ``_``, ``-``).
_HOST = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,252}")
#: The env name the original server routes per account, as ``"<account>-custom"``.
CUSTOM_ENV = "custom"
#: The account whose workers offer every environment (the original's ``official_session_name``).
OFFICIAL_ACCOUNT = "admin"


def no_worker_text(env: str, offered: Mapping[bytes | str, list[str]] | list[str]) -> str:
    """The original server's ``no-available-worker`` msg: idle workers, none offering ``env``.

    Args:
        env: The env asked for, as routed (``"<account>-custom"`` for custom).
        offered: Each idle worker's env list by name, or the simulated worker's env list.
    """
    listing = {"netgym-sim": offered} if isinstance(offered, list) else dict(offered)
    return f"No available workers for env: {env}. Available_workers and their [env list]:{listing}"


#: The message type with which a netgym client ends its own session (rule 5).
CLIENT_END_TYPE = "env-end"


@dataclass(frozen=True)
class Account:
    """One row of the accounts file."""

    name: str
    password: str
    max_instances: int
    email: str = ""


#: Built-in accounts when no accounts file is given.
DEFAULT_ACCOUNTS: Mapping[str, Account] = {
    "admin": Account("admin", "admin", 32),
    "test": Account("test", "test", 1),
}

_ACCOUNT_HEADER = ["Identity", "Password", "Max_Instances", "Email"]


def load_accounts(path: str | os.PathLike[str]) -> dict[str, Account]:
    """Read an accounts CSV in the real server's format.

    The header row ``Identity,Password,Max_Instances,Email`` comes first, then one row per
    account.

    Raises:
        ConfigError: The file is missing, has another header, or a malformed row.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), f"cannot read the accounts file: {exc}") from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows or [cell.strip() for cell in rows[0]] != _ACCOUNT_HEADER:
        raise ConfigError(
            f"{file}:1", f"the header must be {','.join(_ACCOUNT_HEADER)}, got {rows[:1]!r}"
        )
    accounts: dict[str, Account] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise ConfigError(f"{file}:{line_no}", f"expected 4 columns, got {row!r}")
        name, password, limit = (cell.strip() for cell in row[:3])
        if not name or "-" in name:
            raise ConfigError(
                f"{file}:{line_no}", f"Identity must be non-empty without '-', got {name!r}"
            )
        try:
            max_instances = int(limit)
        except ValueError as exc:
            raise ConfigError(
                f"{file}:{line_no}", f"Max_Instances must be an integer, got {limit!r}"
            ) from exc
        if max_instances < 0:
            raise ConfigError(f"{file}:{line_no}", f"Max_Instances must be >= 0, got {limit}")
        email = row[3].strip() if len(row) > 3 else ""
        accounts[name] = Account(name, password, max_instances, email)
    if not accounts:
        raise ConfigError(str(file), "the accounts file lists no account")
    return accounts


@dataclass
class _Entry:
    session: Session
    last_seen_s: float
    #: The ZAP user of the last frame that arrived with this identity (None: not known).
    route_user: str | None = None


class Backend:
    """Routes decoded client messages to sessions and says what to answer.

    Args:
        accounts: Known accounts by name.
        max_sessions: Capacity: sessions that may run at once (the real server's idle workers).
        idle_timeout_s: A session with no message for this long is dropped.
        clock: Monotonic clock in seconds (injectable for tests).
        faults: A fault plan applied by :func:`netgym_sim.core.handlers.handle_message`.
        limits: Per-request caps (:class:`~netgym_sim.limits.Limits`; default its defaults).
        official_account: The account whose workers offer every environment; another
            account's ``custom`` is its own (``"<account>-custom"``), which the simulated
            worker does not offer (rule 2).
    """

    def __init__(
        self,
        accounts: Mapping[str, Account] = DEFAULT_ACCOUNTS,
        *,
        max_sessions: int = 64,
        idle_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultHook | None = None,
        limits: Limits | None = None,
        official_account: str = OFFICIAL_ACCOUNT,
    ) -> None:
        self.accounts = dict(accounts)
        self.official_account = official_account
        self.limits = limits or Limits()
        self.faults = faults
        self.max_sessions = max_sessions
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._sessions: dict[bytes, _Entry] = {}

    @property
    def session_count(self) -> int:
        """Sessions currently running."""
        return len(self._sessions)

    def has_session(self, identity: bytes) -> bool:
        """Whether ``identity`` has a running session."""
        return identity in self._sessions

    def check_identity(self, identity: bytes, user: str | None = None) -> str | None:
        """The ``env-error`` text for a client identity we must refuse, or None (rule 1).

        Args:
            identity: The routing id, ``<account>-<instance>``.
            user: The account the connection authenticated as (ZAP User-Id); None when the
                caller has no connection (the embedded client), which skips that check.
        """
        text = identity.decode("utf-8", errors="replace")
        account_name, dash, instance = text.partition("-")
        if not dash:  # no instance part at all: what the original answered such an identity
            return UNKNOWN_ACCOUNT_MSG
        return self._check_parts(text, account_name, instance, user, "<session_name>-<client_id>")

    def check_worker_identity(self, identity: bytes, user: str | None = None) -> str | None:
        """Like :meth:`check_identity` for a worker's ``<account>-<instance>-<host>``."""
        text = identity.decode("utf-8", errors="replace")
        account_name, _, rest = text.partition("-")
        instance, _, host = rest.partition("-")
        if not _HOST.fullmatch(host):
            return f"identity {echo(text)}: must be '<session_name>-<worker_id>-<hostname>'"
        return self._check_parts(
            text, account_name, instance, user, "<session_name>-<worker_id>-<hostname>"
        )

    def _check_parts(
        self, text: str, account_name: str, instance: str, user: str | None, form: str
    ) -> str | None:
        account = self.accounts.get(account_name)
        if account is None:
            return UNKNOWN_ACCOUNT_MSG
        if user is not None and user != account.name:
            _foreign.add(text.encode(), f"logged in as {echo(user)}")
            return (
                f"identity {echo(text)} belongs to account {account.name!r}, but this "
                f"connection logged in as {echo(user)}"
            )
        if not _INSTANCE.fullmatch(instance):
            return (
                f"identity {echo(text)}: must be '{form}' with a non-negative integer id "
                "(no sign, no leading zero)"
            )
        if int(instance) >= account.max_instances:
            return INSTANCE_LIMIT_MSG
        return None

    def note_arrival(self, identity: bytes, user: str | None, received_s: float) -> None:
        """Count ``identity``'s idle time from ``received_s``, when its message arrived.

        The server calls this as it takes a message off the socket, before serving the
        messages queued ahead of it, so a prompt client is never expired while its message
        waits (rule: idle time counts from arrival, not from processing). Messages from
        another account's connection do not count.
        """
        entry = self._sessions.get(identity)
        if entry is None:
            return
        entry.route_user = user
        if user is None or user == self._account_of(identity):
            entry.last_seen_s = max(entry.last_seen_s, received_s)

    def route_ok(self, identity: bytes) -> bool:
        """Whether a reply to ``identity`` may go out on the route that now holds it.

        False while the last frame that arrived with the identity of a running session came
        from another account's connection: ZeroMQ has handed that route over to it, so the
        session's replies are held back (dropped) rather than sent to the wrong account.
        """
        entry = self._sessions.get(identity)
        if entry is None or entry.route_user is None:
            return True
        return entry.route_user == self._account_of(identity)

    @staticmethod
    def _account_of(identity: bytes) -> str:
        return identity.decode("utf-8", errors="replace").partition("-")[0]

    def handle(
        self, identity: bytes, msg: protocol.Message, *, apply_action: bool = True
    ) -> list[Reply]:
        """Answer one message from ``identity``; never raises for a client's fault.

        ``apply_action=False`` runs an ``env-action``'s step without applying its policy
        (the ``missed-action`` fault).
        """
        refusal = self.check_identity(identity)
        if refusal is not None:
            return [(identity, protocol.ErrorReply(refusal))]
        if isinstance(msg, protocol.EnvStart):
            return self._start(identity, msg)
        if isinstance(msg, protocol.EnvAction):
            return self._action(identity, msg, apply_action)
        if isinstance(msg, protocol.EnvEnd):
            if self._sessions.pop(identity, None) is not None:
                logger.info("%s ended its session", _t(identity))
            return [(identity, protocol.EnvEnd())]
        return [(identity, protocol.ErrorReply(UNKNOWN_TYPE_MSG))]

    def _offered(self) -> list[str]:
        """The environments the simulated worker offers, named as the original server lists
        an official worker's (``custom`` as ``"<official>-custom"``)."""
        custom = f"{self.official_account}-{CUSTOM_ENV}"
        return [custom if env == CUSTOM_ENV else env for env in sorted(SCENARIOS)]

    def _no_worker(self, identity: bytes, env: str) -> list[Reply]:
        return [(identity, protocol.NoWorkerReply(msg=no_worker_text(env, self._offered())))]

    def _start(self, identity: bytes, msg: protocol.EnvStart) -> list[Reply]:
        if self._sessions.pop(identity, None) is not None:
            logger.info("%s restarted while its session ran; session dropped", _t(identity))
            return [(identity, protocol.ErrorReply(MAPPING_EXISTS_MSG))]
        if len(self._sessions) >= self.max_sessions:
            return [(identity, protocol.NoWorkerReply())]
        env = msg.env_config.get("env")
        account = self._account_of(identity)
        if env == CUSTOM_ENV and account != self.official_account:
            # the original routes custom per account (``<account>-custom``): only that
            # account's own workers offer it, and the simulated worker is the official one's
            return self._no_worker(identity, f"{account}-{CUSTOM_ENV}")
        try:
            session = Session(msg.env_config, self.limits)
            records = session.first_measurement()
        except UnknownEnvironment:
            named = echo(env)[1:-1] if isinstance(env, str) else echo(env)
            return self._no_worker(identity, named)
        except SimError as exc:
            return [(identity, protocol.ErrorReply(exc.error_msg))]
        logger.info("%s started a %s session", _t(identity), session.env_name)
        if not session.finished:  # a one-measurement session ends with its first reply
            self._sessions[identity] = _Entry(session, self._clock())
        return [(identity, protocol.EnvMeasurement(network_stats=records))]

    def _action(
        self, identity: bytes, msg: protocol.EnvAction, apply_action: bool = True
    ) -> list[Reply]:
        begun = self.begin_action(identity, msg, apply_action)
        if not isinstance(begun, Session):
            return [(identity, begun)]
        try:
            records = begun.run_step()
        except SimError as exc:
            del self._sessions[identity]
            return [(identity, protocol.ErrorReply(exc.error_msg))]
        reply = self.finish_action(identity, begun, records)
        assert not isinstance(reply, DeferredRecords), "records are deferred only when given so"
        return [(identity, reply)]

    def begin_action(
        self,
        identity: bytes,
        msg: protocol.EnvAction | ArrayPolicy,
        apply_action: bool = True,
        *,
        checked: bool = False,
    ) -> Session | protocol.Message:
        """The first half of an ``env-action``: its session with the policy applied.

        Or the reply that ends the exchange here (no session, a refused policy). The caller
        advances the session's model to :attr:`Session.next_ts` (:meth:`Session.run_clock`,
        or many sessions' models in lock step) and then calls :meth:`finish_action`.
        ``checked``: as :meth:`Session.begin_step`'s. An :class:`ArrayPolicy` (the embedded
        env's) is taken by :meth:`Session.begin_array`.
        """
        refusal = self.check_identity(identity)
        if refusal is not None:
            return protocol.ErrorReply(refusal)
        entry = self._sessions.get(identity)
        if entry is None:
            return protocol.ErrorReply(NO_MAPPING_MSG)
        try:
            if isinstance(msg, ArrayPolicy) and apply_action:
                entry.session.begin_array(msg)
            elif isinstance(msg, ArrayPolicy):
                entry.session.begin_step(msg.action_list(), apply=False)
            else:
                entry.session.begin_step(msg.action_list, apply=apply_action, checked=checked)
        except SimError as exc:
            del self._sessions[identity]
            return protocol.ErrorReply(exc.error_msg)
        return entry.session

    def finish_action(
        self,
        identity: bytes,
        session: Session,
        records: list[Record] | DeferredRecords | None = None,
    ) -> protocol.Message | DeferredRecords:
        """The second half of an ``env-action``: measure the step that ran; the reply.

        ``records``: the scenario's measurement when it was taken already
        (:meth:`Session.finish_step`). Deferred records are the reply themselves (the
        embedded vector env's lock-step path, :func:`netgym_sim.core.batch.handle_actions`).
        """
        entry = self._sessions[identity]
        try:
            records = session.finish_step(records)
        except SimError as exc:
            del self._sessions[identity]
            return protocol.ErrorReply(exc.error_msg)
        if entry.session.finished:
            del self._sessions[identity]
            logger.info("%s finished its session", _t(identity))
        else:
            entry.last_seen_s = self._clock()
        if isinstance(records, DeferredRecords):
            return records
        return protocol.EnvMeasurement(network_stats=records)

    def drop(self, identity: bytes) -> bool:
        """Drop ``identity``'s session (after an internal failure); True if there was one."""
        return self._sessions.pop(identity, None) is not None

    def expire(self) -> list[Reply]:
        """Drop sessions idle for longer than ``idle_timeout_s`` and tell their clients."""
        now_s = self._clock()
        stale = [
            identity
            for identity, entry in self._sessions.items()
            if now_s - entry.last_seen_s > self.idle_timeout_s
        ]
        for identity in stale:
            del self._sessions[identity]
            logger.info(
                "%s idle for more than %.1f s; session dropped", _t(identity), self.idle_timeout_s
            )
        return [(identity, protocol.ErrorReply(IDLE_TIMEOUT_MSG)) for identity in stale]
