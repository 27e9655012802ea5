"""Replaying a recorded session to a client (sans-IO): match its messages, serve the recording.

A :class:`ReplaySession` holds one identity's *script*: the ``(dir, payload)`` pairs of a
``netgym-recording`` file in order (``c2s`` = what the client sent, ``s2c`` = what the server
answered; :meth:`netgym_client.recording.record.Recording.script` reads them). Each message a client
sends is checked against the next recorded ``c2s`` message; the recorded ``s2c`` messages
that followed it are the answer.

Rules:
- Steps: the recorded ``env-start`` is step 0 of its session; the k-th ``env-action`` after
  it is step k, counted over the whole session (a later episode's ``reset()`` sends an
  ``env-action`` too, so it has a step number).
  ``message`` counts every client message of the script from 1.
- What must match (mode ``strict``):
  ``env-start``: the message type, and those session-shaping keys of :data:`START_KEYS`
  that the recorded message holds (a recording of the original client has no
  ``random_seed``, so any seed replays it); other keys (subscription lists, the original
  client's extra ones) are not compared.
  ``env-action``: the same records (a single record and a list of one are alike), each
  with the same ``source``, ``name``, ``ts`` and ``id`` exactly, and ``value`` numbers
  within the tolerance ``|got − recorded| ≤ atol + rtol·|recorded|`` (defaults
  :data:`ATOL` = 1e-6 and :data:`RTOL` = 1e-5: a float32 action's round trip, far below
  any meaningful change); other keys a client copies into its records are ignored.
- A divergence (strict): the client gets an ``env-error`` naming the step, the message and
  the dotted field with both values, and every later message of that session gets an
  ``env-error`` too. Lenient mode logs the divergence and serves the recorded answer anyway.
- netgym's ``env-end`` (a client ending a session early) is answered with ``env-end`` and
  is no divergence (the script stays where it is); a recorded ``env-end`` the client does
  not send is skipped with its answer.
- A client message after the end of the script is a divergence (``type``: the recording
  has no more messages), answered with ``env-error`` in both modes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ATOL",
    "RTOL",
    "START_KEYS",
    "Divergence",
    "ReplayReport",
    "ReplaySession",
    "first_difference",
]

logger = logging.getLogger(__name__)

#: Absolute tolerance of recorded vs. incoming action values.
ATOL = 1e-6
#: Relative tolerance of recorded vs. incoming action values.
RTOL = 1e-5
#: The ``env-start`` keys compared in strict mode.
START_KEYS = (
    "env",
    "steps_per_episode",
    "episodes_per_session",
    "num_users",
    "random_seed",
    "measurement_start_time_ms",
    "measurement_interval_ms",
    "measurement_guard_interval_ms",
    "env_end_time_ms",
)
#: The keys of an action record that are compared; ``ts`` and ``id`` exactly.
ACTION_KEYS = ("source", "name", "ts", "id", "value")
_EXACT = frozenset({"ts", "id"})

Mode = Literal["strict", "lenient"]
Script = Sequence[tuple[str, Mapping[str, Any]]]
_MISSING = "<absent>"


@dataclass(frozen=True)
class Divergence:
    """Where a client's message differs from the recorded one.

    Attributes:
        step: The session step (0 = env-start, k = the k-th env-action).
        message: 1-based index of the client message in the script.
        field: Dotted path of the first differing field (``action_list[0].value[2]``).
        recorded: The recorded value (shortened).
        got: The client's value (shortened).
    """

    step: int
    message: int
    field: str
    recorded: str
    got: str

    def describe(self) -> str:
        """One line for logs and the env-error."""
        return (
            f"step {self.step} (client message {self.message}): {self.field}: "
            f"recorded {self.recorded}, got {self.got}"
        )


@dataclass
class ReplayReport:
    """How one client's replay went."""

    identity: str
    mode: str
    client_messages: int = 0
    matched: int = 0
    served: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    finished: bool = False
    stopped: bool = False

    @property
    def ok(self) -> bool:
        """The client matched every message and reached the end of the recording."""
        return self.finished and not self.divergences

    def summary(self) -> str:
        """A few lines saying how the replay went."""
        state = "completed" if self.finished else "stopped" if self.stopped else "incomplete"
        lines = [
            f"replay of {self.identity} ({self.mode}): {state}; {self.matched}/"
            f"{self.client_messages} client messages matched, {self.served} replies served, "
            f"{len(self.divergences)} divergence(s)"
        ]
        lines += [f"  diverged at {d.describe()}" for d in self.divergences[:20]]
        if len(self.divergences) > 20:
            lines.append(f"  … and {len(self.divergences) - 20} more")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "identity": self.identity,
            "mode": self.mode,
            "client_messages": self.client_messages,
            "matched": self.matched,
            "served": self.served,
            "finished": self.finished,
            "ok": self.ok,
            "divergences": [d.__dict__ for d in self.divergences],
        }


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _close(recorded: float, got: float, atol: float, rtol: float) -> bool:
    if not (math.isfinite(recorded) and math.isfinite(got)):
        return recorded == got
    return abs(got - recorded) <= atol + rtol * abs(recorded)


def first_difference(
    recorded: Any, got: Any, path: str, *, atol: float = ATOL, rtol: float = RTOL
) -> tuple[str, str, str] | None:
    """The first place where ``got`` differs from ``recorded``: ``(path, recorded, got)``.

    Numbers are compared within the tolerance; everything else exactly. Dict keys are
    compared over the union (an absent key reads as ``<absent>``).
    """
    if _is_number(recorded) and _is_number(got):
        if _close(float(recorded), float(got), atol, rtol):
            return None
        return path, _short(recorded), _short(got)
    if isinstance(recorded, list) and isinstance(got, list):
        if len(recorded) != len(got):
            return path, f"{len(recorded)} items", f"{len(got)} items"
        for i, (r, g) in enumerate(zip(recorded, got, strict=True)):
            found = first_difference(r, g, f"{path}[{i}]", atol=atol, rtol=rtol)
            if found is not None:
                return found
        return None
    if isinstance(recorded, dict) and isinstance(got, dict):
        for key in dict.fromkeys([*recorded, *got]):
            if key not in recorded or key not in got:
                shown = (_short(recorded.get(key, _MISSING)), _short(got.get(key, _MISSING)))
                return f"{path}.{key}", *shown
            found = first_difference(recorded[key], got[key], f"{path}.{key}", atol=atol, rtol=rtol)
            if found is not None:
                return found
        return None
    if type(recorded) is type(got) and recorded == got:
        return None
    return path, _short(recorded), _short(got)


def _records(action_list: Any) -> list[Any]:
    return action_list if isinstance(action_list, list) else [action_list]


def _action_difference(
    recorded: Mapping[str, Any], got: Mapping[str, Any], atol: float, rtol: float
) -> tuple[str, str, str] | None:
    want, have = _records(recorded.get("action_list")), _records(got.get("action_list"))
    if len(want) != len(have):
        return "action_list", f"{len(want)} records", f"{len(have)} records"
    single = not isinstance(recorded.get("action_list"), list)
    for i, (r, g) in enumerate(zip(want, have, strict=True)):
        where = "action_list" if single else f"action_list[{i}]"
        if not isinstance(r, dict) or not isinstance(g, dict):
            found = first_difference(r, g, where)
        else:
            for key in ACTION_KEYS:
                exact = key in _EXACT
                found = first_difference(
                    r.get(key, _MISSING),
                    g.get(key, _MISSING),
                    f"{where}.{key}",
                    atol=0.0 if exact else atol,
                    rtol=0.0 if exact else rtol,
                )
                if found is not None:
                    break
        if found is not None:
            return found
    return None


def _start_difference(
    recorded: Mapping[str, Any], got: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    for key in START_KEYS:
        if key in recorded:
            found = first_difference(
                recorded.get(key, _MISSING), got.get(key, _MISSING), key, atol=0.0, rtol=0.0
            )
            if found is not None:
                return found
    return None


class ReplaySession:
    """One client's replay of a script.

    Args:
        script: ``(dir, payload)`` pairs of one identity, in recorded order.
        identity: The client (for the report).
        mode: ``"strict"`` or ``"lenient"`` (see the module's Rules).
        atol: Absolute tolerance of action values.
        rtol: Relative tolerance of action values.

    Example:
        >>> script = [("c2s", {"type": "env-start", "env": "custom"}),
        ...           ("s2c", {"type": "env-measurement", "network_stats": []})]
        >>> session = ReplaySession(script)
        >>> session.handle({"type": "env-start", "env": "custom"})
        [{'type': 'env-measurement', 'network_stats': []}]
        >>> session.report.finished
        True
    """

    def __init__(
        self,
        script: Script,
        identity: str = "",
        *,
        mode: Mode = "strict",
        atol: float = ATOL,
        rtol: float = RTOL,
    ) -> None:
        if mode not in ("strict", "lenient"):
            raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
        for i, (direction, payload) in enumerate(script):
            if direction not in ("c2s", "s2c") or not isinstance(payload, Mapping):
                raise ValueError(f"script[{i}]: expected ('c2s'|'s2c', payload object)")
        self._script = list(script)
        self._position = 0
        self._message = 0
        self._step = 0
        self.mode: Mode = mode
        self.atol, self.rtol = atol, rtol
        self.report = ReplayReport(identity, mode)
        self._skip_answers()

    @property
    def done(self) -> bool:
        """Finished the script or stopped at a divergence."""
        return self.report.finished or self.report.stopped

    def _skip_answers(self) -> None:
        """Skip s2c entries the client never asked for (e.g. before its first message)."""
        while self._position < len(self._script) and self._script[self._position][0] == "s2c":
            self._position += 1

    def _next_request(self, kind: Any) -> tuple[int, Mapping[str, Any]] | None:
        """The next recorded client message, skipping recorded env-ends the client omits."""
        while self._position < len(self._script):
            _, payload = self._script[self._position]
            if payload.get("type") == "env-end" and kind != "env-end":
                self._position += 1
                self._message += 1
                while (
                    self._position < len(self._script) and self._script[self._position][0] == "s2c"
                ):
                    self._position += 1
                continue
            return self._position, payload
        return None

    def _answers(self) -> list[dict[str, Any]]:
        out = []
        while self._position < len(self._script) and self._script[self._position][0] == "s2c":
            out.append(dict(self._script[self._position][1]))
            self._position += 1
        return out

    def _diverge(self, where: tuple[str, str, str]) -> Divergence:
        divergence = Divergence(self._step, self._message, *where)
        self.report.divergences.append(divergence)
        logger.warning("%s diverged at %s", self.report.identity or "client", divergence.describe())
        return divergence

    def _error(self, text: str) -> list[dict[str, Any]]:
        return [{"type": "env-error", "error_msg": text}]

    def handle(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Check one client message against the recording; the replies to send."""
        kind = payload.get("type")
        self.report.client_messages += 1
        if self.report.stopped:
            if kind == "env-end":
                return [{"type": "env-end"}]
            return self._error("replay stopped after the divergence reported before")
        found = self._next_request(kind)
        if kind == "env-end" and (found is None or found[1].get("type") != "env-end"):
            self.report.matched += 1  # netgym's early end: answered, the script stays put
            return [{"type": "env-end"}]
        if found is None:
            self._diverge(("type", "the end of the recording", _short(kind)))
            self.report.stopped = self.mode == "strict"
            return self._error(f"replay diverged at {self.report.divergences[-1].describe()}")
        self._position += 1
        self._message += 1
        recorded = found[1]
        recorded_kind = recorded.get("type")
        self._step = (
            0 if recorded_kind == "env-start" else self._step + int(recorded_kind == "env-action")
        )
        where: tuple[str, str, str] | None
        if kind != recorded_kind:
            where = ("type", _short(recorded_kind), _short(kind))
        elif kind == "env-start":
            where = _start_difference(recorded, payload)
        elif kind == "env-action":
            where = _action_difference(recorded, payload, self.atol, self.rtol)
        else:
            where = None
        if where is not None:
            divergence = self._diverge(where)
            if self.mode == "strict":
                self.report.stopped = True
                return self._error(f"replay diverged at {divergence.describe()}")
        else:
            self.report.matched += 1
        replies = self._answers()
        if kind == "env-end" and not replies:
            replies = [{"type": "env-end"}]
        self.report.served += len(replies)
        if self._next_request(None) is None:
            self.report.finished = True
        return replies
