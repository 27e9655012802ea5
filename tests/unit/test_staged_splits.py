"""The array path's splits are staged while each session checks its policy, then committed
together (one burst pass); the sessions' results are those of committing each alone
(``tests/property/test_vector_lockstep_props.py``, ``test_array_policy_props.py``)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest

import netgym_client
from netgym_client.errors import EnvError
from netgym_sim.core import batch as core_batch
from netgym_sim.scenarios import _gma_common
from netgym_sim.scenarios.network_slicing import NetworkSlicingScenario
from netgym_sim.scenarios.nqos_split import NqosSplitScenario
from tests.property.test_model_laws import default_config, small_config

OVERRIDES = {"env_config": {"steps_per_episode": 4, "episodes_per_session": 1}}


def _vec(env_name: str, n: int) -> Any:
    return gymnasium.make_vec(
        netgym_client.env_id(env_name),
        num_envs=n,
        vectorization_mode="vector_entry_point",
        config=OVERRIDES,
    )


@pytest.mark.parametrize("env_name", ["nqos_split", "qos_steer"])
def test_every_sub_envs_split_is_committed_in_one_pass(
    env_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[list[tuple[Any, str, np.ndarray]]] = []
    original = core_batch.commit_staged

    def spy(staged: list[tuple[Any, str, np.ndarray]]) -> None:
        passes.append(list(staged))
        original(staged)

    monkeypatch.setattr(core_batch, "commit_staged", spy)
    vec = _vec(env_name, 3)
    try:
        vec.reset(seed=2)
        vec.action_space.seed(2)
        vec.step(vec.action_space.sample())
        staged = [p for p in passes if p]
        assert len(staged) == 1 and len(staged[0]) == 3
        scenarios = {id(scenario) for scenario, _, _ in staged[0]}
        assert len(scenarios) == 3  # one split per sub-env, each its own scenario
        for scenario, direction, _ in staged[0]:
            d = _gma_common.DIRECTIONS.index(direction)
            assert scenario.split_reported[d].all()
            assert not scenario.model.builtin[d].any()
    finally:
        vec.close()


def test_outside_a_pass_a_split_is_committed_at_once_and_a_pass_stages_it() -> None:
    scenario = NqosSplitScenario(small_config(users=3), 0)
    rows = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 1.0], [2.0, 0.0, 2.0]])
    staged: _gma_common.Staged = []
    with _gma_common.staging_splits(staged):
        scenario.commit_split("dl", rows)
    assert len(staged) == 1 and staged[0][0] is scenario
    assert scenario.model.builtin[0].all()  # not committed yet
    _gma_common.commit_staged(staged)
    staged_target = scenario.model.target.copy()
    alone = NqosSplitScenario(small_config(users=3), 0)
    alone.commit_split("dl", rows)  # no pass: at once
    assert not alone.model.builtin[0].any()
    assert np.array_equal(alone.model.target, staged_target)
    assert np.array_equal(alone.split_reported, scenario.split_reported)
    assert np.array_equal(alone.missed_action, scenario.missed_action)


def test_a_scenario_with_its_own_commit_is_not_staged() -> None:
    scenario = NetworkSlicingScenario(default_config("network_slicing"), 1)
    rows = np.zeros((scenario.num_users, 3))
    rows[:, 2] = 1.0
    staged: _gma_common.Staged = []
    with _gma_common.staging_splits(staged):
        scenario.commit_split("dl", rows)
    assert staged == []
    assert not scenario.model.builtin[0].any()


def test_a_failed_commit_costs_the_staged_sessions_a_typed_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(staged: list[tuple[Any, str, np.ndarray]]) -> None:
        if staged:
            raise RuntimeError("commit failed")

    vec = _vec("nqos_split", 2)
    try:
        vec.reset(seed=4)
        monkeypatch.setattr(core_batch, "commit_staged", broken)
        vec.action_space.seed(4)
        with pytest.raises(EnvError, match="InternalError: RuntimeError: commit failed"):
            vec.step(vec.action_space.sample())
    finally:
        vec.close()
