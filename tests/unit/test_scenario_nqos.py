"""nqos_split (and the shared GMA layer): config checks, record shapes and units, actions."""

from __future__ import annotations

import copy
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.errors import InvalidAction, InvalidEnvConfig
from netgym_sim.model.gma import TSC_PERIOD_MS, TSC_SPEEDUP_AFTER
from netgym_sim.scenarios import scenario_class
from netgym_sim.scenarios._gma_records import metric_names, order_rows
from netgym_sim.scenarios.nqos_split import NqosSplitScenario
from netgym_sim.scenarios.qos_steer import QosSteerScenario
from tests.property.test_model_laws import by_name, default_config, run, small_config

#: One burst unit of the GMA split, %.
GMA_UNIT_PCT = 100.0 / 32


def test_registry_finds_both_scenarios() -> None:
    assert scenario_class("nqos_split") is NqosSplitScenario
    assert scenario_class("qos_steer") is QosSteerScenario


@pytest.mark.parametrize("env", ["nqos_split", "qos_steer"])
def test_default_config_records_have_the_documented_shapes(env: str) -> None:
    config = default_config(env)
    n = config["num_users"]
    links = tuple(
        link
        for link, key in enumerate(("wifi_ap_locations", "nr_gnb_locations", "lte_enb_locations"))
        if config[key]
    )
    known = metric_names(links)
    measurements = run(config, config["random_seed"], 2)
    for records in measurements:
        json.dumps(records, allow_nan=False)
        names = [f"{r['source']}::{r['name']}" for r in records]
        wanted = order_rows([s for s in config["subscribed_network_stats"] if s in known])
        # split_ratio rows only once a split was set (none before the first action)
        assert names == [s for s in wanted if not s.endswith("::split_ratio")]
        for record in records:
            assert set(record) == {"source", "name", "ts", "id", "value"}
            assert type(record["ts"]) is int and record["ts"] == records[0]["ts"]
            if "::cell::" in f"::{record['name']}":
                assert record["id"] == [1]
                (cell,) = record["value"]
                slices = list(range(len(config["per_slice_config"]["num_users"])))
                assert cell["slice"] == slices
                assert all(isinstance(v, float) for v in cell["value"])
                if record["name"].endswith("rb_usage"):
                    assert all(0.0 <= v <= 100.0 for v in cell["value"])
                continue
            assert record["id"] == list(range(1, n + 1))
            assert len(record["value"]) == n
            last = record["name"].rsplit("::", 1)[-1]
            # every value a JSON float, as ns-3 writes them (1.0, -1.0, 7.0)
            assert all(type(v) is float for v in record["value"]), record["name"]
            if last == "cell_id":
                assert all(v == 255 or 1 <= v <= 8 for v in record["value"])
            if last in ("owd", "max_owd"):
                assert all(v == -1.0 or v >= 0.0 for v in record["value"])
            if last.endswith("ratio") or "violation" in last or last == "rb_usage":
                assert all(0.0 <= v <= 100.0 for v in record["value"])
            if last in ("x_loc", "y_loc"):
                assert all(round(v, 3) == v for v in record["value"])
            if last == "measurement_ok":
                assert record["value"] == [1.0] * n


def test_unsubscribed_or_unknown_metrics_are_skipped() -> None:
    config = small_config(
        subscribed_network_stats=["gma::dl::rate", "rmcat::rtt", "lte::dl::max_rate"]
    )
    records = run(config, 1, 1)[0]
    assert [f"{r['source']}::{r['name']}" for r in records] == [
        "gma::dl::rate",
        "lte::dl::max_rate",
    ]


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("GMA", {}, "GMA"),
        ("Wi-Fi", {}, "Wi-Fi"),
        ("enb_locations", {"x": 0, "y": 0, "z": 0}, "enb_locations"),
        ("ap_locations", [], "ap_locations"),
        ("slice_list", [], "slice_list"),
        ("qos_requirement", {}, "qos_requirement"),
        ("bogus", 1, "bogus"),
        ("num_users", 99, "num_users"),
    ],
)
def test_old_layout_and_inconsistent_keys_are_rejected(key: str, value: Any, named: str) -> None:
    config = small_config()
    config[key] = value
    with pytest.raises(InvalidEnvConfig, match=named):
        NqosSplitScenario(config, 0)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("lte", "resource_block_num"), 42),
        (("per_slice_config", "packet_size_bytes"), [0]),
        (("per_slice_config", "transport_protocol"), ["quic"]),
        (("per_slice_config", "max_udp_rate_per_user_mbps"), [-1]),
        (("per_slice_config", "downlink_mode"), ["sideways"]),
        (("per_slice_config", "num_users"), [0]),
        (("per_slice_config", "shared_rbg"), [1, 2]),
        (("user_random_walk", "distance_m"), 0),
        (("user_location_range", "max_x"), -10),
        (("wifi", "measurement_interval_ms"), 7),
        (("lte_enb_locations",), []),
        (("wifi_ap_locations",), [{"x": 1, "y": 2}]),
        (("downlink_traffic",), "yes"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(path: tuple[str, ...], value: Any) -> None:
    config = small_config()
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidEnvConfig, match=path[-1]):
        NqosSplitScenario(config, 0)


def test_lte_enb_locations_may_be_a_list_and_users_may_be_many() -> None:
    config = small_config(users=1000)
    config["lte_enb_locations"] = [{"x": 50, "y": 50, "z": 15}, {"x": 250, "y": 50, "z": 15}]
    stats = by_name(run(config, 3, 1)[0])
    assert stats["gma::dl::rate"][0] == list(range(1, 1001))
    assert set(stats["lte::cell_id"][1]) <= {1, 2}
    assert stats["lte::dl::cell::max_rate"][0] == [1, 2]


def policy(value: Any, ids: Any = None, name: str = "dl::split_weight") -> dict[str, Any]:
    if ids is None:
        ids = list(range(1, len(value) + 1)) if isinstance(value, list) else 1
    return {"source": "gma", "name": name, "ts": 1100, "id": ids, "value": value}


@pytest.mark.parametrize(
    ("action", "named"),
    [
        (policy([[1, 0]] * 3), "value\\[0\\]"),
        (policy([[1, -1, 0]] * 3), "value\\[0\\]\\[1\\]"),
        (policy([[1, 0, 0], [0, 0, 0], [1, 1, 1]]), "value\\[1\\]"),
        (policy([[1, 0, 0]] * 3, ids=[1, 2, 9]), "id\\[2\\]"),
        (policy([[1, 0, 0]] * 3, ids=[1, 1, 2]), "repeat"),
        (policy([[1, 0, 0]] * 3, name="dl::split_ratio"), "unknown knob"),
        (policy([[1, 0, 0]] * 2, ids=[1, 2, 3]), "action_list"),
        (policy([[True, 0, 0]] * 3), "value\\[0\\]\\[0\\]"),
        ([policy([[1, 0, 0]] * 3), policy([[1, 0]] * 3)], "action_list\\[1\\]"),
    ],
)
def test_malformed_or_out_of_range_policies_are_rejected(action: Any, named: str) -> None:
    scenario = NqosSplitScenario(small_config(users=3), 0)
    with pytest.raises(InvalidAction, match=named):
        scenario.apply(action)


def test_without_gnbs_a_row_holds_one_weight_per_link_wifi_and_lte() -> None:
    # ns-3 aborts on this ("the action size: 3 is not equal the number of links:2");
    # netgym answers with an env-error naming the expected count.
    config = small_config(users=2)
    config["nr_gnb_locations"] = []
    scenario = NqosSplitScenario(config, 0)
    expected = r"number of links: 2 \(one weight per link: Wi-Fi, LTE\)"
    for bad in ([[1, 0, 1], [1, 0, 0]], [[1], [1]]):
        with pytest.raises(InvalidAction, match=expected):
            scenario.apply(policy(bad))
    scenario.apply(policy([[1, 1], [0, 1]]))
    full = NqosSplitScenario(small_config(users=2), 0)
    with pytest.raises(InvalidAction, match="number of links: 3"):
        full.apply(policy([[1, 1], [0, 1]]))
    full.apply(policy([[1, 0, 1], [1, 0, 0]]))


def test_empty_value_hands_the_split_to_the_delay_based_rule_from_where_it_is() -> None:
    # LTE 50 ms slower than the other links: the built-in rule moves units off LTE every TSC
    # period (1 s = 10 measurements) of each user, at the user's own phase, starting from the
    # split the agent left: one a decision, and one more a decision after the fourth of the
    # unbroken run (1, 1, 1, 1, 2, …; the agent's split starts a new run).
    config = small_config(users=3, static=True)
    config["lte"]["backhaul_delay_ms"] = 50

    def act(k: int, ts: int) -> Any:
        if k == 0:
            return {**policy([[0, 0, 1]] * 3), "ts": ts}
        if k == 1:
            return {**policy([], ids=[1, 2, 3]), "ts": ts}
        return None

    history = [by_name(m) for m in run(config, 5, 45, act)]
    assert "gma::lte::dl::split_ratio" not in history[0]  # no split set yet
    history = history[1:]
    lte = [h["gma::lte::dl::split_ratio"][1] for h in history]
    assert lte[0] == [100.0] * 3
    assert all(b <= a for x, y in itertools.pairwise(lte) for a, b in zip(x, y, strict=True))
    # 4.3 s on the built-in rule after the agent's split: 4 or 5 decisions per user
    periods = (len(history) - 1) * 100 / TSC_PERIOD_MS
    moved = [sum(max(1, k - TSC_SPEEDUP_AFTER) for k in range(1, n + 1)) for n in range(7)]
    for share in lte[-1]:
        units = round((100.0 - share) / GMA_UNIT_PCT)
        assert math.isclose(100.0 - share, units * GMA_UNIT_PCT)
        assert units in moved[math.floor(periods) : math.ceil(periods) + 1]
    assert moved[4:6] == [4, 6]
    others = [
        np.add(h["gma::wifi::dl::split_ratio"][1], h["gma::nr::dl::split_ratio"][1])
        for h in history
    ]
    assert np.allclose(others[-1] + lte[-1], 100.0)


def test_users_decide_their_built_in_split_at_their_own_phase() -> None:
    # Not in lock-step (ns-3's users move apart): over 3 s, the measurements at which the
    # users' splits change are not all the same ones.
    config = small_config(users=6, static=True)
    config["lte"]["backhaul_delay_ms"] = 50

    def act(k: int, ts: int) -> Any:
        if k == 0:
            return {**policy([[0, 0, 1]] * 6), "ts": ts}
        if k == 1:
            return {**policy([], ids=list(range(1, 7))), "ts": ts}
        return None

    history = [by_name(m) for m in run(config, 11, 30, act)][1:]
    wifi = np.array([h["gma::lte::dl::split_ratio"][1] for h in history])
    changed_at = {tuple(np.nonzero(np.diff(wifi[:, u]))[0]) for u in range(wifi.shape[1])}
    assert len(changed_at) > 1


@settings(max_examples=15)
@given(st.lists(st.lists(st.floats(0, 1e6), min_size=3, max_size=3), min_size=3, max_size=3))
def test_any_valid_weight_rows_are_accepted_and_reported_in_32nds(rows: list[list[float]]) -> None:
    rows = [row if sum(row) > 0 else [1.0, 0.0, 0.0] for row in rows]
    config = small_config(users=3)

    def act(k: int, ts: int) -> Any:
        return {**policy(copy.deepcopy(rows)), "ts": ts} if k == 0 else None

    stats = by_name(run(config, 0, 2, act)[1])
    for link in ("wifi", "nr", "lte"):
        for v in stats[f"gma::{link}::dl::split_ratio"][1]:
            assert math.isclose(v * 32 / 100, round(v * 32 / 100), abs_tol=1e-6)


def test_priority_marks_are_reported() -> None:
    config = small_config(users=2)

    def act(k: int, ts: int) -> Any:
        if k:
            return None
        return {**policy([1, 0], name="wifi::dl::priority"), "source": "gma", "ts": ts}

    stats = by_name(run(config, 0, 2, act)[1])
    assert stats["gma::wifi::dl::priority"][1] == [1, 0]
    assert stats["gma::lte::dl::priority"][1] == [0, 0]
