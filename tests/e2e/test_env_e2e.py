"""NetworkGymEnv end to end: in process, and over real ZeroMQ sockets on 127.0.0.1.

``"embedded"`` (the default) runs the session in process; ``"embedded+tcp"`` and a
``FakeServer`` address go over loopback ZeroMQ.
"""

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
from netgym_client import env as env_module
from netgym_client.errors import (
    AuthenticationFailed,
    ConfigError,
    NoAvailableWorker,
    ServerUnavailable,
)
from netgym_client.northbound import NorthboundClient
from netgym_client.stats import NetworkStats
from netgym_sim.serving.server import FakeServer

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


@pytest.mark.parametrize("address", ["embedded", "embedded+tcp"])
@pytest.mark.parametrize("env_name", ALL_ENVS)
def test_full_multi_episode_session_embedded(env_name: str, address: str) -> None:
    env = NetworkGymEnv(env_name, config=small(steps=3, episodes=3), server=address)
    try:
        flags = run_session(env, episodes=3)
    finally:
        env.close()
    step_ms = env.config.step_ms
    start = env.config.env_config["measurement_start_time_ms"]
    # 3 episodes × (3 measurements: 1 from reset + 2 from step); the session's end is a
    # time limit: truncated, not terminated (PROTOCOL.md §14)
    assert [f[:2] for f in flags] == [(False, False), (False, True)] * 3
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
    assert first == second == [(False, True, 3000)]


@pytest.mark.parametrize("address", ["embedded", "embedded+tcp"])
def test_terminate_on_session_end_restores_the_originals_flags(address: str) -> None:
    config = small(steps=2, episodes=2)
    config["rl_config"] = {"terminate_on_session_end": True}
    env = NetworkGymEnv("custom", config=config, server=address)
    try:
        flags = run_session(env, episodes=2)
    finally:
        env.close()
    assert [f[:2] for f in flags] == [(False, True), (True, True)]


def test_session_end_is_only_flagged_on_the_last_step() -> None:
    env = NetworkGymEnv("custom", config=small(steps=2, episodes=2))
    try:
        _, info = env.reset(seed=1)
        ends = [info["session_end"]]
        ends.append(env.step(env.action_space.sample())[4]["session_end"])
        _, info = env.reset()
        ends.append(info["session_end"])
        ends.append(env.step(env.action_space.sample())[4]["session_end"])
    finally:
        env.close()
    assert ends == [False, False, False, True]


def test_render_mode_none_is_accepted_and_others_are_refused() -> None:
    env = gymnasium.make("netgym/custom-v0", render_mode=None)
    try:
        assert env.render_mode is None
        assert env.unwrapped.render() is None
    finally:
        env.close()
    with pytest.raises(ConfigError, match="render_mode"):
        NetworkGymEnv("custom", render_mode="human")


@pytest.mark.parametrize("address", ["embedded", "embedded+tcp"])
def test_reset_with_seed_mid_session_never_sleeps(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(env_module.time, "sleep", no_sleep)
    env = NetworkGymEnv("nqos_split", config=small(steps=5, episodes=1), server=address)
    try:
        first, _ = env.reset(seed=3)
        env.step(env.action_space.sample())
        again, info = env.reset(seed=3)  # inside the running session: a new one, same seed
        assert np.array_equal(first, again)
        assert info["network_stats"].ts == env.config.measurement_start_time_ms + 100
        env.step(env.action_space.sample())
    finally:
        env.close()


def test_reset_with_seed_mid_session_over_tcp_needs_no_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(env_module.time, "sleep", no_sleep)
    with FakeServer() as srv:
        env = NetworkGymEnv("custom", server=srv.address, config=small(steps=5, episodes=1))
        try:
            for seed in (1, 2, 1):
                _, info = env.reset(seed=seed)
                assert info["network_stats"].ts == 2000
                env.step(env.action_space.sample())
            assert srv.backend.session_count == 1
        finally:
            env.close()


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
            assert srv.backend.session_count == 1  # the session waits for its last action
        finally:
            env.close()
        # close() ended it with netgym's env-end; the server handles it in its own thread
        deadline = time.monotonic() + 5.0
        while srv.backend.session_count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.backend.session_count == 0


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
        first = NetworkGymEnv("custom", config=small(steps=5, episodes=1, random_seed=1))
        killed = NorthboundClient(srv.address)
        killed.start(first.config.env_config)
        killed.receive(5.0)
        killed.close()  # gone mid-episode without env-end; the server still maps admin-0
        again = NetworkGymEnv("custom", server=srv.address, config=small(steps=5, episodes=1))
        try:
            _, info = again.reset(seed=1)  # env-error "Mapping Exits", retry after 1 s
            assert info["network_stats"].ts == 2000
        finally:
            again.close()


def test_close_is_idempotent_and_releases_the_embedded_server() -> None:
    env = NetworkGymEnv("custom", server="embedded+tcp")
    env.reset()
    server = env._server
    assert server is not None and server.running
    env.close()
    env.close()
    assert not server.running


def test_more_users_than_ns3_takes_warns_not_on_netgyms_servers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    many = small(steps=2, episodes=1, per_slice_config={"num_users": [30, 30]})
    with caplog.at_level("WARNING", logger="netgym_client.env"):
        env = NetworkGymEnv("nqos_split", config=many)
        env.reset(seed=1)
        env.close()
        assert not [r for r in caplog.records if "ns-3" in r.getMessage()]
        with FakeServer() as srv:
            env = NetworkGymEnv("nqos_split", config=many, server=srv.address)
            try:
                obs, _ = env.reset(seed=1)
                assert obs.shape == (3, 60)
            finally:
                env.close()
    # netgym's server names itself in the handshake; the warning for a server that does not
    # is tests/e2e/test_server_name.py's
    assert not [r for r in caplog.records if "ns-3" in r.getMessage()]
