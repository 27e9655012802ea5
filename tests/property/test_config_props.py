"""Properties of configuration loading: generated configs, round trips, rejection, merging."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client.config import (
    ENVIRONMENTS,
    NetGymConfig,
    deep_merge,
    default_config_dict,
    load_config,
    read_bw_trace,
)
from netgym_client.errors import ConfigError
from netgym_client.testing._config_strategies import env_configs, invalid_overrides

SLICE_ENVS = ("nqos_split", "qos_steer", "network_slicing")


def error_of(env: str, overrides: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(env, overrides)
    return info.value


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: they must be rejected, not crash
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


# -- valid configurations ------------------------------------------------------------------
@given(env_configs())
def test_generated_configs_are_valid_and_round_trip(config: NetGymConfig) -> None:
    assert load_config(config.env, overrides=config.to_dict()) == config
    ec = config.env_config
    assert next(iter(ec)) == "type"
    assert ec["env"] == config.env
    expected_end = config.measurement_start_time_ms + config.step_ms * (
        config.steps_per_episode * config.episodes_per_session + 1
    )
    assert config.env_end_time_ms == expected_end
    assert config.steps_per_episode >= 2
    assert config.episodes_per_session >= 1
    if config.env in SLICE_ENVS:
        psc = ec["per_slice_config"]
        assert config.num_users == sum(psc["num_users"])
        assert 1 <= config.num_users <= 50
        assert 1 <= len(psc["num_users"]) <= 8
        assert {len(v) for v in psc.values()} == {len(psc["num_users"])}
        for section in ("gma", "wifi", "lte"):
            s = ec[section]
            assert (
                s["measurement_interval_ms"] + s["measurement_guard_interval_ms"] == config.step_ms
            )
        assert ec["measurement_interval_ms"] == ec["gma"]["measurement_interval_ms"]
    if config.env == "rmcat":
        assert "num_users" not in ec
        assert set(ec["bw_trace"]) == {"time_ms", "bw_kbps", "delay_ms", "loss"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@settings(max_examples=20)
@given(data=st.data())
def test_fixed_user_count(env: str, data: st.DataObject) -> None:
    limit = {"custom": 10_000, "rmcat": 1}.get(env, 10_000)
    users = data.draw(st.integers(1, limit), label="num_users")
    config = data.draw(env_configs(env, num_users=users))
    assert config.env == env
    assert config.num_users == users


@given(env_configs())
def test_to_dict_is_a_copy(config: NetGymConfig) -> None:
    nested = config.to_dict()
    before = copy.deepcopy(config)
    nested["env_config"]["steps_per_episode"] = -5
    nested["rl_config"]["agent"] = "changed"
    nested["server"]["address"] = "changed"
    assert config == before


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_defaults_as_overrides_change_nothing(env: str) -> None:
    assert load_config(env, default_config_dict(env)) == load_config(env)


# -- rejected input ------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVIRONMENTS)
@settings(max_examples=120)
@given(data=st.data())
def test_each_bad_input_names_its_path(env: str, data: st.DataObject) -> None:
    overrides, path = data.draw(invalid_overrides(env))
    snapshot = copy.deepcopy(overrides)
    with pytest.raises(ConfigError) as info:
        load_config(env, overrides)
    assert info.value.path == path, str(info.value)
    assert str(info.value).startswith(f"{path}: ")
    assert overrides == snapshot or _has_nan(snapshot)  # the input is not modified


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


def _paths(tree: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every key path of a nested dict, sections included."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))


def _nest(path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


@pytest.mark.parametrize("env", ENVIRONMENTS)
@given(data=st.data())
def test_junk_at_any_key_gives_only_config_error(env: str, data: st.DataObject) -> None:
    paths = sorted(_paths(default_config_dict(env)))
    path = data.draw(st.sampled_from(paths), label="path")
    overrides = _nest(path, data.draw(json_values, label="value"))
    try:
        config = load_config(env, overrides)
    except ConfigError as error:
        assert error.path  # always names where
    else:
        assert load_config(env, config.to_dict()) == config


@given(env=st.sampled_from(ENVIRONMENTS), overrides=json_values)
def test_any_json_overrides_give_only_config_error(env: str, overrides: Any) -> None:
    with contextlib.suppress(ConfigError):
        load_config(env, overrides)


@settings(max_examples=40)
@given(env=st.sampled_from(ENVIRONMENTS), content=st.binary(max_size=60) | st.text(max_size=60))
def test_any_file_content_gives_only_config_error(env: str, content: bytes | str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        with contextlib.suppress(ConfigError):
            load_config(env, path=path)


def test_integers_must_fit_in_64_bits() -> None:
    error = error_of("custom", {"env_config": {"steps_per_episode": 2**63}})
    assert error.path == "env_config.steps_per_episode"
    assert "64-bit" in error.problem
    huge = {"env_config": {"steps_per_episode": 10**5000}}  # beyond str() of an int
    assert error_of("custom", huge).path == "env_config.steps_per_episode"
    assert error_of("custom", {"env_config": {"mine": [2**64]}}).path == "env_config.mine[0]"
    trace = {"time_ms": [10**400], "bw_kbps": [1], "delay_ms": [0], "loss": [0]}
    bad_trace = {"env_config": {"bw_trace": trace}}
    assert error_of("rmcat", bad_trace).path == "env_config.bw_trace.time_ms[0]"
    long = {"env_config": {"steps_per_episode": 2**62, "episodes_per_session": 2**62}}
    assert error_of("custom", long).path == "env_config.env_end_time_ms"


def test_deep_nesting_is_a_config_error() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    for env in ("custom", "nqos_split"):
        with pytest.raises(ConfigError, match="nested too deeply"):
            load_config(env, {"env_config": deep})


# -- bandwidth traces ----------------------------------------------------------------------
traces = st.integers(1, 6).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "time_ms": st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True).map(
                sorted
            ),
            "bw_kbps": st.lists(st.floats(0.5, 1e6), min_size=n, max_size=n),
            "delay_ms": st.lists(st.floats(0, 1e4), min_size=n, max_size=n),
            "loss": st.lists(st.floats(0, 1), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=40)
@given(trace=traces, trailing_newline=st.booleans())
def test_bw_trace_csv_reads_back_as_floats(
    trace: dict[str, list[float]], trailing_newline: bool
) -> None:
    rows = [",".join(trace)]
    rows += [",".join(repr(trace[c][i]) for c in trace) for i in range(len(trace["time_ms"]))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.csv"
        path.write_text("\n".join(rows) + ("\n" if trailing_newline else ""))
        read = read_bw_trace(os.fspath(path))
        via_config = load_config("rmcat", {"env_config": {"bw_trace_file": os.fspath(path)}})
    assert read == {column: [float(v) for v in values] for column, values in trace.items()}
    assert via_config.env_config["bw_trace"] == read


# -- deep_merge ----------------------------------------------------------------------------
keys = st.text(max_size=4)
trees = st.recursive(
    json_scalars.filter(lambda v: not (isinstance(v, float) and math.isnan(v))),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=10,
)
mappings = st.dictionaries(keys, trees, max_size=5)


def test_deep_merge_merges_nested_and_replaces_lists() -> None:
    base: dict[str, Any] = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    update: dict[str, Any] = {"a": {"c": [3], "e": {"f": 2}}, "g": None}
    merged = deep_merge(base, update)
    assert merged == {"a": {"b": 1, "c": [3], "e": {"f": 2}}, "d": 1, "g": None}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert update == {"a": {"c": [3], "e": {"f": 2}}, "g": None}
    merged["a"]["e"]["f"] = 99
    assert update["a"]["e"]["f"] == 2  # nothing shared


@given(mappings, mappings)
def test_merge_leaves_inputs_untouched_and_shares_nothing(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    a_before, b_before = copy.deepcopy(a), copy.deepcopy(b)
    merged = deep_merge(a, b)
    assert (a, b) == (a_before, b_before)
    _scribble(merged)
    assert (a, b) == (a_before, b_before)


def _scribble(tree: Any) -> None:
    if isinstance(tree, dict):
        for value in tree.values():
            _scribble(value)
        tree["__scribbled__"] = 1
    elif isinstance(tree, list):
        for value in tree:
            _scribble(value)
        tree.append("__scribbled__")


@given(mappings, mappings)
def test_merge_later_wins(a: dict[str, Any], b: dict[str, Any]) -> None:
    merged = deep_merge(a, b)
    assert set(merged) == set(a) | set(b)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(a.get(key), dict):
            assert merged[key] == deep_merge(a[key], value)
        else:
            assert merged[key] == value
    for key in set(a) - set(b):
        assert merged[key] == a[key]


@given(mappings)
def test_merge_identity_and_idempotence(a: dict[str, Any]) -> None:
    assert deep_merge(a, {}) == a
    assert deep_merge({}, a) == a
    assert deep_merge(a, a) == a
    assert deep_merge(deep_merge(a, a), a) == a


# Associativity holds when a key has the same kind of value in every input (a merge of a
# mapping over a scalar is a replacement, which is not associative): keys "a".."c" hold
# scalars or lists, keys "x".."z" hold nested mappings.
leaf_keys, node_keys = st.sampled_from("abc"), st.sampled_from("xyz")
leaves = st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=3)
typed = st.recursive(
    st.dictionaries(leaf_keys, leaves, max_size=3),
    lambda inner: st.builds(
        lambda flat, nested: {**flat, **nested},
        st.dictionaries(leaf_keys, leaves, max_size=3),
        st.dictionaries(node_keys, inner, max_size=3),
    ),
    max_leaves=8,
)


@given(typed, typed, typed)
def test_merge_is_associative_for_consistent_shapes(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    assert deep_merge(deep_merge(a, b), c) == deep_merge(a, deep_merge(b, c))
