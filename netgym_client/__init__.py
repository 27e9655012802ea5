"""netgym client: a wire-compatible NetworkGym client (Env, adapters, northbound interface).

Importing the package registers one gymnasium id per environment, ``netgym/<env>-v0``,
with a native vector env (:class:`~netgym_client.vector.NetworkGymVectorEnv`) as its
``vector_entry_point``, and one per benchmark scenario, ``netgym/<env>-<scenario>-v0``
(:mod:`netgym_client.scenarios`)::

    import gymnasium
    import netgym_client

    env = gymnasium.make("netgym/nqos_split-v0", server="embedded",
                         config={"env_config": {"steps_per_episode": 5}})
    envs = gymnasium.make_vec("netgym/nqos_split-v0", num_envs=8,
                              vectorization_mode="vector_entry_point")
"""

from __future__ import annotations

import gymnasium as gym

from netgym_client._version import __version__ as __version__
from netgym_client.adapters import Adapter, adapter_class, register_adapter
from netgym_client.config import ENVIRONMENTS, NetGymConfig, load_config
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import (
    ActionError,
    AuthenticationFailed,
    ConfigError,
    EnvError,
    NetGymError,
    NoAvailableWorker,
    ProtocolError,
    ServerError,
    ServerUnavailable,
    TransportError,
)
from netgym_client.scenarios import SCENARIOS, scenario_id
from netgym_client.stats import Metric, NetworkStats

__all__ = [
    "ENVIRONMENTS",
    "ActionError",
    "Adapter",
    "AuthenticationFailed",
    "ConfigError",
    "EnvError",
    "Metric",
    "NetGymConfig",
    "NetGymError",
    "NetworkGymEnv",
    "NetworkStats",
    "NoAvailableWorker",
    "ProtocolError",
    "ServerError",
    "ServerUnavailable",
    "TransportError",
    "adapter_class",
    "env_id",
    "load_config",
    "register_adapter",
]


def env_id(env: str) -> str:
    """The gymnasium id of environment ``env``: ``"netgym/<env>-v0"``."""
    return f"netgym/{env}-v0"


def _register() -> None:
    for env in ENVIRONMENTS:
        if env_id(env) not in gym.registry:
            gym.register(
                id=env_id(env),
                entry_point="netgym_client.env:NetworkGymEnv",
                vector_entry_point="netgym_client.vector:NetworkGymVectorEnv",
                kwargs={"env": env},
                disable_env_checker=False,
            )
    for key in SCENARIOS:
        if scenario_id(key) not in gym.registry:
            gym.register(
                id=scenario_id(key),
                entry_point="netgym_client.scenarios:make",
                vector_entry_point="netgym_client.scenarios:make_vec",
                kwargs={"scenario": key},
                disable_env_checker=False,
            )


_register()
