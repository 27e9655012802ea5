"""compare.py: recorded sessions, per-user tables and their statistics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from netgym_client.recording import compare
from netgym_client.recording.record import Entry, Recording


def rows(name: str, values: list[float], ids: list[int] | None = None) -> list[dict[str, Any]]:
    source, _, short = name.partition("::")
    ids = ids if ids is not None else list(range(1, len(values) + 1))
    return [{"source": source, "name": short, "ts": 0, "id": ids, "value": values}]


@given(st.lists(st.floats(0.1, 1e3), min_size=2, max_size=8), st.integers(2, 6))
def test_constant_users_have_their_value_as_mean_and_no_spread_over_time(
    values: list[float], steps: int
) -> None:
    measurements = [rows("gma::dl::rate", values) for _ in range(steps)]
    ids = list(range(1, len(values) + 1))
    stats = compare.statistics(measurements, ids, ["gma::dl::rate"])["gma::dl::rate"]
    assert math.isclose(stats["mean"], float(np.median(values)), rel_tol=1e-9)
    assert math.isnan(stats["time_cv"]) or math.isclose(stats["time_cv"], 0.0, abs_tol=1e-9)
    spread = np.std(values) / np.mean(values)
    assert math.isclose(stats["user_cv"], spread, rel_tol=1e-9, abs_tol=1e-12)


def test_skip_leaves_the_first_measurements_out_of_the_statistics() -> None:
    ids = [1, 2]
    measurements = [rows("gma::dl::rate", v) for v in ([0.0, 0.0], [9.0, 1.0], [4.0, 4.0])]
    later = compare.statistics(measurements, ids, ["gma::dl::rate"], skip=2)["gma::dl::rate"]
    assert later == compare.statistics(measurements[1:], ids, ["gma::dl::rate"])["gma::dl::rate"]
    assert later["mean"] == 4.0 and later["user_cv"] == 0.0
    every = compare.statistics(measurements, ids, ["gma::dl::rate"])["gma::dl::rate"]
    assert every["user_cv"] > 0.0  # the first after the start (9 against 1) spreads them
    session = compare.Session("a-0", {"num_users": 2}, [], measurements)
    (row,) = [
        r
        for r in compare.compare(session, measurements, ["gma::dl::rate"], skip=2)
        if r["stat"] == "mean"
    ]
    assert row["ns3"] == row["netgym"] == 4.0


def test_minus_one_is_no_sample_for_delays_and_a_missing_user_is_nan() -> None:
    table = compare.user_table(
        [rows("gma::dl::owd", [-1.0, 5.0], ids=[1, 3])], "gma::dl::owd", [1, 2, 3]
    )
    assert np.isnan(table[0, 0]) and np.isnan(table[0, 1]) and table[0, 2] == 5.0
    rate = compare.user_table([rows("gma::dl::rate", [-1.0])], "gma::dl::rate", [1])
    assert rate[0, 0] == -1.0  # only delays use the sentinel


def test_recorded_session_takes_the_first_start_and_what_follows_it() -> None:
    def entry(direction: str, payload: dict[str, Any]) -> Entry:
        return Entry(0.0, direction, "admin-0", payload)

    start = {"type": "env-start", "env": "nqos_split", "num_users": 2}
    measurement = {"type": "env-measurement", "network_stats": rows("gma::dl::rate", [1, 2])}
    action = {"type": "env-action", "action_list": {"name": "dl::split_weight", "value": []}}
    recording = Recording(
        {"format": "netgym-recording"},
        [
            entry("c2s", start),
            entry("s2c", measurement),
            entry("c2s", action),
            entry("s2c", measurement),
            entry("c2s", start),
            entry("s2c", measurement),
        ],
    )
    session = compare.recorded_session(recording)
    assert session.identity == "admin-0" and session.user_ids == [1, 2]
    assert len(session.measurements) == 2 and len(session.actions) == 1
    assert session.env_config == {"env": "nqos_split", "num_users": 2}


def test_ratio_is_nan_without_a_positive_reference() -> None:
    assert compare.ratio(2.0, 1.0) == 2.0
    assert math.isnan(compare.ratio(1.0, 0.0)) and math.isnan(compare.ratio(math.nan, 1.0))


def test_a_recording_without_a_start_is_a_recording_error() -> None:
    import pytest

    from netgym_client.recording.record import RecordingError

    empty = Recording({"format": "netgym-recording"}, [])
    with pytest.raises(RecordingError, match="env-start"):
        compare.recorded_session(empty)
