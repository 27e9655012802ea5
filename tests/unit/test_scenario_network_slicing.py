"""network_slicing: config, the three RBG allocation knobs, rejections, records (§11)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import simpy

from netgym_client.adapters.network_slicing import NetworkSlicingAdapter
from netgym_client.config import load_config
from netgym_client.stats import NetworkStats
from netgym_sim.errors import InvalidAction, InvalidEnvConfig
from netgym_sim.model.slicing import rbg_count, rbg_size
from netgym_sim.scenarios._gma_records import order_rows
from netgym_sim.scenarios.network_slicing import NetworkSlicingScenario
from tests.property.test_model_laws import by_name, default_config, run

ENV = "network_slicing"


def congested(rate_mbps: float = 20.0) -> dict[str, Any]:
    """The default config with every user offering ``rate_mbps`` (the carrier saturates)."""
    config = default_config(ENV)
    per = config["per_slice_config"]
    per["min_udp_rate_per_user_mbps"] = [rate_mbps, rate_mbps]
    per["max_udp_rate_per_user_mbps"] = [rate_mbps, rate_mbps]
    return config


def allocation(name: str, per_slice: list[float], ts: int, cells: int = 1) -> dict[str, Any]:
    value = [{"slice": list(range(len(per_slice))), "value": per_slice} for _ in range(cells)]
    return {
        "source": "lte",
        "name": name,
        "ts": ts,
        "id": list(range(1, cells + 1)),
        "value": value,
    }


def prioritized(p: list[float]) -> Any:
    def act(k: int, ts: int) -> Any:
        return [
            allocation("drb_allocation", [0.0] * len(p), ts),
            allocation("prb_allocation", p, ts),
            allocation("srb_allocation", [25.0] * len(p), ts),
        ]

    return act


def slice_rates(records: list[dict[str, Any]]) -> list[float]:
    ids, values = by_name(records)["gma::dl::cell::rate"]
    assert ids == [1]
    return list(values[0]["value"])


def test_rbg_table_follows_ts_36_213() -> None:
    assert [rbg_size(n) for n in (6, 9, 10, 25, 26, 50, 62, 63, 100, 110)] == [
        1, 1, 2, 2, 3, 3, 3, 4, 4, 4,
    ]  # fmt: skip
    assert rbg_count(100) == 25.0
    assert rbg_count(50) == pytest.approx(50 / 3)
    with pytest.raises(ValueError, match=re.escape("1..110")):
        rbg_size(111)


def test_default_config_runs_and_reports_every_subscription_in_its_shape() -> None:
    config = default_config(ENV)
    (records,) = run(config, 1, 1, cls=NetworkSlicingScenario)
    # ns-3's row order; no split_ratio row while no user's split was set
    wanted = [s for s in order_rows(config["subscribed_network_stats"]) if "split_ratio" not in s]
    assert [f"{r['source']}::{r['name']}" for r in records] == wanted
    stats = NetworkStats.from_records(records)
    assert stats.ids("lte::slice_id").tolist() == [1, 2, 3, 4, 5]
    assert stats.get("lte::slice_id").tolist() == [0, 0, 1, 1, 1]
    for key in ("lte::dl::cell::rb_usage", "lte::dl::cell::max_rate", "gma::dl::cell::rate"):
        cells = stats.sliced(key)
        assert list(cells) == [1] and cells[1][0] == [0, 1]
    assert stats.get("gma::lte::dl::traffic_ratio").tolist() == [100.0] * 5


def test_the_old_layout_is_rejected_naming_its_first_key() -> None:
    config = default_config(ENV)
    config["enb_locations"] = {"x": 40, "y": 0, "z": 3}
    with pytest.raises(InvalidEnvConfig, match=r"enb_locations.*lte_enb_locations"):
        NetworkSlicingScenario(config, 1)


def test_the_original_adapters_old_keys_beside_the_current_layout_are_ignored() -> None:
    """The original network_slicing adapter reads ``slice_list`` and ``LTE`` from the config
    it sends: beside ``per_slice_config`` and ``lte`` they are ignored, as ns-3 ignores them."""
    config = default_config(ENV)
    old = {"num_users": 9, "dedicated_rbg": 0, "prioritized_rbg": 1, "shared_rbg": 1}
    extra = {"slice_list": [old, old, old], "LTE": {"resource_block_num": 6}}
    scenario = NetworkSlicingScenario({**config, **extra}, 1)
    assert scenario.allocation.prioritized.tolist() == [[13.0, 12.0]]
    alone = {k: v for k, v in {**config, **extra}.items() if k != "per_slice_config"}
    with pytest.raises(InvalidEnvConfig, match="slice_list: unknown key \\(old config layout"):
        NetworkSlicingScenario(alone, 1)


def test_a_configured_allocation_beyond_the_carrier_is_rejected() -> None:
    config = default_config(ENV)
    config["per_slice_config"]["prioritized_rbg"] = [20, 12]  # 32 > 25 RBGs
    with pytest.raises(InvalidEnvConfig, match=re.escape("total 32, 7 more than the carrier's 25")):
        NetworkSlicingScenario(config, 1)


def test_prioritized_rbgs_move_throughput_between_slices() -> None:
    config = congested()
    to_first = run(config, 4, 4, prioritized([20.0, 5.0]), cls=NetworkSlicingScenario)[-1]
    to_second = run(config, 4, 4, prioritized([5.0, 20.0]), cls=NetworkSlicingScenario)[-1]
    first, second = slice_rates(to_first), slice_rates(to_second)
    assert first[0] > second[0] + 5.0
    assert second[1] > first[1] + 5.0


def test_the_original_adapters_policy_is_accepted_and_applied() -> None:
    config = congested()
    adapter = NetworkSlicingAdapter(load_config(ENV))

    def act(k: int, ts: int) -> Any:
        stats = NetworkStats.from_records(measurements[-1]) if measurements else None
        assert stats is not None
        return adapter.policy(np.array([1.0, 0.0], dtype=np.float32), stats)

    measurements: list[list[dict[str, Any]]] = []
    scenario = NetworkSlicingScenario(config, 2)
    out = run_with(scenario, config, 3, act, measurements)
    assert scenario.allocation.prioritized.tolist() == [[12.0, 0.0]]
    assert scenario.allocation.shared.tolist() == [[25.0, 25.0]]
    assert len(out) == 3


def run_with(
    scenario: NetworkSlicingScenario,
    config: dict[str, Any],
    steps: int,
    act: Any,
    sink: list[list[dict[str, Any]]],
) -> list[list[dict[str, Any]]]:
    t = config["measurement_start_time_ms"]
    env = simpy.Environment(initial_time=t)
    scenario.start(env)
    for k in range(steps):
        t += config["measurement_interval_ms"]
        env.run(until=t)
        sink.append(scenario.measure(t))
        scenario.apply(act(k, t))
    return sink


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ([allocation("prb_allocation", [20.0, 12.0], 0)], "total 32, 7 more than"),
        ([allocation("drb_allocation", [12.0, 12.0], 0)], "total 26, 1 more than"),
        (
            [{"source": "lte", "name": "prb_allocation", "ts": 0, "id": [2], "value": [[1, 1]]}],
            "LTE cell id in 1..1",
        ),
        (
            [
                {
                    "source": "lte",
                    "name": "prb_allocation",
                    "ts": 0,
                    "id": [1],
                    "value": [{"slice": [0, 2], "value": [1, 1]}],
                }
            ],
            "slice id in 0..1",
        ),
        ([allocation("prb_allocation", [-1.0, 1.0], 0)], "RBGs must be >= 0"),
        (
            [{"source": "lte", "name": "prb_allocation", "ts": 0, "id": [1], "value": [[1, 2, 3]]}],
            "2 RBG counts",
        ),
        ([allocation("xrb_allocation", [1.0, 1.0], 0)], "unknown knob 'lte::xrb_allocation'"),
    ],
)
def test_bad_policies_are_rejected_naming_the_problem_and_change_nothing(
    policy: list[dict[str, Any]], fragment: str
) -> None:
    scenario = NetworkSlicingScenario(default_config(ENV), 1)
    before = scenario.allocation
    # A valid record first: the policy is all or nothing.
    good = allocation("prb_allocation", [1.0, 1.0], 0)
    with pytest.raises(InvalidAction, match=re.escape(fragment)):
        scenario.apply([good, *policy])
    assert scenario.allocation is before


def test_empty_value_returns_a_kind_to_its_configured_allocation() -> None:
    scenario = NetworkSlicingScenario(default_config(ENV), 1)
    scenario.apply([allocation("prb_allocation", [3.0, 4.0], 0)])
    assert scenario.allocation.prioritized.tolist() == [[3.0, 4.0]]
    scenario.apply({"source": "lte", "name": "prb_allocation", "ts": 0, "id": [1], "value": []})
    assert scenario.allocation.prioritized.tolist() == [[13.0, 12.0]]


def test_the_original_no_action_policy_per_cell_is_the_system_default() -> None:
    """The original adapter's get_policy([]) sends ``{"slice": [0, 1], "value": []}`` per cell."""
    from netgym_client.protocol import validate_action_list

    scenario = NetworkSlicingScenario(default_config(ENV), 1)
    scenario.apply(allocation("prb_allocation", [3.0, 4.0], 0))
    no_action = [
        allocation(name, [], 0) | {"value": [{"slice": [0, 1], "value": []}]}
        for name in ("drb_allocation", "prb_allocation", "srb_allocation")
    ]
    validate_action_list(no_action)  # the wire takes it
    scenario.apply(no_action)
    assert scenario.allocation.prioritized.tolist() == [[13.0, 12.0]]
    assert scenario.allocation.dedicated.tolist() == [[0.0, 0.0]]
    scenario.apply(allocation("prb_allocation", [3.0, 4.0], 0))
    one = allocation("prb_allocation", [], 0) | {"value": [{"slice": [1], "value": []}]}
    scenario.apply(one)  # only the slices listed return to the configured allocation
    assert scenario.allocation.prioritized.tolist() == [[3.0, 12.0]]


def test_a_shared_count_above_the_carrier_is_a_cap() -> None:
    config = congested()
    config["per_slice_config"]["shared_rbg"] = [25, 25]
    capped = run(config, 3, 3, prioritized([0.0, 0.0]), cls=NetworkSlicingScenario)
    scenario = NetworkSlicingScenario(config, 3)
    scenario.apply([allocation("srb_allocation", [1000.0, 1000.0], 0)])  # accepted
    assert scenario.allocation.shared.tolist() == [[1000.0, 1000.0]]

    def above(k: int, ts: int) -> Any:
        return [*prioritized([0.0, 0.0])(k, ts)[:2], allocation("srb_allocation", [99.0, 99.0], ts)]

    assert json.dumps(run(config, 3, 3, above, cls=NetworkSlicingScenario)) == json.dumps(capped)


def test_a_partial_record_keeps_the_slices_it_leaves_out() -> None:
    scenario = NetworkSlicingScenario(default_config(ENV), 1)
    record = allocation("prb_allocation", [2.0], 0)
    scenario.apply(record)
    assert scenario.allocation.prioritized.tolist() == [[2.0, 12.0]]


def test_same_seed_same_actions_give_identical_records() -> None:
    config = congested()
    a = run(config, 9, 4, prioritized([10.0, 3.0]), cls=NetworkSlicingScenario)
    b = run(config, 9, 4, prioritized([10.0, 3.0]), cls=NetworkSlicingScenario)
    c = run(config, 10, 4, prioritized([10.0, 3.0]), cls=NetworkSlicingScenario)
    assert json.dumps(a) == json.dumps(b)
    assert by_name(a[-1])["gma::x_loc"] != by_name(c[-1])["gma::x_loc"]
