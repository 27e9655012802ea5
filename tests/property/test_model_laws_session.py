"""MODEL.md laws L21–L24 for nqos_split and qos_steer: time, determinism, direction, actions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.core.session import Session
from tests.property.test_model_laws import (
    by_name,
    default_config,
    run,
    seeds,
    small_config,
    split_action,
    values,
    weight_rows,
)


# -- L21 -----------------------------------------------------------------------------------
@settings(max_examples=10)
@given(
    st.sampled_from(["nqos_split", "qos_steer"]),
    st.integers(2, 4),
    st.integers(1, 3),
    st.sampled_from([(100, 0), (50, 10), (200, 0)]),
    st.integers(0, 5000),
)
def test_l21_ts_advances_one_step_and_session_ends(
    env: str, steps: int, episodes: int, timing: tuple[int, int], start_ms: int
) -> None:
    interval, guard = timing
    config = small_config(env, users=2, interval_ms=interval)
    for section in ("gma", "wifi", "lte"):
        config[section]["measurement_guard_interval_ms"] = guard
    config.update(
        measurement_guard_interval_ms=guard,
        measurement_start_time_ms=start_ms,
        steps_per_episode=steps,
        episodes_per_session=episodes,
        env_end_time_ms=start_ms + (interval + guard) * (steps * episodes + 1),
    )
    session = Session(config)
    step_ms = interval + guard
    records = session.first_measurement()
    expected = start_ms + step_ms
    count = 1
    while True:
        assert {r["ts"] for r in records} == {expected}
        if session.finished:
            break
        records = session.step(
            {"source": "gma", "name": "dl::split_weight", "ts": expected, "id": [], "value": []}
        )
        expected += step_ms
        count += 1
    assert count == steps * episodes
    assert expected + step_ms == config["env_end_time_ms"]


# -- L22 -----------------------------------------------------------------------------------
@settings(max_examples=10)
@given(seeds, st.sampled_from(["nqos_split", "qos_steer"]), st.booleans(), st.booleans())
def test_l22_same_seed_same_bytes_other_seed_other_trajectories(
    seed: int, env: str, poisson: bool, downlink: bool
) -> None:
    config = small_config(env, users=4, downlink=downlink, protocol="udp")
    config["per_slice_config"]["udp_poisson_arrival"] = [poisson]
    if env == "nqos_split":
        action = split_action([[1, 2, 3], [0, 0, 1], [5, 1, 0], [1, 1, 1]])
    else:
        action = split_action([[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 0, 1]])
    first = json.dumps(run(config, seed, 4, action))
    second = json.dumps(run(config, seed, 4, action))
    assert first == second
    other = run(config, seed + 1, 1)[0]
    mine = run(config, seed, 1)[0]
    assert by_name(other)["gma::x_loc"] != by_name(mine)["gma::x_loc"]


# -- L23 -----------------------------------------------------------------------------------
@settings(max_examples=10)
@given(
    seeds,
    st.booleans(),
    st.sampled_from(["dl", "ul"]),
    st.lists(weight_rows, min_size=3, max_size=3),
)
def test_l23_action_in_one_direction_leaves_the_other_unchanged(
    seed: int, downlink: bool, acted: str, rows: list[list[float]]
) -> None:
    config = small_config(users=3, downlink=downlink, rate_mbps=(5.0, 20.0))
    plain = run(config, seed, 4)
    acted_run = run(config, seed, 4, split_action(rows, acted))
    other = "ul" if acted == "dl" else "dl"
    traffic = "dl" if downlink else "ul"
    for m0, m1 in zip(plain, acted_run, strict=True):
        s0, s1 = by_name(m0), by_name(m1)
        for name in s0:
            if name == f"gma::{traffic}::missed_action":
                continue  # the action gave the traffic direction no split (ns-3 marks it)
            if f"::{other}::" in f"::{name}::":
                assert s0[name] == s1[name], name


# -- L24 -----------------------------------------------------------------------------------
@settings(max_examples=10)
@given(seeds, st.sampled_from(["nqos_split", "qos_steer"]), st.booleans())
def test_l24_missed_action_marks_users_without_a_split_and_measurement_ok(
    seed: int, env: str, downlink: bool
) -> None:
    # As ns-3 reports them: missed_action 1 in the traffic direction for the users the last
    # action gave no split (value [] included), 0 elsewhere; measurement_ok 1 for every user.
    config = small_config(env, users=5, downlink=downlink)
    d = "dl" if downlink else "ul"
    n = config["num_users"]

    def act(k: int, ts: int) -> Any:
        if k == 1:
            rows = [[1, 0, 0]] * 2 if env == "nqos_split" else [[1, 0]] * 2
            return {
                "source": "gma",
                "name": f"{d}::split_weight",
                "ts": ts,
                "id": [2, 4],
                "value": rows,
            }
        return {"source": "gma", "name": f"{d}::split_weight", "ts": ts, "id": [], "value": []}

    for k, measurement in enumerate(run(config, seed, 4, act)):
        stats = by_name(measurement)
        other = "ul" if downlink else "dl"
        assert stats[f"gma::{other}::missed_action"][1] == [0.0] * n
        expected = {0: [0.0] * n, 2: [1.0, 0.0, 1.0, 0.0, 1.0]}.get(k, [1.0] * n)
        assert stats[f"gma::{d}::missed_action"][1] == expected
        for direction in ("dl", "ul"):
            assert stats[f"gma::{direction}::measurement_ok"][1] == [1.0] * n
        assert np.all(values(stats, f"gma::{d}::tx_rate") > 0)


def test_default_configs_are_accepted_by_the_session() -> None:
    for env in ("nqos_split", "qos_steer"):
        session = Session(default_config(env))
        assert session.first_measurement()
