"""Properties of ``NetworkStats``: it reads exactly what a naive scan of the records reads.

The reference below never indexes: for each lookup it scans the record list backwards for
the key (the last record of a key wins), and the record's ids forwards for each requested id
(the first occurrence counts). The view must agree with it on ``get``, ``count_missing``,
``ids``, ``sliced`` and the key order, for arbitrary records (random sources and names,
duplicated ids and keys, the same name under two sources, flat and nested shapes) and for
the measurements each environment's server sends. Decoding the encoded message must give
an equal view, and the strategies' own measurements must be valid views.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from netgym_client.errors import ProtocolError
from netgym_client.protocol import (
    EnvMeasurement,
    decode,
    encode,
    validate_measurement_record,
)
from netgym_client.stats import NetworkStats
from netgym_client.testing._measurement_strategies import (
    edge_cases,
    measurements,
    metric_names,
    network_stats,
)
from netgym_client.testing._message_strategies import (
    ENV_NAMES,
    env_measurements,
    measurement_records,
)

# --------------------------------------------------------------------- reference

#: What the reference returns where the view must raise ProtocolError.
RAISES = "ProtocolError"


def ref_key(record: dict[str, Any]) -> str:
    return str(record["source"]) + "::" + str(record["name"])


def ref_find(records: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The last record of ``key``, by a backwards scan."""
    for i in range(len(records) - 1, -1, -1):
        if ref_key(records[i]) == key:
            return records[i]
    return None


def ref_ids_values(record: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    if "id" in record:
        return record["id"], record["value"]
    return record[""]["id"], record[""]["value"]


def ref_names(records: list[dict[str, Any]]) -> list[str]:
    """Each key once, ordered by the position of its last record."""
    last: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        key = ref_key(record)
        if all(ref_key(later) != key for later in records[i + 1 :]):
            last.append((i, key))
    return [key for _, key in last]


def ref_numbers(values: list[Any]) -> list[float] | str:
    for v in values:
        if isinstance(v, dict):
            return RAISES
    out = []
    for v in values:
        try:
            out.append(float(v))
        except OverflowError:
            return RAISES
    return out


def ref_get(
    records: list[dict[str, Any]], key: str, ids: list[int] | None, fill: float
) -> list[float] | str:
    record = ref_find(records, key)
    if record is None:
        return [] if ids is None else [float(fill)] * len(ids)
    have, values = ref_ids_values(record)
    numbers = ref_numbers(values)
    if isinstance(numbers, str):
        return numbers
    if ids is None:
        return numbers
    out = []
    for want in ids:
        for i, entity in enumerate(have):
            if entity == want:
                out.append(numbers[i])
                break
        else:
            out.append(float(fill))
    return out


def ref_count_missing(records: list[dict[str, Any]], key: str, ids: list[int]) -> int:
    record = ref_find(records, key)
    have = [] if record is None else ref_ids_values(record)[0]
    missing = 0
    for want in ids:
        if want not in have:
            missing += 1
    return missing


def ref_ids(records: list[dict[str, Any]], key: str) -> list[int]:
    record = ref_find(records, key)
    return [] if record is None else list(ref_ids_values(record)[0])


def ref_sliced(records: list[dict[str, Any]], key: str) -> dict[int, Any] | str:
    record = ref_find(records, key)
    if record is None:
        return {}
    have, values = ref_ids_values(record)
    out: dict[int, Any] = {}
    for entity, value in zip(have, values, strict=True):
        if not isinstance(value, dict):
            return RAISES
        if entity in out:
            continue
        try:
            out[entity] = ([int(s) for s in value["slice"]], [float(v) for v in value["value"]])
        except OverflowError:
            return RAISES
    return out


def bits(values: list[float]) -> list[str]:
    """Exact float identity, ``-0.0`` apart from ``0.0``."""
    return [float(v).hex() for v in values]


# ------------------------------------------------------------------------ checks


def check_against_reference(
    records: list[dict[str, Any]], keys: list[str], ids: list[int], fill: float
) -> None:
    """Every lookup of ``keys`` (and their tuple forms) agrees with the reference."""
    view = NetworkStats.from_records(records)
    assert view.names() == ref_names(records)
    assert list(view) == ref_names(records)
    assert len(view) == len(ref_names(records))
    names = ref_names(records)
    first = ref_find(records, names[0]) if names else None
    assert view.ts == (0 if first is None else int(first["ts"]))  # the first metric's
    for key in keys:
        source, _, name = key.partition("::")
        present = ref_find(records, key) is not None
        assert (key in view) is present
        for form in (key, (source, name)):
            for want in (None, ids):
                expected = ref_get(records, key, want, fill)
                if expected == RAISES:
                    with pytest.raises(ProtocolError, match=re.escape(key)):
                        view.get(form, ids=want, fill=fill)
                else:
                    got = view.get(form, ids=want, fill=fill)
                    assert got.dtype == np.float64
                    assert bits(got.tolist()) == bits(expected)  # type: ignore[arg-type]
            assert view.count_missing(form, ids) == ref_count_missing(records, key, ids)
            got_ids = view.ids(form)
            assert got_ids.dtype == np.int64
            assert got_ids.tolist() == ref_ids(records, key)
            expected_sliced = ref_sliced(records, key)
            if expected_sliced == RAISES:
                with pytest.raises(ProtocolError, match=re.escape(key)):
                    view.sliced(form)
            else:
                got_sliced = view.sliced(form)
                assert got_sliced == expected_sliced
                assert list(got_sliced) == list(expected_sliced)  # type: ignore[arg-type]
            if present:
                metric = view.metric(form)
                assert metric.key == key
                assert metric.ts == ref_find(records, key)["ts"]  # type: ignore[index]
            else:
                with pytest.raises(KeyError):
                    view.metric(form)


def expected_ids(env: str, num_users: int) -> list[int]:
    """The ids a server of ``env`` reports for ``num_users`` users (or flows)."""
    return list(range(num_users)) if env in ("custom", "rmcat") else list(range(1, num_users + 1))


# ---------------------------------------------------------------- random records

_SOURCES = ("gma", "lte", "wifi")
_NAMES = ("dl::rate", "dl::owd", "cell_id")


@st.composite
def crowded_records(draw: st.DrawFn, ts: int | None = None) -> dict[str, Any]:
    """A measurement record that often shares its key, its name or its ids with others."""
    record: dict[str, Any] = draw(measurement_records(ts=ts))
    if draw(st.booleans()):
        record["source"] = draw(st.sampled_from(_SOURCES))
        record["name"] = draw(st.sampled_from(_NAMES))
    holder = record if "id" in record else record[""]
    if draw(st.booleans()):  # few distinct ids: duplicates within the record
        n = len(holder["id"])
        holder["id"] = draw(st.lists(st.integers(-2, 4), min_size=n, max_size=n))
    return record


@st.composite
def crowded_measurements(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records of one message (one ``ts``, or any ts when asked), crowded as above."""
    ts = draw(st.none() | st.integers(0, 2**53))
    return draw(st.lists(crowded_records(ts=ts), max_size=6))


@st.composite
def requested_ids(draw: st.DrawFn, records: list[dict[str, Any]]) -> list[int]:
    """Ids the records hold, ids they lack, some of them twice."""
    seen = [entity for r in records for entity in ref_ids_values(r)[0]]
    pool = st.integers(-3, 6) | st.integers(-(2**31), 2**31)
    if seen:
        pool = st.sampled_from(seen) | pool
    return draw(st.lists(pool, max_size=8))


@st.composite
def queried_keys(draw: st.DrawFn, records: list[dict[str, Any]]) -> list[str]:
    """Every key of the records, plus keys of the crowded pool that may be absent."""
    keys = sorted({ref_key(r) for r in records})
    keys += [f"{s}::{n}" for s in _SOURCES for n in _NAMES]
    keys.append(draw(st.text(max_size=6)) + "::" + draw(st.text(max_size=6)))
    return keys


_fills = st.sampled_from([0.0, -1.0, 255.0]) | st.floats(allow_nan=False)


@given(data=st.data(), records=crowded_measurements())
def test_view_matches_reference_on_random_records(
    data: st.DataObject, records: list[dict[str, Any]]
) -> None:
    requested = data.draw(requested_ids(records), label="ids")
    queried = data.draw(queried_keys(records), label="keys")
    check_against_reference(records, queried, requested, data.draw(_fills, label="fill"))


@given(data=st.data(), msg=env_measurements())
def test_view_matches_reference_on_env_measurements(
    data: st.DataObject, msg: EnvMeasurement
) -> None:
    records = msg.network_stats
    requested = data.draw(requested_ids(records), label="ids")
    queried = data.draw(queried_keys(records), label="keys")
    check_against_reference(records, queried, requested, data.draw(_fills, label="fill"))


@pytest.mark.parametrize("env", ENV_NAMES)
@given(data=st.data())
def test_view_matches_reference_on_server_measurements(env: str, data: st.DataObject) -> None:
    num_users = data.draw(st.integers(0, 6), label="num_users")
    msg = data.draw(measurements(env, num_users), label="msg")
    records = msg.network_stats
    expected = expected_ids(env, num_users)
    requested = expected + data.draw(st.lists(st.integers(-1, num_users + 3), max_size=4))
    requested = data.draw(st.permutations(requested))
    keys = [*metric_names(env), "gma::no::such", "lte::dl::rate"]
    check_against_reference(records, keys, requested, data.draw(_fills))


# --------------------------------------------------------------------- wire trip


def _assert_same_view(a: NetworkStats, b: NetworkStats) -> None:
    assert a == b
    assert a.ts == b.ts
    assert a.names() == b.names()
    for key in a:
        assert a.ids(key).tolist() == b.ids(key).tolist()
        assert _read(a, key) == _read(b, key)


def _read(view: NetworkStats, key: str) -> tuple[Any, Any]:
    """What ``get`` and ``sliced`` give for ``key``: exact float bits, or that they raise."""
    try:
        numbers: Any = bits(view.get(key).tolist())
    except ProtocolError:
        numbers = RAISES
    try:
        cells: Any = view.sliced(key)
    except ProtocolError:
        cells = RAISES
    return numbers, cells


@given(msg=env_measurements(), indent=st.sampled_from([None, 2]))
def test_decoded_message_gives_equal_view(msg: EnvMeasurement, indent: int | None) -> None:
    decoded = decode(encode(msg, indent=indent))
    assert isinstance(decoded, EnvMeasurement)
    _assert_same_view(
        NetworkStats.from_records(decoded.network_stats),
        NetworkStats.from_records(msg.network_stats),
    )


@pytest.mark.parametrize("env", ENV_NAMES)
@given(data=st.data())
def test_decoded_server_measurement_gives_equal_view(env: str, data: st.DataObject) -> None:
    msg = data.draw(measurements(env, data.draw(st.integers(0, 8))))
    decoded = decode(encode(msg, indent=2))
    assert isinstance(decoded, EnvMeasurement)
    original = NetworkStats.from_records(msg.network_stats)
    view = NetworkStats.from_records(decoded.network_stats, validate=False)
    _assert_same_view(view, original)
    _assert_same_view(NetworkStats.from_records(view.to_records()), original)


@given(records=crowded_measurements())
def test_to_records_round_trip(records: list[dict[str, Any]]) -> None:
    view = NetworkStats.from_records(records)
    back = NetworkStats.from_records(view.to_records())
    assert back == view
    assert back.names() == view.names()
    for record in view.to_records():
        assert "" not in record  # exported flat
        validate_measurement_record(record, where="exported")


# ----------------------------------------------------------- strategy validity


def _assert_valid_view(stats: NetworkStats, env: str) -> None:
    allowed = set(metric_names(env))
    assert set(stats) <= allowed
    for record in stats.to_records():
        validate_measurement_record(record, where=ref_key(record))
    for key in stats:
        metric = stats.metric(key)
        assert metric.ts == stats.ts  # one shared ts
        ids = stats.ids(key)
        assert np.all(np.diff(ids) > 0), f"{key}: ids not ascending: {ids.tolist()}"
        if "::cell::" in f"::{metric.name}":
            cells = stats.sliced(key)
            assert list(cells) == ids.tolist()
            for slices, values in cells.values():
                assert len(slices) == len(values)
                assert np.all(np.isfinite(values))
        else:
            values = stats.get(key)
            assert values.shape == ids.shape
            assert np.all(np.isfinite(values))


@pytest.mark.parametrize("env", ENV_NAMES)
@pytest.mark.parametrize("num_users", [0, 1, 5])
def test_edge_cases_build(env: str, num_users: int) -> None:
    cases = edge_cases(env, num_users)
    assert len(cases) == 5
    keys = set(metric_names(env))
    for stats in cases:
        assert isinstance(stats, NetworkStats)
        _assert_valid_view(stats, env)
    complete, zeros, huge, hollow, empty = cases
    for stats in (complete, zeros, huge, hollow):
        assert set(stats) == keys
        assert stats.ts == 1000
    assert all(stats.ids(k).size == 0 for k in hollow)
    assert len(empty) == 0 and empty.ts == 0
    users = expected_ids(env, num_users)
    for key in keys:
        if "::cell::" not in f"::{key.split('::', 1)[1]}":
            assert complete.ids(key).tolist() == users
            assert complete.count_missing(key, users) == 0
            assert np.all(zeros.get(key, ids=users) == 0.0)


@pytest.mark.parametrize("env", ENV_NAMES)
@given(data=st.data())
def test_network_stats_draws_are_valid(env: str, data: st.DataObject) -> None:
    num_users = data.draw(st.integers(0, 8), label="num_users")
    stats = data.draw(network_stats(env, num_users), label="stats")
    _assert_valid_view(stats, env)


@pytest.mark.parametrize("env", ENV_NAMES)
@given(data=st.data())
def test_complete_draws_hold_every_record_and_id(env: str, data: st.DataObject) -> None:
    num_users = data.draw(st.integers(1, 8), label="num_users")
    stats = data.draw(network_stats(env, num_users, complete=True), label="stats")
    _assert_valid_view(stats, env)
    assert set(stats) == set(metric_names(env))
    users = expected_ids(env, num_users)
    for key in stats:
        if "::cell::" not in f"::{stats.metric(key).name}":
            assert stats.count_missing(key, users) == 0


@given(data=st.data(), records=crowded_measurements())
def test_view_matches_reference_when_asked_for_a_records_own_ids(
    data: st.DataObject, records: list[dict[str, Any]]
) -> None:
    # the common request (and the view's shortcut): exactly one record's ids, in its order
    assume(records)
    own = ref_ids_values(data.draw(st.sampled_from(records), label="record"))[0]
    queried = data.draw(queried_keys(records), label="keys")
    check_against_reference(records, queried, list(own), data.draw(_fills, label="fill"))
