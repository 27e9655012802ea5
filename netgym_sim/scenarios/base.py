"""The interface every simulated environment (scenario) implements.

Rules:
- A scenario is built from the ``env_config`` of an ``env-start`` (a plain dict, exactly as
  it came off the wire) and a seed. It raises :class:`~netgym_sim.errors.InvalidEnvConfig`
  naming the first key it cannot accept.
- Simulated time is in **milliseconds**: the session owns a ``simpy.Environment`` whose
  clock starts at ``measurement_start_time_ms``; :meth:`Scenario.start` registers the
  scenario's SimPy processes on it. The session then runs the environment one step
  (``measurement_interval_ms + measurement_guard_interval_ms``) at a time and calls
  :meth:`Scenario.measure` at the end of each step.
- :meth:`Scenario.apply` takes the ``action_list`` of an ``env-action`` (one record or a
  list of records, as on the wire). The session has already checked ``ts``. An empty
  ``value`` (``[]``) means "keep the built-in behaviour". Malformed or out-of-range
  policies raise :class:`~netgym_sim.errors.InvalidAction` naming the problem.
- :meth:`Scenario.measure` returns the ``network_stats`` records for the interval that just
  ended, all stamped with ``ts = now_ms``, and resets the interval's counters. Records are
  JSON-ready (plain ``int``/``float``/``str``/``list``/``dict``; no numpy scalars).
- All randomness comes from the ``seed`` given to the constructor (no global RNG), so the same
  config, seed and actions give byte-identical records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import simpy

from netgym_client.errors import ProtocolError
from netgym_client.protocol import validate_action_list
from netgym_sim.errors import InvalidAction

__all__ = ["Record", "Scenario"]

Record = dict[str, Any]


class Scenario(ABC):
    """One simulated NetworkGym environment behind the fake server."""

    #: The ``env`` name this scenario serves (``"custom"``, ``"nqos_split"``, ...).
    name: ClassVar[str]

    def __init__(self, env_config: Mapping[str, Any], seed: int) -> None:
        # the env_config itself is not kept: a session holds only what its scenario parsed
        # out of it (netgym_sim.limits), so a large request does not pin memory
        del env_config
        self.seed = seed

    @abstractmethod
    def start(self, env: simpy.Environment) -> None:
        """Register the scenario's SimPy processes on ``env`` (clock in ms)."""

    @abstractmethod
    def apply(self, action_list: Any, *, checked: bool = False) -> None:
        """Apply the policy of one ``env-action`` (record or list of records).

        ``checked``: the policy passed :func:`~netgym_client.protocol.validate_action_list`
        already (a client in this process checked the very object it hands over), so the
        scenario does not check its form again.
        """

    @staticmethod
    def check_form(action_list: Any, checked: bool) -> None:
        """The wire's rules for a policy's form (``validate_action_list``), unless it was
        ``checked`` already (see :meth:`apply`).

        Raises:
            InvalidAction: The form breaks a rule (the text names where).
        """
        if checked:
            return
        try:
            validate_action_list(action_list)
        except ProtocolError as exc:
            raise InvalidAction(str(exc)) from exc

    @abstractmethod
    def measure(self, now_ms: int) -> list[Record]:
        """Return the records of the interval ending at ``now_ms`` and reset its counters."""
