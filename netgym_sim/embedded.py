"""The one door from the client into the simulator.

``netgym_client`` imports nothing else of ``netgym_sim``, and imports this module lazily (when an
embedded session, a test server, ``netgym serve`` or ``netgym replay`` is asked for), so a client
pointed at a real server never loads the simulator.

What it opens:
- :class:`InProcessServer`: one identity's sessions answered in process, message objects in and
  out, by the same :func:`~netgym_sim.core.handlers.handle_message` that answers behind the
  server's socket (so limits, error texts and error types are those of the wire).
- :func:`ask_together`: many :class:`InProcessServer`'s messages answered at once, their
  sessions' models advanced in lock step (:mod:`netgym_sim.core.batch`), with the replies
  each would give alone (or, asked for, :class:`DeferredRecords`: the same records, built
  on demand, their per-user metrics as arrays; :func:`stacked_values` reads one metric of
  many such measurements as one array). A split-weight or steering policy may come as
  :class:`SplitWeights` or :class:`SteerFlags` (its values as an array), answered as its
  ``env-action`` would be.
- :func:`fault_plan`: a fault plan checked and built from its spec (:mod:`netgym_sim.core.faults`).
- :class:`FakeServer` and :class:`ReplayServer`: the simulated and the replaying server on a
  ZeroMQ socket; :func:`load_accounts` reads an accounts file for them.
- :func:`serve`, :func:`add_serve_arguments` and :data:`SERVE_DESCRIPTION`: ``netgym serve`` is
  ``python -m netgym_sim serve``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from netgym_client import protocol
from netgym_sim.core.backend import Backend, load_accounts
from netgym_sim.core.batch import handle_actions
from netgym_sim.core.faults import FaultInjector, FaultPlan
from netgym_sim.core.handlers import handle_message
from netgym_sim.core.session import ArrayPolicy, SplitWeights, SteerFlags
from netgym_sim.replay.server import ReplayServer
from netgym_sim.scenarios._gma_batch import DeferredRecords, stacked_values
from netgym_sim.serving.server import FakeServer

__all__ = [
    "SERVE_DESCRIPTION",
    "DeferredRecords",
    "FakeServer",
    "FaultPlan",
    "InProcessServer",
    "ReplayServer",
    "SplitWeights",
    "SteerFlags",
    "add_serve_arguments",
    "ask_together",
    "fault_plan",
    "load_accounts",
    "serve",
    "stacked_values",
]


class InProcessServer:
    """One identity's sessions, answered in process: a message in, the first reply out.

    Args:
        identity: The client's identity (``"<session_name>-<client_id>"``).
        faults: A fault plan (:func:`fault_plan`) applied as the server would apply it.
    """

    def __init__(self, identity: str, faults: FaultPlan | None = None) -> None:
        injector = FaultInjector(faults) if faults else None
        self._backend = Backend(max_sessions=1, idle_timeout_s=float("inf"), faults=injector)
        self._identity = identity.encode("utf-8")

    def ask(self, msg: protocol.Message) -> protocol.Message:
        """The server's answer to ``msg`` (a measurement, or an error reply)."""
        return handle_message(self._backend, self._identity, msg)[0][1]

    def drop(self) -> None:
        """End the identity's session, if it has one, as a client leaving does."""
        self._backend.drop(self._identity)


def ask_together(
    servers: Sequence[InProcessServer],
    messages: Sequence[protocol.Message | ArrayPolicy],
    *,
    deferred: bool = False,
    checked: bool = False,
) -> list[protocol.Message | DeferredRecords]:
    """Each server's answer to its message, as :meth:`InProcessServer.ask` gives it.

    The sessions' steps run together: one model call per sub-step for the sessions whose
    scenario allows it (:mod:`netgym_sim.core.batch`). ``deferred``: a session measured
    in a shared pass is answered by its :class:`DeferredRecords` instead of the
    measurement message: per-user metrics as arrays, and the message's records, the
    same, built only when asked for (:meth:`DeferredRecords.build`). ``checked``: every
    message passed :func:`netgym_client.protocol.check_message` (the decoder's rules) in
    this process, unchanged since: the sessions do not check the policies' form again
    (they check the limits and the ``ts`` echo as ever).
    """
    items = [(s._backend, s._identity, m) for s, m in zip(servers, messages, strict=True)]
    return handle_actions(items, deferred=deferred, checked=checked)


def fault_plan(spec: Any) -> FaultPlan:
    """A fault plan from a :class:`FaultPlan`, a list of faults or their text forms.

    Raises:
        ConfigError: A fault that is malformed or names an unknown kind.
    """
    return FaultPlan.build(spec)


def _serve_module() -> Any:
    import netgym_sim.__main__ as serve_module  # noqa: PLC0415 (the serving command line)

    return serve_module


#: The description of ``netgym serve`` (that of ``python -m netgym_sim serve``).
SERVE_DESCRIPTION: str = _serve_module().SERVE_DESCRIPTION


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``python -m netgym_sim serve`` to ``parser``."""
    _serve_module().add_serve_arguments(parser)


def serve(argv: Sequence[str]) -> int:
    """Run ``python -m netgym_sim serve`` with ``argv`` (its flags); the exit status."""
    status: int = _serve_module().main(["serve", *argv])
    return status
