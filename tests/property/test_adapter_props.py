"""Adapter properties on generated measurements and actions (DESIGN.md §7).

For every built-in adapter: the observation is finite float32 inside its space whatever the
measurement (missing ids and records, extra users, zeros, huge values); the reward is finite
and inside its documented bounds; action → policy → encode → decode gives back the policy,
and the policy's values are the action as documented.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client.adapters import Adapter, adapter_class
from netgym_client.adapters.rmcat import RmcatMbpsAdapter
from netgym_client.config import load_config
from netgym_client.protocol import EnvAction, decode, encode
from netgym_client.stats import NetworkStats
from netgym_client.testing._adapter_strategies import actions, default_actions, out_of_range_actions
from netgym_client.testing._measurement_strategies import network_stats

#: (case id, env, overrides, adapter override)
CASES: list[tuple[str, str, dict[str, Any], type[Adapter] | None]] = [
    ("custom", "custom", {}, None),
    ("custom-original-reward", "custom", {"rl_config": {"reward_type": ""}}, None),
    ("custom-1-user", "custom", {"env_config": {"num_users": 1}}, None),
    ("nqos_split", "nqos_split", {}, None),
    ("qos_steer", "qos_steer", {}, None),
    ("network_slicing", "network_slicing", {}, None),
    (
        "network_slicing-original-reward",
        "network_slicing",
        {"rl_config": {"reward_type": ""}},
        None,
    ),
    ("rmcat", "rmcat", {}, None),
    ("rmcat-original-reward", "rmcat", {"rl_config": {"reward_type": ""}}, None),
    ("rmcat-mbps", "rmcat", {}, RmcatMbpsAdapter),
]
IDS = [case[0] for case in CASES]


def build(env: str, overrides: dict[str, Any], cls: type[Adapter] | None) -> Adapter:
    config = load_config(env, overrides)
    return (cls or adapter_class(env))(config)


def stats_for(adapter: Adapter) -> st.SearchStrategy[NetworkStats]:
    return network_stats(env=adapter.config.env, num_users=adapter.config.num_users)


def reward_bounds(adapter: Adapter, stats: NetworkStats) -> tuple[float, float]:
    """The documented bounds, from the documented constants (not the implementation's)."""
    env, reward_type = adapter.config.env, adapter.config.rl_config["reward_type"]
    if env == "nqos_split":
        return -10.0, 10.0
    if env == "qos_steer":
        key = "gma::wifi::dl::qos_rate"
        return 0.0, float(len(stats.ids(key)) if key in stats else 0)
    if reward_type == "slice_utility":
        slices = len(adapter.config.env_config["per_slice_config"]["num_users"])
        return -2.0 * slices, 1.0 * slices
    if reward_type == "delay_aware_throughput":
        return math.log(0.01) - 10.0, math.log(100.0)
    if reward_type == "measurement_mean":
        return 0.0, 1000.0
    return 0.0, 0.0


@pytest.mark.parametrize(("case", "env", "overrides", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_observation_is_finite_float32_inside_the_space(
    case: str, env: str, overrides: dict[str, Any], cls: type[Adapter] | None, data: st.DataObject
) -> None:
    adapter = build(env, overrides, cls)
    stats = data.draw(stats_for(adapter))
    obs = adapter.observation(stats)
    assert obs.dtype == np.float32
    assert np.all(np.isfinite(obs))
    assert adapter.observation_space.contains(obs)
    info = adapter.info(stats)
    assert info["filled_values"] >= 0 and info["clipped_values"] >= 0
    assert info["filled_values"] + info["clipped_values"] <= 2 * obs.size


@pytest.mark.parametrize(("case", "env", "overrides", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_reward_is_finite_and_within_its_bounds(
    case: str, env: str, overrides: dict[str, Any], cls: type[Adapter] | None, data: st.DataObject
) -> None:
    adapter = build(env, overrides, cls)
    stats = data.draw(stats_for(adapter))
    reward = adapter.reward(stats)
    assert isinstance(reward, float)
    low, high = reward_bounds(adapter, stats)
    assert low - 1e-9 <= reward <= high + 1e-9


@settings(max_examples=40)
@given(data=st.data())
def test_normalized_utility_reward_is_finite_and_within_its_bounds(data: st.DataObject) -> None:
    # Only the reward differs from the default nqos_split case above.
    adapter = build("nqos_split", {"rl_config": {"reward_type": "normalized_utility"}}, None)
    reward = adapter.reward(data.draw(stats_for(adapter)))
    assert isinstance(reward, float)
    assert -10.0 <= reward <= 10.0


def expected_values(adapter: Adapter, action: np.ndarray) -> Any:
    """What the policy's ``value`` must be for ``action``, from the documented rules."""
    space = adapter.action_space
    env = adapter.config.env
    if env == "qos_steer":
        return [int(a) for a in action]
    clipped = np.clip(action, space.low, space.high).astype(np.float32)  # type: ignore[attr-defined]
    if env in ("custom", "rmcat"):
        return clipped.tolist()
    if env == "nqos_split":
        rows = []
        for row in clipped.astype(np.float64):
            total = float(row.sum())
            rows.append([1.0, 0.0, 0.0] if total == 0 else [float(v) / total for v in row])
        return rows
    # network_slicing: prioritized RBGs, Python's round() is half-to-even like numpy's.
    slices = len(adapter.config.env_config["per_slice_config"]["num_users"])
    rbs = adapter.config.env_config["lte"]["resource_block_num"]
    size = 1 if rbs < 10 else 2 if rbs < 26 else 3 if rbs < 63 else 4
    return [round(float(a) * (rbs / size) / slices) for a in clipped]


def policy_values(adapter: Adapter, policy: Any) -> Any:
    """The policy's per-entity values; network_slicing: ``{slice id: prioritized RBGs}``."""
    if adapter.config.env == "network_slicing":
        (prb,) = [r for r in policy if r["name"] == "prb_allocation"]
        by_slice: dict[int, Any] = {}
        for cell in prb["value"]:
            by_slice.update(zip(cell["slice"], cell["value"], strict=True))
        return by_slice
    return policy["value"]


@pytest.mark.parametrize(("case", "env", "overrides", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_action_policy_wire_round_trip(
    case: str, env: str, overrides: dict[str, Any], cls: type[Adapter] | None, data: st.DataObject
) -> None:
    adapter = build(env, overrides, cls)
    stats = data.draw(stats_for(adapter))
    space = adapter.action_space
    strategy = actions(space)
    if hasattr(space, "low"):
        strategy = strategy | out_of_range_actions(space)  # type: ignore[arg-type]
    action = data.draw(strategy)
    policy = adapter.policy(action, stats)
    message = EnvAction(policy)
    assert decode(encode(message)) == message
    records = policy if isinstance(policy, list) else [policy]
    assert all(r["ts"] == stats.ts for r in records)
    values = policy_values(adapter, policy)
    expected = expected_values(adapter, action)
    if env == "nqos_split":
        np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    elif env == "network_slicing":
        # every slice the records name gets its own slice's RBGs
        assert values and all(rbgs == expected[s] for s, rbgs in values.items())
    else:
        assert values == expected


@pytest.mark.parametrize(("case", "env", "overrides", "cls"), CASES, ids=IDS)
@given(data=st.data())
def test_no_action_asks_for_the_built_in_algorithm(
    case: str, env: str, overrides: dict[str, Any], cls: type[Adapter] | None, data: st.DataObject
) -> None:
    adapter = build(env, overrides, cls)
    stats = data.draw(stats_for(adapter))
    policy = adapter.policy(data.draw(default_actions()), stats)
    records = policy if isinstance(policy, list) else [policy]
    assert [r["value"] for r in records] == [[]] * len(records)
    assert decode(encode(EnvAction(policy))) == EnvAction(policy)


@settings(max_examples=30)
@given(
    rates=st.lists(st.floats(0, 1e308), min_size=1, max_size=6),
    owds=st.lists(st.floats(-1, 1e308), min_size=1, max_size=6),
)
def test_utility_stays_in_bounds_for_any_rates_and_delays(
    rates: list[float], owds: list[float]
) -> None:
    adapter = build("nqos_split", {}, None)
    stats = NetworkStats.from_records(
        [
            {
                "source": "gma",
                "name": "dl::rate",
                "ts": 1,
                "id": list(range(len(rates))),
                "value": rates,
            },
            {
                "source": "gma",
                "name": "dl::owd",
                "ts": 1,
                "id": list(range(len(owds))),
                "value": owds,
            },
        ]
    )
    assert -10.0 <= adapter.reward(stats) <= 10.0
