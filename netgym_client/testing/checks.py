"""``check_adapter``: does an adapter keep the adapter contract? (like gymnasium's ``check_env``)

Each check has a name; the first that fails raises :class:`AdapterCheckError` naming it, what
went wrong, on which measurement, and what to fix:

- ``construct``: the class is an :class:`~netgym_client.adapters.Adapter` subclass and builds
  from the configuration.
- ``spaces``: ``observation_space`` is a float32 ``Box``; ``action_space`` is a bounded
  ``Box``, ``Discrete``, ``MultiDiscrete`` or ``MultiBinary``.
- ``observation``: on generated measurements (missing users and records, extra users, zeros,
  huge values) the observation is a finite float32 array of the space's shape, inside it.
- ``reward``: a finite real number (not a bool).
- ``info``: a dict with string keys.
- ``policy``: for ``None`` (every record's ``value`` is ``[]``) and for actions drawn from the
  action space, the policy is one record or a non-empty list of records that
  ``protocol.encode`` accepts (plain JSON: no numpy scalars, no NaN) and that survive
  ``decode(encode(...))`` unchanged, each echoing the measurement's ``ts``.
- ``determinism``: the same measurement (and action) gives the same observation, reward and
  policy when asked twice.

Measurements are the fixed :func:`~netgym_client.testing.strategies.edge_cases` (complete,
all zeros, all huge, no ids, no records), then draws of
:func:`~netgym_client.testing.strategies.network_stats` with a fixed seed (``derandomize``),
so a run is reproducible.

>>> from netgym_client.adapters.custom import CustomAdapter
>>> from netgym_client.config import load_config
>>> check_adapter(CustomAdapter, load_config("custom"), max_examples=5)
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import gymnasium as gym
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from netgym_client.adapters.base import Adapter
from netgym_client.config import NetGymConfig
from netgym_client.errors import NetGymError, ProtocolError
from netgym_client.protocol import EnvAction, decode, encode
from netgym_client.stats import NetworkStats
from netgym_client.testing._adapter_strategies import actions
from netgym_client.testing._measurement_strategies import edge_cases, network_stats

__all__ = ["CHECKS", "AdapterCheckError", "check_adapter"]

#: The checks, in the order they run.
CHECKS = (
    "construct",
    "spaces",
    "observation",
    "reward",
    "info",
    "policy",
    "determinism",
)

_T = TypeVar("_T")
_repr = reprlib.Repr()
_repr.maxlist = _repr.maxdict = 6
_repr.maxlevel = 3
_repr.maxstring = _repr.maxother = 80

_ACTION_SPACES = (
    gym.spaces.Box,
    gym.spaces.Discrete,
    gym.spaces.MultiDiscrete,
    gym.spaces.MultiBinary,
)


class AdapterCheckError(NetGymError, AssertionError):
    """An adapter broke the contract that :func:`check_adapter` verifies.

    Attributes:
        check: The name of the failed check (one of :data:`CHECKS`).
        adapter: The adapter class's ``module:qualname``.
        problem: What went wrong.
        fix: What the adapter's author should change.
    """

    def __init__(self, check: str, adapter: str, problem: str, fix: str) -> None:
        self.check = check
        self.adapter = adapter
        self.problem = problem
        self.fix = fix
        super().__init__(f"check {check!r} failed for {adapter}: {problem}\n  fix: {fix}")


class _Checker:
    """Runs the checks of one adapter class on one configuration."""

    def __init__(self, adapter_cls: Any, config: NetGymConfig) -> None:
        self.cls = adapter_cls
        self.config = config
        name = getattr(adapter_cls, "__qualname__", repr(adapter_cls))
        self.name = f"{getattr(adapter_cls, '__module__', '?')}:{name}"
        self.adapter: Adapter = self.construct()

    def fail(
        self, check: str, problem: str, fix: str, stats: NetworkStats | None = None
    ) -> NoReturn:
        where = f" (measurement: {_describe_stats(stats)})" if stats is not None else ""
        raise AdapterCheckError(check, self.name, problem + where, fix)

    def call(self, check: str, what: str, fn: Callable[[], _T], stats: NetworkStats | None) -> _T:
        try:
            return fn()
        except AdapterCheckError:
            raise
        except Exception as exc:  # any failure of the adapter's own code is the finding
            self.fail(
                check,
                f"{what} raised {type(exc).__name__}: {exc}",
                "handle every measurement the server can send: records or users may be "
                "missing, values may be 0 or huge; fill and clip instead of raising",
                stats,
            )
            raise  # unreachable: fail() raises

    # -- checks ------------------------------------------------------------------------
    def construct(self) -> Adapter:
        if not (isinstance(self.cls, type) and issubclass(self.cls, Adapter)):
            self.fail(
                "construct",
                f"{self.cls!r} is not a subclass of netgym_client.adapters.Adapter",
                "derive the class from netgym_client.adapters.Adapter",
            )
        try:
            adapter: Adapter = self.cls(self.config)
        except Exception as exc:  # the constructor's own failure is the finding
            self.fail(
                "construct",
                f"{self.name}(config) raised {type(exc).__name__}: {exc}",
                "the constructor must accept a NetGymConfig and call super().__init__(config)",
            )
            raise  # unreachable
        return adapter

    def spaces(self) -> None:
        obs_space = getattr(self.adapter, "observation_space", None)
        if not isinstance(obs_space, gym.spaces.Box) or obs_space.dtype != np.float32:
            self.fail(
                "spaces",
                f"observation_space must be a float32 gymnasium Box, got {obs_space!r}",
                "set self.observation_space = gym.spaces.Box(low, high, shape, np.float32) "
                "in __init__",
            )
        act_space = getattr(self.adapter, "action_space", None)
        if not isinstance(act_space, _ACTION_SPACES):
            self.fail(
                "spaces",
                f"action_space must be a Box, Discrete, MultiDiscrete or MultiBinary, "
                f"got {act_space!r}",
                "set self.action_space to one of these gymnasium spaces in __init__",
            )
        if isinstance(act_space, gym.spaces.Box) and not (
            np.all(np.isfinite(act_space.low)) and np.all(np.isfinite(act_space.high))
        ):
            self.fail(
                "spaces",
                f"the action Box must be bounded (actions go on the wire), got {act_space}",
                "give the action Box finite low and high bounds",
            )

    def observation(self, stats: NetworkStats) -> np.ndarray:
        obs: object = self.call(
            "observation", "observation()", lambda: self.adapter.observation(stats), stats
        )
        space = self.adapter.observation_space
        fix_fill = (
            "fill missing values explicitly (Adapter.fill / Adapter.rows) and clip into the "
            "Box (Adapter.clip_observation), which also returns float32"
        )
        if not isinstance(obs, np.ndarray):
            self.fail(
                "observation", f"returned {type(obs).__name__}, not a numpy array", fix_fill, stats
            )
        if obs.dtype != np.float32:
            self.fail("observation", f"dtype is {obs.dtype}, not float32", fix_fill, stats)
        if obs.shape != space.shape:
            self.fail(
                "observation",
                f"shape {obs.shape} differs from the observation space's {space.shape}",
                "return exactly one value per (feature, entity) of the declared space",
                stats,
            )
        if not np.all(np.isfinite(obs)):
            bad = int(np.count_nonzero(~np.isfinite(obs)))
            self.fail("observation", f"{bad} value(s) are NaN or infinite", fix_fill, stats)
        if not space.contains(obs):
            self.fail(
                "observation",
                f"values lie outside {space} (min {obs.min():g}, max {obs.max():g})",
                fix_fill,
                stats,
            )
        return obs

    def reward(self, stats: NetworkStats) -> float:
        value: object = self.call("reward", "reward()", lambda: self.adapter.reward(stats), stats)
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            self.fail(
                "reward",
                f"returned {type(value).__name__} {value!r:.60}, not a real number",
                "return a Python float",
                stats,
            )
        if not math.isfinite(float(value)):
            self.fail(
                "reward", f"returned {value}", "keep the reward finite (clip logs of 0)", stats
            )
        return float(value)

    def info(self, stats: NetworkStats) -> None:
        info = self.call("info", "info()", lambda: self.adapter.info(stats), stats)
        if not isinstance(info, dict) or not all(isinstance(k, str) for k in info):
            self.fail(
                "info",
                f"returned {_repr.repr(info)}, not a dict with string keys",
                "return a dict (call super().info(stats) and add entries)",
                stats,
            )

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> Any:
        shown = "None" if action is None else _repr.repr(np.asarray(action).tolist())
        policy = self.call(
            "policy", f"policy({shown})", lambda: self.adapter.policy(action, stats), stats
        )
        records = policy if isinstance(policy, list) else [policy]
        if not records or not all(isinstance(r, dict) for r in records):
            self.fail(
                "policy",
                f"policy({shown}) returned {_repr.repr(policy)}: not a record or a non-empty "
                "list of records",
                "return template_record(...) or a list of such dicts",
                stats,
            )
        try:
            message = EnvAction(policy)
            round_trip = decode(encode(message))
        except ProtocolError as exc:
            self.fail(
                "policy",
                f"policy({shown}) cannot go on the wire: {exc}",
                "use plain JSON values: convert numpy arrays with .tolist() and numpy "
                "scalars with float()/int(); keep id and value the same length",
                stats,
            )
            raise  # unreachable
        if round_trip != message:
            self.fail(
                "policy",
                f"policy({shown}) changes on the wire: {_repr.repr(policy)} comes back as "
                f"{_repr.repr(getattr(round_trip, 'action_list', round_trip))}",
                "use plain JSON values (lists, not tuples; str keys)",
                stats,
            )
        for i, record in enumerate(records):
            if record.get("ts") != stats.ts:
                self.fail(
                    "policy",
                    f"record {i} has ts {record.get('ts')!r}, the measurement's ts is {stats.ts}",
                    "copy ts from the measurement (template_record does)",
                    stats,
                )
            if action is None and record.get("value") != []:
                self.fail(
                    "policy",
                    f"policy(None) record {i} has value {_repr.repr(record.get('value'))}",
                    "for None (the server's built-in algorithm) send value []",
                    stats,
                )
        return policy

    def determinism(self, stats: NetworkStats, action: np.ndarray | None) -> None:
        first = (self.observation(stats), self.reward(stats), self.policy(action, stats))
        second = (self.observation(stats), self.reward(stats), self.policy(action, stats))
        fix = (
            "compute from the measurement only: no random numbers, clocks or state that "
            "changes between two calls with the same measurement"
        )
        if not np.array_equal(first[0], second[0]):
            self.fail("determinism", "the same measurement gave two observations", fix, stats)
        if first[1] != second[1]:
            self.fail(
                "determinism",
                f"the same measurement gave rewards {first[1]!r} and {second[1]!r}",
                fix,
                stats,
            )
        if first[2] != second[2]:
            self.fail(
                "determinism", "the same measurement and action gave two policies", fix, stats
            )

    # -- driver --------------------------------------------------------------------------
    def one_measurement(self, stats: NetworkStats, action: np.ndarray | None) -> None:
        self.observation(stats)
        self.reward(stats)
        self.info(stats)
        self.policy(None, stats)
        if action is not None:
            self.policy(action, stats)
        self.determinism(stats, action)

    def run(self, max_examples: int) -> None:
        self.spaces()
        space = self.adapter.action_space
        action_strategy: st.SearchStrategy[np.ndarray | None] = st.none()
        if not isinstance(space, gym.spaces.Box) or np.all(np.isfinite(space.low)):
            action_strategy = actions(space)

        @settings(
            max_examples=max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            print_blob=False,
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.generate, Phase.shrink),
        )
        @given(
            stats=network_stats(env=self.config.env, num_users=self.config.num_users),
            action=action_strategy,
        )
        def each(stats: NetworkStats, action: np.ndarray | None) -> None:
            self.one_measurement(stats, action)

        for edge in reversed(edge_cases(self.config.env, self.config.num_users)):
            each = example(stats=edge, action=None)(each)

        try:
            each()
        except Flaky as exc:
            self.fail(
                "determinism",
                f"the adapter failed on a measurement once and not the next time ({exc})",
                "compute from the measurement only: no random numbers, clocks or hidden state",
            )


def _describe_stats(stats: NetworkStats) -> str:
    try:
        keys = list(stats.keys())
    except Exception:  # a description must never hide the finding
        return "?"
    shown = {key: stats.ids(key).tolist() for key in keys[:6]}
    more = f" +{len(keys) - 6} more" if len(keys) > 6 else ""
    return f"ts={stats.ts} ids={_repr.repr(shown)}{more}"


def check_adapter(
    adapter_cls: type[Adapter], config: NetGymConfig, *, max_examples: int = 25
) -> None:
    """Check that ``adapter_cls`` keeps the adapter contract on ``config``'s environment.

    Args:
        adapter_cls: The adapter class (built here with ``adapter_cls(config)``).
        config: The configuration to build it with, e.g. ``load_config("custom")``.
        max_examples: Generated measurements to try.

    Raises:
        AdapterCheckError: The first check that failed; ``.check`` names it, the message says
            what to fix.
    """
    _Checker(adapter_cls, config).run(max_examples)
