"""The in-process embedded path gives exactly what the ZeroMQ path gives.

The same seed and actions go through ``server="embedded"`` (no sockets, no JSON) and through
``server="embedded+tcp"`` (the same server behind loopback ZeroMQ, PLAIN and JSON); every
observation, reward, flag and info value must be equal, and faults must raise the same
error types with the same texts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from netgym_client import NetworkGymEnv
from netgym_client.adapters.base import PolicyRecords
from netgym_client.adapters.custom import CustomAdapter
from netgym_client.adapters.nqos_split import NqosSplitAdapter
from netgym_client.errors import EnvError, NetGymError
from netgym_client.stats import NetworkStats

pytestmark = pytest.mark.e2e

ALL_ENVS = ["custom", "nqos_split", "qos_steer", "network_slicing", "rmcat"]
PATHS = ("embedded", "embedded+tcp")


def trajectory(env_name: str, address: str, users: int | None = None) -> list[Any]:
    """Everything an agent sees over two episodes, a mid-session reset and a new session."""
    env_config: dict[str, Any] = {"steps_per_episode": 3, "episodes_per_session": 2}
    if users is not None:
        env_config["per_slice_config"] = {"num_users": [users // 2, users - users // 2]}
    env = NetworkGymEnv(env_name, config={"env_config": env_config}, server=address)
    env.action_space.seed(11)
    seen: list[Any] = []
    try:
        for seed in (5, None, 6):  # 6: reset(seed=…) inside the running session
            seen.append(("reset", *env.reset(seed=seed)))
            for _ in range(2):
                seen.append(("step", *env.step(env.action_space.sample())))
        seen.append(("reset", *env.reset()))
        while True:
            seen.append(("step", *env.step(env.action_space.sample())))
            if seen[-1][4]:  # truncated
                break
        seen.append(("reset", *env.reset()))  # after the session's end: a new session
    finally:
        env.close()
    return seen


def assert_same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, NetworkStats):
        assert isinstance(b, NetworkStats), where
        assert a == b, where
        assert a.to_records() == b.to_records(), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, tuple | list):
        assert isinstance(b, type(a)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("env_name", ALL_ENVS)
def test_embedded_and_tcp_give_the_same_trajectory(env_name: str) -> None:
    # compared only after both ran: a record the session changed later would show here
    inprocess = trajectory(env_name, "embedded")
    wire = trajectory(env_name, "embedded+tcp")
    assert len(inprocess) == len(wire) > 10
    assert_same(inprocess, wire, env_name)
    rewards = [item[2] for item in inprocess if item[0] == "step"]
    assert all(isinstance(r, float) for r in rewards)


def test_embedded_and_tcp_agree_with_many_users() -> None:
    assert_same(
        trajectory("nqos_split", "embedded", users=120),
        trajectory("nqos_split", "embedded+tcp", users=120),
        "nqos_split/120",
    )


def error_of(make: Any) -> NetGymError:
    env = make()
    try:
        with pytest.raises(NetGymError) as info:
            env.reset(seed=1)
            for _ in range(3):
                env.step(env.action_space.sample())
        return info.value
    finally:
        env.close()


def assert_same_error(make_for: Any) -> NetGymError:
    inprocess, wire = (error_of(lambda a=a: make_for(a)) for a in PATHS)
    assert type(inprocess) is type(wire)
    assert str(inprocess) == str(wire)
    return inprocess


def test_a_refused_identity_is_the_same_env_error() -> None:
    error = assert_same_error(
        lambda address: NetworkGymEnv(
            "custom", config={"server": {"address": address, "client_id": 99}}
        )
    )
    assert isinstance(error, EnvError) and "client_id" in error.message


def test_a_config_the_simulator_refuses_is_the_same_env_error() -> None:
    def make(address: str) -> NetworkGymEnv:
        config = NetworkGymEnv("custom", server=address).config
        env_config = {**config.env_config, "env_end_time_ms": 0}  # past the client's checks
        return NetworkGymEnv(dataclasses.replace(config, env_config=env_config))

    error = assert_same_error(make)
    assert isinstance(error, EnvError) and error.message.startswith("InvalidEnvConfig:")


class UnknownKnobAdapter(NqosSplitAdapter):
    """Sends a knob the simulator does not have."""

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        return {**record, "name": "no_such_knob"}


def test_an_action_the_simulator_refuses_is_the_same_env_error() -> None:
    error = assert_same_error(
        lambda address: NetworkGymEnv("nqos_split", server=address, adapter=UnknownKnobAdapter)
    )
    assert isinstance(error, EnvError) and error.message.startswith("InvalidAction:")


class TupleAdapter(CustomAdapter):
    """Sends a policy that is not JSON data (a tuple where an array belongs)."""

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        return {**record, "value": tuple(record["value"])}


def test_a_policy_that_is_not_wire_data_is_refused_the_same_way() -> None:
    error = assert_same_error(
        lambda address: NetworkGymEnv("custom", server=address, adapter=TupleAdapter)
    )
    assert "action_list" in str(error)


@pytest.mark.parametrize("address", PATHS)
def test_after_an_env_error_the_next_reset_starts_afresh(address: str) -> None:
    env = NetworkGymEnv("nqos_split", server=address, adapter=UnknownKnobAdapter)
    try:
        env.reset(seed=1)
        with pytest.raises(EnvError):
            env.step(env.action_space.sample())
        with pytest.raises(NetGymError, match="reset"):
            env.step(env.action_space.sample())
        _, info = env.reset(seed=1)
        assert info["network_stats"].ts == env.config.measurement_start_time_ms + 100
    finally:
        env.close()
