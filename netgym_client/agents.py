"""Small reference agents for demos and smoke runs.

- :class:`RandomAgent` samples the action space (seeded).
- :class:`SystemDefaultAgent` sends empty actions: the server's built-in algorithm decides.
- :class:`CapacityProportionalAgent` (``nqos_split``) splits each user's traffic over Wi-Fi
  and LTE in proportion to the capacities it observes (rows 1 and 0 of the observation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

__all__ = [
    "AGENTS",
    "Agent",
    "CapacityProportionalAgent",
    "RandomAgent",
    "SystemDefaultAgent",
    "make_agent",
]


class Agent(Protocol):
    """Anything that maps an observation to an action."""

    def act(self, observation: np.ndarray) -> np.ndarray:
        """The action for ``observation``."""
        ...


class RandomAgent:
    """Uniform samples of the action space."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        self.space = env.action_space
        self.space.seed(seed)

    def act(self, observation: np.ndarray) -> np.ndarray:
        """A random action."""
        return np.asarray(self.space.sample())


class SystemDefaultAgent:
    """Always the empty action: the server's own algorithm decides."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del env, seed

    def act(self, observation: np.ndarray) -> np.ndarray:
        """An empty action."""
        return np.zeros(0, dtype=np.float32)


class CapacityProportionalAgent:
    """``nqos_split``: per user, weights ``[wifi_cap, 0, lte_cap]`` (Wi-Fi, NR, LTE)."""

    def __init__(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        del seed
        shape = env.action_space.shape
        if shape is None or len(shape) != 2 or shape[1] != 3:
            raise ValueError(f"needs an (N, 3) split-weight action space, got {shape}")

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Weights proportional to observed LTE (row 0) and Wi-Fi (row 1) capacity."""
        lte_cap, wifi_cap = observation[0], observation[1]
        weights = np.stack([wifi_cap, np.zeros_like(wifi_cap), lte_cap], axis=1)
        return weights.astype(np.float32)


AGENTS: dict[str, Callable[[gym.Env[Any, Any], int | None], Agent]] = {
    "random": RandomAgent,
    "system_default": SystemDefaultAgent,
    "capacity": CapacityProportionalAgent,
}


def make_agent(name: str, env: gym.Env[Any, Any], seed: int | None = None) -> Agent:
    """Build the agent called ``name`` for ``env``."""
    try:
        cls = AGENTS[name]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; known: {sorted(AGENTS)}") from None
    agent: Agent = cls(env, seed)
    return agent
