"""The ``custom`` adapter (PROTOCOL.md §8): rows, fills, clipping, the golden policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_client.adapters.custom import CustomAdapter
from netgym_client.config import load_config
from netgym_client.errors import ActionError
from netgym_client.protocol import EnvAction, EnvMeasurement, decode, encode
from netgym_client.stats import NetworkStats

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"


def adapter(num_users: int = 3) -> CustomAdapter:
    return CustomAdapter(load_config("custom", {"env_config": {"num_users": num_users}}))


def rec(name: str, ids: list[int], values: list[Any], ts: int = 2000) -> dict[str, Any]:
    return {"source": "test", "name": name, "ts": ts, "id": ids, "value": values}


def capture_payload(name: str) -> Any:
    return decode(json.loads((CAPTURES / name).read_text("utf-8"))["payload_raw"].encode())


def test_spaces_follow_num_users() -> None:
    a = adapter(4)
    assert a.observation_space.shape == (3, 4)
    assert a.observation_space.dtype == np.float32
    assert float(a.observation_space.low.min()) == 0.0
    assert float(a.observation_space.high.max()) == 1000.0
    assert a.action_space.shape == (4,)
    assert float(a.action_space.low.min()) == 0.0 and float(a.action_space.high.max()) == 1.0


def test_rows_are_measurements_1_to_3_over_users_0_to_n() -> None:
    stats = NetworkStats.from_records(
        [rec(f"measurement_{k}", [0, 1, 2], [k, 10 * k, 100 * k]) for k in (4, 3, 2, 1)]
    )
    a = adapter()
    obs = a.observation(stats)
    assert obs.dtype == np.float32
    assert obs.tolist() == [[1, 10, 100], [2, 20, 200], [3, 30, 300]]
    assert a.info(stats)["filled_values"] == 0
    assert a.info(stats)["clipped_values"] == 0


def test_the_captured_nested_measurement_is_observed() -> None:
    msg = capture_payload("05_client-from-server_env-measurement.json")
    assert isinstance(msg, EnvMeasurement)
    obs = adapter().observation(NetworkStats.from_records(msg.network_stats))
    # Values of captures/05: measurement_1 [6, 5, 8], _2 [5, 6, 7], _3 [7, 6, 8].
    assert obs.tolist() == [[6, 5, 8], [5, 6, 7], [7, 6, 8]]


def test_missing_users_and_records_read_zero_and_are_counted() -> None:
    stats = NetworkStats.from_records(
        [rec("measurement_1", [2], [7]), rec("measurement_2", [0, 1, 2], [1, 2, 3])]
    )
    a = adapter()
    obs = a.observation(stats)
    assert obs.tolist() == [[0, 0, 7], [1, 2, 3], [0, 0, 0]]
    assert a.info(stats)["filled_values"] == 2 + 3


def test_extra_users_are_ignored_and_huge_values_clipped() -> None:
    records = [rec(f"measurement_{k}", [0, 1, 2, 9], [1e300, -5, 3, 4]) for k in (1, 2, 3)]
    a = adapter()
    obs = a.observation(NetworkStats.from_records(records))
    assert obs.tolist() == [[1000, 0, 3]] * 3
    assert a.clipped_values == 6
    assert np.all(np.isfinite(obs))


def test_policy_reproduces_the_captured_action() -> None:
    measurement = capture_payload("05_client-from-server_env-measurement.json")
    expected = capture_payload("06_client-to-server_env-action.json")
    assert isinstance(measurement, EnvMeasurement) and isinstance(expected, EnvAction)
    assert isinstance(expected.action_list, dict)
    action = np.array(expected.action_list["value"], dtype=np.float32)
    policy = adapter().policy(action, NetworkStats.from_records(measurement.network_stats))
    assert policy == expected.action_list
    assert list(policy) == ["name", "ts", "source", "id", "value"]  # the original's key order


def test_none_and_empty_actions_send_an_empty_value() -> None:
    stats = NetworkStats.from_records([rec("measurement_1", [0, 1, 2], [1, 2, 3], ts=3000)])
    for action in (None, np.array([])):
        policy = adapter().policy(action, stats)
        assert policy == {
            "name": "srate",
            "ts": 3000,
            "source": "test",
            "id": [0, 1, 2],
            "value": [],
        }


def test_box_actions_are_clipped_and_counted() -> None:
    stats = NetworkStats.from_records([rec("measurement_1", [0, 1, 2], [1, 2, 3])])
    a = adapter()
    policy = a.policy(np.array([-1.0, 2.0, 0.5]), stats)
    assert isinstance(policy, dict)
    assert policy["value"] == [0.0, 1.0, 0.5]
    assert all(type(v) is float for v in policy["value"])
    assert a.info(stats)["clipped_action_values"] == 2


def test_policy_ids_are_the_adapters_users_even_when_the_template_lacks_one() -> None:
    stats = NetworkStats.from_records([rec("measurement_1", [0, 2], [1, 3])])
    policy = adapter().policy(np.array([0.1, 0.2, 0.3], dtype=np.float32), stats)
    assert isinstance(policy, dict)
    assert policy["id"] == [0, 1, 2]
    decode(encode(EnvAction(policy)))  # id and value agree in length: the wire accepts it


@pytest.mark.parametrize(
    "action",
    [np.zeros(2), np.zeros((3, 1)), np.array([0.1, float("nan"), 0.2]), np.array(["a", "b", "c"])],
)
def test_bad_actions_raise_action_error(action: np.ndarray) -> None:
    stats = NetworkStats.from_records([rec("measurement_1", [0, 1, 2], [1, 2, 3])])
    with pytest.raises(ActionError):
        adapter().policy(action, stats)


def test_original_reward_type_is_zero() -> None:
    stats = NetworkStats.from_records([rec("measurement_1", [0, 1, 2], [9, 9, 9])])
    config = load_config(
        "custom", {"env_config": {"num_users": 3}, "rl_config": {"reward_type": ""}}
    )
    assert CustomAdapter(config).reward(stats) == 0.0


def test_default_reward_is_the_mean_of_the_observation() -> None:
    stats = NetworkStats.from_records(
        [
            rec("measurement_1", [0, 1, 2], [9, 9, 9]),
            rec("measurement_2", [0, 2], [3, 5000]),  # user 1 missing (0), 5000 clipped to 1000
            rec("measurement_4", [0, 1, 2], [100, 100, 100]),  # not observed, not rewarded
        ]
    )
    a = adapter()
    assert a.config.rl_config["reward_type"] == "measurement_mean"
    assert a.reward(stats) == pytest.approx((9 * 3 + 3 + 0 + 1000) / 9)
    assert a.reward(stats) == pytest.approx(float(np.mean(a.observation(stats))))
    assert a.filled_values == 4  # the reward did not count: only the observation does
