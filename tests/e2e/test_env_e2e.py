"""NetworkGymEnv end to end over real ZeroMQ sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import netgym_client  # noqa: F401  (registers the gymnasium ids)
from netgym_client import NetworkGymEnv
from netgym_client.errors import AuthenticationFailed, NoAvailableWorker, ServerUnavailable
from netgym_client.stats import NetworkStats
from netgym_sim.server import FakeServer

pytestmark = pytest.mark.e2e


def small(steps: int = 3, episodes: int = 2, **env_config: Any) -> dict[str, Any]:
    return {
        "env_config": {"steps_per_episode": steps, "episodes_per_session": episodes, **env_config}
    }


def run_session(
    env: NetworkGymEnv, episodes: int, seed: int | None = 1
) -> list[tuple[bool, bool, int]]:
    """Flags and ts of every step of ``episodes`` episodes, from the first reset."""
    flags = []
    obs, info = env.reset(seed=seed)
    for ep in range(episodes):
        if ep:
            obs, info = env.reset()
        assert env.observation_space.contains(obs)
        assert isinstance(info["network_stats"], NetworkStats)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert np.isfinite(reward)
            flags.append((terminated, truncated, int(info["network_stats"].ts)))
            done = terminated or truncated
    return flags


ALL_ENVS = ["custom", "nqos_split", "qos_steer", "network_slicing", "rmcat"]


@pytest.mark.parametrize("env_name", ALL_ENVS)
def test_full_multi_episode_session_embedded(env_name: str) -> None:
    env = NetworkGymEnv(env_name, config=small(steps=3, episodes=3))
    try:
        flags = run_session(env, episodes=3)
    finally:
        env.close()
    step_ms = env.config.step_ms
    start = env.config.env_config["measurement_start_time_ms"]
    # 3 episodes × (3 measurements: 1 from reset + 2 from step)
    assert [f[:2] for f in flags] == [(False, False), (False, True)] * 2 + [
        (False, False),
        (True, True),
    ]
    expected_ts = [start + step_ms * k for k in (2, 3, 5, 6, 8, 9)]
    assert [f[2] for f in flags] == expected_ts


def test_network_slicing_actions_move_throughput_between_slices() -> None:
    """Over real sockets, giving slice 0 the prioritized RBGs raises its delivered rate."""
    rate = {"min_udp_rate_per_user_mbps": [20, 20], "max_udp_rate_per_user_mbps": [20, 20]}

    def slice_rates(action: list[float]) -> np.ndarray:
        env = NetworkGymEnv(
            "network_slicing", config=small(steps=6, episodes=1, per_slice_config=rate)
        )
        try:
            env.reset(seed=5)
            for _ in range(5):
                obs, *_ = env.step(np.array(action, dtype=np.float32))
        finally:
            env.close()
        return obs[0]  # row 0: gma::dl::cell::rate per slice, Mbps

    first, second = slice_rates([1.0, 0.0]), slice_rates([0.0, 1.0])
    assert first[0] > second[0] + 5.0
    assert second[1] > first[1] + 5.0


def test_reset_after_session_end_starts_a_new_session() -> None:
    env = NetworkGymEnv("custom", config=small(steps=2, episodes=1))
    try:
        first = run_session(env, episodes=1, seed=None)
        second = run_session(env, episodes=1, seed=None)
    finally:
        env.close()
    assert first == second == [(True, True, 3000)]


def test_same_seed_same_session_different_seed_differs() -> None:
    def observations(seed: int) -> list[np.ndarray]:
        env = NetworkGymEnv("nqos_split", config=small(steps=4, episodes=1))
        try:
            obs, _ = env.reset(seed=seed)
            out = [obs]
            action = np.full(env.action_space.shape or (), 0.5, dtype=np.float32)
            for _ in range(3):
                out.append(env.step(action)[0])
        finally:
            env.close()
        return out

    a, b, c = observations(7), observations(7), observations(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize(
    "env_name",
    [
        *ALL_ENVS[:-1],
        # rmcat's action Box is the original's bit rates (PROTOCOL.md §12), which gymnasium's
        # checker only advises against.
        pytest.param(
            "rmcat", marks=pytest.mark.filterwarnings("ignore:.*symmetric and normalized space")
        ),
    ],
)
def test_gymnasium_check_env(env_name: str) -> None:
    env = NetworkGymEnv(env_name, config=small(steps=5, episodes=4))
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_gymnasium_make_over_tcp_to_a_separate_server() -> None:
    with FakeServer() as srv:
        env = gymnasium.make(
            "netgym/custom-v0", server=srv.address, config=small(steps=2, episodes=2)
        )
        try:
            obs, _ = env.reset(seed=3)
            assert obs.shape == (3, 5)
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            assert (terminated, truncated) == (False, True)
        finally:
            env.close()
        assert srv.backend.session_count == 1  # the session waits for its last action


def test_server_not_running_fails_within_connect_timeout() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = NetworkGymEnv(
        "custom",
        config={"server": {"address": f"tcp://127.0.0.1:{port}", "connect_timeout_s": 0.5}},
    )
    started = time.monotonic()
    with pytest.raises(ServerUnavailable) as info:
        env.reset()
    assert time.monotonic() - started < 10  # bounded by the connect timeout, not 60 s
    assert info.value.address == f"tcp://127.0.0.1:{port}"
    env.close()


def test_wrong_password_raises_authentication_failed() -> None:
    with FakeServer() as srv:
        env = NetworkGymEnv(
            "custom", config={"server": {"address": srv.address, "session_key": "nope"}}
        )
        with pytest.raises(AuthenticationFailed):
            env.reset()
        env.close()


def test_second_client_beyond_capacity() -> None:
    with FakeServer(max_sessions=1) as srv:
        first = NetworkGymEnv("custom", server=srv.address)
        second = NetworkGymEnv(
            "custom", config={"server": {"address": srv.address, "client_id": 1}}
        )
        try:
            first.reset()
            with pytest.raises(NoAvailableWorker):
                second.reset()
        finally:
            first.close()
            second.close()


def test_client_killed_then_restarted_with_same_identity() -> None:
    with FakeServer() as srv:
        first = NetworkGymEnv("custom", server=srv.address, config=small(steps=5, episodes=1))
        first.reset(seed=1)
        first.step(first.action_space.sample())
        first.close()  # gone mid-episode; the server still maps admin-0
        again = NetworkGymEnv("custom", server=srv.address, config=small(steps=5, episodes=1))
        try:
            _, info = again.reset(seed=1)  # env-error "Mapping Exits", retry after 1 s
            assert info["network_stats"].ts == 2000
        finally:
            again.close()


def test_close_is_idempotent_and_releases_the_embedded_server() -> None:
    env = NetworkGymEnv("custom")
    env.reset()
    server = env._server
    assert server is not None and server.running
    env.close()
    env.close()
    assert not server.running
