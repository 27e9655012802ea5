"""Many sessions' ``env-action`` answered together: their models advanced in lock step.

:func:`handle_actions` answers each ``(backend, identity, message)`` as
:func:`~netgym_sim.core.handlers.handle_message` does, with the same replies, but in three
passes: every session checks and applies its policy (:meth:`Backend.begin_action`), then
the models run to the end of the step together, then every session measures
(:meth:`Backend.finish_action`).

Rules:
- The models of the GMA scenarios (nqos_split, qos_steer, network_slicing) run in
  :func:`netgym_sim.model.batch.advance_together`: one compiled run of sub-steps for all the
  sessions that stand at the same point of the same timeline (network_slicing's sliced LTE
  scheduler keeps each network's own sub-steps); the radio updates and the ends of the
  intervals run once over the stacked users too, and the records are built together
  (:func:`netgym_sim.scenarios._gma_batch.measure_together`), one numpy pass per metric.
  Their SimPy clocks are not run here: in these scenarios SimPy only times the model's
  sub-steps, which the model counts itself; a clock left behind catches up on the
  session's next ordinary step without running a sub-step twice (the model runs only the
  sub-steps it has not run).
- The other scenarios (custom: no model; rmcat: its sender, queue and feedback are SimPy
  processes) run their own clock, one session after another, as in :meth:`Session.step`.
- A message that is not an ``env-action``, or a backend with a fault plan, is answered by
  ``handle_message`` on its own, in its place. An :class:`ArrayPolicy` (the embedded env's
  array form of a split-weight or steering ``env-action``) is answered as its ``env-action``
  would be (:meth:`Session.begin_array`); with a fault plan, it is sent as that
  ``env-action``.
- A split of the array path is staged while its session checks its policy and committed
  with the other sessions' after the first pass (``_gma_common.commit_staged``: the burst
  shares of all in one pass); nothing reads a split between.
- An error costs its session only, with the reply ``handle_message`` gives; a failure of
  the lock-step advance itself costs every session in it.
- ``deferred=True`` (the embedded vector env): the sessions of a shared record pass are
  answered by their :class:`~netgym_sim.scenarios._gma_batch.DeferredRecords`, the
  records built only when asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from netgym_client import protocol
from netgym_sim.core.backend import Backend
from netgym_sim.core.handlers import handle_message, internal_error
from netgym_sim.core.session import ArrayPolicy, Session
from netgym_sim.errors import SimError
from netgym_sim.model.network import MultiAccessNetwork
from netgym_sim.scenarios import Record
from netgym_sim.scenarios._gma_batch import DeferredRecords, measure_together
from netgym_sim.scenarios._gma_common import GmaScenario, Staged, commit_staged, staging_splits

__all__ = ["handle_actions"]

logger = logging.getLogger(__name__)

Item = tuple[Backend, bytes, protocol.Message | ArrayPolicy]


def _lockstep_model(session: Session) -> MultiAccessNetwork | None:
    scenario = session.scenario
    return scenario.model if isinstance(scenario, GmaScenario) else None


def _gma(session: Session) -> GmaScenario:
    scenario = session.scenario
    assert isinstance(scenario, GmaScenario)
    return scenario


def handle_actions(
    items: Sequence[Item], *, deferred: bool = False, checked: bool = False
) -> list[protocol.Message | DeferredRecords]:
    """The reply to each item's message, as ``handle_message`` gives it (see the rules).

    ``deferred``: a session measured in a shared pass is answered by its
    :class:`~netgym_sim.scenarios._gma_batch.DeferredRecords` instead of a measurement
    message (its records, built when asked for, are those the message would carry).
    ``checked``: every message's policy passed ``protocol.check_message`` in this process
    (its form is not checked again; its limits are).
    """
    replies: list[protocol.Message | DeferredRecords | None] = [None] * len(items)
    begun: list[tuple[int, Session]] = []
    staged: list[tuple[int, Staged]] = []
    _begin(items, replies, begun, staged, checked)
    failed = _commit_staged(items, replies, staged)
    if failed:
        begun = [(i, session) for i, session in begun if i not in failed]
    lockstep: dict[int, list[tuple[int, MultiAccessNetwork]]] = {}
    sessions = dict(begun)
    for i, session in begun:
        model = _lockstep_model(session)
        if model is not None:
            lockstep.setdefault(session.next_ts, []).append((i, model))
            continue
        replies[i] = _guarded(items[i], session.run_clock)
    measured: dict[int, list[Record] | DeferredRecords] = {}
    for t_ms, members in lockstep.items():
        try:  # the models run to t_ms, end their intervals and report, together
            scenarios = [_gma(sessions[i]) for i, _ in members]
            built = measure_together(scenarios, t_ms, deferred=deferred)
        except Exception as exc:
            for i, _ in members:
                backend, identity, _ = items[i]
                replies[i] = internal_error(backend, identity, exc)
            continue
        for (i, _), records in zip(members, built, strict=True):
            measured[i] = records
    for i, session in begun:
        if replies[i] is None:
            backend, identity, _ = items[i]
            try:
                replies[i] = backend.finish_action(identity, session, measured.get(i))
            except Exception as exc:
                replies[i] = internal_error(backend, identity, exc)
    out = [reply for reply in replies if reply is not None]
    assert len(out) == len(items), "every item has its reply"
    return out


def _begin(
    items: Sequence[Item],
    replies: list[protocol.Message | DeferredRecords | None],
    begun: list[tuple[int, Session]],
    staged: list[tuple[int, Staged]],
    checked: bool,
) -> None:
    """The first pass: every session checks and applies its policy (a split of the array
    path staged: item index and its splits in ``staged``), or gets its reply."""
    for i, (backend, identity, policy) in enumerate(items):
        msg = policy
        if isinstance(policy, ArrayPolicy) and backend.faults is not None:
            msg = protocol.EnvAction(action_list=policy.action_list())  # as the wire has it
        if backend.faults is not None or not isinstance(msg, protocol.EnvAction | ArrayPolicy):
            assert not isinstance(msg, ArrayPolicy)
            replies[i] = handle_message(backend, identity, msg)[0][1]
            continue
        splits: Staged = []
        try:
            with staging_splits(splits):
                result = backend.begin_action(identity, msg, checked=checked)
        except Exception as exc:  # a bug costs its session only
            replies[i] = internal_error(backend, identity, exc)
            continue
        finally:
            if splits:
                staged.append((i, splits))
        if isinstance(result, Session):
            begun.append((i, result))
        else:
            replies[i] = result


def _commit_staged(
    items: Sequence[Item],
    replies: list[protocol.Message | DeferredRecords | None],
    staged: list[tuple[int, Staged]],
) -> set[int]:
    """Commit the staged splits together; if that fails (a bug), every session in it gets
    the error reply. Returns the indices of those sessions."""
    try:
        commit_staged([split for _, splits in staged for split in splits])
    except Exception as exc:
        for i, _ in staged:
            backend, identity, _ = items[i]
            replies[i] = internal_error(backend, identity, exc)
        return {i for i, _ in staged}
    return set()


def _guarded(item: Item, run: Callable[[], None]) -> protocol.Message | None:
    """None after ``run()``; the error reply (the session dropped) if it failed."""
    backend, identity, _ = item
    try:
        run()
    except SimError as exc:
        backend.drop(identity)
        return protocol.ErrorReply(exc.error_msg)
    except Exception as exc:
        return internal_error(backend, identity, exc)
    return None
