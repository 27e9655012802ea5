"""One simulation session: a SimPy environment stepping one scenario in lock step.

Rules (PROTOCOL.md §3, §5; MODEL.md L21):
- The clock is in ms and starts at ``measurement_start_time_ms``. One step is
  ``step_ms = measurement_interval_ms + measurement_guard_interval_ms``.
- ``env-start`` runs one step and yields measurement 1 (``ts = start + step_ms``); each
  ``env-action`` must echo the ``ts`` of the last measurement, is applied, and runs one
  more step. A session holds ``N = (env_end_time_ms - start) // step_ms - 1`` measurements
  (``= steps_per_episode × episodes_per_session`` for the original client's configs);
  after measurement N it is finished and takes no more actions.
- Episodes follow each other inside one session with no new ``env-start``: the server does
  not count episodes, only measurements.
- Only subscribed measurements are sent: when ``env_config`` holds
  ``subscribed_network_stats`` (a list of ``"source::name"``), a record whose
  ``source::name`` is not listed is left out, whatever the scenario built, in the
  scenario's order (ns-3 reports only what the client subscribed to). Without the key,
  every record is sent.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar, overload

import numpy as np
import simpy

from netgym_client import protocol
from netgym_sim.errors import InvalidAction, InvalidEnvConfig, SessionStateError
from netgym_sim.limits import (
    MAX_EXACT_INT,
    MAX_TIME_MS,
    Limits,
    check_action,
    check_env_start,
    echo,
)
from netgym_sim.scenarios import Record, Scenario, scenario_class
from netgym_sim.scenarios._gma_batch import DeferredRecords, measure_together
from netgym_sim.scenarios._gma_common import GmaScenario

__all__ = [
    "ArrayPolicy",
    "Session",
    "SplitWeights",
    "SteerFlags",
    "session_seed",
    "subscriptions",
]

logger = logging.getLogger(__name__)

#: Seed used when the env_config names none (the original custom env has no random_seed).
DEFAULT_SEED = 0


@dataclasses.dataclass(frozen=True)
class ArrayPolicy:
    """An ``env-action`` of one ``gma`` record for users 1 … N whose values are an array:
    the embedded env's form of the policies of nqos_split's and qos_steer's own adapters.

    A session takes it as it takes :meth:`action_list` (same checks, same effect, same
    errors), without a JSON form to walk: the values are numbers already. The kinds:
    :class:`SplitWeights` and :class:`SteerFlags`.

    Attributes:
        ts: The ``ts`` it echoes.
        values: One entry per user (a row, or a number).
        direction: ``"dl"`` or ``"ul"``.
    """

    ts: int
    values: np.ndarray
    direction: str = "dl"

    #: The record's ``name`` with ``{d}`` for the direction.
    NAME: ClassVar[str] = ""

    @property
    def name(self) -> str:
        """The record's ``name``."""
        return self.NAME.format(d=self.direction)

    def action_list(self) -> list[dict[str, Any]]:
        """The policy as the wire carries it (the original client's key order)."""
        return [protocol.users_action_record(self.name, self.ts, self.values)]

    def values_counted(self) -> int:
        """How many JSON values :meth:`action_list` holds, as the limits count them (the
        list, the record, its three scalars, the ids and the values with their lists)."""
        return int(
            7
            + self.values.shape[0]
            + self.values.size
            + self.values.shape[0] * (self.values.ndim - 1)
        )


@dataclasses.dataclass(frozen=True)
class SplitWeights(ArrayPolicy):
    """``gma::<d>::split_weight``: ``(N, links)`` float64 weight rows, the config's links in
    ns-3's order (nqos_split's policy)."""

    NAME: ClassVar[str] = "{d}::split_weight"


@dataclasses.dataclass(frozen=True)
class SteerFlags(ArrayPolicy):
    """``gma::wifi::<d>::split_ratio``: ``(N,)`` int64, 1 = Wi-Fi, 0 = LTE (qos_steer's
    policy, as the original client sends it)."""

    NAME: ClassVar[str] = "wifi::{d}::split_ratio"


def _within(values: np.ndarray, bound: float) -> bool:
    """Whether every value is a number within ``±bound`` (a NaN is not)."""
    return values.size == 0 or bool(values.min() >= -bound and values.max() <= bound)


def _int_key(
    env_config: Mapping[str, Any], key: str, *, minimum: int, maximum: int = MAX_TIME_MS
) -> int:
    value = env_config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEnvConfig(f"env_config.{key}: must be an integer, got {echo(value)}")
    if value != int(value):
        raise InvalidEnvConfig(f"env_config.{key}: must be an integer, got {echo(value)}")
    if not minimum <= value <= maximum:
        raise InvalidEnvConfig(
            f"env_config.{key}: must be in [{minimum}, {maximum}], got {echo(value)}"
        )
    return int(value)


def subscriptions(env_config: Mapping[str, Any]) -> frozenset[str] | None:
    """The ``source::name`` keys a session reports, or None (everything) without the key.

    Raises:
        InvalidEnvConfig: ``subscribed_network_stats`` is not a list of strings.
    """
    names = env_config.get("subscribed_network_stats")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidEnvConfig(
            "env_config.subscribed_network_stats: must be a list of 'source::name' strings, "
            f"got {names!r:.80}"
        )
    return frozenset(names)


def session_seed(env_config: Mapping[str, Any]) -> int:
    """The seed of a session: ``random_seed`` when given, else :data:`DEFAULT_SEED`."""
    if "random_seed" not in env_config:
        return DEFAULT_SEED
    return _int_key(env_config, "random_seed", minimum=0, maximum=2**63 - 1)


class Session:
    """One client's simulation: scenario + SimPy clock + measurement count.

    Args:
        env_config: The ``env_config`` of the ``env-start`` (without ``type``), as received.
            It is checked whole against ``limits`` first and not kept.
        limits: The caps of :mod:`netgym_sim.limits` (default: its defaults).

    Raises:
        UnknownEnvironment: ``env`` names no scenario.
        InvalidEnvConfig: Timing keys are missing or inconsistent, or the scenario
            rejects the config.
    """

    def __init__(self, env_config: Mapping[str, Any], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        check_env_start(env_config, self.limits)
        env_name = env_config.get("env")
        if not isinstance(env_name, str):
            raise InvalidEnvConfig(f"env_config.env: must be a string, got {env_name!r}")
        self.env_name = env_name
        cls = scenario_class(env_name)
        self.start_ms = _int_key(env_config, "measurement_start_time_ms", minimum=0)
        interval_ms = _int_key(env_config, "measurement_interval_ms", minimum=1)
        guard_ms = (
            _int_key(env_config, "measurement_guard_interval_ms", minimum=0)
            if "measurement_guard_interval_ms" in env_config
            else 0
        )
        self.step_ms = interval_ms + guard_ms
        end_ms = _int_key(env_config, "env_end_time_ms", minimum=0)
        self.total_measurements = (end_ms - self.start_ms) // self.step_ms - 1
        if self.total_measurements < 1:
            raise InvalidEnvConfig(
                f"env_config.env_end_time_ms: {end_ms} leaves no measurement after "
                f"measurement_start_time_ms {self.start_ms} with a {self.step_ms} ms step "
                f"(need >= {self.start_ms + 2 * self.step_ms})"
            )
        self.seed = session_seed(env_config)
        self.subscribed = subscriptions(env_config)
        self.scenario: Scenario = cls(env_config, self.seed)
        self.clock = simpy.Environment(initial_time=self.start_ms)
        self.scenario.start(self.clock)
        self.measurements_sent = 0
        self.last_ts: int | None = None

    @property
    def finished(self) -> bool:
        """True once the last measurement of the session has been produced."""
        return self.measurements_sent >= self.total_measurements

    @property
    def next_ts(self) -> int:
        """The ``ts`` of the next measurement (the end of the step to run)."""
        return self.start_ms + (self.measurements_sent + 1) * self.step_ms

    def run_clock(self) -> None:
        """Run the scenario's SimPy processes to the end of the step (:attr:`next_ts`)."""
        self.clock.run(until=self.next_ts)

    def run_step(self) -> list[Record] | None:
        """Run the step to :attr:`next_ts`: a GMA scenario's model as the lock step runs it,
        without SimPy's clock (it counts its own sub-steps; the clock only timed them), and
        its measurement, the one :meth:`finish_step` would take (returned); any other
        scenario's SimPy processes (:meth:`run_clock`; None returned)."""
        scenario = self.scenario
        if isinstance(scenario, GmaScenario):
            (records,) = measure_together([scenario], self.next_ts)
            assert isinstance(records, list), "not deferred"
            return records
        self.run_clock()
        return None

    def _advance(self) -> list[Record]:
        return self.finish_step(self.run_step())

    @overload
    def finish_step(self, records: list[Record] | None = None) -> list[Record]: ...
    @overload
    def finish_step(self, records: DeferredRecords) -> DeferredRecords: ...
    def finish_step(
        self, records: list[Record] | DeferredRecords | None = None
    ) -> list[Record] | DeferredRecords:
        """Measure the step that just ran (its model advanced to :attr:`next_ts`).

        The second half of :meth:`step`, after :meth:`begin_step` and the model's advance
        (:meth:`run_clock`, or a lock-step advance of many sessions' models together).
        ``records``: the scenario's measurement when it was taken already (many sessions'
        records built together); else the scenario measures now. Deferred records
        (:class:`DeferredRecords`) take the session's subscription and stay deferred.
        """
        now_ms = self.next_ts
        if records is None:
            records = self.scenario.measure(now_ms)
        wanted = self.subscribed
        if isinstance(records, DeferredRecords):
            records.wanted = wanted
        elif wanted is not None:
            records = [r for r in records if f"{r['source']}::{r['name']}" in wanted]
        self.measurements_sent += 1
        self.last_ts = now_ms
        return records

    def first_measurement(self) -> list[Record]:
        """Run the first step (answer to ``env-start``)."""
        if self.measurements_sent:
            raise SessionStateError("the session has already started")
        return self._advance()

    def step(self, action_list: Any, *, apply: bool = True) -> list[Record]:
        """Apply one ``env-action`` policy and run one step.

        With ``apply=False`` the policy's ``ts`` is still checked but the policy is not
        applied: the model runs on with its previous settings (an action that came too late).

        Raises:
            SessionStateError: The session is finished or not started.
            InvalidAction: The policy is malformed, out of range, or its ``ts`` does not
                echo the last measurement.
        """
        self.begin_step(action_list, apply=apply)
        return self._advance()

    def begin_step(self, action_list: Any, *, apply: bool = True, checked: bool = False) -> None:
        """The first half of :meth:`step`: check the policy and apply it (nothing runs yet).

        ``checked``: the policy's form was checked already in this process (see
        :meth:`Scenario.apply`); the limits and the ``ts`` echo are checked all the same.

        Raises:
            SessionStateError: As :meth:`step`.
            InvalidAction: As :meth:`step`; the session is left as it was.
        """
        self._check_running()
        check_action(action_list, self.limits)
        records = action_list if isinstance(action_list, list) else [action_list]
        for i, record in enumerate(records):
            self._check_echo(record.get("ts") if isinstance(record, dict) else None, i)
        if apply:
            if checked:
                self.scenario.apply(action_list, checked=True)
            else:  # the call every scenario has taken
                self.scenario.apply(action_list)

    def begin_array(self, policy: ArrayPolicy) -> None:
        """:meth:`begin_step` of ``policy.action_list()``, its values taken as an array.

        The same checks in the same order, the same errors and the same effect; a policy
        whose values the scenario does not take as an array (another shape, a scenario with
        its own rules for them, a request over the limits) goes through :meth:`begin_step`
        itself.

        Raises:
            SessionStateError: As :meth:`step`.
            InvalidAction: As :meth:`step`; the session is left as it was.
        """
        limits, values = self.limits, policy.values
        whole = values.dtype.kind in "iu"
        apply_array = getattr(self.scenario, "apply_array", None)
        if (
            apply_array is None
            or values.ndim not in (1, 2)
            or max(values.shape) > limits.max_list_len
            or policy.values_counted() > limits.max_values
            or not _within(values, MAX_EXACT_INT if whole else limits.max_abs_number)
        ):
            self.begin_step(policy.action_list())
            return
        self._check_running()
        self._check_echo(policy.ts, 0)
        if not apply_array(policy.name, values):
            self.scenario.apply(policy.action_list())

    def _check_running(self) -> None:
        if self.last_ts is None:
            raise SessionStateError("env-action before the first measurement")
        if self.finished:
            raise SessionStateError(
                f"the session ended after {self.total_measurements} measurements"
            )

    def _check_echo(self, ts: Any, i: int) -> None:
        if ts != self.last_ts:
            raise InvalidAction(
                f"action_list[{i}].ts: must echo the last measurement's ts "
                f"{self.last_ts}, got {ts!r}"
            )
