"""The benchmark scenarios: registered, startable, merged over the defaults, and the best
baseline of each clear of random."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import netgym_client
from netgym_client import scenarios
from netgym_client.cli.agents import BASELINES
from netgym_client.cli.benchmark import run_scenario
from netgym_client.config import ENVIRONMENTS, load_config
from netgym_client.errors import ConfigError
from netgym_client.scenarios import SCENARIOS, merge, scenario_id

KEYS = list(SCENARIOS)


def test_the_issue_s_scenarios_exist() -> None:
    assert {s.env for s in SCENARIOS.values()} == set(ENVIRONMENTS) - {"custom"}
    assert {"nqos_split-paper", "nqos_split-congested"} <= set(SCENARIOS)
    for scenario in SCENARIOS.values():
        assert scenario.key == f"{scenario.env}-{scenario.name}"
        assert scenario.id == f"netgym/{scenario.key}-v0"
        assert scenario.best in BASELINES[scenario.env] and scenario.best != "random"
        assert "Best baseline" in scenario.doc


@pytest.mark.parametrize("key", KEYS)
def test_each_scenario_id_makes_an_env_that_steps(key: str) -> None:
    assert scenario_id(key) in gym.registry
    env = gym.make(
        scenario_id(key), server="embedded", config={"env_config": {"steps_per_episode": 3}}
    )
    try:
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        _, reward, terminated, _, _ = env.step(env.action_space.sample())
        assert math.isfinite(float(reward)) and not terminated
        assert env.unwrapped.config.env_config["steps_per_episode"] == 3  # type: ignore[attr-defined]
    finally:
        env.close()


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_plain_ids_keep_the_original_defaults(env_name: str) -> None:
    before = load_config(env_name).to_dict()
    for key in KEYS:
        SCENARIOS[key].config({"env_config": {"steps_per_episode": 2}})
    env = gym.make(netgym_client.env_id(env_name))
    try:
        assert env.unwrapped.config.to_dict() == before  # type: ignore[attr-defined]
    finally:
        env.close()


def test_config_merges_over_the_scenario_and_leaves_it_unchanged() -> None:
    env = scenarios.make("qos_steer-loaded", config={"env_config": {"random_seed": 7}})
    try:
        ec = env.config.env_config
        assert ec["random_seed"] == 7 and ec["per_slice_config"]["num_users"] == [24]
        assert ec["per_slice_config"]["max_udp_rate_per_user_mbps"] == [5]
    finally:
        env.close()
    assert "random_seed" not in SCENARIOS["qos_steer-loaded"].overrides["env_config"]


def test_the_paper_layout_matches_the_paper() -> None:
    ec = scenarios.make("nqos_split-paper").config.env_config
    assert ec["lte_enb_locations"] == {"x": 40, "y": 0, "z": 3}
    assert [(ap["x"], ap["y"]) for ap in ec["wifi_ap_locations"]] == [(30, 0), (50, 0)]
    assert ec["per_slice_config"]["num_users"] == [4]
    assert ec["per_slice_config"]["transport_protocol"] == ["tcp"]
    assert ec["lte"]["resource_block_num"] == 50
    assert ec["user_location_range"]["max_x"] == 80 and ec["user_location_range"]["max_y"] == 0
    congested = scenarios.make("nqos_split-congested").config.env_config
    assert congested["per_slice_config"]["num_users"] == [12]


def test_an_unknown_scenario_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown scenario 'nope'"):
        scenarios.make("nope")


def test_merge_is_deep_and_copies() -> None:
    base = {"a": {"b": 1, "c": [1]}, "d": 2}
    merged = merge(base, {"a": {"b": 3}})
    assert merged == {"a": {"b": 3, "c": [1]}, "d": 2}
    merged["a"]["c"].append(2)
    assert base["a"]["c"] == [1]


SEEDS = (0, 1, 2, 3, 4)
#: Few seeds and short episodes, so that each scenario's check stays fast.
QUICK_STEPS = {
    "nqos_split-paper": 150,
    "nqos_split-congested": 100,
    "qos_steer-loaded": 10,
    "network_slicing-competing": 20,
    "rmcat-varying": 150,
}


@pytest.mark.parametrize("key", KEYS)
def test_the_best_heuristic_beats_random_by_more_than_the_spread(key: str) -> None:
    scenario = SCENARIOS[key]
    steps = QUICK_STEPS[key]
    best = run_scenario(scenario, scenario.best, seeds=SEEDS, steps_per_episode=steps)
    rand = run_scenario(scenario, "random", seeds=SEEDS, steps_per_episode=steps)
    assert best.mean - rand.mean > max(best.std, rand.std), (best, rand)
    assert best.ci95_low > rand.ci95_high, (best, rand)
    assert np.isfinite([best.mean, rand.mean]).all()


def test_a_scenario_id_makes_a_native_vector_env() -> None:
    envs = gym.make_vec(
        scenario_id("qos_steer-loaded"),
        num_envs=2,
        vectorization_mode="vector_entry_point",
        server="embedded",
        config={"env_config": {"steps_per_episode": 3}},
    )
    try:
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (2, 3, 24)  # the scenario's 24 users, in each of the two envs
        _, rewards, _, _, _ = envs.step(envs.action_space.sample())
        assert rewards.shape == (2,)
    finally:
        envs.close()
