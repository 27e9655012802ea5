"""The results tables: the CSV writer and reader are exact inverses, bad input is named."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client.cli.results import (
    ResultsError,
    RunRecorder,
    Table,
    metric_columns,
    read_csv,
    steps_columns,
    write_csv,
)
from netgym_client.config import load_config
from netgym_client.testing.strategies import network_stats

KINDS: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    float: st.floats(allow_nan=True, allow_infinity=True),
    str: st.text(),
}
NAMES = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)


@st.composite
def tables(draw: st.DrawFn) -> Table:
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    columns = {name: draw(st.sampled_from([int, float, str])) for name in names}
    table = Table(columns)
    for _ in range(draw(st.integers(0, 6))):
        row = {}
        for name, kind in columns.items():
            nullable = kind is not str  # a None str cell reads back as ""
            cell = st.one_of(st.none(), KINDS[kind]) if nullable else KINDS[kind]
            row[name] = draw(cell)
        table.append(row)
    return table


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@given(tables())
def test_csv_round_trip(table: Table) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        write_csv(path, table)
        back = read_csv(path, table.columns)
    assert list(back.columns) == list(table.columns)
    assert len(back) == len(table)
    for mine, theirs in zip(table.rows, back.rows, strict=True):
        for name in table.columns:
            assert same(mine[name], theirs[name]), (name, mine[name], theirs[name])


def test_append_rejects_rows_that_do_not_fit() -> None:
    table = Table({"a": int, "b": float})
    with pytest.raises(ResultsError, match=r"missing \['b'\]"):
        table.append({"a": 1})
    with pytest.raises(ResultsError, match="column 'a' holds int"):
        table.append({"a": 1.5, "b": 2.0})
    with pytest.raises(ResultsError, match="column 'b' holds float"):
        table.append({"a": 1, "b": True})


def test_read_names_the_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n")
    with pytest.raises(ResultsError, match=r"t.csv:2: b: not float: 'x'"):
        read_csv(path, {"a": int, "b": float})
    with pytest.raises(ResultsError, match="header"):
        read_csv(path, {"a": int})


@pytest.mark.parametrize("env", ["nqos_split", "qos_steer", "network_slicing", "rmcat", "custom"])
@settings(max_examples=40)  # each example draws two whole measurements
@given(data=st.data())
def test_recorded_rows_round_trip(env: str, data: st.DataObject) -> None:
    config = load_config(env)
    recorder = RunRecorder(config)
    num_users = int(config.env_config.get("num_users", 1))
    if env == "rmcat":
        num_users = 1
    for step in (1, 2):
        stats = data.draw(network_stats(env=env, num_users=num_users))
        reward = None if step == 1 else data.draw(st.floats(-10, 10))
        recorder.record(1, step, stats, reward, None)
    assert len(recorder.steps) == 2
    for row in recorder.steps.rows:
        for name in metric_columns(config):
            value = row[name]
            assert value is None or math.isfinite(value)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "steps.csv"
        write_csv(path, recorder.steps)
        back = read_csv(path, steps_columns(metric_columns(config)))
    for mine, theirs in zip(recorder.steps.rows, back.rows, strict=True):
        for name in mine:
            expected = "" if name == "action" and mine[name] is None else mine[name]
            assert same(expected, theirs[name]), name
