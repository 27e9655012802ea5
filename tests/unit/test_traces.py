"""Bottleneck traces: CSV and column forms, validation, lookups, generators, shipped files."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netgym_sim.model.traces import (
    COLUMNS,
    Trace,
    TraceError,
    ramp_trace,
    random_walk_trace,
    step_trace,
)

# The original client's bw_trace.csv, byte for byte (PROTOCOL.md §12: 96 bytes, no final newline).
ORIGINAL_CSV = (
    "time_ms,bw_kbps,delay_ms,loss\n0,1000,10,0.0\n10000,2000,10,0.0\n"
    "50000,500,10,0.0\n70000,1000,10,0.0"
)
ORIGINAL_COLUMNS = {
    "time_ms": [0.0, 10000.0, 50000.0, 70000.0],
    "bw_kbps": [1000.0, 2000.0, 500.0, 1000.0],
    "delay_ms": [10.0, 10.0, 10.0, 10.0],
    "loss": [0.0, 0.0, 0.0, 0.0],
}


def finite(low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats in [low, high]."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    """Any valid trace: 1–12 periods with arbitrary float values inside the rules."""
    times = sorted(draw(st.sets(finite(0, 1e7), min_size=1, max_size=12)))
    n = len(times)
    bw = draw(st.lists(finite(1e-3, 1e7), min_size=n, max_size=n))
    delay = draw(st.lists(finite(0, 1e4), min_size=n, max_size=n))
    loss = draw(st.lists(finite(0, 1), min_size=n, max_size=n))
    return Trace(tuple(times), tuple(bw), tuple(delay), tuple(loss))


def test_original_csv_parses_to_the_documented_columns() -> None:
    assert len(ORIGINAL_CSV) == 96
    assert Trace.from_csv_text(ORIGINAL_CSV).to_columns() == ORIGINAL_COLUMNS


def test_shipped_bw_trace_is_the_original_file() -> None:
    text = resources.files("netgym_sim").joinpath("data").joinpath("bw_trace.csv").read_text()
    assert text == ORIGINAL_CSV


def test_every_shipped_trace_parses_and_starts_at_zero() -> None:
    data = resources.files("netgym_sim").joinpath("data")
    names = sorted(item.name for item in data.iterdir() if item.name.endswith(".csv"))
    assert len(names) >= 4
    for name in names:
        trace = Trace.from_csv_text(data.joinpath(name).read_text(encoding="utf-8"))
        assert trace.time_ms[0] == 0.0, name
        assert trace.time_ms[-1] >= 70_000.0, name  # covers most of a default session


@given(traces())
def test_columns_round_trip(trace: Trace) -> None:
    assert Trace.from_columns(trace.to_columns()) == trace


@given(traces())
def test_csv_round_trip(trace: Trace) -> None:
    assert Trace.from_csv_text(trace.to_csv_text()) == trace


@given(traces(), st.permutations(COLUMNS))
def test_csv_header_order_is_free(trace: Trace, order: list[str]) -> None:
    columns = trace.to_columns()
    lines = [",".join(order)]
    lines += [",".join(repr(columns[name][i]) for name in order) for i in range(len(trace))]
    assert Trace.from_csv_text("\n".join(lines)) == trace


def test_csv_file_round_trip(tmp_path: Path) -> None:
    trace = step_trace([800.0, 1200.0], 5000.0, loss=0.02)
    path = tmp_path / "t.csv"
    path.write_text(trace.to_csv_text())
    assert Trace.from_csv_path(path) == trace


@pytest.mark.parametrize(
    ("text", "location", "needle"),
    [
        ("", "header", "missing"),
        ("time,bw_kbps,delay_ms,loss\n0,1,1,0", "line 1", "header"),
        ("time_ms,bw_kbps,delay_ms,loss,extra\n0,1,1,0,0", "line 1", "header"),
        ("time_ms,bw_kbps,delay_ms,loss", "line 1", "at least one period"),
        ("time_ms,bw_kbps,delay_ms,loss\n0,1000,10", "line 2", "3 fields"),
        (
            "time_ms,bw_kbps,delay_ms,loss\n0,1000,10,0\n10,fast,10,0",
            "line 3, column bw_kbps",
            "not a number",
        ),
        ("time_ms,bw_kbps,delay_ms,loss\n0,-5,10,0", "line 2, column bw_kbps", "> 0"),
        ("time_ms,bw_kbps,delay_ms,loss\n0,0,10,0", "line 2, column bw_kbps", "> 0"),
        ("time_ms,bw_kbps,delay_ms,loss\n0,100,-1,0", "line 2, column delay_ms", ">= 0"),
        ("time_ms,bw_kbps,delay_ms,loss\n0,100,1,1.5", "line 2, column loss", "[0, 1]"),
        ("time_ms,bw_kbps,delay_ms,loss\n0,100,1,nan", "line 2, column loss", "finite"),
        ("time_ms,bw_kbps,delay_ms,loss\n-1,100,1,0", "line 2, column time_ms", ">= 0"),
        (
            "time_ms,bw_kbps,delay_ms,loss\n\n5,100,1,0\n\n5,100,1,0",
            "line 5, column time_ms",
            "increase",
        ),
        (
            "loss,time_ms,bw_kbps,delay_ms\n0,0,100,1\n0,100,inf,1",
            "line 3, column bw_kbps",
            "finite",
        ),
    ],
)
def test_bad_csv_names_line_and_column(text: str, location: str, needle: str) -> None:
    with pytest.raises(TraceError) as info:
        Trace.from_csv_text(text)
    assert info.value.location == location
    assert needle in info.value.problem


def test_bad_csv_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time_ms,bw_kbps,delay_ms,loss\n0,abc,1,0\n")
    with pytest.raises(TraceError, match=r"bad\.csv: line 2, column bw_kbps"):
        Trace.from_csv_path(path)
    with pytest.raises(TraceError, match="cannot read"):
        Trace.from_csv_path(tmp_path / "absent.csv")


def _with(**changes: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {name: list(values) for name, values in ORIGINAL_COLUMNS.items()}
    columns.update(changes)
    return columns


@pytest.mark.parametrize(
    ("columns", "location"),
    [
        (_with(loss=[0.0, 0.0, 0.0]), "loss"),
        (_with(bw_kbps=[1000.0, -1.0, 500.0, 1000.0]), "bw_kbps[1]"),
        (_with(delay_ms=[10, 10, True, 10]), "delay_ms[2]"),
        (_with(time_ms=[0.0, 10.0, 10.0, 20.0]), "time_ms[2]"),
        (_with(time_ms="0,1,2,3"), "time_ms"),
        (_with(speed=[1.0]), "speed"),
        ({k: v for k, v in ORIGINAL_COLUMNS.items() if k != "delay_ms"}, "delay_ms"),
        ([1, 2, 3], "bw_trace"),
        (_with(time_ms=[], bw_kbps=[], delay_ms=[], loss=[]), "time_ms[-1]"),
    ],
)
def test_bad_columns_name_the_key(columns: Any, location: str) -> None:
    with pytest.raises(TraceError) as info:
        Trace.from_columns(columns)
    assert info.value.location == location


@given(traces(), finite(-1e3, 2e7))
def test_lookup_finds_the_period_in_force(trace: Trace, t_ms: float) -> None:
    i = trace.index_at(t_ms)
    if t_ms < trace.time_ms[0]:
        assert i == 0
    else:
        assert trace.time_ms[i] <= t_ms
        assert i == len(trace) - 1 or t_ms < trace.time_ms[i + 1]
    assert trace.bw_kbps_at(t_ms) == trace.bw_kbps[i]
    following = [t for t in trace.time_ms if t > t_ms]
    assert trace.next_change_ms(t_ms) == (following[0] if following else math.inf)


def test_leading_period_is_added_only_when_the_trace_starts_late() -> None:
    late = Trace((500.0,), (300.0,), (5.0,), (0.1,))
    assert late.with_leading_period(1000.0, 10.0).to_columns() == {
        "time_ms": [0.0, 500.0],
        "bw_kbps": [1000.0, 300.0],
        "delay_ms": [10.0, 5.0],
        "loss": [0.0, 0.1],
    }
    on_time = Trace.constant(300.0, 5.0)
    assert on_time.with_leading_period(1000.0, 10.0) is on_time


def test_step_trace_holds_each_level() -> None:
    trace = step_trace([100.0, 200.0, 50.0], 1000.0, delay_ms=7.0, loss=0.5)
    assert [trace.bw_kbps_at(t) for t in (0.0, 999.0, 1000.0, 2500.0, 1e9)] == [
        100.0,
        100.0,
        200.0,
        50.0,
        50.0,
    ]
    assert set(trace.delay_ms) == {7.0}
    assert set(trace.loss) == {0.5}


@given(
    finite(10, 5000),
    finite(10, 5000),
    finite(100, 1e5),
    finite(10, 5000),
)
def test_ramp_is_monotone_between_its_ends(
    start: float, end: float, duration: float, step: float
) -> None:
    trace = ramp_trace(start, end, duration, step_ms=step)
    assert trace.bw_kbps[0] == pytest.approx(start)
    assert trace.bw_kbps[-1] == pytest.approx(end)
    assert trace.time_ms[-1] == duration
    diffs = [b - a for a, b in zip(trace.bw_kbps, trace.bw_kbps[1:], strict=False)]
    sign = 1 if end >= start else -1
    assert all(sign * d >= -1e-9 for d in diffs)


@given(st.integers(0, 2**32), st.integers(0, 2**32))
def test_random_walk_is_seeded_and_bounded(seed_a: int, seed_b: int) -> None:
    a = random_walk_trace(seed_a, duration_ms=20_000.0, min_kbps=300.0, max_kbps=2000.0)
    assert a == random_walk_trace(seed_a, duration_ms=20_000.0, min_kbps=300.0, max_kbps=2000.0)
    assert all(300.0 * 0.999 <= bw <= 2000.0 * 1.001 for bw in a.bw_kbps)
    assert len(a) == 21
    if seed_a != seed_b:
        b = random_walk_trace(seed_b, duration_ms=20_000.0, min_kbps=300.0, max_kbps=2000.0)
        assert a.bw_kbps != b.bw_kbps


@pytest.mark.parametrize(
    "build",
    [
        lambda: step_trace([100.0], 0.0),
        lambda: ramp_trace(1.0, 2.0, 100.0, step_ms=0.0),
        lambda: ramp_trace(1.0, 2.0, -5.0),
        lambda: random_walk_trace(1, start_kbps=50.0, min_kbps=100.0),
        lambda: step_trace([100.0, -1.0], 10.0),
    ],
)
def test_generators_reject_bad_arguments(build: Any) -> None:
    with pytest.raises(TraceError):
        build()
