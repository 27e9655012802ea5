"""NetworkGymVectorEnv: gymnasium's vector API, next-step autoreset, equality with N envs."""

from __future__ import annotations

import gc
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import netgym_client
from netgym_client import NetworkGymEnv
from netgym_client.errors import ActionError, ConfigError
from netgym_client.vector import NetworkGymVectorEnv
from netgym_sim.serving.server import FakeServer

pytestmark = pytest.mark.e2e

ALL_ENVS = ["custom", "nqos_split", "qos_steer", "network_slicing", "rmcat"]


def small(steps: int = 3, episodes: int = 2) -> dict[str, Any]:
    return {"env_config": {"steps_per_episode": steps, "episodes_per_session": episodes}}


def run(envs: gymnasium.vector.VectorEnv[Any, Any, Any], steps: int, seed: int) -> list[Any]:
    """Everything a vector env returns over ``steps`` steps from ``reset(seed=seed)``."""
    envs.action_space.seed(seed)
    out: list[Any] = [envs.reset(seed=seed)]
    for _ in range(steps):
        out.append(envs.step(envs.action_space.sample()))
    return out


def assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        if a.dtype == object:
            assert a.shape == b.shape, where
            for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
                assert_same(x, y, f"{where}[{i}]")
        else:
            assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("env_name", ALL_ENVS)
def test_make_vec_uses_the_native_vector_env(env_name: str) -> None:
    envs = gymnasium.make_vec(
        netgym_client.env_id(env_name),
        num_envs=3,
        vectorization_mode="vector_entry_point",
        config=small(),
    )
    try:
        assert isinstance(envs.unwrapped, NetworkGymVectorEnv)
        assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        assert envs.num_envs == 3
        single = envs.unwrapped.single_observation_space
        assert envs.observation_space.shape == (3, *(single.shape or ()))
        obs, infos = envs.reset(seed=4)
        assert envs.observation_space.contains(obs)
        assert infos["_network_stats"].tolist() == [True] * 3
        for _ in range(7):
            obs, rewards, terminations, truncations, infos = envs.step(envs.action_space.sample())
            assert envs.observation_space.contains(obs)
            assert rewards.shape == (3,) and rewards.dtype == np.float64
            assert np.isfinite(rewards).all()
            assert terminations.dtype == truncations.dtype == np.bool_
            assert terminations.shape == truncations.shape == (3,)
    finally:
        envs.close()


@pytest.mark.parametrize("env_name", ALL_ENVS)
def test_equal_to_a_sync_vector_env_of_single_envs(env_name: str) -> None:
    # SyncVectorEnv of NetworkGymEnv is gymnasium's own reference for the same semantics
    # (next-step autoreset, seeds s + i, info batching); 9 steps cross two episode ends
    # and a session end.
    native = NetworkGymVectorEnv(3, env_name, config=small())
    reference = SyncVectorEnv(
        [lambda: NetworkGymEnv(env_name, config=small()) for _ in range(3)],
        autoreset_mode=AutoresetMode.NEXT_STEP,
    )
    try:
        ours, theirs = run(native, 9, seed=2), run(reference, 9, seed=2)
    finally:
        native.close()
        reference.close()
    assert_same(ours, theirs, env_name)


def test_equal_to_independent_envs_with_the_same_seeds() -> None:
    envs = NetworkGymVectorEnv(2, "nqos_split", config=small(steps=3, episodes=1))
    singles = [NetworkGymEnv("nqos_split", config=small(steps=3, episodes=1)) for _ in range(2)]
    try:
        obs, _ = envs.reset(seed=10)
        firsts = [env.reset(seed=10 + i)[0] for i, env in enumerate(singles)]
        assert np.array_equal(obs, np.stack(firsts))
        action = np.full(envs.action_space.shape or (), 0.25, dtype=np.float32)
        action[1] = 0.75
        for _ in range(2):
            obs, rewards, terminations, truncations, _ = envs.step(action)
            results = [env.step(action[i]) for i, env in enumerate(singles)]
            assert np.array_equal(obs, np.stack([r[0] for r in results]))
            assert rewards.tolist() == [r[1] for r in results]
            assert terminations.tolist() == [r[2] for r in results]
            assert truncations.tolist() == [r[3] for r in results]
        assert truncations.all()  # the session's end
        assert not np.array_equal(obs[0], obs[1])  # different seeds, different sessions
    finally:
        envs.close()
        for env in singles:
            env.close()


def test_next_step_autoreset_returns_the_new_episodes_first_observation() -> None:
    envs = NetworkGymVectorEnv(2, "custom", config=small(steps=2, episodes=2))
    try:
        envs.reset(seed=1)
        _, _, _, truncations, infos = envs.step(envs.action_space.sample())
        assert truncations.tolist() == [True, True]
        ts_end = [s.ts for s in infos["network_stats"]]
        _, rewards, terminations, truncations, infos = envs.step(envs.action_space.sample())
        assert rewards.tolist() == [0.0, 0.0]
        assert terminations.tolist() == truncations.tolist() == [False, False]
        # the reset inside the session answered with the next measurement
        assert [s.ts for s in infos["network_stats"]] == [t + 1000 for t in ts_end]
        _, _, _, truncations, infos = envs.step(envs.action_space.sample())
        assert truncations.tolist() == [True, True]
        assert infos["session_end"].tolist() == [True, True]
    finally:
        envs.close()


def test_reset_mask_resets_only_the_masked_sub_envs() -> None:
    envs = NetworkGymVectorEnv(2, "custom", config=small(steps=5, episodes=1))
    try:
        envs.reset(seed=1)
        envs.step(envs.action_space.sample())
        _, infos = envs.reset(seed=[7, None], options={"reset_mask": np.array([True, False])})
        assert infos["_network_stats"].tolist() == [True, False]
        assert envs.envs[0].current_step == 1 and envs.envs[1].current_step == 2
        with pytest.raises(ValueError, match="reset_mask"):
            envs.reset(options={"reset_mask": np.array([False, False])})
        with pytest.raises(ValueError, match="seeds"):
            envs.reset(seed=[1, 2, 3])
    finally:
        envs.close()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError, match="num_envs"):
        NetworkGymVectorEnv(0, "custom")
    with pytest.raises(ConfigError, match="render_mode"):
        NetworkGymVectorEnv(2, "custom", render_mode="rgb_array")


def test_over_tcp_each_sub_env_has_its_own_identity() -> None:
    with FakeServer() as srv:
        envs = NetworkGymVectorEnv(
            3, "custom", config=small(steps=4, episodes=1), server=srv.address
        )
        try:
            assert [e.config.server.client_id for e in envs.envs] == [0, 1, 2]
            envs.reset(seed=1)
            envs.step(envs.action_space.sample())
            assert srv.backend.session_count == 3
        finally:
            envs.close()


def test_close_is_idempotent() -> None:
    envs = NetworkGymVectorEnv(2, "custom")
    envs.reset(seed=1)
    envs.close()
    envs.close()
    assert envs.closed


@pytest.mark.parametrize("enabled", [True, False])
def test_a_step_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    envs = NetworkGymVectorEnv(2, "custom", config=small())
    seen: list[bool] = []
    original = envs._advance

    def advance(policies: Any, deferred: Any) -> Any:
        seen.append(gc.isenabled())
        return original(policies, deferred)

    envs._advance = advance  # type: ignore[method-assign]
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        envs.reset(seed=0)
        envs.step(envs.action_space.sample())
        assert seen == [False]  # paused while the sessions run
        assert gc.isenabled() is enabled
        with pytest.raises(ActionError):
            envs.step(np.zeros((2, 99), dtype=np.float32))  # refused inside the step
        assert gc.isenabled() is enabled
    finally:
        envs.close()
        if was:
            gc.enable()
