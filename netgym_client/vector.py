"""``NetworkGymVectorEnv``: N NetworkGym sessions stepped together, gymnasium's vector API.

Registered as the ``vector_entry_point`` of every ``netgym/<env>-v0`` id::

    envs = gymnasium.make_vec("netgym/nqos_split-v0", num_envs=64,
                              vectorization_mode="vector_entry_point")

Rules:
- Sub-environment ``i`` is a :class:`~netgym_client.env.NetworkGymEnv` built from the same
  arguments; with the default ``server="embedded"`` each runs its session in this process.
  For any other server, sub-environment ``i`` uses ``client_id = server.client_id + i`` (or
  leases its own with ``client_id: "auto"``) so that the N sessions have N identities.
- ``reset(seed=s)`` seeds sub-environment ``i`` with ``s + i`` (a list gives one seed each),
  as gymnasium's ``SyncVectorEnv`` does, so the vector env equals N independent envs reset
  with those seeds. Each sub-environment's later sessions draw their ``random_seed`` from
  its own generator (:class:`~netgym_client.env.NetworkGymEnv`'s rules), so sub-environment
  ``i`` and ``j`` stay distinct for the whole run. The first ``reset()`` without a seed
  seeds sub-environment ``i`` with ``r + i``, ``r`` the config's ``random_seed`` (0 when
  the environment has none): the sub-environments never start as copies of one session.
  A later ``reset()`` without a seed leaves each to its generator.
- Autoreset is gymnasium's default, :attr:`AutoresetMode.NEXT_STEP`: the step after a
  sub-environment's episode ended resets it (its action is ignored) and returns the new
  episode's first observation with reward 0 and both flags False.
  ``reset(options={"reset_mask": mask})`` resets only the masked sub-environments.
- ``infos`` are gymnasium's vector infos: one array per key with a boolean ``_key`` mask.
- One step runs every session's interval in :meth:`NetworkGymVectorEnv._advance`, the one
  place that talks to the sessions. With the default ``server="embedded"`` it hands every
  session's policy to the simulator at once (:func:`netgym_sim.embedded.ask_together`),
  which advances their models in lock step (one model call per sub-step for all sessions
  of nqos_split and qos_steer, their radio updates, interval ends and records together;
  see :mod:`netgym_sim.core.batch` for the others), with the
  same observations, rewards and infos, byte for byte, as N independent envs with the same
  seeds. There the simulator builds no records: each sub-environment's
  ``info["network_stats"]`` is a deferred :class:`~netgym_client.stats.NetworkStats`
  (:meth:`NetworkStats.deferred`) that reads the per-user metrics its adapter needs from
  the simulator's arrays, and builds the records, the same ones, the first time anything
  else of it is asked for (its iteration, ``to_records()``, equality ...). Building them
  for every sub-environment every step is most of a step's cost at 16 users, which an
  agent reading only observations and rewards never needs. With nqos_split's or
  qos_steer's own adapter (:mod:`netgym_client.policy_arrays`, the array path) the
  sub-environments' policies are computed in one numpy pass and handed over as arrays,
  and their observations and rewards are computed together from the stacked metrics
  (the same values as each adapter's own, one session at a time). A recorded sub-environment
  (``record=``) or another server steps one session after another. A policy the wire
  would refuse raises before any session steps; a fault of one session raises after the
  others' steps were taken in (their next step goes on from them).
- A step runs with Python's cyclic garbage collector paused (when it was enabled; restored
  whatever happens). A step of N sessions allocates ~200·N short-lived containers (the
  records), freed by reference counting; with the collector on they set off dozens of young
  collections a step and, at ×64, a full collection of the whole heap every few steps (about
  10 % of the step's CPU at 16 users, ×8 and ×64). Paused, the step's survivors are
  collected once after it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from netgym_client.adapters import Adapter
from netgym_client.adapters._gma import GmaUserAdapter
from netgym_client.adapters.base import PolicyRecords
from netgym_client.config import NetGymConfig
from netgym_client.env import EMBEDDED, NetworkGymEnv, _InProcessLink
from netgym_client.errors import ConfigError
from netgym_client.policy_arrays import SplitPolicy, array_adapter, split_policy
from netgym_client.stats import NetworkStats

__all__ = ["NetworkGymVectorEnv"]


Policy = PolicyRecords | SplitPolicy


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, if it was on (see the rules)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class NetworkGymVectorEnv(gym.vector.VectorEnv[Any, Any, Any]):
    """N NetworkGym environments of one kind stepped in lock step.

    Args:
        num_envs: How many sub-environments (>= 1).
        env: Environment name or a ready :class:`NetGymConfig`, as for NetworkGymEnv.
        config: Nested overrides, as for NetworkGymEnv.
        server: ``"embedded"`` (default), ``"embedded+tcp"`` or ``"tcp://host:port"``.
        config_path: A JSON config file, as for NetworkGymEnv.
        adapter: An adapter class or ``"module:Class"``, as for NetworkGymEnv.
        render_mode: ``None`` only.

    Raises:
        ConfigError: ``num_envs`` < 1 or a bad configuration.

    Example:
        >>> envs = NetworkGymVectorEnv(2, "custom", config={"env_config": {
        ...     "steps_per_episode": 2, "episodes_per_session": 1}})
        >>> obs, infos = envs.reset(seed=1)
        >>> obs.shape
        (2, 3, 5)
        >>> _, rewards, terminations, truncations, _ = envs.step(envs.action_space.sample())
        >>> truncations.tolist(), terminations.tolist()
        ([True, True], [False, False])
        >>> envs.close()
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (gymnasium's class attribute)
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }
    _spec: EnvSpec | None = None

    def __init__(
        self,
        num_envs: int = 1,
        env: str | NetGymConfig = "custom",
        *,
        config: Mapping[str, Any] | None = None,
        server: str | None = None,
        config_path: str | None = None,
        adapter: str | type[Adapter] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError("num_envs", f"must be an integer >= 1, got {num_envs!r:.40}")
        first = NetworkGymEnv(
            env,
            config=config,
            server=server,
            config_path=config_path,
            adapter=adapter,
            render_mode=render_mode,
        )
        self.envs: list[NetworkGymEnv] = [first]
        base = first.config
        for i in range(1, num_envs):
            sub = base
            client_id = base.server.client_id
            if base.server.address != EMBEDDED and isinstance(client_id, int):
                # N sessions on one server: N identities ("auto" leases one per env)
                client_id += i
                sub = dataclasses.replace(
                    base, server=dataclasses.replace(base.server, client_id=client_id)
                )
            self.envs.append(NetworkGymEnv(sub, adapter=adapter, render_mode=render_mode))
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._observations: Any = create_empty_array(self.single_observation_space, num_envs)
        self._env_obs: list[Any] = [None] * num_envs
        self._rewards = np.zeros(num_envs, dtype=np.float64)
        self._terminations = np.zeros(num_envs, dtype=np.bool_)
        self._truncations = np.zeros(num_envs, dtype=np.bool_)
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)
        self._reset_once = False
        #: The array path (see the rules): nqos_split's or qos_steer's own adapter deciding.
        self._arrays = array_adapter(first.adapter) and not first._system_default

    @property
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec (set by ``gymnasium.make_vec``), with the sub-envs'
        ``max_episode_steps`` (``steps_per_episode - 1``, see NetworkGymEnv)."""
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        steps = self.envs[0].max_episode_steps
        if value is not None and value.max_episode_steps != steps:
            value = dataclasses.replace(value, max_episode_steps=steps)
        self._spec = value

    # -- the sessions -----------------------------------------------------------------
    def _advance(
        self, policies: Sequence[Policy | None], deferred: dict[int, Any]
    ) -> list[NetworkStats | None]:
        """Run one interval of every session that has a policy; their measurements.

        The one place the vector env talks to its sessions (see the module's rules).
        ``deferred`` gets the simulator's deferred measurement of each session answered by
        one (the array path reads them together).
        """
        together = [
            i
            for i, (env, policy) in enumerate(zip(self.envs, policies, strict=True))
            if policy is not None and env._embedded_server() is not None
        ]
        out: list[NetworkStats | None] = [None] * self.num_envs
        if len(together) > 1:
            self._advance_together(together, policies, out, deferred)
        else:
            together = []
        for i, (env, policy) in enumerate(zip(self.envs, policies, strict=True)):
            if policy is not None and out[i] is None and i not in together:
                out[i] = env._act(policy)
        return out

    def _advance_together(
        self,
        indices: list[int],
        policies: Sequence[Policy | None],
        out: list[NetworkStats | None],
        deferred: dict[int, Any],
    ) -> None:
        """The lock-step path: every embedded session's step in one call of the simulator."""
        from netgym_sim.embedded import (  # noqa: PLC0415 (loads lazily)
            DeferredRecords,
            ask_together,
        )

        envs = [self.envs[i] for i in indices]
        messages: list[Any] = []
        for i in indices:
            policy = policies[i]
            assert policy is not None
            if isinstance(policy, SplitPolicy):
                messages.append(policy.message())
            else:
                messages.append(_InProcessLink.action_message(policy))
        servers = [env._embedded_server() for env in envs]
        # every message passed protocol.check_message in action_message just now
        replies = ask_together(
            [s for s in servers if s is not None], messages, deferred=True, checked=True
        )
        failure: BaseException | None = None
        for i, env, reply in zip(indices, envs, replies, strict=True):
            try:
                if isinstance(reply, DeferredRecords):
                    out[i] = env._answered(partial(NetworkStats.deferred, reply))
                    deferred[i] = reply
                else:
                    out[i] = env._answer(reply)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            for i in indices:  # the steps taken stand: each env moves on to its measurement
                stats = out[i]
                if stats is not None:
                    self.envs[i]._outcome(stats)
            raise failure

    # -- gymnasium API ----------------------------------------------------------------
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every sub-environment (or those of ``options["reset_mask"]``).

        Raises:
            ValueError: A seed list or reset mask of the wrong length or type.
        """
        seeds: list[int | None]
        if seed is None and not self._reset_once:
            base = self.envs[0].config.seed or 0
            seeds = [base + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [None] * self.num_envs
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} seeds, got {len(seeds)}")
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        elif (
            not isinstance(mask, np.ndarray)
            or mask.shape != (self.num_envs,)
            or mask.dtype != np.bool_
            or not mask.any()
        ):
            raise ValueError(
                f"options['reset_mask'] must be a bool array of shape ({self.num_envs},) "
                f"with at least one True, got {mask!r:.80}"
            )
        self._reset_once = True
        infos: dict[str, Any] = {}
        for i, env in enumerate(self.envs):
            if mask[i]:
                self._env_obs[i], info = env.reset(seed=seeds[i], options=options or None)
                infos = self._add_info(infos, info, i)
        self._terminations[mask] = False
        self._truncations[mask] = False
        self._autoreset[mask] = False
        self._observations = concatenate(
            self.single_observation_space, self._env_obs, self._observations
        )
        return copy.deepcopy(self._observations), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment; next-step autoreset for those whose episode ended."""
        with _collector_paused():
            return self._step(actions)

    def _step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        per_env = list(iterate(self.action_space, actions))
        adapter = self.envs[0].adapter
        many = None
        if self._arrays and isinstance(adapter, GmaUserAdapter):
            many = adapter.policy_values_many(actions)
        infos: dict[str, Any] = {}
        policies: list[Policy | None] = []
        for i, env in enumerate(self.envs):
            if self._autoreset[i]:
                self._env_obs[i], info = env.reset()
                self._rewards[i] = 0.0
                self._terminations[i] = False
                self._truncations[i] = False
                infos = self._add_info(infos, info, i)
                policies.append(None)
            elif many is not None and env._embedded_server() is not None:
                policies.append(_split_policy(env, per_env[i], many[0][i], int(many[1][i])))
            else:
                policies.append(env._policy_for(per_env[i]))
        deferred: dict[int, Any] = {}
        measurements = self._advance(policies, deferred)
        seen = self._seen_together(deferred) if self._arrays else {}
        for i, stats in enumerate(measurements):
            if stats is None:
                continue
            env_seen = seen.get(i)
            if env_seen is not None:
                adapter = self.envs[i].adapter
                adapter.reset_counts()
                adapter.clipped_values = env_seen[2]
            obs, reward, terminated, truncated, info = self.envs[i]._outcome(
                stats, None if env_seen is None else env_seen[:2]
            )
            self._env_obs[i] = obs
            self._rewards[i] = reward
            self._terminations[i] = terminated
            self._truncations[i] = truncated
            infos = self._add_info(infos, info, i)
        self._autoreset = np.logical_or(self._terminations, self._truncations)
        self._observations = concatenate(
            self.single_observation_space, self._env_obs, self._observations
        )
        return (
            copy.deepcopy(self._observations),
            self._rewards.copy(),
            self._terminations.copy(),
            self._truncations.copy(),
            infos,
        )

    def _seen_together(self, deferred: dict[int, Any]) -> dict[int, tuple[Any, float, int]]:
        """The array path's observations, rewards and clip counts of the sessions answered
        by deferred measurements, computed together; {} when the adapter cannot."""
        if not deferred:
            return {}
        from netgym_sim.embedded import stacked_values  # noqa: PLC0415 (loads lazily)

        indices = list(deferred)
        measured = [deferred[i] for i in indices]
        adapter = self.envs[indices[0]].adapter
        assert isinstance(adapter, GmaUserAdapter)
        columns: dict[str, Any] = {}  # (a reward may read a metric the observation read)

        def column(key: str) -> Any:
            if key not in columns:
                columns[key] = stacked_values(measured, key)
            return columns[key]

        got = adapter.outcome_many(column)
        if got is None:
            return {}
        observations, rewards, counts = got
        return {i: (observations[j], rewards[j], int(counts[j])) for j, i in enumerate(indices)}

    def close_extras(self, **kwargs: Any) -> None:
        """Close every sub-environment (ending their sessions)."""
        # gymnasium 1.2 (RLlib's pin, the extra ray) closes from __del__ a vector env whose
        # constructor raised, before it had sub-environments
        for env in getattr(self, "envs", ()):
            env.close()


def _split_policy(env: NetworkGymEnv, action: Any, values: np.ndarray, clipped: int) -> Policy:
    """What ``env._policy_for(action)`` gives, its values computed already (array path)."""
    stats = env._running_stats()
    env._last_action = np.asarray(action)
    adapter = env.adapter
    assert isinstance(adapter, GmaUserAdapter)
    adapter.clipped_action_values = clipped
    return split_policy(stats, adapter.POLICY_NAME, values)
