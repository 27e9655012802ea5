"""Episode facts gymnasium users expect: ``steps_per_episode`` measurements an episode, that
is ``steps_per_episode - 1`` steps, the number ``spec.max_episode_steps`` gives."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netgym_client
from netgym_client import ConfigError, NetworkGymEnv


@settings(max_examples=20)
@given(steps=st.integers(2, 7), episodes=st.integers(1, 3))
def test_an_episode_is_max_episode_steps_steps(steps: int, episodes: int) -> None:
    config = {"env_config": {"steps_per_episode": steps, "episodes_per_session": episodes}}
    env = gymnasium.make(netgym_client.env_id("custom"), config=config)
    try:
        assert env.spec is not None and env.spec.max_episode_steps == steps - 1
        env.reset(seed=0)
        for _ in range(episodes):
            lengths = 0
            truncated = False
            while not truncated:
                _, _, terminated, truncated, info = env.step(env.action_space.sample())
                lengths += 1
                assert not terminated
            assert lengths == env.spec.max_episode_steps
            env.reset()
        assert info["session_end"]
    finally:
        env.close()


def test_the_vector_env_spec_has_the_sub_envs_max_episode_steps() -> None:
    envs = gymnasium.make_vec(
        netgym_client.env_id("custom"),
        num_envs=2,
        vectorization_mode="vector_entry_point",
        config={"env_config": {"steps_per_episode": 6}},
    )
    try:
        assert envs.spec is not None and envs.spec.max_episode_steps == 5
    finally:
        envs.close()


def test_an_env_built_directly_has_no_spec() -> None:
    env = NetworkGymEnv("custom")
    assert env.spec is None  # gymnasium's rule: only make() gives one
    assert env.max_episode_steps == int(env.config.env_config["steps_per_episode"]) - 1
    env.close()


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_a_bad_seed_is_a_config_error(seed: object) -> None:
    env = NetworkGymEnv("custom")
    try:
        with pytest.raises(ConfigError, match="seed: must be an integer >= 0"):
            env.reset(seed=seed)  # type: ignore[arg-type]
        env.reset(seed=np.int64(3))  # numpy's integers are seeds too
        assert env.session_seed == 3
    finally:
        env.close()
