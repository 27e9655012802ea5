"""``check_adapter`` passes every built-in adapter and names the check a broken one fails."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from netgym_client.adapters import Adapter, PolicyRecords, adapter_class
from netgym_client.adapters.custom import CustomAdapter
from netgym_client.adapters.rmcat import RmcatMbpsAdapter
from netgym_client.config import ENVIRONMENTS, NetGymConfig, load_config
from netgym_client.errors import NetGymError
from netgym_client.stats import NetworkStats
from netgym_client.testing.checks import CHECKS, AdapterCheckError, check_adapter

EXAMPLES = 8


def custom() -> NetGymConfig:
    return load_config("custom", {"env_config": {"num_users": 2}})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_built_in_adapter_passes(env: str) -> None:
    check_adapter(adapter_class(env), load_config(env), max_examples=EXAMPLES)


@pytest.mark.parametrize(
    ("env", "reward_type"),
    [("network_slicing", "slice_utility"), ("rmcat", "delay_aware_throughput")],
)
def test_the_opt_in_rewards_pass(env: str, reward_type: str) -> None:
    config = load_config(env, {"rl_config": {"reward_type": reward_type}})
    check_adapter(adapter_class(env), config, max_examples=EXAMPLES)


def test_the_rmcat_mbps_adapter_passes() -> None:
    check_adapter(RmcatMbpsAdapter, load_config("rmcat"), max_examples=EXAMPLES)


# -- deliberately broken adapters ---------------------------------------------------------
class NanObservation(CustomAdapter):
    def observation(self, stats: NetworkStats) -> np.ndarray:
        obs = super().observation(stats)
        obs[0, 0] = np.nan
        return obs


class Float64Observation(CustomAdapter):
    def observation(self, stats: NetworkStats) -> np.ndarray:
        return super().observation(stats).astype(np.float64)


class TransposedObservation(CustomAdapter):
    def observation(self, stats: NetworkStats) -> np.ndarray:
        return super().observation(stats).T.copy()


class UnclippedObservation(CustomAdapter):
    def observation(self, stats: NetworkStats) -> np.ndarray:
        return np.vstack([stats.get(k, ids=self.ids) for k in ("test::measurement_1",) * 3]).astype(
            np.float32
        )


class RaisesOnMissingRecord(CustomAdapter):
    def observation(self, stats: NetworkStats) -> np.ndarray:
        stats.metric("test::measurement_1")  # raises when the record is absent
        return super().observation(stats)


class NumpyScalarPolicy(CustomAdapter):
    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        record["value"] = [np.float32(v) for v in record["value"]]
        if action is None:
            record["ts"] = np.int64(record["ts"])
        return record


class TuplePolicy(CustomAdapter):
    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        record["id"] = tuple(record["id"])
        return record


class NoEmptyValueForNone(CustomAdapter):
    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        return super().policy(np.zeros(self.num_users) if action is None else action, stats)


class StaleTimestamp(CustomAdapter):
    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        record["ts"] = int(stats.ts) - 1
        return record


class NoisyReward(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.rng = np.random.default_rng(0)

    def reward(self, stats: NetworkStats) -> float:
        return float(self.rng.random())


class CountingPolicy(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.calls = 0

    def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
        self.calls += 1
        record = super().policy(action, stats)
        assert isinstance(record, dict)
        record["seq"] = self.calls
        return record


class NanReward(CustomAdapter):
    def reward(self, stats: NetworkStats) -> float:
        return float("nan")


class ArrayReward(CustomAdapter):
    def reward(self, stats: NetworkStats) -> float:
        return np.zeros(1)  # type: ignore[return-value]


class BoolReward(CustomAdapter):
    def reward(self, stats: NetworkStats) -> float:
        return True


class ListInfo(CustomAdapter):
    def info(self, stats: NetworkStats) -> dict[str, Any]:
        return [1, 2]  # type: ignore[return-value]


class Float64Space(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.observation_space = gym.spaces.Box(0, 1000, (3, self.num_users), np.float64)


class UnboundedActions(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.action_space = gym.spaces.Box(-np.inf, np.inf, (self.num_users,), np.float32)


class DictActions(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        super().__init__(config)
        self.action_space = gym.spaces.Dict({"a": gym.spaces.Discrete(2)})  # type: ignore[assignment]


class BrokenConstructor(CustomAdapter):
    def __init__(self, config: NetGymConfig) -> None:
        raise KeyError("num_flows")


class NotAnAdapter:
    def __init__(self, config: NetGymConfig) -> None:
        self.config = config


@pytest.mark.parametrize(
    ("broken", "check", "fragment"),
    [
        (NanObservation, "observation", "NaN or infinite"),
        (Float64Observation, "observation", "not float32"),
        (TransposedObservation, "observation", "shape (2, 3)"),
        (UnclippedObservation, "observation", "outside"),
        (RaisesOnMissingRecord, "observation", "raised"),
        (NumpyScalarPolicy, "policy", "cannot go on the wire"),
        (TuplePolicy, "policy", "cannot go on the wire"),
        (NoEmptyValueForNone, "policy", "policy(None)"),
        (StaleTimestamp, "policy", "ts"),
        (NoisyReward, "determinism", "rewards"),
        (CountingPolicy, "determinism", "two policies"),
        (NanReward, "reward", "nan"),
        (ArrayReward, "reward", "not a real number"),
        (BoolReward, "reward", "not a real number"),
        (ListInfo, "info", "not a dict"),
        (Float64Space, "spaces", "float32"),
        (UnboundedActions, "spaces", "bounded"),
        (DictActions, "spaces", "action_space"),
        (BrokenConstructor, "construct", "KeyError"),
        (NotAnAdapter, "construct", "not a subclass"),
    ],
)
def test_a_broken_adapter_fails_the_named_check(
    broken: type[Any], check: str, fragment: str
) -> None:
    with pytest.raises(AdapterCheckError) as info:
        check_adapter(broken, custom(), max_examples=EXAMPLES)
    error = info.value
    assert error.check == check, str(error)
    assert check in CHECKS
    assert fragment in error.problem, str(error)
    assert f"check {check!r} failed for" in str(error)
    assert "fix:" in str(error) and error.fix
    assert broken.__qualname__ in str(error)


def test_the_error_is_both_a_netgym_error_and_an_assertion_error() -> None:
    with pytest.raises(NetGymError):
        check_adapter(NanReward, custom(), max_examples=2)
    with pytest.raises(AssertionError):
        check_adapter(NanReward, custom(), max_examples=2)


def test_check_adapter_is_reproducible() -> None:
    messages = []
    for _ in range(2):
        with pytest.raises(AdapterCheckError) as info:
            check_adapter(UnclippedObservation, custom(), max_examples=EXAMPLES)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_a_user_adapter_for_another_environment() -> None:
    class ConstantRates(Adapter):
        env_name = "nqos_split"

        def __init__(self, config: NetGymConfig) -> None:
            super().__init__(config)
            self.observation_space = gym.spaces.Box(0, 1, (2,), np.float32)
            self.action_space = gym.spaces.Discrete(3)

        def observation(self, stats: NetworkStats) -> np.ndarray:
            return np.zeros(2, dtype=np.float32)

        def reward(self, stats: NetworkStats) -> float:
            return 1.0

        def policy(self, action: np.ndarray | None, stats: NetworkStats) -> PolicyRecords:
            from netgym_client.adapters import template_record

            value = [] if action is None else [[1, 0, 0]] * self.config.num_users
            ids = list(range(1, self.config.num_users + 1))
            return template_record(stats, "gma::dl::rate", "dl::split_weight", value, ids=ids)

    check_adapter(ConstantRates, load_config("nqos_split"), max_examples=EXAMPLES)
