"""The ``qos_steer`` adapter (PROTOCOL.md §10, §14): 0/1 steering, the QoS user count."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from netgym_client.adapters.qos_steer import QosSteerAdapter
from netgym_client.config import load_config
from netgym_client.errors import ActionError
from netgym_client.stats import NetworkStats

IDS = [1, 2, 3, 4, 5, 6, 7, 8]


def adapter() -> QosSteerAdapter:
    return QosSteerAdapter(load_config("qos_steer"))  # 8 users


def rec(key: str, ids: list[int], values: list[Any], ts: int = 2000) -> dict[str, Any]:
    source, name = key.split("::", 1)
    return {"source": source, "name": name, "ts": ts, "id": ids, "value": values}


def test_spaces() -> None:
    a = adapter()
    assert a.observation_space.shape == (3, 8)
    assert isinstance(a.action_space, gym.spaces.MultiDiscrete)
    assert a.action_space.nvec.tolist() == [2] * 8


def test_observation_rows() -> None:
    stats = NetworkStats.from_records(
        [
            rec("lte::dl::max_rate", IDS, [5] * 8),
            rec("wifi::dl::max_rate", IDS, [50] * 8),
            rec("gma::dl::rate", IDS[:4], [1, 2, 3, 4]),
        ]
    )
    a = adapter()
    obs = a.observation(stats)
    assert obs.tolist() == [[5] * 8, [50] * 8, [1, 2, 3, 4, 0, 0, 0, 0]]
    assert a.filled_values == 4


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.1, 0.1000001, 0.0, 5.0, -1.0], 2.0),  # strictly above 0.1 Mbps: 0.1000001 and 5
        ([0.2] * 8, 8.0),
        ([0.1] * 8, 0.0),
        ([], 0.0),
    ],
)
def test_reward_counts_users_strictly_above_0_1_mbps(values: list[float], expected: float) -> None:
    ids = list(range(1, len(values) + 1))
    stats = NetworkStats.from_records([rec("gma::wifi::dl::qos_rate", ids, values)])
    assert adapter().reward(stats) == expected


def test_reward_without_the_record_is_zero() -> None:
    stats = NetworkStats.from_records([rec("gma::dl::rate", IDS, [9.0] * 8)])
    assert adapter().reward(stats) == 0.0


def test_policy_sends_plain_ints_on_the_rate_template() -> None:
    stats = NetworkStats.from_records([rec("gma::dl::rate", IDS, [1.0] * 8, ts=5000)])
    action = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    policy = adapter().policy(action, stats)
    assert policy == {
        "name": "wifi::dl::split_ratio",
        "ts": 5000,
        "source": "gma",
        "id": IDS,
        "value": [1, 0, 1, 1, 0, 0, 1, 0],
    }
    assert isinstance(policy, dict) and all(type(v) is int for v in policy["value"])


def test_none_sends_empty_value() -> None:
    stats = NetworkStats.from_records([rec("gma::dl::rate", IDS, [1.0] * 8)])
    policy = adapter().policy(None, stats)
    assert isinstance(policy, dict) and policy["value"] == []


@pytest.mark.parametrize(
    "action",
    [
        np.array([2, 0, 0, 0, 0, 0, 0, 0]),
        np.array([-1, 0, 0, 0, 0, 0, 0, 0]),
        np.array([0.5, 0, 0, 0, 0, 0, 0, 0]),
        np.array([0, 1, 0]),
    ],
)
def test_out_of_range_non_integer_and_misshaped_actions_are_refused(action: np.ndarray) -> None:
    stats = NetworkStats.from_records([rec("gma::dl::rate", IDS, [1.0] * 8)])
    with pytest.raises(ActionError):
        adapter().policy(action, stats)
