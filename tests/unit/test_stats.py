"""``NetworkStats``: the read-only view of one measurement's records, against hand-computed values.

Each test names the rule of :mod:`netgym_client.stats` it checks (alignment and fill, absent
keys, first id / last record wins, sources kept apart, the custom worker's nested shape,
``ts``, per-slice objects, validation, copies, equality, export).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_client.errors import ProtocolError
from netgym_client.protocol import decode
from netgym_client.stats import Metric, NetworkStats, metric_key

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
#: The custom worker's first measurement as the client received it (nested ``""`` records).
CUSTOM_CAPTURE = CAPTURES / "05_client-from-server_env-measurement.json"


def rec(
    source: str, name: str, ids: list[Any], values: list[Any], ts: int = 1000
) -> dict[str, Any]:
    """A flat measurement record."""
    return {"source": source, "name": name, "ts": ts, "id": ids, "value": values}


def nested(
    source: str, name: str, ids: list[Any], values: list[Any], ts: int = 1000
) -> dict[str, Any]:
    """A record in the custom worker's nested shape."""
    return {"name": name, "ts": ts, "source": source, "": {"id": ids, "value": values}}


def sl(slices: list[int], values: list[float]) -> dict[str, Any]:
    """A per-cell-per-slice value."""
    return {"slice": slices, "value": values}


@pytest.fixture
def stats() -> NetworkStats:
    return NetworkStats.from_records(
        [
            rec("gma", "dl::rate", [1, 3, 5], [4.5, 2.0, 7.25]),
            rec("lte", "dl::max_rate", [2, 1], [10, 20]),
            rec("lte", "dl::cell::max_rate", [1, 2], [sl([0, 1], [3.0, 4.0]), sl([1], [5])]),
        ]
    )


# ----------------------------------------------------------------------------- keys


def test_metric_key_forms() -> None:
    assert metric_key("gma::dl::rate") == "gma::dl::rate"
    assert metric_key(("gma", "dl::rate")) == "gma::dl::rate"
    for bad in (("gma",), ("gma", "dl", "rate"), ("gma", 1), 3, ["gma", "dl::rate"]):
        with pytest.raises(TypeError):
            metric_key(bad)  # type: ignore[arg-type]


def test_mapping_protocol(stats: NetworkStats) -> None:
    keys = ["gma::dl::rate", "lte::dl::max_rate", "lte::dl::cell::max_rate"]
    assert len(stats) == 3
    assert list(stats) == keys
    assert list(stats.keys()) == keys
    assert stats.names() == keys
    assert "gma::dl::rate" in stats
    assert ("gma", "dl::rate") in stats
    view = stats.keys()
    assert ("gma", "dl::rate") in view
    assert "gma::dl::owd" not in stats
    assert ("wifi", "dl::rate") not in stats
    assert 42 not in stats
    assert ("gma",) not in stats
    assert [m.key for m in stats.values()] == keys
    assert isinstance(stats["gma::dl::rate"], Metric)
    assert repr(stats) == "NetworkStats(ts=1000, metrics=3)"


def test_tuple_key_reads_like_string_key(stats: NetworkStats) -> None:
    assert stats.get(("gma", "dl::rate")).tolist() == [4.5, 2.0, 7.25]
    assert stats.get(("gma", "dl::rate"), ids=[5, 1]).tolist() == [7.25, 4.5]
    assert stats.ids(("lte", "dl::max_rate")).tolist() == [2, 1]
    assert stats.count_missing(("gma", "dl::rate"), ids=[1, 2, 3]) == 1
    assert stats.sliced(("lte", "dl::cell::max_rate")) == stats.sliced("lte::dl::cell::max_rate")
    assert stats.metric(("gma", "dl::rate")) is stats["gma::dl::rate"]
    assert stats[("gma", "dl::rate")] is stats.metric("gma::dl::rate")


def test_source_is_before_first_separator() -> None:
    s = NetworkStats.from_records([rec("gma", "dl::rate", [1], [2.0])])
    metric = s.metric("gma::dl::rate")
    assert (metric.source, metric.name, metric.key) == ("gma", "dl::rate", "gma::dl::rate")
    assert "gma::dl" not in s
    assert ("gma::dl", "rate") in s  # the same string form
    assert ("gma", "dl") not in s


# ----------------------------------------------------------------------- alignment


def test_get_without_ids_keeps_record_order(stats: NetworkStats) -> None:
    out = stats.get("lte::dl::max_rate")
    assert out.dtype == np.float64
    assert out.tolist() == [10.0, 20.0]


def test_get_aligns_to_ids_with_fill(stats: NetworkStats) -> None:
    out = stats.get("gma::dl::rate", ids=[1, 2, 3, 4, 5, 6], fill=-1.0)
    assert out.dtype == np.float64
    assert out.tolist() == [4.5, -1.0, 2.0, -1.0, 7.25, -1.0]
    assert stats.get("gma::dl::rate", ids=[1, 2, 3]).tolist() == [4.5, 0.0, 2.0]  # fill 0
    assert stats.get("lte::dl::max_rate", ids=[1, 2]).tolist() == [20.0, 10.0]  # reordered


def test_get_aligns_requested_duplicates_and_numpy_ids(stats: NetworkStats) -> None:
    assert stats.get("gma::dl::rate", ids=[3, 3, 9, 1, 3], fill=0.5).tolist() == [
        2.0,
        2.0,
        0.5,
        4.5,
        2.0,
    ]
    assert stats.get("gma::dl::rate", ids=np.arange(1, 6)).tolist() == [4.5, 0, 2.0, 0, 7.25]
    assert stats.get("gma::dl::rate", ids=[]).tolist() == []
    assert stats.get("gma::dl::rate", ids=[0, -3, 2**40], fill=9.0).tolist() == [9.0] * 3


def test_count_missing(stats: NetworkStats) -> None:
    assert stats.count_missing("gma::dl::rate", ids=[1, 2, 3, 4, 5]) == 2
    assert stats.count_missing("gma::dl::rate", ids=[2, 2, 2]) == 3  # each request counts
    assert stats.count_missing("gma::dl::rate", ids=[5, 3, 1]) == 0
    assert stats.count_missing("gma::dl::rate", ids=[]) == 0
    assert stats.count_missing("gma::dl::rate", ids=np.array([7, 1])) == 1


def test_empty_record_reads_as_all_fill() -> None:
    s = NetworkStats.from_records([rec("gma", "dl::rate", [], [])])
    assert s.get("gma::dl::rate").tolist() == []
    assert s.get("gma::dl::rate", ids=[1, 2], fill=3.0).tolist() == [3.0, 3.0]
    assert s.count_missing("gma::dl::rate", ids=[1, 2]) == 2
    assert s.ids("gma::dl::rate").tolist() == []
    assert s.sliced("gma::dl::rate") == {}


def test_ids_in_record_order(stats: NetworkStats) -> None:
    out = stats.ids("lte::dl::max_rate")
    assert out.dtype == np.int64
    assert out.tolist() == [2, 1]
    assert stats.metric("lte::dl::max_rate").ids.tolist() == [2, 1]


def test_integer_values_read_as_float64() -> None:
    s = NetworkStats.from_records([rec("lte", "cell_id", [1, 2], [1, 2**53 + 1])])
    out = s.get("lte::cell_id")
    assert out.dtype == np.float64
    assert out.tolist() == [1.0, float(2**53 + 1)]


# -------------------------------------------------------------------- absent key


def test_absent_key(stats: NetworkStats) -> None:
    missing = "gma::dl::owd"
    empty = stats.get(missing)
    assert empty.dtype == np.float64 and empty.shape == (0,)
    filled = stats.get(missing, ids=[1, 2, 3], fill=7.0)
    assert filled.dtype == np.float64
    assert filled.tolist() == [7.0, 7.0, 7.0]
    assert stats.get(missing, ids=[1, 2]).tolist() == [0.0, 0.0]
    assert stats.get(("gma", "dl::owd"), ids=np.arange(4), fill=-1).tolist() == [-1.0] * 4
    no_ids = stats.ids(missing)
    assert no_ids.dtype == np.int64 and no_ids.shape == (0,)
    assert stats.count_missing(missing, ids=[1, 2, 2]) == 3
    assert stats.count_missing(missing, ids=[]) == 0
    assert stats.sliced(missing) == {}
    with pytest.raises(KeyError, match="gma::dl::owd"):
        stats.metric(missing)
    with pytest.raises(KeyError, match="gma::dl::owd"):
        stats[missing]
    with pytest.raises(KeyError, match="gma::dl::owd"):
        stats[("gma", "dl::owd")]


def test_empty_measurement() -> None:
    s = NetworkStats.from_records([])
    assert s.ts == 0
    assert len(s) == 0 and list(s) == [] and s.names() == []
    assert s.get("gma::dl::rate", ids=[1], fill=2.0).tolist() == [2.0]
    assert s.to_records() == []
    assert s == NetworkStats.from_records(())


# -------------------------------------------------------------------- duplicates


def test_duplicate_ids_first_occurrence_counts() -> None:
    s = NetworkStats.from_records([rec("gma", "dl::rate", [4, 2, 4, 2, 4], [1.0, 2.0, 3, 4, 5])])
    assert s.get("gma::dl::rate", ids=[2, 4, 6], fill=-1).tolist() == [2.0, 1.0, -1.0]
    assert s.get("gma::dl::rate").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # as sent
    assert s.ids("gma::dl::rate").tolist() == [4, 2, 4, 2, 4]
    assert s.count_missing("gma::dl::rate", ids=[2, 4, 6]) == 1


def test_duplicate_cells_first_occurrence_counts() -> None:
    s = NetworkStats.from_records(
        [rec("lte", "dl::cell::rb_usage", [1, 2, 1], [sl([0], [1.0]), sl([0], [2]), sl([1], [3])])]
    )
    assert s.sliced("lte::dl::cell::rb_usage") == {1: ([0], [1.0]), 2: ([0], [2.0])}


def test_duplicate_keys_last_record_wins() -> None:
    s = NetworkStats.from_records(
        [
            rec("gma", "dl::rate", [1, 2], [1.0, 2.0]),
            rec("gma", "dl::owd", [1], [30.0]),
            nested("gma", "dl::rate", [2, 3], [20.0, 30.0]),
        ]
    )
    assert len(s) == 2
    assert s.get("gma::dl::rate", ids=[1, 2, 3], fill=-1).tolist() == [-1.0, 20.0, 30.0]
    assert s.ids("gma::dl::rate").tolist() == [2, 3]
    assert s.count_missing("gma::dl::rate", ids=[1, 2, 3]) == 1
    # The winner takes the position of the last record of its key.
    assert s.names() == ["gma::dl::owd", "gma::dl::rate"]


def test_same_name_under_two_sources_kept_apart() -> None:
    s = NetworkStats.from_records(
        [
            rec("lte", "dl::max_rate", [1, 2], [10.0, 11.0]),
            rec("wifi", "dl::max_rate", [2, 3], [20.0, 21.0]),
        ]
    )
    assert len(s) == 2
    assert s.get("lte::dl::max_rate", ids=[1, 2, 3]).tolist() == [10.0, 11.0, 0.0]
    assert s.get(("wifi", "dl::max_rate"), ids=[1, 2, 3]).tolist() == [0.0, 20.0, 21.0]
    assert s.metric("lte::dl::max_rate").source == "lte"
    assert s.metric("wifi::dl::max_rate").source == "wifi"
    assert "dl::max_rate" not in s


# ------------------------------------------------------------------ nested shape


def test_nested_shape_reads_like_flat() -> None:
    flat = NetworkStats.from_records([rec("test", "measurement_1", [0, 1, 2], [6, 5, 8])])
    nest = NetworkStats.from_records([nested("test", "measurement_1", [0, 1, 2], [6, 5, 8])])
    assert nest == flat
    key = "test::measurement_1"
    for ids in (None, [2, 0, 7]):
        assert nest.get(key, ids=ids).tolist() == flat.get(key, ids=ids).tolist()
    assert nest.ids(key).tolist() == [0, 1, 2]
    assert nest.to_records() == flat.to_records()


def _custom_capture() -> dict[str, Any]:
    """The capture's parsed payload, after checking it agrees with the raw text."""
    capture = json.loads(CUSTOM_CAPTURE.read_text())
    payload: dict[str, Any] = capture["payload"]
    assert json.loads(capture["payload_raw"]) == payload
    return payload


def test_custom_worker_capture() -> None:
    payload = _custom_capture()
    records = payload["network_stats"]
    assert all("" in r and "id" not in r for r in records)  # the nested shape, really
    msg = decode(json.dumps(payload, indent=2).encode())
    s = NetworkStats.from_records(msg.network_stats)
    assert s.ts == 2000
    assert s.names() == [f"test::measurement_{i}" for i in range(1, 5)]
    assert s.get("test::measurement_1").tolist() == [6.0, 5.0, 8.0]
    assert s.get("test::measurement_2", ids=[2, 1, 0]).tolist() == [7.0, 6.0, 5.0]
    assert s.get(("test", "measurement_3"), ids=[0, 3], fill=-1).tolist() == [7.0, -1.0]
    assert s.ids("test::measurement_4").tolist() == [0, 1, 2]
    assert s.count_missing("test::measurement_4", ids=[0, 1, 2, 3]) == 1
    # The same numbers, flat, make an equal view; and the flat export reads back equal.
    flat = [rec(r["source"], r["name"], r[""]["id"], r[""]["value"], r["ts"]) for r in records]
    assert NetworkStats.from_records(flat) == s
    assert NetworkStats.from_records(s.to_records()) == s


# --------------------------------------------------------------------------- ts


def test_ts_is_first_records() -> None:
    s = NetworkStats.from_records(
        [rec("gma", "dl::rate", [1], [1.0], ts=1100), rec("gma", "dl::owd", [1], [2.0], ts=1200)]
    )
    assert s.ts == 1100
    assert s.metric("gma::dl::rate").ts == 1100
    assert s.metric("gma::dl::owd").ts == 1200  # each metric keeps its own


def test_ts_is_the_first_metrics_after_an_override() -> None:
    s = NetworkStats.from_records(
        [rec("gma", "dl::rate", [1], [1.0], ts=5), rec("gma", "dl::rate", [1], [2.0], ts=6)]
    )
    assert s.ts == 6  # the replaced record is gone from the view, its ts too
    assert s.metric("gma::dl::rate").ts == 6


# ----------------------------------------------------------------- sliced values


def test_sliced_reads_per_cell_per_slice_objects(stats: NetworkStats) -> None:
    out = stats.sliced("lte::dl::cell::max_rate")
    assert out == {1: ([0, 1], [3.0, 4.0]), 2: ([1], [5.0])}
    assert list(out) == [1, 2]
    assert all(isinstance(v, float) for _, values in out.values() for v in values)
    # Extra keys in the object are ignored, an empty object of arrays is fine.
    s = NetworkStats.from_records(
        [
            rec(
                "lte",
                "dl::cell::rb_usage",
                [7, 3],
                [{"slice": [], "value": [], "x": 1}, sl([2], [1])],
            )
        ]
    )
    assert s.sliced("lte::dl::cell::rb_usage") == {7: ([], []), 3: ([2], [1.0])}


def test_get_on_sliced_record_names_the_metric(stats: NetworkStats) -> None:
    with pytest.raises(ProtocolError, match="sliced") as info:
        stats.get("lte::dl::cell::max_rate")
    assert info.value.field.startswith("lte::dl::cell::max_rate")
    with pytest.raises(ProtocolError, match="lte::dl::cell::max_rate"):
        stats.get(("lte", "dl::cell::max_rate"), ids=[1, 2])
    with pytest.raises(ProtocolError, match="lte::dl::cell::max_rate"):
        _ = stats.metric("lte::dl::cell::max_rate").values


def test_get_on_mixed_record_raises() -> None:
    s = NetworkStats.from_records([rec("lte", "dl::cell::x", [1, 2], [3.0, sl([0], [1.0])])])
    with pytest.raises(ProtocolError, match="lte::dl::cell::x"):
        s.get("lte::dl::cell::x", ids=[1])
    with pytest.raises(ProtocolError, match=r"lte::dl::cell::x\.value\[0\]"):
        s.sliced("lte::dl::cell::x")


def test_sliced_on_number_record_names_the_metric(stats: NetworkStats) -> None:
    with pytest.raises(ProtocolError, match="get") as info:
        stats.sliced("gma::dl::rate")
    assert info.value.field == "gma::dl::rate.value[0]"


def test_sliced_huge_integer_is_a_protocol_error() -> None:
    big = "1" + "0" * 400
    payload = (
        '{"type":"env-measurement","network_stats":[{"source":"lte","name":"dl::cell::x",'
        f'"ts":1,"id":[1],"value":[{{"slice":[0],"value":[{big}]}}]}}]}}'
    )
    s = NetworkStats.from_records(decode(payload.encode()).network_stats)
    with pytest.raises(ProtocolError, match="lte::dl::cell::x"):
        s.sliced("lte::dl::cell::x")


def test_get_huge_integer_is_a_protocol_error() -> None:
    s = NetworkStats.from_records([rec("gma", "dl::rate", [1], [10**400])])
    with pytest.raises(ProtocolError, match="gma::dl::rate"):
        s.get("gma::dl::rate")


# -------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (rec("gma", "dl::rate", [1, 2], [1.0]), "network_stats[1].value"),
        (rec("gma", "dl::rate", [1], [True]), "network_stats[1].value[0]"),
        (rec("gma", "dl::rate", [1.5], [1.0]), "network_stats[1].id[0]"),
        (rec("gma", "dl::rate", [1], ["x"]), "network_stats[1].value[0]"),
        (
            {"source": "gma", "name": "dl::rate", "ts": "1", "id": [], "value": []},
            "network_stats[1].ts",
        ),
        ({"source": "gma", "name": "dl::rate", "ts": 1}, "network_stats[1]"),
        ("not a record", "network_stats[1]"),
    ],
)
def test_validate_rejects_bad_record(record: Any, field: str) -> None:
    records = [rec("gma", "dl::owd", [1], [2.0]), record]
    with pytest.raises(ProtocolError) as info:
        NetworkStats.from_records(records)
    assert info.value.field == field


def test_validate_false_skips_checks() -> None:
    records = [
        rec("gma", "dl::rate", [1, 2], [1.5, True]),  # bool is not a number on the wire
        {"source": "gma", "name": "dl::owd", "ts": "7", "id": [1], "value": ["x"]},
    ]
    with pytest.raises(ProtocolError):
        NetworkStats.from_records(records)
    s = NetworkStats.from_records(records, validate=False)
    assert s.metric("gma::dl::owd").ts == 7  # converted, not checked
    assert s.get("gma::dl::rate", ids=[2, 1]).tolist() == [1.0, 1.5]
    with pytest.raises(ProtocolError, match="gma::dl::owd"):  # found out when read
        s.get("gma::dl::owd")


def test_not_a_list_is_refused() -> None:
    for bad in ({"source": "gma"}, "records", None):
        for validate in (True, False):
            with pytest.raises(ProtocolError, match="network_stats"):
                NetworkStats.from_records(bad, validate=validate)  # type: ignore[arg-type]


def test_tuple_of_records_accepted() -> None:
    s = NetworkStats.from_records((rec("gma", "dl::rate", [1], [2.0]),))
    assert s.get("gma::dl::rate").tolist() == [2.0]


# ---------------------------------------------------------------------- copies


def test_returned_arrays_are_copies(stats: NetworkStats) -> None:
    key = "gma::dl::rate"
    for out in (stats.get(key), stats.get(key, ids=[1, 3, 5]), stats.metric(key).values):
        out[:] = -99.0
    ids = stats.ids(key)
    ids[:] = 0
    stats.metric(key).ids[:] = 0
    assert stats.get(key).tolist() == [4.5, 2.0, 7.25]
    assert stats.get(key, ids=[1, 3, 5]).tolist() == [4.5, 2.0, 7.25]
    assert stats.ids(key).tolist() == [1, 3, 5]
    assert stats.get(key, ids=[1, 2]).tolist() == [4.5, 0.0]
    sliced = stats.sliced("lte::dl::cell::max_rate")
    sliced[1][0].append(9)
    sliced[1][1][0] = -1.0
    assert stats.sliced("lte::dl::cell::max_rate")[1] == ([0, 1], [3.0, 4.0])


def test_exported_records_are_copies(stats: NetworkStats) -> None:
    exported = stats.to_records()
    exported[0]["id"].append(99)
    exported[0]["value"][0] = -1.0
    exported[2]["value"][0]["value"][0] = -1.0
    assert stats.ids("gma::dl::rate").tolist() == [1, 3, 5]
    assert stats.metric("gma::dl::rate").raw_values == [4.5, 2.0, 7.25]
    assert stats.sliced("lte::dl::cell::max_rate")[1] == ([0, 1], [3.0, 4.0])


# ------------------------------------------------------------- equality, export


def test_equal_records_make_equal_views() -> None:
    def build() -> list[dict[str, Any]]:
        return [
            rec("gma", "dl::rate", [1, 2], [1.0, 2.0]),
            rec("lte", "dl::cell::rb_usage", [1], [sl([0, 1], [5.0, 6.0])]),
        ]

    a, b = NetworkStats.from_records(build()), NetworkStats.from_records(build())
    assert a == b
    a.get("gma::dl::rate", ids=[1])  # caching an array does not change equality
    assert a == b
    other = build()
    other[0]["value"][1] = 2.5
    assert a != NetworkStats.from_records(other)
    other = build()
    other[1]["ts"] = 1001
    assert a != NetworkStats.from_records(other)
    assert a != NetworkStats.from_records(build()[:1])
    assert a.metric("gma::dl::rate") != "gma::dl::rate"


def test_metric_is_unhashable() -> None:
    s = NetworkStats.from_records([rec("gma", "dl::rate", [1], [2.0])])
    with pytest.raises(TypeError):
        hash(s.metric("gma::dl::rate"))


def test_to_records_round_trip() -> None:
    records = [
        nested("test", "measurement_1", [0, 1], [3, 4]),
        rec("gma", "dl::rate", [2, 1, 2], [1.5, 2.5, 3.5]),
        rec("lte", "dl::cell::max_rate", [1], [sl([0, 1], [7, 8.5])]),
        rec("gma", "dl::owd", [], []),
        rec("gma", "dl::rate", [4], [9.0]),  # overrides the earlier gma::dl::rate
    ]
    s = NetworkStats.from_records(records)
    exported = s.to_records()
    assert exported == [
        rec("test", "measurement_1", [0, 1], [3, 4]),
        rec("lte", "dl::cell::max_rate", [1], [sl([0, 1], [7, 8.5])]),
        rec("gma", "dl::owd", [], []),
        rec("gma", "dl::rate", [4], [9.0]),
    ]
    back = NetworkStats.from_records(exported)
    assert back == s
    assert back.names() == s.names()
    assert back.ts == s.ts


def test_to_dataframe_without_pandas(stats: NetworkStats, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match="pandas") as info:
        stats.to_dataframe()
    assert "to_dataframe" in str(info.value)
    assert "pip install pandas" in str(info.value)


class _FakeFrame:
    """Stands in for ``pandas.DataFrame``: keeps what it was built from."""

    def __init__(self, data: list[dict[str, Any]], columns: list[str]) -> None:
        self.data, self.columns = data, columns


def test_to_dataframe_builds_one_row_per_record(
    stats: NetworkStats, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pandas is not a dependency: a stand-in module shows what to_dataframe hands it.
    fake = types.ModuleType("pandas")
    fake.DataFrame = _FakeFrame  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    frame = stats.to_dataframe()
    assert isinstance(frame, _FakeFrame)
    assert frame.columns == ["source", "name", "ts", "id", "value"]
    assert frame.data == stats.to_records()
    assert [row["name"] for row in frame.data] == ["dl::rate", "dl::max_rate", "dl::cell::max_rate"]
    assert frame.data[0]["id"] == [1, 3, 5]


def test_equality_counts_the_measurement_ts() -> None:
    a, b = rec("gma", "dl::rate", [1], [1.0], ts=1), rec("gma", "dl::owd", [1], [1.0], ts=2)
    forward, backward = NetworkStats.from_records([a, b]), NetworkStats.from_records([b, a])
    assert (forward.ts, backward.ts) == (1, 2)
    assert dict(forward) == dict(backward)  # the same metrics ...
    assert forward != backward  # ... but not the same measurement time
