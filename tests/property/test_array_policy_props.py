"""nqos_split's and qos_steer's array path is their policy path, byte for byte.

On the embedded path, with nqos_split's or qos_steer's own adapter, the policies go to the
simulator as arrays (:class:`netgym_sim.embedded.SplitWeights` and ``SteerFlags``: the values
of every sub-environment computed in one numpy pass, ``policy_values_many``) and a vector
env's observations and rewards come back computed together (``outcome_many``). Whatever the
actions — outside the Box, all-zero rows, integers, bools — and the reward type, the results
must be those of N single envs stepped with the same actions, and a session must take an
array policy exactly as the ``env-action`` it stands for: same effect, same error.
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
from netgym_client.adapters import Adapter, adapter_class
from netgym_client.errors import ActionError
from netgym_client.policy_arrays import array_adapter
from netgym_client.testing.strategies import config_overrides
from netgym_sim.core import session as session_module
from netgym_sim.core.session import ArrayPolicy, Session, SplitWeights, SteerFlags
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


def _policy_path(env_name: str) -> type[Adapter]:
    """The env's own adapter, its ``policy`` overridden (by itself): the ordinary path."""
    own = adapter_class(env_name)

    class PolicyPath(own):  # type: ignore[valid-type, misc]
        def policy(self, action: Any, stats: Any) -> Any:
            return super().policy(action, stats)

    return PolicyPath


def _vector_and_singles(
    overrides: dict[str, Any], num_envs: int, env_name: str = "nqos_split"
) -> tuple[Any, list[Any]]:
    """The array path's vector env, and single envs on the policy path (JSON policies)."""
    env_id = netgym_client.env_id(env_name)
    vec = gymnasium.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", config=overrides
    )
    plain = _policy_path(env_name)
    singles = [
        gymnasium.make(env_id, config=overrides, adapter=plain).unwrapped for _ in range(num_envs)
    ]
    assert not any(array_adapter(env.adapter) for env in singles)
    return vec, singles


def _actions(data: st.DataObject, env_name: str, shape: tuple[int, ...], label: str) -> Any:
    if env_name == "qos_steer":  # 0/1 choices, as ints or as bools
        choices = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 1)), label=label)
        return choices.astype(bool) if data.draw(st.booleans(), label="bools") else choices
    actions = data.draw(hnp.arrays(np.float32, shape, elements=_VALUES), label=label)
    if data.draw(st.booleans(), label="ints"):
        actions = np.rint(np.clip(actions, -5, 5)).astype(np.int64)
    return actions


@settings(max_examples=16, deadline=None)
@given(
    data=st.data(),
    env_name=st.sampled_from(["nqos_split", "nqos_split", "qos_steer"]),
    num_envs=st.integers(2, 4),
    seed=st.integers(0, 2**31 - 8),
    reward_type=st.sampled_from(["utility", "normalized_utility"]),
)
def test_the_array_path_gives_what_the_policy_path_gives(
    data: st.DataObject, env_name: str, num_envs: int, seed: int, reward_type: str
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    if env_name == "nqos_split":
        overrides.setdefault("rl_config", {})["reward_type"] = reward_type
    vec, singles = _vector_and_singles(overrides, num_envs, env_name)
    calls: list[int] = []
    original = Session.begin_array

    def spy(self: Session, policy: ArrayPolicy) -> None:
        calls.append(1)
        original(self, policy)

    try:
        session_module.Session.begin_array = spy  # type: ignore[method-assign]
        if not reset_matches(vec, singles, seed):
            return
        ended = [False] * num_envs
        for t in range(5):
            actions = _actions(data, env_name, vec.action_space.shape, f"actions {t}")
            assert_step_matches(vec, singles, actions, ended, f"step {t}")
        assert calls, "the array path was taken"
    finally:
        session_module.Session.begin_array = original  # type: ignore[method-assign]
        vec.close()
        for env in singles:
            env.close()


@settings(max_examples=12, deadline=None)
@given(
    data=st.data(),
    env_name=st.sampled_from(["nqos_split", "qos_steer"]),
    seed=st.integers(0, 2**31 - 8),
    reward_type=st.sampled_from(["utility", "normalized_utility"]),
)
def test_a_single_env_on_the_array_path_is_one_on_the_policy_path(
    data: st.DataObject, env_name: str, seed: int, reward_type: str
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    if env_name == "nqos_split":
        overrides.setdefault("rl_config", {})["reward_type"] = reward_type
    env_id = netgym_client.env_id(env_name)
    by_array = gymnasium.make(env_id, config=overrides).unwrapped
    by_policy = gymnasium.make(env_id, config=overrides, adapter=_policy_path(env_name)).unwrapped
    try:
        assert array_adapter(by_array.adapter) and not array_adapter(by_policy.adapter)
        if not reset_matches(_AsVector(by_array), [by_policy], seed):
            return
        ended = [False]
        for t in range(6):
            actions = _actions(data, env_name, by_array.action_space.shape, f"action {t}")
            assert_step_matches(
                _AsVector(by_array, ended), [by_policy], actions[None], ended, f"{t}"
            )
    finally:
        by_array.close()
        by_policy.close()


class _AsVector:
    """One env seen as a vector env of one (next-step autoreset), for the helpers above."""

    def __init__(self, env: Any, ended: list[bool] | None = None) -> None:
        self.env, self.ended = env, ended

    def reset(self, seed: int) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed)
        return obs[None], _batched(info)

    def step(self, actions: Any) -> tuple[Any, ...]:
        if self.ended and self.ended[0]:
            obs, info = self.env.reset()
            result: tuple[Any, ...] = (obs, 0.0, False, False, info)
        else:
            result = self.env.step(actions[0])
        obs, reward, terminated, truncated, info = result
        return obs[None], [reward], [terminated], [truncated], _batched(info)


def _batched(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in info.items():
        out[key], out[f"_{key}"] = [value], [True]
    return out


@pytest.mark.parametrize(
    ("env_name", "bad"), [("nqos_split", np.nan), ("qos_steer", 2), ("qos_steer", 0.5)]
)
def test_a_bad_action_is_refused_as_a_single_env_refuses_it(env_name: str, bad: float) -> None:
    overrides = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 1}}
    vec, singles = _vector_and_singles(overrides, 2, env_name)
    try:
        vec.reset(seed=3)
        singles[1].reset(seed=4)
        actions = np.ones(vec.action_space.shape, dtype=np.float64)
        actions[1, 1] = bad
        with pytest.raises(ActionError) as vec_error:
            vec.step(actions)
        with pytest.raises(ActionError) as single_error:
            singles[1].step(actions[1])
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


def _sessions(data: st.DataObject, env_name: str, seed: int) -> tuple[Session, Session]:
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
    return by_array, by_message


def _weights(data: st.DataObject, users: int, links: int) -> np.ndarray:
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
    return weights


def _flags(data: st.DataObject, users: int) -> np.ndarray:
    size = data.draw(st.sampled_from([users, users, users + 1, max(users - 1, 0)]), label="n")
    flags = data.draw(hnp.arrays(np.int64, (size,), elements=st.integers(0, 1)), label="flags")
    if size and data.draw(st.booleans(), label="odd"):  # a choice that is not 0 or 1
        flags[data.draw(st.integers(0, size - 1))] = data.draw(st.sampled_from([2, -1, 2**60]))
    return flags


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 2**31),
    direction=st.sampled_from(["dl", "ul"]),
    ts_off=st.sampled_from([0, 0, 0, 0, 1]),
    case=st.sampled_from(
        [
            ("nqos_split", SplitWeights),
            ("nqos_split", SteerFlags),  # not a knob of nqos_split: the same error both ways
            ("qos_steer", SplitWeights),  # qos_steer's one-hot rule: the message path
            ("qos_steer", SteerFlags),
        ]
    ),
)
def test_a_session_takes_an_array_policy_as_the_env_action_it_stands_for(
    data: st.DataObject,
    seed: int,
    direction: str,
    ts_off: int,
    case: tuple[str, type[ArrayPolicy]],
) -> None:
    env_name, kind = case
    by_array, by_message = _sessions(data, env_name, seed)
    users = by_array.scenario.num_users  # type: ignore[attr-defined]
    links = len(by_array.scenario.settings.links)  # type: ignore[attr-defined]
    values = _weights(data, users, links) if kind is SplitWeights else _flags(data, users)
    assert by_array.last_ts is not None
    policy = kind(by_array.last_ts + ts_off, values, direction)
    # the request's size cap: none, just enough, one value short (the limits' own count)
    cap = data.draw(st.sampled_from([None, 0, -1]), label="cap")
    if cap is not None:
        limits = Limits(max_values=policy.values_counted() + cap)
        by_array.limits = by_message.limits = limits
    got = _outcome(by_array, lambda: by_array.begin_array(policy))
    want = _outcome(by_message, lambda: by_message.begin_step(policy.action_list()))
    assert got == want
