"""nqos_split's array path is its policy path, byte for byte.

In a lock-step vector env with nqos_split's own adapter, the policies go to the simulator as
arrays (:class:`netgym_sim.embedded.SplitWeights`: the weight rows of every sub-environment
computed in one numpy pass, ``NqosSplitAdapter.split_weights_many``) and the observations and
rewards come back computed together (``NqosSplitAdapter.outcome_many``). Whatever the
actions — outside the Box, all-zero rows, integers — and the reward type, the results must be
those of N single envs stepped with the same actions, and a session must take a
``SplitWeights`` exactly as the ``env-action`` it stands for: same effect, same error.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import gymnasium
import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import netgym_client
from netgym_client.errors import ActionError
from netgym_client.testing.strategies import config_overrides
from netgym_sim.core import session as session_module
from netgym_sim.core.session import Session, SplitWeights
from netgym_sim.errors import SimError
from netgym_sim.limits import Limits
from tests.property.test_vector_lockstep_props import (
    _small,
    _state,
    assert_step_matches,
    reset_matches,
)

#: Action values: inside and outside the Box [0, 1], zeros (all-zero rows) and whole numbers.
_VALUES = st.one_of(
    st.floats(0, 1, width=32),
    st.sampled_from([0.0, 1.0, -1.0, 2.0, 1e6]),
    st.floats(-3, 3, width=32),
)


def _vector_and_singles(overrides: dict[str, Any], num_envs: int) -> tuple[Any, list[Any]]:
    env_id = netgym_client.env_id("nqos_split")
    vec = gymnasium.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", config=overrides
    )
    singles = [gymnasium.make(env_id, config=overrides).unwrapped for _ in range(num_envs)]
    return vec, singles


@settings(max_examples=12, deadline=None)
@given(
    data=st.data(),
    num_envs=st.integers(2, 4),
    seed=st.integers(0, 2**31 - 8),
    reward_type=st.sampled_from(["utility", "normalized_utility"]),
    as_ints=st.booleans(),
)
def test_the_array_path_gives_what_the_policy_path_gives(
    data: st.DataObject, num_envs: int, seed: int, reward_type: str, as_ints: bool
) -> None:
    overrides = _small(data.draw(config_overrides("nqos_split"), label="overrides"))
    overrides.setdefault("rl_config", {})["reward_type"] = reward_type
    vec, singles = _vector_and_singles(overrides, num_envs)
    calls: list[int] = []
    original = Session.begin_split

    def spy(self: Session, split: SplitWeights) -> None:
        calls.append(1)
        original(self, split)

    try:
        session_module.Session.begin_split = spy  # type: ignore[method-assign]
        if not reset_matches(vec, singles, seed):
            return
        space = vec.action_space
        ended = [False] * num_envs
        for t in range(5):
            actions = data.draw(
                hnp.arrays(np.float32, space.shape, elements=_VALUES), label=f"actions {t}"
            )
            if as_ints:
                actions = np.rint(np.clip(actions, -5, 5)).astype(np.int64)
            assert_step_matches(vec, singles, actions, ended, f"step {t}")
        assert calls, "the array path was taken"
    finally:
        session_module.Session.begin_split = original  # type: ignore[method-assign]
        vec.close()
        for env in singles:
            env.close()


def test_a_non_finite_action_is_refused_as_a_single_env_refuses_it() -> None:
    overrides = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 1}}
    vec, singles = _vector_and_singles(overrides, 2)
    try:
        vec.reset(seed=3)
        singles[0].reset(seed=3)
        actions = np.full(vec.action_space.shape, 0.5, dtype=np.float32)
        actions[0, 1, 0] = np.nan
        with pytest.raises(ActionError) as vec_error:
            vec.step(actions)
        with pytest.raises(ActionError) as single_error:
            singles[0].step(actions[0])
        assert str(vec_error.value) == str(single_error.value)
    finally:
        vec.close()
        for env in singles:
            env.close()


def _outcome(session: Session, run: Any) -> tuple[str, Any]:
    """What ``run()`` did to ``session``: the error, or the state and next measurement."""
    try:
        run()
    except SimError as exc:
        return "error", (type(exc).__name__, str(exc))
    scenario = session.scenario
    records = session._advance()
    context = (
        scenario.split_reported.tobytes(),  # type: ignore[attr-defined]
        scenario.missed_action.tobytes(),  # type: ignore[attr-defined]
    )
    return "ok", (_state(scenario.model), context, json.dumps(records))  # type: ignore[attr-defined]


#: A weight that no row may hold (the first three) or that rows may (zero, both signs).
_ODD_WEIGHTS = st.sampled_from([-1.0, float("nan"), float("inf"), 1e16, 0.0, -0.0])


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 2**31),
    direction=st.sampled_from(["dl", "ul"]),
    ts_off=st.sampled_from([0, 0, 0, 0, 1]),
    env_name=st.sampled_from(["nqos_split", "nqos_split", "nqos_split", "qos_steer"]),
)
def test_a_session_takes_split_weights_as_the_env_action_they_stand_for(
    data: st.DataObject, seed: int, direction: str, ts_off: int, env_name: str
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    env_config = netgym_client.load_config(env_name, overrides).env_config
    env_config = {k: v for k, v in env_config.items() if k != "type"}
    env_config["random_seed"] = seed
    try:
        by_array, by_message = Session(copy.deepcopy(env_config)), Session(env_config)
    except SimError:
        reject()
    by_array.first_measurement()
    by_message.first_measurement()
    if data.draw(st.booleans(), label="built-in first"):  # GMA's own split for a step first
        for session in (by_array, by_message):
            record = {"source": "gma", "name": "dl::split_weight", "ts": session.last_ts}
            session.step([{**record, "id": [], "value": []}])
    users = by_array.scenario.num_users  # type: ignore[attr-defined]
    links = len(by_array.scenario.settings.links)  # type: ignore[attr-defined]
    shape = data.draw(
        st.sampled_from(
            [(users, links), (users, links), (users, links + 1), (max(users - 1, 0), links)]
        ),
        label="shape",
    )
    weights = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 2)), label="weights")
    if weights.size and data.draw(st.booleans(), label="odd"):  # one odd entry, or a zero row
        row = data.draw(st.integers(0, shape[0] - 1), label="row")
        if data.draw(st.booleans(), label="zero row"):
            weights[row] = 0.0
        else:
            weights[row, data.draw(st.integers(0, shape[1] - 1))] = data.draw(_ODD_WEIGHTS)
    assert by_array.last_ts is not None
    split = SplitWeights(by_array.last_ts + ts_off, weights, direction)
    # the request's size cap: none, just enough, one value short (the limits' own count)
    cap = data.draw(st.sampled_from([None, 0, -1]), label="cap")
    if cap is not None:
        limits = Limits(max_values=split.values_counted() + cap)
        by_array.limits = by_message.limits = limits
    got = _outcome(by_array, lambda: by_array.begin_split(split))
    want = _outcome(by_message, lambda: by_message.begin_step(split.action_list()))
    assert got == want
