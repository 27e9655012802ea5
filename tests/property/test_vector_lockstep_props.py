"""The lock-step vector path is N independent envs, byte for byte.

``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`` hands every embedded
session's step to the simulator at once (``netgym_sim.embedded.ask_together``), which
advances the GMA models together (``netgym_sim.model.batch``). Whatever the config, the
number of sub-environments and the seeds, its observations, rewards, flags and infos must be
those of N ``gymnasium.make`` envs reset with the seeds ``s + i`` and stepped one by one with
the same actions, over several sessions (next-step autoreset included); and the networks'
whole state must be that of networks advanced one at a time.
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

import netgym_client
from netgym_client.errors import NetGymError
from netgym_client.stats import NetworkStats
from netgym_client.testing.strategies import config_overrides
from netgym_sim.core.session import Session
from netgym_sim.errors import SimError
from netgym_sim.model import _kernel, batch
from netgym_sim.model.network import MultiAccessNetwork
from netgym_sim.scenarios._gma_batch import measure_together
from netgym_sim.scenarios._gma_common import GmaScenario

ALL_ENVS = ["nqos_split", "qos_steer", "network_slicing", "custom", "rmcat"]
GMA_ENVS = ["nqos_split", "qos_steer", "network_slicing"]
#: Drawn configs stay small: a lock-step example runs N + N sessions to their end and more.
MAX_USERS = 12


def _small(overrides: dict[str, Any]) -> dict[str, Any]:
    overrides = copy.deepcopy(overrides)
    slices = overrides["env_config"].get("per_slice_config")
    if slices is not None:  # at most MAX_USERS users, as many slices
        counts = [min(c, MAX_USERS // len(slices["num_users"])) for c in slices["num_users"]]
        counts[0] = max(counts[0], 1) if sum(counts) == 0 else counts[0]
        slices["num_users"] = counts
    if overrides["env_config"].get("num_users"):
        overrides["env_config"]["num_users"] = min(overrides["env_config"]["num_users"], 5)
    return overrides


def _info_at(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Sub-environment ``i``'s info out of gymnasium's batched vector infos."""
    return {k: v[i] for k, v in infos.items() if not k.startswith("_") and infos[f"_{k}"][i]}


def _assert_info(batched: dict[str, Any], single: dict[str, Any], where: str) -> None:
    assert sorted(batched) == sorted(single), where
    for key, value in single.items():
        other = batched[key]
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype and value.tobytes() == other.tobytes(), where
        elif isinstance(value, NetworkStats):  # the records as the wire would carry them
            assert json.dumps(other.to_records()) == json.dumps(value.to_records()), where
        else:
            assert other == value, f"{where}.{key}: {other!r} != {value!r}"


def reset_matches(vec: Any, singles: list[Any], seed: int) -> bool:
    """``vec.reset(seed=seed)`` is each single env's ``reset(seed=seed + i)``; False when the
    simulator refuses the config (the vector env too, with the same error type)."""
    try:
        firsts = [env.reset(seed=seed + i) for i, env in enumerate(singles)]
    except NetGymError as exc:
        with pytest.raises(type(exc)):
            vec.reset(seed=seed)
        return False
    obs, infos = vec.reset(seed=seed)
    for i, (first, info) in enumerate(firsts):
        assert obs[i].tobytes() == first.tobytes(), f"reset {i}"
        _assert_info(_info_at(infos, i), info, f"reset {i}")
    return True


def assert_step_matches(
    vec: Any, singles: list[Any], actions: Any, ended: list[bool], where: str
) -> list[tuple[Any, ...]]:
    """One step of ``vec`` is one step of each single env with its action (``ended[i]``:
    env ``i``'s episode ended, so this step resets it, as the vector env's autoreset does);
    the single envs' results."""
    obs, rewards, terminations, truncations, infos = vec.step(actions)
    results = []
    for i, env in enumerate(singles):
        here = f"{where}, env {i}"
        if ended[i]:  # next-step autoreset: the new episode's first observation
            single_obs, info = env.reset()
            reward, terminated, truncated = 0.0, False, False
        else:
            single_obs, reward, terminated, truncated, info = env.step(actions[i])
        ended[i] = terminated or truncated
        assert obs[i].tobytes() == single_obs.tobytes(), here
        assert rewards[i] == reward, here
        assert (terminations[i], truncations[i]) == (terminated, truncated), here
        _assert_info(_info_at(infos, i), info, here)
        results.append((single_obs, reward, terminated, truncated, info))
    return results


def _compare(env_name: str, overrides: dict[str, Any], num_envs: int, seed: int) -> None:
    env_id = netgym_client.env_id(env_name)
    vec = gymnasium.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", config=overrides
    )
    singles = [gymnasium.make(env_id, config=overrides).unwrapped for _ in range(num_envs)]
    try:
        env_config = overrides["env_config"]
        session = int(env_config["steps_per_episode"]) * int(env_config["episodes_per_session"])
        steps = 2 * session + 2  # two sessions' ends and the autoresets after them
        if not reset_matches(vec, singles, seed):
            return
        vec.action_space.seed(seed)
        ended = [False] * num_envs
        for t in range(steps):
            assert_step_matches(vec, singles, vec.action_space.sample(), ended, f"step {t}")
    finally:
        vec.close()
        for env in singles:
            env.close()


@settings(max_examples=12)
@given(
    env_name=st.sampled_from(ALL_ENVS),
    data=st.data(),
    num_envs=st.integers(2, 4),
    seed=st.integers(0, 2**31 - 8),
)
def test_the_lockstep_vector_env_is_n_independent_envs(
    env_name: str, data: st.DataObject, num_envs: int, seed: int
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    _compare(env_name, overrides, num_envs, seed)


def _sessions(env_config: dict[str, Any], seeds: list[int]) -> list[Session]:
    out = []
    for seed in seeds:
        config = {**copy.deepcopy(env_config), "random_seed": seed}
        try:
            session = Session(config)
        except SimError:
            reject()  # a config the simulator refuses (the client's checks are fewer)
        session.first_measurement()
        out.append(session)
    return out


def _state(net: MultiAccessNetwork) -> list[tuple[str, bytes]]:
    """Every array and number of a network, its TCP senders and accumulators, as bytes."""
    out = []
    for prefix, obj in (("", net), ("tcp.", net.tcp), ("acc.", net.acc)):
        for name, value in sorted(vars(obj).items()):
            if isinstance(value, np.ndarray):
                out.append((prefix + name, value.dtype.str.encode() + value.tobytes()))
            elif isinstance(value, float | int | bool):
                out.append((prefix + name, repr(value).encode()))
    return out


@settings(max_examples=15)
@given(
    env_name=st.sampled_from(GMA_ENVS),
    data=st.data(),
    seeds=st.lists(st.integers(0, 2**31), min_size=2, max_size=4),
    lag=st.integers(0, 2),
)
def test_sessions_measured_together_hold_the_state_and_records_of_sessions_alone(
    env_name: str, data: st.DataObject, seeds: list[int], lag: int
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    env_config = netgym_client.load_config(env_name, overrides).env_config
    env_config = {k: v for k, v in env_config.items() if k != "type"}
    alone, together = _sessions(env_config, seeds), _sessions(env_config, seeds)
    # the last session starts `lag` steps behind: a group of its own phase
    for session in (alone[-1], together[-1])[: 2 if lag else 0]:
        for _ in range(lag):
            if not session.finished:
                session.run_clock()
                session.finish_step()
    for _ in range(4):
        live = [i for i, s in enumerate(alone) if not s.finished]
        mine = {i: json.dumps(alone[i].step([], apply=False)) for i in live}
        by_ts: dict[int, list[int]] = {}
        for i in live:
            by_ts.setdefault(together[i].next_ts, []).append(i)
        for t_ms, members in by_ts.items():
            scenarios = [together[i].scenario for i in members]
            assert all(isinstance(s, GmaScenario) for s in scenarios)
            built = measure_together(scenarios, t_ms)  # type: ignore[arg-type]
            for i, records in zip(members, built, strict=True):
                assert json.dumps(together[i].finish_step(records)) == mine[i], f"session {i}"
        for i in live:
            a, b = alone[i].scenario.model, together[i].scenario.model
            assert _state(a) == _state(b), f"session {i}"


@pytest.mark.skipif(not _kernel.COMPILED, reason="the lock-step sub-steps need numba")
def test_the_vector_env_steps_gma_sessions_in_lock_step(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = batch._Stacked.advance_to

    def spy(self: Any, t_ms: float) -> None:
        calls.append(len(self.nets))
        original(self, t_ms)

    monkeypatch.setattr(batch._Stacked, "advance_to", spy)
    overrides = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 1}}
    _compare("nqos_split", overrides, 3, seed=7)
    assert calls and set(calls) == {3}  # every step: one stacked advance of the 3 networks
