"""The compiled sub-step (``netgym_sim.model._kernel``) against the numpy sub-step.

Both run the same network from the same seed with the same actions; every statistic of every
interval must agree to rounding. Without numba the kernel runs as plain Python, so this test
checks the kernel's arithmetic either way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.model import _kernel
from netgym_sim.scenarios.nqos_split import NqosSplitScenario
from netgym_sim.scenarios.qos_steer import QosSteerScenario
from tests.property.test_model_laws import seeds, small_config
from tests.property.test_model_laws_tcp import docs_layout


def intervals(
    config: dict[str, Any], seed: int, kernel: bool, count: int, steer: bool = False
) -> list[Any]:
    cls = QosSteerScenario if steer else NqosSplitScenario
    scenario = cls(config, seed)
    net = scenario.model
    net.use_kernel = kernel
    step = config["measurement_interval_ms"] + config.get("measurement_guard_interval_ms", 0)
    out = []
    for k in range(1, count + 1):
        if k == 3:
            # An action in the middle: half of every user's traffic moves to Wi-Fi.
            net.set_split(0, np.arange(net.n), np.tile([1.0, 0.0, 1.0], (net.n, 1)))
        net.advance_to(float(config["measurement_start_time_ms"] + k * step))
        out.append(net.end_interval())
    return out


def assert_same(a: list[Any], b: list[Any]) -> None:
    for x, y in zip(a, b, strict=True):
        for field in dataclasses.fields(x):
            u, v = getattr(x, field.name), getattr(y, field.name)
            assert np.allclose(u, v, rtol=1e-9, atol=1e-9), field.name


@settings(max_examples=6, deadline=None)
@given(
    seeds,
    st.integers(1, 6),
    st.sampled_from(["udp", "tcp"]),
    st.booleans(),
    st.booleans(),
    st.floats(0.5, 30.0),
)
def test_kernel_and_numpy_sub_steps_agree(  # noqa: PLR0917 - one argument per strategy
    seed: int, users: int, protocol: str, docs: bool, shared_band: bool, rate: float
) -> None:
    if docs:
        config = docs_layout(users)
        config["per_slice_config"]["transport_protocol"] = [protocol]
    else:
        config = small_config(users=users, protocol=protocol, rate_mbps=(rate, 2 * rate))
    config["per_slice_config"]["udp_poisson_arrival"] = [protocol == "udp"]
    config["wifi"]["ap_share_same_band"] = shared_band
    assert_same(intervals(config, seed, True, 12), intervals(config, seed, False, 12))


@settings(max_examples=3, deadline=None)
@given(seeds, st.integers(1, 8))
def test_kernel_and_numpy_agree_for_qos_steer_and_uplink(seed: int, users: int) -> None:
    config = small_config("qos_steer", users=users, interval_ms=1000)
    assert_same(
        intervals(config, seed, True, 4, steer=True), intervals(config, seed, False, 4, steer=True)
    )
    uplink = small_config(users=users, downlink=False, protocol="tcp")
    assert_same(intervals(uplink, seed, True, 12), intervals(uplink, seed, False, 12))


def test_the_network_uses_the_kernel_exactly_when_numba_compiled_it() -> None:
    net = NqosSplitScenario(small_config(users=2), 0).model
    assert net.use_kernel is _kernel.COMPILED


@settings(max_examples=3, deadline=None)
@given(seeds, st.integers(1, 6), st.sampled_from(["udp", "tcp"]))
def test_kernel_and_numpy_agree_with_a_guard_interval(seed: int, users: int, protocol: str) -> None:
    """The sub-steps of a guard interval run but are not measured, on both paths."""
    config = small_config(users=users, protocol=protocol, interval_ms=70)
    for section in ("gma", "wifi", "lte"):
        config[section]["measurement_guard_interval_ms"] = 30
    config["measurement_guard_interval_ms"] = 30
    assert_same(intervals(config, seed, True, 8), intervals(config, seed, False, 8))
