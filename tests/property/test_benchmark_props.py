"""The benchmark rows: CSV and JSON files read back to the rows written, bit for bit."""

from __future__ import annotations

import math
import tempfile
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netgym_client.cli.benchmark import BenchmarkRow, read_rows, summarize, write_rows
from netgym_client.cli.results import ResultsError

FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INTS = st.integers(min_value=0, max_value=2**63 - 1)

ROWS = st.builds(
    BenchmarkRow,
    scenario=st.text(),
    env=st.text(),
    agent=st.text(),
    seeds=st.text(),
    episodes=INTS,
    steps_per_episode=INTS,
    mean=FLOATS,
    std=FLOATS,
    ci95_low=FLOATS,
    ci95_high=FLOATS,
)


def same(a: BenchmarkRow, b: BenchmarkRow) -> bool:
    """Equal field by field, NaN equal to NaN and floats compared by their bits."""
    for x, y in zip(astuple(a), astuple(b), strict=True):
        if isinstance(x, float):
            if not isinstance(y, float) or not (
                (math.isnan(x) and math.isnan(y))
                or (x == y and math.copysign(1, x) == math.copysign(1, y))
            ):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


@pytest.mark.parametrize("suffix", [".csv", ".json"])
@given(rows=st.lists(ROWS, max_size=6))
def test_rows_round_trip(suffix: str, rows: list[BenchmarkRow]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"table{suffix}"
        write_rows(path, rows)
        back = read_rows(path)
    assert len(back) == len(rows)
    assert all(same(a, b) for a, b in zip(rows, back, strict=True)), (rows, back)


@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_the_interval_holds_the_mean_and_widens_with_the_spread(values: list[float]) -> None:
    mean, std, low, high = summarize(values)
    assert low <= mean <= high or math.isclose(low, high)
    assert std >= 0
    if len(values) == 1:
        assert (std, low, high) == (0.0, mean, mean)
    else:
        assert high - low == pytest.approx(2 * (mean - low), rel=1e-9, abs=1e-6)


def test_a_json_file_that_is_not_rows_is_a_results_error(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[{"scenario": "x"}]')
    with pytest.raises(ResultsError, match="columns"):
        read_rows(path)
    path.write_text("{}")
    with pytest.raises(ResultsError, match="not a list of rows"):
        read_rows(path)
