"""The ``rmcat`` adapter (PROTOCOL.md §12, §14): rows, units, the rate policy, rewards."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from netgym_client.adapters.rmcat import DELAY_AWARE_BOUNDS, RmcatAdapter, RmcatMbpsAdapter
from netgym_client.config import load_config
from netgym_client.errors import ActionError
from netgym_client.stats import NetworkStats


def config(reward_type: str = "") -> Any:
    return load_config("rmcat", {"rl_config": {"reward_type": reward_type}})


def rec(name: str, values: list[float], ids: list[int] | None = None, ts: int = 1100) -> Any:
    ids = [0] if ids is None else ids
    return {"source": "rmcat", "name": name, "ts": ts, "id": ids, "value": values}


def measurement(rtt: float = 25.0, rrate: float = 600_000.0, xcurr: float = 12.0) -> Any:
    return NetworkStats.from_records(
        [rec("rtt", [rtt]), rec("rrate", [rrate]), rec("xcurr", [xcurr]), rec("qdel", [5.0])]
    )


def test_spaces() -> None:
    a = RmcatAdapter(config())
    assert a.observation_space.shape == (3, 1)
    assert a.action_space.shape == (1,)
    assert float(a.action_space.low[0]) == 150_000.0
    assert float(a.action_space.high[0]) == 1_500_000.0


def test_default_rows_are_rtt_rrate_xcurr_with_the_raw_rate_in_bps() -> None:
    a = RmcatAdapter(config())
    obs = a.observation(measurement())
    assert obs.tolist() == [[25.0], [600_000.0], [12.0]]  # the original's values, unclipped
    assert a.observation_space.contains(obs)
    assert a.info(measurement())["clipped_values"] == 0


def test_the_box_holds_the_rates_a_server_sends_and_clips_beyond() -> None:
    a = RmcatAdapter(config())
    assert a.observation_space.high[:, 0].tolist() == [60_000.0, 1e10, 60_000.0]
    obs = a.observation(measurement(rtt=70_000.0, rrate=2e9))
    assert obs.tolist() == [[60_000.0], [2e9], [12.0]]
    assert a.clipped_values == 1
    assert RmcatMbpsAdapter(config()).observation_space.high[1, 0] == pytest.approx(1e4)


def test_default_reward_type_is_delay_aware() -> None:
    default = load_config("rmcat")
    assert default.rl_config["reward_type"] == "delay_aware_throughput"
    got = RmcatAdapter(default).reward(measurement(rrate=2e6))
    assert got == pytest.approx(math.log(2.0) - 5.0 / 100)


def test_the_mbps_opt_in_keeps_the_rate() -> None:
    a = RmcatMbpsAdapter(config())
    obs = a.observation(measurement(rrate=600_000.0))
    assert obs.tolist() == [[25.0], [0.6000000238418579], [12.0]]  # 0.6 as float32
    assert a.clipped_values == 0


def test_missing_flow_reads_zero() -> None:
    stats = NetworkStats.from_records([rec("rtt", [30.0], ids=[1])])
    a = RmcatAdapter(config())
    assert a.observation(stats).tolist() == [[0.0], [0.0], [0.0]]
    assert a.filled_values == 3


def test_policy_is_the_rate_on_the_rtt_template_clipped_to_the_box() -> None:
    a = RmcatAdapter(config())
    stats = NetworkStats.from_records([rec("rtt", [30.0], ts=4200)])
    policy = a.policy(np.array([400_000.0], dtype=np.float32), stats)
    assert policy == {
        "name": "srate",
        "ts": 4200,
        "source": "rmcat",
        "id": [0],
        "value": [400000.0],
    }
    assert a.policy(np.array([5e6]), stats)["value"] == [1_500_000.0]  # type: ignore[call-overload]
    assert a.clipped_action_values == 1
    assert a.policy(np.array([1.0]), stats)["value"] == [150_000.0]  # type: ignore[call-overload]
    assert a.policy(None, stats)["value"] == []  # type: ignore[call-overload]
    with pytest.raises(ActionError):
        a.policy(np.array([1e5, 2e5]), stats)


def test_original_reward_type_is_zero() -> None:
    assert RmcatAdapter(config()).reward(measurement()) == 0.0


@pytest.mark.parametrize(
    ("rrate_bps", "qdel_ms", "expected"),
    [
        (2e6, 50.0, math.log(2.0) - 0.5),  # ln(2 Mbps) − 50/100
        (1e6, 0.0, 0.0),  # ln 1 − 0
        (0.0, 0.0, math.log(0.01)),  # floor 10 kbit/s = 0.01 Mbps
        (1e9, 5000.0, math.log(100.0) - 10.0),  # rate cap 100 Mbps, delay cap 1000 ms
        (150_000.0, -3.0, math.log(0.15)),  # a negative delay counts as 0
    ],
)
def test_delay_aware_throughput_known_values(
    rrate_bps: float, qdel_ms: float, expected: float
) -> None:
    stats = NetworkStats.from_records([rec("rrate", [rrate_bps]), rec("qdel", [qdel_ms])])
    assert RmcatAdapter(config("delay_aware_throughput")).reward(stats) == pytest.approx(expected)


def test_delay_aware_bounds() -> None:
    low, high = DELAY_AWARE_BOUNDS
    assert low == pytest.approx(math.log(0.01) - 10.0)
    assert high == pytest.approx(math.log(100.0))
