"""RLlib's env creator (``netgym_client.integrations.rllib``), without Ray: a stand-in context.

RLlib calls the creator with an ``EnvContext``, a dict carrying ``worker_index`` and
``vector_index``; :class:`Context` is that shape. The creator on a real RLlib runner:
``tests/unit/test_ray.py`` (marker ``ray``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from netgym_client.env import NetworkGymEnv
from netgym_client.errors import ConfigError
from netgym_client.integrations.rllib import FlatBoxAction, client_id_block, rllib_env


class Context(dict[str, Any]):
    """RLlib's ``EnvContext``: the env_config with the runner's and the env's index."""

    def __init__(self, worker_index: int, vector_index: int = 0, **config: Any) -> None:
        super().__init__(config)
        self.worker_index = worker_index
        self.vector_index = vector_index


SHORT = {"env_config": {"steps_per_episode": 4}}


def test_each_runner_owns_a_block_of_client_ids() -> None:
    blocks = [client_id_block(Context(w, client_id=10, envs_per_runner=3)) for w in range(4)]
    assert [list(b) for b in blocks] == [[10, 11, 12], [13, 14, 15], [16, 17, 18], [19, 20, 21]]
    assert client_id_block({}) == range(1)
    with pytest.raises(ConfigError, match="envs_per_runner"):
        client_id_block(Context(1, envs_per_runner=0))


def test_the_embedded_env_has_flat_spaces_and_steps() -> None:
    env = rllib_env(Context(1, config=SHORT))
    try:
        inner = env.unwrapped
        assert isinstance(inner, NetworkGymEnv)
        assert inner.config.server.address == "embedded"
        assert inner.observation_space.shape == (3, 4) and inner.action_space.shape == (4, 2)
        assert env.observation_space.shape == (12,) and env.action_space.shape == (8,)
        obs, _ = env.reset(seed=3)
        assert obs.shape == (12,) and env.observation_space.contains(obs)
        total, done, steps = 0.0, False, 0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done, steps = total + float(reward), terminated or truncated, steps + 1
        assert steps == 3 and np.isfinite(total)
    finally:
        env.close()


def test_the_flat_action_reaches_the_env_in_its_shape() -> None:
    env = rllib_env(Context(0, config=SHORT))
    try:
        assert isinstance(env, FlatBoxAction)
        flat = np.arange(8, dtype=np.float32) / 8
        assert env.action(flat).shape == (4, 2)
        assert env.action(flat)[1].tolist() == [0.25, 0.375]
    finally:
        env.close()


def client_id(env: Any) -> int:
    return int(env.unwrapped.config.server.client_id)


def test_the_envs_of_a_runner_on_a_remote_server_take_distinct_ids_of_its_block() -> None:
    # RLlib hands every env of one runner the same context (vector_index 0)
    config = Context(2, server="tcp://127.0.0.1:9", client_id=5, envs_per_runner=2)
    first, second = rllib_env(config), rllib_env(config)  # they connect on reset only
    try:
        assert first.unwrapped.config.server.address == "tcp://127.0.0.1:9"  # type: ignore[attr-defined]
        assert sorted([client_id(first), client_id(second)]) == [9, 10]
        with pytest.raises(ConfigError, match="client ids of this runner"):
            rllib_env(config)
        first.close()  # frees its id for the next env of the runner
        third = rllib_env(config)
        assert client_id(third) == client_id(first)
        third.close()
    finally:
        first.close()
        second.close()
    embedded = rllib_env(Context(2, config=SHORT))
    assert client_id(embedded) == 0  # the embedded simulator needs no identity
    embedded.close()


def test_other_scenarios_and_bad_keys() -> None:
    env = rllib_env(Context(0, scenario="qos_steer-loaded", config=SHORT))
    try:
        assert len(env.observation_space.shape) == 1  # type: ignore[arg-type]
        assert not isinstance(env, FlatBoxAction)  # a MultiDiscrete action stays as it is
    finally:
        env.close()
    with pytest.raises(ConfigError, match="unknown keys"):
        rllib_env({"scenarios": "x"})
    with pytest.raises(ConfigError, match="scenario"):
        rllib_env({"scenario": "nqos_split-nope"})
