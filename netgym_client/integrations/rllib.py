"""RLlib's env creator for netgym scenarios: ``register_env("netgym", rllib_env)``.

RLlib builds every environment of every ``EnvRunner`` by calling the creator with its
``env_config`` (an ``EnvContext``: a dict with ``worker_index`` and ``vector_index``). This
module imports no Ray: the creator only reads those two attributes.

``env_config`` keys (all optional):

- ``scenario``: a key of :data:`~netgym_client.scenarios.SCENARIOS` (default
  ``"nqos_split-paper"``).
- ``config``: overrides merged over the scenario (e.g. ``{"env_config":
  {"steps_per_episode": 100}}``).
- ``server``: ``None`` or ``"embedded"`` (default): the simulator runs inside the runner's
  process, no server anywhere; ``"tcp://host:port"``: a NetworkGym server (netgym's or the
  original), each environment with its own ``client_id``.
- ``client_id``: the first client id (default 0). Runner ``w`` (``worker_index``) owns the
  ids ``client_id + w * envs_per_runner`` up to ``envs_per_runner`` of them, and each env it
  builds takes the lowest one no open env of this process holds (RLlib gives every env of a
  runner the same context, ``vector_index`` 0), so the ids are distinct across the whole
  cluster; the machine-local ``"auto"`` lease of :mod:`netgym_client.client_ids` cannot see
  other machines. Closing the env frees its id.
- ``envs_per_runner``: RLlib's ``num_envs_per_env_runner`` (default 1).

Spaces: the observation is flattened to one dimension, and so is a ``Box`` action of more
than one dimension (reshaped back before it reaches the env), as RLlib's default models
take vectors.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation

from netgym_client.env import EMBEDDED
from netgym_client.errors import ConfigError
from netgym_client.scenarios import SCENARIOS, make

__all__ = ["DEFAULT_SCENARIO", "FlatBoxAction", "client_id_block", "rllib_env"]

#: The scenario of an ``env_config`` that names none.
DEFAULT_SCENARIO = "nqos_split-paper"

_KEYS = frozenset({"scenario", "config", "server", "client_id", "envs_per_runner"})


class FlatBoxAction(gym.ActionWrapper[Any, np.ndarray, np.ndarray]):
    """A ``Box`` action of any shape taken as a vector of the same values."""

    def __init__(self, env: gym.Env[Any, np.ndarray]) -> None:
        super().__init__(env)
        box = env.action_space
        if not isinstance(box, spaces.Box):
            raise ConfigError("action_space", f"FlatBoxAction needs a Box, got {box}")
        self._shape = box.shape
        self.action_space = spaces.Box(box.low.ravel(), box.high.ravel(), dtype=box.dtype)

    def action(self, action: np.ndarray) -> np.ndarray:
        return np.asarray(action).reshape(self._shape)


def client_id_block(env_config: Mapping[str, Any]) -> range:
    """The client ids of the runner RLlib builds envs for with ``env_config``."""
    first = int(env_config.get("client_id", 0))
    per_runner = int(env_config.get("envs_per_runner", 1))
    if per_runner < 1:
        raise ConfigError("envs_per_runner", f"must be at least 1, got {per_runner}")
    start = first + int(getattr(env_config, "worker_index", 0)) * per_runner
    return range(start, start + per_runner)


_held: set[int] = set()
_held_lock = threading.Lock()


def _take_client_id(block: range) -> int:
    with _held_lock:
        for client_id in block:
            if client_id not in _held:
                _held.add(client_id)
                return client_id
    raise ConfigError(
        "envs_per_runner",
        f"all {len(block)} client ids of this runner ({block.start}-{block.stop - 1}) are held "
        "by open envs: set envs_per_runner to num_envs_per_env_runner",
    )


class _ClientIdRelease(gym.Wrapper[Any, Any, Any, Any]):
    """Frees the env's client id (of :func:`_take_client_id`) when the env closes."""

    def __init__(self, env: gym.Env[Any, Any], client_id: int) -> None:
        super().__init__(env)
        self.client_id = client_id

    def close(self) -> None:
        try:
            super().close()
        finally:
            with _held_lock:
                _held.discard(self.client_id)


def rllib_env(env_config: Mapping[str, Any]) -> gym.Env[Any, Any]:
    """The netgym environment RLlib's runner asked for (see the module's keys).

    Raises:
        ConfigError: An unknown key or scenario.
    """
    unknown = set(env_config) - _KEYS
    if unknown:
        raise ConfigError("env_config", f"unknown keys {sorted(unknown)}; known {sorted(_KEYS)}")
    scenario = str(env_config.get("scenario", DEFAULT_SCENARIO))
    if scenario not in SCENARIOS:
        raise ConfigError("scenario", f"unknown {scenario!r}; known {sorted(SCENARIOS)}")
    overrides: dict[str, Any] = dict(env_config.get("config") or {})
    server = env_config.get("server")
    client_id = None
    if server not in (None, EMBEDDED):
        client_id = _take_client_id(client_id_block(env_config))
        overrides["server"] = {**dict(overrides.get("server") or {}), "client_id": client_id}
    try:
        env: gym.Env[Any, Any] = make(scenario, config=overrides, server=server)
    except BaseException:
        if client_id is not None:
            with _held_lock:
                _held.discard(client_id)
        raise
    if client_id is not None:
        env = _ClientIdRelease(env, client_id)
    env = FlattenObservation(env)
    if isinstance(env.action_space, spaces.Box) and len(env.action_space.shape) > 1:
        env = FlatBoxAction(env)
    return env
