"""Deferred records (the embedded vector env's lock-step path) are the records, byte for byte.

``measure_together(..., deferred=True)`` answers the sessions of a shared pass with
``DeferredRecords``: per-user metrics as arrays, the records built on demand. Over drawn
configs, subscriptions and seeds, the arrays must hold the records' numbers bit for bit, the
records built later must be those of the record path, and a ``NetworkStats.deferred`` view
must read like ``NetworkStats.from_records`` of them: the adapters' observations, rewards,
infos and policies the same bytes, and the GMA split adapters' reading no record at all.
"""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

import netgym_client
from netgym_client.adapters.registry import adapter_class
from netgym_client.errors import ProtocolError
from netgym_client.stats import NetworkStats
from netgym_client.testing.strategies import config_overrides
from netgym_sim.core.session import Session
from netgym_sim.errors import SimError
from netgym_sim.scenarios._gma_batch import DeferredRecords, measure_together
from netgym_sim.scenarios._gma_common import GmaScenario

from .test_vector_lockstep_props import _small

GMA_ENVS = ["nqos_split", "qos_steer", "network_slicing"]
#: The adapters that read only plain per-user metrics (no record built for them).
ARRAY_ADAPTERS = {"nqos_split", "qos_steer"}


def _sessions(env_config: dict[str, Any], seeds: list[int]) -> list[Session]:
    out = []
    for seed in seeds:
        try:
            session = Session({**copy.deepcopy(env_config), "random_seed": seed})
        except SimError:
            reject()
        session.first_measurement()
        out.append(session)
    return out


def _measure(sessions: list[Session], deferred: bool) -> list[Any]:
    """Every live session's next measurement, the sessions of one ts measured together."""
    out: list[Any] = [None] * len(sessions)
    by_ts: dict[int, list[int]] = {}
    for i, session in enumerate(sessions):
        if not session.finished:
            by_ts.setdefault(session.next_ts, []).append(i)
    for t_ms, members in by_ts.items():
        scenarios = [sessions[i].scenario for i in members]
        assert all(isinstance(s, GmaScenario) for s in scenarios)
        built = measure_together(scenarios, t_ms, deferred=deferred)  # type: ignore[arg-type]
        for i, records in zip(members, built, strict=True):
            out[i] = sessions[i].finish_step(records)
    return out


def _same_reading(view: NetworkStats, plain: NetworkStats, keys: list[str]) -> None:
    """``view`` answers every lookup of ``keys`` with ``plain``'s bytes (or its error)."""
    assert view.ts == plain.ts
    for key in [*keys, "nope::absent"]:
        assert (key in view) == (key in plain), key
        n = plain.ids(key).size
        # an adapter's own ids 1 … N, a shuffle of them, others, a list
        asked = (np.arange(1, n + 1), np.arange(n, 0, -1), np.arange(0, 7), list(range(1, n + 1)))
        for args in ((), *((ids, -1.5) for ids in asked)):
            try:
                expected = plain.get(key, *args)
            except ProtocolError as exc:
                with pytest.raises(ProtocolError, match=str(exc.field)):
                    view.get(key, *args)
                continue
            got = view.get(key, *args)
            assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), key
        for ids in asked:
            assert view.count_missing(key, ids) == plain.count_missing(key, ids), key
        assert view.ids(key).tobytes() == plain.ids(key).tobytes(), key
        if key in plain:
            assert view.metric(key) == plain.metric(key), key


@settings(max_examples=12, deadline=None)
@given(
    env_name=st.sampled_from(GMA_ENVS),
    data=st.data(),
    seeds=st.lists(st.integers(0, 2**31), min_size=2, max_size=4),
    subscribe=st.booleans(),
)
def test_deferred_records_read_as_the_records_of_the_record_path(
    env_name: str, data: st.DataObject, seeds: list[int], subscribe: bool
) -> None:
    overrides = _small(data.draw(config_overrides(env_name), label="overrides"))
    config = netgym_client.load_config(env_name, overrides)
    env_config = {k: v for k, v in config.env_config.items() if k != "type"}
    probe = _sessions(env_config, seeds[:1])[0]
    names = list(probe.scenario.subscriptions)  # type: ignore[attr-defined]
    if subscribe:  # a drawn subscription (ns-3 reports only what the client asked for)
        env_config["subscribed_network_stats"] = data.draw(
            st.lists(st.sampled_from(names), unique=True), label="subscribed"
        )
    plain_sessions, deferred_sessions = _sessions(env_config, seeds), _sessions(env_config, seeds)
    adapter_cls = adapter_class(env_name)
    for step in range(3):
        plain_out = _measure(plain_sessions, deferred=False)
        deferred_out = _measure(deferred_sessions, deferred=True)
        for i, (records, deferred) in enumerate(zip(plain_out, deferred_out, strict=True)):
            if records is None:
                continue
            where = f"step {step}, session {i}"
            assert isinstance(deferred, DeferredRecords), where
            keys = [f"{r['source']}::{r['name']}" for r in records]
            for record, key in zip(records, keys, strict=True):
                found = deferred.values(key)
                if found is not None:  # the arrays are the record's numbers, bit for bit
                    ids, values = found
                    assert ids.tobytes() == np.asarray(record["id"], np.int64).tobytes(), where
                    want = np.asarray(record["value"], np.float64)
                    assert values.tobytes() == want.tobytes(), f"{where}: {key}"
            for key in names:  # an array only for a metric the records hold
                assert deferred.values(key) is None or key in keys, f"{where}: {key}"
            plain = NetworkStats.from_records(records, validate=False)
            view = NetworkStats.deferred(deferred)
            # the adapters read both alike; the split adapters read arrays only
            a, b = adapter_cls(config), adapter_cls(config)
            a.action_space.seed(seeds[0] + step)
            action = a.action_space.sample()
            obs_a, obs_b = a.observation(plain), b.observation(view)
            assert obs_a.dtype == obs_b.dtype and obs_a.tobytes() == obs_b.tobytes(), where
            assert a.reward(plain) == b.reward(view), where
            assert json.dumps(a.policy(action, plain)) == json.dumps(b.policy(action, view))
            assert a.info(plain) == b.info(view), where
            if env_name in ARRAY_ADAPTERS and not subscribe:
                assert not view.built, f"{where}: the adapter's reading built the records"  # type: ignore[attr-defined]
            _same_reading(view, plain, keys)
            # and built, the view is the records
            assert json.dumps(view.to_records()) == json.dumps(plain.to_records()), where
            assert view == plain and plain == view, where
            assert json.dumps(deferred.build()) == json.dumps(records), where


def test_a_deferred_view_copies_and_pickles_as_its_records() -> None:
    config = netgym_client.load_config("nqos_split")
    env_config = {k: v for k, v in config.env_config.items() if k != "type"}
    sessions = _sessions(env_config, [3, 4])
    deferred = _measure(sessions, deferred=True)
    view = NetworkStats.deferred(deferred[0])
    assert repr(view) == "NetworkStats(deferred)"
    for copied in (copy.deepcopy(view), pickle.loads(pickle.dumps(view))):
        assert type(copied) is NetworkStats
        assert copied == view
        assert json.dumps(copied.to_records()) == json.dumps(deferred[0].build())


@pytest.mark.parametrize("env_name", sorted(ARRAY_ADAPTERS))
def test_the_vector_env_steps_without_building_records(env_name: str) -> None:
    import gymnasium

    overrides = {"env_config": {"steps_per_episode": 4, "episodes_per_session": 1}}
    vec = gymnasium.make_vec(
        netgym_client.env_id(env_name),
        num_envs=3,
        vectorization_mode="vector_entry_point",
        config=overrides,
    )
    try:
        vec.reset(seed=5)
        vec.action_space.seed(5)
        _, _, _, _, infos = vec.step(vec.action_space.sample())
        views = list(infos["network_stats"])
        assert all(getattr(view, "built", True) is False for view in views)
        assert all(len(view) > 0 for view in views)  # built on demand
        assert all(view.built for view in views)
    finally:
        vec.close()
