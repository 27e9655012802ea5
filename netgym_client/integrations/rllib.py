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
- ``client_id``: the first client id (default 0). Environment ``v`` of runner ``w`` takes
  ``client_id + w * envs_per_runner + v``, distinct across the whole cluster (the machine-
  local ``"auto"`` lease of :mod:`netgym_client.client_ids` cannot see other machines).
- ``envs_per_runner``: RLlib's ``num_envs_per_env_runner`` (default 1).

Spaces: the observation is flattened to one dimension, and so is a ``Box`` action of more
than one dimension (reshaped back before it reaches the env), as RLlib's default models
take vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation

from netgym_client.env import EMBEDDED
from netgym_client.errors import ConfigError
from netgym_client.scenarios import SCENARIOS, make

__all__ = ["DEFAULT_SCENARIO", "FlatBoxAction", "client_id_of", "rllib_env"]

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


def client_id_of(env_config: Mapping[str, Any]) -> int:
    """The client id of the environment RLlib builds with ``env_config``."""
    first = int(env_config.get("client_id", 0))
    per_runner = int(env_config.get("envs_per_runner", 1))
    worker = int(getattr(env_config, "worker_index", 0))
    vector = int(getattr(env_config, "vector_index", 0))
    if per_runner < 1 or not 0 <= vector < per_runner:
        raise ConfigError(
            "envs_per_runner", f"vector_index {vector} outside envs_per_runner {per_runner}"
        )
    return first + worker * per_runner + vector


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
    if server not in (None, EMBEDDED):
        section = dict(overrides.get("server") or {})
        overrides["server"] = {**section, "client_id": client_id_of(env_config)}
    env: gym.Env[Any, Any] = FlattenObservation(make(scenario, config=overrides, server=server))
    if isinstance(env.action_space, spaces.Box) and len(env.action_space.shape) > 1:
        env = FlatBoxAction(env)
    return env
