"""The ``nqos_split`` adapter (PROTOCOL.md §9): rows, the split-weight policy, the utility."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from netgym_client.adapters.nqos_split import (
    NqosSplitAdapter,
    normalized_utility,
    utility_reward,
)
from netgym_client.config import load_config
from netgym_client.errors import ActionError
from netgym_client.stats import NetworkStats


def adapter() -> NqosSplitAdapter:
    return NqosSplitAdapter(load_config("nqos_split"))  # 5 users: 1 + 4


def rec(key: str, ids: list[int], values: list[Any], ts: int = 1100) -> dict[str, Any]:
    source, name = key.split("::", 1)
    return {"source": source, "name": name, "ts": ts, "id": ids, "value": values}


def stats_of(*records: dict[str, Any]) -> NetworkStats:
    return NetworkStats.from_records(list(records))


def test_spaces() -> None:
    a = adapter()
    assert a.observation_space.shape == (3, 5)
    assert a.action_space.shape == (5, 3)


def test_rows_are_lte_wifi_capacity_then_rate_over_users_1_to_n() -> None:
    ids = [1, 2, 3, 4, 5]
    stats = stats_of(
        rec("gma::dl::rate", ids, [1, 2, 3, 4, 5]),
        rec("wifi::dl::max_rate", ids, [10, 20, 30, 40, 50]),
        rec("lte::dl::max_rate", ids, [100, 200, 300, 400, 500]),
    )
    obs = adapter().observation(stats)
    assert obs.tolist() == [[100, 200, 300, 400, 500], [10, 20, 30, 40, 50], [1, 2, 3, 4, 5]]


def test_missing_users_are_zero_and_counted_user_0_is_not_a_user() -> None:
    stats = stats_of(
        rec("gma::dl::rate", [0, 2, 5], [7, 2, 5]),
        rec("wifi::dl::max_rate", [1, 2, 3, 4, 5], [1, 1, 1, 1, 1]),
    )
    a = adapter()
    obs = a.observation(stats)
    assert obs[2].tolist() == [0, 2, 0, 0, 5]
    assert obs[0].tolist() == [0] * 5
    assert a.filled_values == 5 + 0 + 3


# -- utility reward: expected values worked out by hand -------------------------------------
@pytest.mark.parametrize(
    ("rates", "owds", "expected"),
    [
        # mean rate 4 Mbps, mean owd 2 ms: 0.5 ln 4 − 0.5 ln 2 = 0.5 ln 2.
        ([2.0, 6.0], [1.0, 3.0], 0.5 * math.log(2.0)),
        # No packet received: owd −1 everywhere → ln replaced by −10: 0.5·ln 1 + 5 = 5.
        ([1.0, 1.0], [-1.0, -1.0], 5.0),
        # Nothing delivered: rate 0 → −10; owd e² ms → 2: −5 − 1 = −6.
        ([0.0, 0.0, 0.0], [math.exp(2.0)] * 3, -6.0),
        # Both floors: −5 + 5 = 0.
        ([0.0], [0.0], 0.0),
        # Clipped at +10: 0.5·ln(e^30) − 0.5·ln 1 = 15 → 10.
        ([math.exp(30.0)], [1.0], 10.0),
        # Clipped at −10: 0.5·ln(e^−30) + 5 = −10 exactly; e^−32 → −11 → −10.
        ([math.exp(-32.0)], [-1.0], -10.0),
    ],
)
def test_utility_reward_known_values(
    rates: list[float], owds: list[float], expected: float
) -> None:
    ids = list(range(1, len(rates) + 1))
    stats = stats_of(rec("gma::dl::rate", ids, rates), rec("gma::dl::owd", ids, owds))
    assert adapter().reward(stats) == pytest.approx(expected, abs=1e-12)


def test_utility_averages_the_record_as_sent_including_extra_users() -> None:
    # The original averages the record's values, whatever the ids: (1 + 2 + 9) / 3 = 4 Mbps;
    # owd 4 ms: 0.5 ln 4 − 0.5 ln 4 = 0. Ignoring user 99 would give 0.5 ln 1.5 − ln 2 < 0.
    stats = stats_of(
        rec("gma::dl::rate", [1, 2, 99], [1.0, 2.0, 9.0]), rec("gma::dl::owd", [1], [4.0])
    )
    assert adapter().reward(stats) == pytest.approx(0.0, abs=1e-12)


def test_utility_of_missing_records_counts_as_zero_means() -> None:
    assert adapter().reward(stats_of(rec("gma::dl::owd", [1], [1.0]))) == pytest.approx(-5.0)
    assert utility_reward(0.0, 0.0) == 0.0


# -- normalized utility (the NetworkGym paper's reward) ---------------------------------------
def normalized_adapter() -> NqosSplitAdapter:
    return NqosSplitAdapter(
        load_config("nqos_split", {"rl_config": {"reward_type": "normalized_utility"}})
    )


def test_normalized_utility_of_the_ns3_sample_is_minus_1_27() -> None:
    # The docs' ns-3 sample: mean rate 47.032 / 4 = 11.758 Mbps; capacities (37+37+23+37)/4 =
    # 33.5 and (78+78+65+78)/4 = 74.75 Mbps; mean owd (298+65+682+507)/4 = 388 ms.
    ids = [1, 2, 3, 4]
    stats = stats_of(
        rec("gma::dl::rate", ids, [8.824, 17.072, 6.736, 14.4]),
        rec("lte::dl::max_rate", ids, [37, 37, 23, 37]),
        rec("wifi::dl::max_rate", ids, [78, 78, 65, 78]),
        rec("gma::dl::owd", ids, [298, 65, 682, 507]),
    )
    expected = math.log(11.758 / 108.25) - math.log(0.388)
    assert normalized_adapter().reward(stats) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(-1.2732, abs=1e-4)
    # The default reward_type keeps the original utility on the same measurement.
    assert adapter().reward(stats) == pytest.approx(
        0.5 * math.log(11.758) - 0.5 * math.log(388.0), abs=1e-12
    )


def test_normalized_utility_averages_delay_over_users_with_packets() -> None:
    # User 2 received nothing (owd −1): the delay is user 1's 100 ms, so ln(0.1) is subtracted.
    ids = [1, 2]
    stats = stats_of(
        rec("gma::dl::rate", ids, [10.0, 0.0]),
        rec("lte::dl::max_rate", ids, [20, 20]),
        rec("wifi::dl::max_rate", ids, [30, 30]),
        rec("gma::dl::owd", ids, [100, -1]),
    )
    expected = math.log(5.0 / 50.0) - math.log(0.1)
    assert normalized_adapter().reward(stats) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("rate", "capacity", "owd"), [(0.0, 50.0, 10.0), (5.0, 0.0, 10.0), (5.0, 50.0, 0.0)]
)
def test_normalized_utility_without_delivery_capacity_or_delay_is_the_floor(
    rate: float, capacity: float, owd: float
) -> None:
    assert normalized_utility(rate, capacity, owd) == -10.0


def test_normalized_utility_is_clipped_to_plus_minus_10() -> None:
    assert normalized_utility(1.0, 1.0, 1e-9) == 10.0
    assert normalized_utility(1e-9, 1e9, 1.0) == -10.0


def test_normalized_utility_of_an_empty_measurement_is_the_floor() -> None:
    assert normalized_adapter().reward(stats_of()) == -10.0


# -- policy -----------------------------------------------------------------------------------
def test_policy_normalises_rows_and_zero_rows_go_to_wifi() -> None:
    stats = stats_of(rec("gma::dl::rate", [1, 2, 3, 4, 5], [0, 0, 0, 0, 0], ts=4100))
    action = np.array(
        [[0.2, 0.2, 0.4], [0, 0, 0], [0.5, 0, 0], [0, 0, 1], [0.2, 0.2, 0.2]], dtype=np.float32
    )
    policy = adapter().policy(action, stats)
    assert isinstance(policy, dict)
    assert policy["name"] == "dl::split_weight" and policy["source"] == "gma"
    assert policy["ts"] == 4100 and policy["id"] == [1, 2, 3, 4, 5]
    expected = [[0.25, 0.25, 0.5], [1, 0, 0], [1, 0, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(policy["value"], expected, rtol=1e-6)
    assert all(type(v) is float for row in policy["value"] for v in row)


def test_policy_clips_before_normalising() -> None:
    stats = stats_of(rec("gma::dl::rate", [1, 2, 3, 4, 5], [0] * 5))
    action = np.array([[-3, 2, 1]] + [[1, 0, 0]] * 4, dtype=np.float32)
    policy = adapter().policy(action, stats)
    assert isinstance(policy, dict)
    assert policy["value"][0] == [0.0, 0.5, 0.5]  # [-3, 2, 1] → [0, 1, 1] → halves


def test_none_sends_empty_value_and_wrong_shapes_are_refused() -> None:
    stats = stats_of(rec("gma::dl::rate", [1, 2, 3, 4, 5], [0] * 5))
    policy = adapter().policy(None, stats)
    assert isinstance(policy, dict) and policy["value"] == []
    with pytest.raises(ActionError):
        adapter().policy(np.ones((5,)), stats)
    with pytest.raises(ActionError):
        adapter().policy(np.ones((3, 5)), stats)
