"""Seeding as gymnasium does it: one seed gives a run, and every session of the run is new.

- The same ``reset(seed=s)`` gives the same sequence of sessions (their ``random_seed`` and
  every measurement), however many sessions the run crosses.
- The sessions of one run differ: each after the first draws its ``random_seed`` from the
  env's generator, so no two sessions of a run are copies.
- Sub-environments of a vector env stay distinct from one another for the whole run, and
  each equals an independent env seeded ``s + i``.
- A config's ``random_seed`` holds for the first session only.

(Over the wire as in process: ``tests/e2e/test_seeding_e2e.py``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client import EnvError, NetworkGymEnv
from netgym_client.env import SESSION_SEED_BOUND
from netgym_client.vector import NetworkGymVectorEnv

#: Two measurements per session: reset gives the first, one step the last.
SHORT = {"env_config": {"steps_per_episode": 2, "episodes_per_session": 1}}

seeds = st.integers(0, SESSION_SEED_BOUND - 1)


def run_sessions(env: NetworkGymEnv, sessions: int, seed: int | None) -> list[Any]:
    """Each session's seed, its measurements' records, observations and rewards."""
    out: list[Any] = []
    env.action_space.seed(0)
    obs, info = env.reset(seed=seed)
    for _ in range(sessions):
        trace: list[Any] = [env.session_seed, info["network_stats"].to_records(), obs.tolist()]
        obs, reward, _, truncated, info = env.step(env.action_space.sample())
        assert truncated and info["session_end"]
        trace += [info["network_stats"].to_records(), obs.tolist(), reward]
        out.append(trace)
        obs, info = env.reset()  # the next session, without a seed
    return out


@settings(max_examples=15)
@given(seed=seeds, sessions=st.integers(2, 4))
def test_the_same_seed_gives_the_same_sequence_of_sessions(seed: int, sessions: int) -> None:
    first, second = (NetworkGymEnv("nqos_split", config=SHORT) for _ in range(2))
    try:
        # the second env has run another session first: the seed alone decides the run
        second.reset(seed=seed + 1)
        a, b = run_sessions(first, sessions, seed), run_sessions(second, sessions, seed)
    finally:
        first.close()
        second.close()
    assert a == b
    session_seeds = [trace[0] for trace in a]
    assert session_seeds[0] == seed
    assert all(0 <= s < SESSION_SEED_BOUND for s in session_seeds)
    assert len(set(session_seeds)) == sessions, session_seeds  # every session is new
    records = [trace[1] for trace in a]
    assert all(records[i] != records[j] for i in range(sessions) for j in range(i))


@settings(max_examples=10)
@given(seed=seeds, num_envs=st.integers(2, 4))
def test_sub_envs_stay_distinct_for_the_whole_run(seed: int, num_envs: int) -> None:
    envs = NetworkGymVectorEnv(num_envs, "nqos_split", config=SHORT)
    singles = [NetworkGymEnv("nqos_split", config=SHORT) for _ in range(num_envs)]
    try:
        envs.action_space.seed(seed)
        obs, _ = envs.reset(seed=seed)
        firsts = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
        assert np.array_equal(obs, np.stack(firsts))
        per_env: list[list[int | None]] = [[env.session_seed] for env in envs.envs]
        # 2 measurements a session, next-step autoreset: a step ends each session, the next
        # starts a new one
        for step in range(1, 9):
            actions = envs.action_space.sample()
            obs, _, _, truncations, _ = envs.step(actions)
            assert truncations.all() == (step % 2 == 1)
            if step % 2 == 1:
                for i, env in enumerate(singles):
                    env.step(actions[i])
            else:
                for i, env in enumerate(singles):
                    single_obs, _ = env.reset()
                    assert np.array_equal(obs[i], single_obs)
                for i, env in enumerate(envs.envs):
                    per_env[i].append(env.session_seed)
                assert [env.session_seed for env in singles] == [s[-1] for s in per_env]
    finally:
        envs.close()
        for env in singles:
            env.close()
    # sub-env i and j never run the same session, at any point of the run
    all_seeds = [s for seq in per_env for s in seq]
    assert len(set(all_seeds)) == len(all_seeds), per_env
    assert [seq[0] for seq in per_env] == [seed + i for i in range(num_envs)]


@settings(max_examples=10)
@given(config_seed=seeds)
def test_a_config_seed_holds_for_the_first_session_only(config_seed: int) -> None:
    config = {"env_config": {**SHORT["env_config"], "random_seed": config_seed}}
    env = NetworkGymEnv("nqos_split", config=config)
    try:
        env.reset()
        assert env.session_seed == config_seed
        env.step(env.action_space.sample())
        env.reset()  # the next session draws from the env's generator
        assert env.session_seed != config_seed
        assert env.session_seed is not None and 0 <= env.session_seed < SESSION_SEED_BOUND
    finally:
        env.close()


def test_an_unseeded_vector_env_starts_from_the_config_seed_plus_i() -> None:
    config = {"env_config": {**SHORT["env_config"], "random_seed": 7}}
    envs = NetworkGymVectorEnv(3, "nqos_split", config=config)
    try:
        obs, _ = envs.reset()
        assert [env.session_seed for env in envs.envs] == [7, 8, 9]
        assert not np.array_equal(obs[0], obs[1]) or not np.array_equal(obs[1], obs[2])
    finally:
        envs.close()


def test_a_first_start_that_failed_leaves_the_config_seed_to_the_next() -> None:
    config = {"env_config": {**SHORT["env_config"], "random_seed": 11}}
    env = NetworkGymEnv("nqos_split", config=config, faults=["env-error@1x1"])
    try:
        with pytest.raises(EnvError):
            env.reset()
        env.reset()  # the fault fired once: this start is the env's first session
        assert env.session_seed == 11
        env.step(env.action_space.sample())
        env.reset()
        assert env.session_seed != 11
    finally:
        env.close()
