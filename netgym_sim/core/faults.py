"""Fault injection: the fake server fails the way real NetworkGym servers fail, on cue.

Rules:
- A plan is a list of faults. Each has a ``kind`` (:data:`KINDS`), an ``at`` and the
  parameters of its kind. ``at`` is a measurement number (an integer >= 1; measurement 1
  answers ``env-start``, measurement k + 1 answers the k-th ``env-action``) or a probability
  (a float in [0, 1]) of firing at each measurement. Optional ``times`` caps how often a
  fault fires over the injector's lifetime (one server), e.g. ``times: 1`` for a worker that
  restarts once.
- Deterministic: a probability is drawn per (fault, measurement) from
  ``random.Random(f"netgym-fault:{seed}:{index}:{n}")``, ``seed`` being the session's seed
  (``random_seed``, else 0): the same plan and seed fail at the same measurements, whatever
  else the server does. Only ``times`` depends on what ran before.
- What each kind does to measurement ``n`` (the wire texts are the real server's,
  imported from :mod:`netgym_sim.core.backend`):
  ``no-available-worker`` (n = 1 only): the ``env-start`` gets ``no-available-worker``
  (no msg, as a full server) and no session starts. ``env-error`` (``text``): measurement n
  becomes ``env-error`` with that text and the session is dropped. ``worker-restart``
  (optional ``delay_ms``): the same with "Worker Restarted, Try Again.". ``mapping-removed``
  (n >= 2): the server forgets the route before the action, which therefore gets "…mapping
  removed.". ``missed-action`` (n >= 2): the action is not applied, the model runs on and
  measurement n reports ``missed_action`` 1 for every user (the GMA scenarios' ``dl::`` and
  ``ul::missed_action`` records; other scenarios have none). ``delay`` (``delay_ms``):
  measurement n is sent that much later. ``drop``: it is never sent (the session waits for
  an action that cannot come, until the client's ``env-end`` or idle expiry). ``duplicate``:
  it is sent twice. ``slow`` (``pace``): from measurement ``at`` on (with a probability: at
  each measurement drawn) a reply leaves no sooner than ``pace × step_ms`` of wall-clock
  time after its request arrived (``pace`` 1.0 is real time).
- At one measurement, faults act in plan order: a replacing fault (no-available-worker,
  env-error, worker-restart) ends the turn; delays and paces add up; ``drop`` wins over
  ``duplicate``.
- Delivery is timed, never slept: :meth:`FaultInjector.schedule` queues each reply with its
  due time and :meth:`FaultInjector.due` hands out what is due, so a late reply to one
  session never holds up another. A client's ``env-start`` or ``env-end`` cancels the
  replies still queued for its identity (they belong to a session it gave up).
- Sans-IO: no sockets, no sleeps; the clock is injectable.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netgym_client import protocol
from netgym_client.errors import ConfigError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import WORKER_RESTARTED_MSG
from netgym_sim.core.session import session_seed
from netgym_sim.errors import SimError

if TYPE_CHECKING:
    from netgym_sim.core.backend import Backend, Reply

__all__ = [
    "KINDS",
    "SOCKET_KINDS",
    "Fault",
    "FaultInjector",
    "FaultPlan",
    "check_fault",
    "parse_fault",
]

logger = logging.getLogger(__name__)

#: Every fault kind.
KINDS = (
    "env-error",
    "worker-restart",
    "no-available-worker",
    "mapping-removed",
    "delay",
    "drop",
    "duplicate",
    "missed-action",
    "slow",
)
#: Kinds that shape delivery: they need a socket (the embedded in-process path has none).
SOCKET_KINDS = frozenset({"delay", "drop", "duplicate", "slow"})
#: The parameters of each kind: name -> required.
_PARAMS: dict[str, dict[str, bool]] = {
    "env-error": {"text": False},
    "worker-restart": {"delay_ms": False},
    "no-available-worker": {},
    "mapping-removed": {},
    "delay": {"delay_ms": True},
    "drop": {},
    "duplicate": {},
    "missed-action": {},
    "slow": {"pace": True},
}
#: The parameter the CLI's ``KIND@AT[:PARAM]`` sets, per kind.
_CLI_PARAM = {
    "env-error": "text",
    "worker-restart": "delay_ms",
    "delay": "delay_ms",
    "slow": "pace",
}
_START_ONLY = frozenset({"no-available-worker"})
_ACTION_ONLY = frozenset({"mapping-removed", "missed-action"})
#: Bounds: a delay of at most an hour, a pace of at most 1000× real time, short texts.
MAX_DELAY_MS = 3_600_000
MAX_PACE = 1000.0
MAX_TEXT_CHARS = 10_000
MAX_FAULTS = 1000
INT64_MAX = 2**63 - 1
#: The ``env-error`` text when a plan gives none (a worker's error names what failed).
DEFAULT_ERROR_TEXT = "FaultInjected: env-error at measurement {n} (netgym_sim fault plan)"
_AT_RE = re.compile(r"(?P<at>\d+|\d*\.\d+|\d+\.\d*)(?:x(?P<times>\d+))?")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Fault:
    """One fault of a plan (build it with :func:`check_fault` or :func:`parse_fault`).

    Attributes:
        kind: One of :data:`KINDS`.
        at: The measurement number it fires at, or None when ``probability`` is set.
        probability: The chance of firing at each measurement, or None when ``at`` is set.
        text: ``env-error``'s text (None: :data:`DEFAULT_ERROR_TEXT`).
        delay_ms: ``delay``'s lateness; ``worker-restart``'s time to the restart notice.
        pace: ``slow``'s wall-clock time per simulated time.
        times: Most firings over the injector's lifetime (None: no limit).
    """

    kind: str
    at: int | None = None
    probability: float | None = None
    text: str | None = None
    delay_ms: int = 0
    pace: float = 1.0
    times: int | None = None

    def applies_at(self, n: int) -> bool:
        """Whether the kind can fire at measurement ``n`` at all."""
        if self.kind in _START_ONLY:
            return n == 1
        if self.kind in _ACTION_ONLY:
            return n >= 2
        return n >= 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form :func:`check_fault` reads."""
        out: dict[str, Any] = {"kind": self.kind, "at": self.at}
        if self.at is None:
            out["at"] = self.probability
        for key in _PARAMS.get(self.kind, {}):
            if key == "text" and self.text is not None:
                out["text"] = self.text
            elif key == "delay_ms":
                out["delay_ms"] = self.delay_ms
            elif key == "pace":
                out["pace"] = self.pace
        if self.times is not None:
            out["times"] = self.times
        return out


def _check_int(value: Any, path: str, lo: int, hi: int = INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be an integer, got {_show(value)}")
    if not lo <= value <= hi:
        bound = f">= {lo}" if hi == INT64_MAX else f"in [{lo}, {hi}]"
        raise ConfigError(path, f"must be {bound}, got {_show(value)}")
    return value


def _check_at(kind: str, value: Any, path: str) -> tuple[int | None, float | None]:
    if isinstance(value, float):
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ConfigError(path, f"a probability must be in [0, 1], got {_show(value)}")
        return None, value
    at = _check_int(value, path, 1)
    if kind in _START_ONLY and at != 1:
        raise ConfigError(path, f"{kind} happens at the start: must be 1, got {at}")
    if kind in _ACTION_ONLY and at < 2:
        raise ConfigError(path, f"{kind} answers an action: must be >= 2, got {at}")
    return at, None


def check_fault(value: Any, path: str = "faults[0]") -> Fault:
    """A :class:`Fault` from its JSON form, e.g. ``{"kind": "delay", "at": 3, "delay_ms": 500}``.

    Raises:
        ConfigError: Naming the dotted path (``faults[2].at``), the value and what is allowed.
    """
    if isinstance(value, Fault):
        value = value.to_dict()
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"must be an object or 'KIND@AT[:PARAM]', got {_show(value)}")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        problem = f"must be one of {', '.join(KINDS)}, got {_show(kind)}"
        if isinstance(kind, str):
            close = difflib.get_close_matches(kind, KINDS, n=1)
            problem += f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{path}.kind", problem)
    params = _PARAMS[kind]
    known = {"kind", "at", "times", *params}
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"{kind} takes {sorted(known)}"
            raise ConfigError(f"{path}.{key}", f"unknown key for {kind}; {hint}")
    for key, required in params.items():
        if required and key not in value:
            raise ConfigError(f"{path}.{key}", f"is required for {kind}")
    if "at" not in value:
        raise ConfigError(f"{path}.at", "is required (a measurement number or a probability)")
    at, probability = _check_at(kind, value["at"], f"{path}.at")
    fault = Fault(kind, at, probability)
    if "times" in value and value["times"] is not None:
        fault = _replace(fault, times=_check_int(value["times"], f"{path}.times", 1))
    if "text" in value:
        text = value["text"]
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            raise ConfigError(f"{path}.text", f"must be a string of <= {MAX_TEXT_CHARS} chars")
        fault = _replace(fault, text=text)
    if "delay_ms" in value:
        delay_ms = _check_int(value["delay_ms"], f"{path}.delay_ms", 0, MAX_DELAY_MS)
        fault = _replace(fault, delay_ms=delay_ms)
    if "pace" in value:
        pace = value["pace"]
        if isinstance(pace, bool) or not isinstance(pace, int | float):
            raise ConfigError(f"{path}.pace", f"must be a number, got {_show(pace)}")
        if not (math.isfinite(pace) and 0.0 < pace <= MAX_PACE):
            raise ConfigError(f"{path}.pace", f"must be in (0, {MAX_PACE}], got {_show(pace)}")
        fault = _replace(fault, pace=float(pace))
    return fault


def _replace(fault: Fault, **changes: Any) -> Fault:
    return Fault(**{**vars(fault), **changes})


def parse_fault(spec: str, path: str = "faults[0]") -> Fault:
    """A :class:`Fault` from the command line's ``KIND@AT[xTIMES][:PARAM]``.

    ``AT`` is a measurement number (``3``) or a probability (``0.05``); ``xTIMES`` caps the
    firings (``worker-restart@1x1``); ``PARAM`` is ``env-error``'s text, ``delay``'s and
    ``worker-restart``'s ``delay_ms``, or ``slow``'s ``pace``.

    Raises:
        ConfigError: Naming the part that is wrong.
    """
    head, colon, param = spec.partition(":")
    kind, at_sign, at_text = head.partition("@")
    if not at_sign:
        raise ConfigError(path, f"must be KIND@AT[xTIMES][:PARAM], got {_show(spec)}")
    match = _AT_RE.fullmatch(at_text)
    if match is None:
        raise ConfigError(
            f"{path}.at", f"must be a measurement number or a probability, got {_show(at_text)}"
        )
    number = match["at"]
    value: dict[str, Any] = {"kind": kind, "at": float(number) if "." in number else int(number)}
    if match["times"] is not None:
        value["times"] = int(match["times"])
    if kind not in KINDS:
        check_fault({"kind": kind}, path)  # names the unknown kind
    if colon:
        name = _CLI_PARAM.get(kind)
        if name is None:
            raise ConfigError(f"{path}.kind", f"{kind} takes no parameter, got {_show(param)}")
        if name == "text":
            value[name] = param
        else:
            try:
                value[name] = int(param) if name == "delay_ms" else float(param)
            except ValueError:
                raise ConfigError(
                    f"{path}.{name}", f"must be a number, got {_show(param)}"
                ) from None
    return check_fault(value, path)


@dataclass(frozen=True)
class FaultPlan:
    """A validated list of faults (empty: no faults)."""

    faults: tuple[Fault, ...] = ()

    @classmethod
    def build(cls, specs: Any, path: str = "faults") -> FaultPlan:
        """A plan from a :class:`FaultPlan`, or a list of faults, dicts and CLI strings.

        Raises:
            ConfigError: Naming the entry and field, e.g. ``faults[2].at``.
        """
        if specs is None:
            return cls()
        if isinstance(specs, FaultPlan):
            return specs
        if isinstance(specs, str | bytes | Mapping) or not isinstance(specs, Iterable):
            raise ConfigError(path, f"must be a list of faults, got {_show(specs)}")
        items = list(specs)
        if len(items) > MAX_FAULTS:
            raise ConfigError(path, f"must have at most {MAX_FAULTS} faults, got {len(items)}")
        faults = []
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            if isinstance(item, str):
                faults.append(parse_fault(item, where))
            else:
                faults.append(check_fault(item, where))
        return cls(tuple(faults))

    def __bool__(self) -> bool:
        return bool(self.faults)

    def check_in_process(self, path: str = "faults") -> None:
        """Refuse kinds that shape delivery: the embedded in-process path has no socket.

        Raises:
            ConfigError: ``faults[i].kind`` names a kind of :data:`SOCKET_KINDS`.
        """
        for i, fault in enumerate(self.faults):
            if fault.kind in SOCKET_KINDS:
                raise ConfigError(
                    f"{path}[{i}].kind",
                    f"{fault.kind} shapes what a socket delivers; the in-process path has "
                    "none: use server='embedded+tcp'",
                )


@dataclass
class _SessionState:
    seed: int
    step_s: float
    measurements: int = 0


def _step_s(env_config: Mapping[str, Any]) -> float:
    interval = env_config.get("measurement_interval_ms", 0)
    guard = env_config.get("measurement_guard_interval_ms", 0)
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (interval, guard))
    total_ms = float(interval) + float(guard) if ok else 0.0
    return total_ms / 1000.0 if math.isfinite(total_ms) and total_ms > 0 else 0.0


_MISSED = frozenset({"dl::missed_action", "ul::missed_action"})


def _mark_missed(records: list[dict[str, Any]]) -> None:
    for record in records:
        if record.get("name") in _MISSED and isinstance(record.get("value"), list):
            record["value"] = [1] * len(record["value"])


class FaultInjector:
    """Applies a :class:`FaultPlan` to the sessions of one backend.

    Args:
        plan: The plan (anything :meth:`FaultPlan.build` takes).
        clock: Monotonic clock in seconds.

    Attributes:
        fired: How often each kind fired so far.
    """

    def __init__(self, plan: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = FaultPlan.build(plan)
        self.fired: Counter[str] = Counter()
        self._clock = clock
        self._times = [0] * len(self.plan.faults)
        self._sessions: dict[bytes, _SessionState] = {}
        self._shaping: dict[bytes, tuple[float, ...]] = {}
        self._queue: list[tuple[float, int, bytes, bytes]] = []
        self._order = itertools.count()

    # -- decisions -------------------------------------------------------------------
    def _fires(self, index: int, fault: Fault, state: _SessionState, n: int) -> bool:
        if fault.times is not None and self._times[index] >= fault.times:
            return False
        if not fault.applies_at(n):
            return False
        if fault.at is not None:
            hit = n >= fault.at if fault.kind == "slow" else n == fault.at
        else:
            draw = random.Random(f"netgym-fault:{state.seed}:{index}:{n}").random()
            hit = draw < (fault.probability or 0.0)
        if hit:
            self._times[index] += 1
            self.fired[fault.kind] += 1
        return hit

    def handle(self, backend: Backend, identity: bytes, msg: protocol.Message) -> list[Reply]:
        """Answer one client message as ``backend`` would, with the plan's faults applied."""
        started_s = self._clock()
        if isinstance(msg, protocol.EnvStart | protocol.EnvEnd):
            self.cancel(identity)
        if backend.check_identity(identity) is not None:
            return backend.handle(identity, msg)
        state: _SessionState | None = None
        if isinstance(msg, protocol.EnvStart) and not backend.has_session(identity):
            try:
                state = _SessionState(session_seed(msg.env_config), _step_s(msg.env_config))
            except SimError:
                state = None  # the backend names the bad seed
        elif isinstance(msg, protocol.EnvAction):
            state = self._sessions.get(identity)
        if state is None:
            return backend.handle(identity, msg)
        n = state.measurements + 1
        fired = [f for i, f in enumerate(self.plan.faults) if self._fires(i, f, state, n)]
        missed = False
        for fault in fired:
            logger.info("fault %s at measurement %d of %s", fault.kind, n, _t(identity))
            if fault.kind == "no-available-worker":
                return [(identity, protocol.NoWorkerReply())]
            if fault.kind in ("env-error", "worker-restart"):
                backend.drop(identity)
                self._sessions.pop(identity, None)
                if fault.kind == "worker-restart":
                    text = WORKER_RESTARTED_MSG
                    self._shaping[identity] = (fault.delay_ms / 1000.0,)
                else:
                    text = (fault.text or DEFAULT_ERROR_TEXT).replace("{n}", str(n))
                return [(identity, protocol.ErrorReply(text))]
            if fault.kind == "mapping-removed":
                backend.drop(identity)  # the backend now answers "…mapping removed."
            missed = missed or fault.kind == "missed-action"
        replies = backend.handle(identity, msg, apply_action=not missed)
        measured = [m for _, m in replies if isinstance(m, protocol.EnvMeasurement)]
        if not measured:
            self._sessions.pop(identity, None)
            return replies
        if missed:
            _mark_missed(measured[0].network_stats)
        state.measurements = n
        if backend.has_session(identity):
            self._sessions[identity] = state
        else:
            self._sessions.pop(identity, None)
        self._shape(identity, fired, state, started_s)
        return replies

    def _shape(
        self, identity: bytes, fired: list[Fault], state: _SessionState, started_s: float
    ) -> None:
        kinds = {f.kind for f in fired}
        if "drop" in kinds:
            self._shaping[identity] = ()
            return
        late_s = sum(f.delay_ms for f in fired if f.kind == "delay") / 1000.0
        pace = sum(f.pace for f in fired if f.kind == "slow")
        if pace:
            late_s += max(0.0, pace * state.step_s - (self._clock() - started_s))
        copies = 2 if "duplicate" in kinds else 1
        if late_s or copies > 1:
            self._shaping[identity] = (late_s,) * copies

    # -- delivery --------------------------------------------------------------------
    def schedule(self, identity: bytes, payload: bytes, now_s: float | None = None) -> None:
        """Queue one reply; the first reply after :meth:`handle` carries its shaping."""
        now_s = self._clock() if now_s is None else now_s
        for late_s in self._shaping.pop(identity, (0.0,)):
            heapq.heappush(self._queue, (now_s + late_s, next(self._order), identity, payload))

    def due(self, now_s: float | None = None) -> list[tuple[bytes, bytes]]:
        """The queued replies whose time has come, in order."""
        now_s = self._clock() if now_s is None else now_s
        out = []
        while self._queue and self._queue[0][0] <= now_s:
            _, _, identity, payload = heapq.heappop(self._queue)
            out.append((identity, payload))
        return out

    def next_due_s(self) -> float | None:
        """When the next queued reply is due (clock seconds), or None."""
        return self._queue[0][0] if self._queue else None

    def cancel(self, identity: bytes) -> int:
        """Forget the replies queued for ``identity``; how many there were."""
        kept = [entry for entry in self._queue if entry[2] != identity]
        dropped = len(self._queue) - len(kept)
        if dropped:
            heapq.heapify(kept)
            self._queue = kept
            logger.info("%d late replies to %s cancelled", dropped, _t(identity))
        self._shaping.pop(identity, None)
        self._sessions.pop(identity, None)
        return dropped
