"""The rmcat scenario: config acceptance, record shape, actions, NADA fallback, cross traffic."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.errors import InvalidAction, InvalidEnvConfig, SessionStateError
from netgym_sim.scenarios import scenario_class
from netgym_sim.scenarios.rmcat import METRICS, RmcatScenario

#: The 11 subscriptions of the original rmcat config (PROTOCOL.md §12), in its order.
SUBSCRIPTIONS = [
    f"rmcat::{name}"
    for name in (
        "loglen",
        "qdel",
        "rtt",
        "ploss",
        "plr",
        "xcurr",
        "rrate",
        "srate",
        "nada_srate",
        "avgint",
        "curint",
    )
]
#: The original bw_trace.csv as the client sends it (PROTOCOL.md §12).
BW_TRACE = {
    "time_ms": [0.0, 10000.0, 50000.0, 70000.0],
    "bw_kbps": [1000.0, 2000.0, 500.0, 1000.0],
    "delay_ms": [10.0, 10.0, 10.0, 10.0],
    "loss": [0.0, 0.0, 0.0, 0.0],
}


def original_config(**changes: Any) -> dict[str, Any]:
    """The env_config the original client sends for rmcat (§7.2, §12), without ``type``."""
    config: dict[str, Any] = {
        "env": "rmcat",
        "subscribed_network_stats": list(SUBSCRIPTIONS),
        "steps_per_episode": 100,
        "episodes_per_session": 10,
        "nada_flows": 1,
        "nada_flow_start_time_diff_ms": 1,
        "tcp_flows": 0,
        "tcp_flow_start_time_diff_ms": 50000,
        "udp_flows": 0,
        "udp_flow_bw_kbps": 100,
        "upd_flow_start_time_diff_ms": 50000,
        "measurement_start_time_ms": 1000,
        "measurement_interval_ms": 100,
        "topo_default_bw_kbps": 1000,
        "topo_default_delay_ms": 10,
        "bw_trace_file": "bw_trace.csv",
        "env_end_time_ms": 101100,
        "bw_trace": BW_TRACE,
    }
    config.update(changes)
    return {key: value for key, value in config.items() if value is not None}


class Runner:
    """Drives a scenario the way the session does: 100 ms per step, measure, act."""

    def __init__(self, config: dict[str, Any], seed: int = 0) -> None:
        self.scenario = RmcatScenario(config, seed)
        self.now_ms = int(config.get("measurement_start_time_ms", 1000))
        self.clock = simpy.Environment(initial_time=self.now_ms)
        self.scenario.start(self.clock)

    def step(self, rate_bps: float | None = None) -> dict[str, float]:
        """Apply one action (None: NADA) unless it is the first step, run 100 ms, measure."""
        if rate_bps is not None:
            self.act([rate_bps])
        self.now_ms += 100
        self.clock.run(until=self.now_ms)
        records = self.scenario.measure(self.now_ms)
        return {record["name"]: record["value"][0] for record in records}

    def act(self, value: Any, **changes: Any) -> None:
        record = {"source": "rmcat", "name": "srate", "ts": self.now_ms, "id": [0]}
        record.update(value=value, **changes)
        self.scenario.apply(record)


def test_registered_under_its_env_name() -> None:
    assert scenario_class("rmcat") is RmcatScenario


def test_records_of_the_original_config() -> None:
    runner = Runner(original_config())
    runner.step()
    records = runner.scenario.measure(1200)
    assert [f"{r['source']}::{r['name']}" for r in records] == SUBSCRIPTIONS
    for record in records:
        assert set(record) == {"source", "name", "ts", "id", "value"}
        assert record["ts"] == 1200
        assert record["id"] == [0]
        (value,) = record["value"]
        assert type(value) in (int, float)
        assert math.isfinite(value) and value >= 0
    assert json.loads(json.dumps(records)) == records
    values = {r["name"]: r["value"][0] for r in records}
    assert type(values["loglen"]) is int and type(values["ploss"]) is int
    assert values["rtt"] == pytest.approx(2 * 10 + values["qdel"])


def test_all_metrics_without_subscriptions_and_subsets_in_their_order() -> None:
    runner = Runner(original_config(subscribed_network_stats=None))
    assert list(runner.step()) == list(METRICS)
    subset = ["rmcat::rtt", "rmcat::xcurr", "rmcat::rrate", "rmcat::rtt"]
    runner = Runner(original_config(subscribed_network_stats=subset))
    assert list(runner.step()) == ["rtt", "xcurr", "rrate"]


def test_nada_ramps_up_and_settles_near_the_bottleneck() -> None:
    runner = Runner(original_config())
    stats = [runner.step() for _ in range(60)]  # t = 1.1 … 7 s at 1000 kbit/s
    last = stats[-1]
    assert 0.9e6 <= last["rrate"] <= 1.0e6
    assert last["srate"] == stats[-2]["nada_srate"]  # NADA sends what it chose last time
    # RFC 8698 §4.3 steady state: x_curr = PRIO·XREF·RMAX / r_ref = 10 ms × 1.5 / 1.0.
    assert last["xcurr"] == pytest.approx(15.0, rel=0.1)
    assert last["ploss"] == 0 and last["plr"] == 0.0


def test_action_sets_srate_and_empty_value_hands_back_to_nada() -> None:
    runner = Runner(original_config())
    runner.step()
    acted = runner.step(1_400_000.0)
    assert acted["srate"] == 1_400_000.0
    assert acted["nada_srate"] != 1_400_000.0
    runner.act([])
    runner.now_ms += 100
    runner.clock.run(until=runner.now_ms)
    records = runner.scenario.measure(runner.now_ms)
    nada = {r["name"]: r["value"][0] for r in records}
    # Back under NADA: the rate used is the one NADA chose at the previous measurement.
    assert nada["srate"] == acted["nada_srate"]


def test_rates_outside_the_action_box_are_used_unclipped() -> None:
    runner = Runner(original_config())
    runner.step()
    assert runner.step(3_000_000.0)["srate"] == 3_000_000.0
    assert runner.step(0.0)["srate"] == 0.0


def test_scalar_id_and_value_are_accepted() -> None:
    runner = Runner(original_config())
    runner.step()
    runner.act(500_000, id=0)
    runner.now_ms += 100
    runner.clock.run(until=runner.now_ms)
    values = {r["name"]: r["value"][0] for r in runner.scenario.measure(runner.now_ms)}
    assert values["srate"] == 500_000.0


@pytest.mark.parametrize(
    ("value", "changes", "needle"),
    [
        ([-1.0], {}, "rate must be finite"),
        ([2e12], {}, "rate must be finite"),
        (["fast"], {}, "must be a number"),
        ([True], {}, "must be a number"),
        ([[1.0]], {}, "must be a rate"),
        ([1e6], {"id": [1]}, "id"),
        ([1e6, 1e6], {"id": [0, 1]}, "id"),
        ([1e6], {"name": "rate"}, "unknown knob 'rmcat::rate'"),
        ([1e6], {"source": "gma"}, "unknown knob 'gma::srate'"),
        ([float("nan")], {}, "non-finite"),
    ],
)
def test_bad_actions_are_rejected(value: Any, changes: dict[str, Any], needle: str) -> None:
    runner = Runner(original_config())
    runner.step()
    with pytest.raises(InvalidAction, match=needle.replace("[", r"\[")):
        runner.act(value, **changes)


def test_two_records_are_rejected() -> None:
    runner = Runner(original_config())
    runner.step()
    record = {"source": "rmcat", "name": "srate", "ts": 1100, "id": [0], "value": [1e6]}
    with pytest.raises(InvalidAction, match="got 2"):
        runner.scenario.apply([record, dict(record)])
    with pytest.raises(InvalidAction):
        runner.scenario.apply("srate")


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"nada_flows": 2}, "nada_flows"),
        ({"nada_flows": True}, "nada_flows"),
        ({"measurement_interval_ms": 200}, "measurement_interval_ms"),
        ({"measurement_guard_interval_ms": 10}, "measurement_guard_interval_ms"),
        ({"udp_flows": 17}, "udp_flows"),
        ({"tcp_flows": 1.5}, "tcp_flows"),
        ({"udp_flow_bw_kbps": -1}, "udp_flow_bw_kbps"),
        ({"upd_flow_start_time_diff_ms": "soon"}, "upd_flow_start_time_diff_ms"),
        ({"topo_default_bw_kbps": 0}, "topo_default_bw_kbps"),
        ({"topo_default_delay_ms": float("inf")}, "topo_default_delay_ms"),
        ({"subscribed_network_stats": ["rmcat::rtt", "gma::dl::rate"]}, r"stats\[1\]"),
        ({"subscribed_network_stats": []}, "subscribed_network_stats"),
        ({"bw_trace": {**BW_TRACE, "loss": [0.0] * 3}}, r"bw_trace\.loss: has 3"),
        ({"bw_trace": {**BW_TRACE, "bw_kbps": [1000.0, -2.0, 1.0, 1.0]}}, r"bw_kbps\[1\]"),
        ({"bw_trace": {k: v for k, v in BW_TRACE.items() if k != "time_ms"}}, "time_ms"),
        ({"bw_trace": [1, 2]}, "env_config.bw_trace: must be an object"),
    ],
)
def test_bad_configs_name_the_key(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidEnvConfig, match=needle):
        RmcatScenario(original_config(**changes), 0)


def test_defaults_fill_missing_keys_and_topology_without_a_trace() -> None:
    config = {"env": "rmcat", "measurement_start_time_ms": 0, "topo_default_bw_kbps": 400}
    runner = Runner(config)
    runner.step()
    for _ in range(10):
        assert runner.step(1_000_000.0)["rrate"] <= 400_000.0 * (1 + 1e-9)


def test_packaged_trace_by_bare_name_only() -> None:
    # steps.csv starts at 1500 kbit/s; the topology default here is 400 kbit/s.
    packaged = original_config(bw_trace=None, bw_trace_file="steps.csv", topo_default_bw_kbps=400)
    runner = Runner(packaged)
    runner.step()
    assert runner.step(1_200_000.0)["rrate"] > 400_000.0
    for name in ("../data/steps.csv", "/etc/passwd", "absent.csv"):
        config = original_config(bw_trace=None, bw_trace_file=name, topo_default_bw_kbps=400)
        runner = Runner(config)
        runner.step()
        assert runner.step(1_200_000.0)["rrate"] <= 400_000.0 * (1 + 1e-9)


def test_a_trace_starting_late_begins_with_the_topology_defaults() -> None:
    late = {"time_ms": [5000.0], "bw_kbps": [300.0], "delay_ms": [40.0], "loss": [0.0]}
    runner = Runner(original_config(bw_trace=late))
    values = runner.step()
    assert values["rtt"] == pytest.approx(2 * 10.0 + values["qdel"])  # topology: 10 ms
    while runner.now_ms < 6000:
        values = runner.step(200_000.0)  # below 300 kbit/s: the queue drains
    assert values["qdel"] == 0.0
    assert values["rtt"] == 2 * 40.0


def test_measure_before_start_is_a_state_error() -> None:
    with pytest.raises(SessionStateError):
        RmcatScenario(original_config(), 0).measure(1100)


def _mean_rrate(config: dict[str, Any], steps: int) -> float:
    runner = Runner(config)
    return sum(runner.step()["rrate"] for _ in range(steps)) / steps


@pytest.mark.parametrize("cross", [{"udp_flows": 1, "udp_flow_bw_kbps": 600}, {"tcp_flows": 1}])
def test_cross_traffic_takes_bottleneck_share(cross: dict[str, Any]) -> None:
    alone = original_config(bw_trace=None, measurement_start_time_ms=0)
    shared = original_config(bw_trace=None, measurement_start_time_ms=0, **cross)
    alone_bps, shared_bps = _mean_rrate(alone, 100), _mean_rrate(shared, 100)
    assert shared_bps < 0.8 * alone_bps
    assert shared_bps <= 1_000_000.0


def test_cross_flows_start_one_diff_apart() -> None:
    # Two UDP flows of 400 kbit/s on 1000 kbit/s: the second starts 3 s after the first.
    config = original_config(
        bw_trace=None,
        measurement_start_time_ms=0,
        udp_flows=2,
        udp_flow_bw_kbps=400,
        upd_flow_start_time_diff_ms=3000,
    )
    runner = Runner(config)
    runner.step()
    before = [runner.step(500_000.0)["rrate"] for _ in range(25)]
    after = [runner.step(500_000.0)["rrate"] for _ in range(40)]
    assert before[-1] == pytest.approx(500_000.0)  # 900 of 1000 kbit/s offered: no queue
    assert after[-1] < 400_000.0  # 1300 offered: the media flow gets its FIFO share


@settings(max_examples=20)
@given(
    st.lists(st.none() | st.floats(0, 5e6, allow_nan=False), min_size=1, max_size=20),
    st.integers(0, 2**16),
)
def test_records_are_finite_and_within_their_ranges(plan: list[float | None], seed: int) -> None:
    lossy = {**BW_TRACE, "loss": [0.05, 0.0, 0.2, 0.01]}
    runner = Runner(original_config(bw_trace=lossy), seed)
    for rate in plan:
        values = runner.step(rate)
        assert all(math.isfinite(v) and v >= 0 for v in values.values())
        assert values["plr"] <= 1.0
        assert 150_000.0 <= values["nada_srate"] <= 1_500_000.0
        assert values["rtt"] >= values["qdel"]
