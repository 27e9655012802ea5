"""qos_steer: both action forms steer alike, one-hot enforced, QoS rate against targets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.errors import InvalidAction
from netgym_sim.scenarios.qos_steer import QosSteerScenario
from tests.property.test_model_laws import by_name, default_config, run, small_config


def flags_policy(flags: list[int], ts: int) -> dict[str, Any]:
    ids = list(range(1, len(flags) + 1))
    return {"source": "gma", "name": "wifi::dl::split_ratio", "ts": ts, "id": ids, "value": flags}


def onehot_policy(flags: list[int], ts: int) -> dict[str, Any]:
    rows = [[1, 0] if f else [0, 1] for f in flags]  # no gNBs: Wi-Fi, LTE
    ids = list(range(1, len(flags) + 1))
    return {"source": "gma", "name": "dl::split_weight", "ts": ts, "id": ids, "value": rows}


@settings(max_examples=10)
@given(st.integers(0, 2**16), st.lists(st.integers(0, 1), min_size=8, max_size=8))
def test_split_ratio_flags_and_one_hot_weights_are_treated_alike(
    seed: int, flags: list[int]
) -> None:
    config = default_config("qos_steer")
    a = run(config, seed, 3, lambda k, ts: flags_policy(flags, ts))
    b = run(config, seed, 3, lambda k, ts: onehot_policy(flags, ts))
    assert json.dumps(a) == json.dumps(b)
    stats = by_name(a[-1])
    assert stats["gma::wifi::dl::split_ratio"][1] == [100.0 if f else 0.0 for f in flags]
    assert stats["gma::lte::dl::split_ratio"][1] == [0.0 if f else 100.0 for f in flags]


@pytest.mark.parametrize(
    ("value", "name", "named"),
    [
        ([[1, 1]] * 8, "dl::split_weight", "one-hot"),
        ([[0.5, 0.5]] * 8, "dl::split_weight", "one-hot"),
        ([[0, 1, 0]] * 8, "dl::split_weight", "number of links: 2"),
        ([2] * 8, "wifi::dl::split_ratio", "0 or 1"),
        ([0.5] * 8, "wifi::dl::split_ratio", "0 or 1"),
        ([1] * 8, "lte::dl::split_ratio", "unknown knob"),
    ],
)
def test_bad_steering_is_rejected(value: Any, name: str, named: str) -> None:
    scenario = QosSteerScenario(default_config("qos_steer"), 2)
    action = {"source": "gma", "name": name, "ts": 2000, "id": list(range(1, 9)), "value": value}
    with pytest.raises(InvalidAction, match=named):
        scenario.apply(action)


@settings(max_examples=10)
@given(st.integers(0, 2**16), st.floats(1.0, 200.0), st.floats(0.0, 0.2))
def test_qos_rate_is_rate_when_targets_met_else_zero(
    seed: int, requirement_ms: float, loss_target: float
) -> None:
    config = small_config("qos_steer", users=4, interval_ms=200, rate_mbps=(2.0, 3.0))
    config["per_slice_config"]["qos_delay_requirement_ms"] = [requirement_ms]
    config["per_slice_config"]["qos_loss_target"] = [loss_target]
    target_pct = 100.0 * config["per_slice_config"]["qos_delay_violation_target"][0]
    for measurement in run(config, seed, 3):
        stats = by_name(measurement)
        rate = stats["gma::dl::rate"][1]
        qos = stats["gma::dl::qos_rate"][1]
        violation = stats["gma::dl::delay_violation"][1]
        for r, q, v in zip(rate, qos, violation, strict=True):
            assert q in (0.0, r)
            if v > target_pct + 1e-3:
                assert q == 0.0


def test_builtin_policy_steers_each_user_to_one_link() -> None:
    stats = by_name(run(default_config("qos_steer"), 2, 2)[1])
    wifi = stats["gma::wifi::dl::traffic_ratio"][1]
    lte = stats["gma::lte::dl::traffic_ratio"][1]
    assert all(sorted((w, c)) == [0.0, 100.0] for w, c in zip(wifi, lte, strict=True))
