"""Hypothesis strategies for measurements: what a NetworkGym server can send an adapter.

:func:`measurements` draws an ``env-measurement`` for one environment, with the metric
names that environment's shipped config subscribes to (PROTOCOL.md §8–§13), the ids each
metric uses (users ``1 … N``; ``custom``: ``0 … N-1``; cells; rmcat flow ``0``) and values in
the metric's unit. It also draws what an adapter must survive: records that are missing,
users that are missing or extra, zeros, huge values, ``-1`` delays, several LTE cells, and
the custom worker's nested record shape. :func:`network_stats` is the same, as the
:class:`~netgym_client.stats.NetworkStats` an adapter receives.

Large values come from a numpy generator seeded by a drawn integer, so a measurement of
many users costs hypothesis a few bytes, and shrinking still simplifies the regime of each
metric (present, complete, typical values).

>>> from hypothesis import given
>>> @given(network_stats(env="nqos_split", num_users=5))
... def test_rates_are_numbers(stats):
...     assert stats.get("gma::dl::rate").dtype.kind == "f"
>>> test_rates_are_numbers()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from netgym_client.config import ENVIRONMENTS, load_config
from netgym_client.protocol import EnvMeasurement
from netgym_client.stats import NetworkStats

__all__ = ["edge_cases", "measurement_ts", "measurements", "metric_names", "network_stats"]

#: The custom (dummy) worker's metrics (PROTOCOL.md §8).
CUSTOM_METRICS = tuple(f"test::measurement_{i}" for i in range(1, 5))
#: Largest "huge" value drawn: far beyond any Box, yet summing a few stays finite.
HUGE = 1e300

# Typical range of a metric by the last part of its name: (low, high) in its unit.
_TYPICAL: dict[str, tuple[float, float]] = {
    "rate": (0.0, 200.0),  # Mbps
    "max_rate": (0.0, 600.0),  # Mbps
    "tx_rate": (0.0, 200.0),  # Mbps
    "qos_rate": (0.0, 200.0),  # Mbps
    "owd": (-1.0, 500.0),  # ms, -1 = no packet
    "max_owd": (-1.0, 1000.0),  # ms
    "delay_violation": (0.0, 100.0),  # %
    "delay_test_1_violation": (0.0, 100.0),
    "delay_test_2_violation": (0.0, 100.0),
    "traffic_ratio": (0.0, 100.0),  # %
    "split_ratio": (0.0, 100.0),  # %
    "rb_usage": (0.0, 100.0),  # %
    "x_loc": (0.0, 300.0),  # m
    "y_loc": (0.0, 100.0),  # m
    "priority": (0.0, 1.0),
    "missed_action": (0.0, 3.0),
    "measurement_ok": (0.0, 1.0),
    # rmcat (PROTOCOL.md §12-§13): bps, ms, packets
    "rrate": (0.0, 3e6),
    "srate": (1.5e5, 1.5e6),
    "nada_srate": (1.5e5, 1.5e6),
    "rtt": (0.0, 600.0),
    "qdel": (0.0, 500.0),
    "xcurr": (0.0, 500.0),
    "loglen": (0.0, 1000.0),
    "ploss": (0.0, 50.0),
    "plr": (0.0, 1.0),
    "avgint": (0.0, 1000.0),
    "curint": (0.0, 1000.0),
}
# Metrics whose values are integers on the wire.
_INTEGER = {"cell_id", "slice_id", "priority", "missed_action", "measurement_ok", "loglen"}


def _check_env(env: str) -> None:
    if env not in ENVIRONMENTS:
        raise InvalidArgument(f"unknown env {env!r}; known: {', '.join(ENVIRONMENTS)}")


def metric_names(env: str) -> tuple[str, ...]:
    """The ``source::name`` keys a server sends for ``env`` with its shipped config.

    ``custom``: the dummy worker's four metrics; every other environment: its
    ``subscribed_network_stats`` (rmcat: its eleven ``rmcat::`` metrics, §12).
    """
    _check_env(env)
    if env == "custom":
        return CUSTOM_METRICS
    names = load_config(env).env_config.get("subscribed_network_stats", [])
    return tuple(str(n) for n in names)


def measurement_ts() -> st.SearchStrategy[int]:
    """A measurement ``ts`` (ms): non-negative, as a session's clock is."""
    return st.integers(0, 10**9)


def _entity_ids(env: str, num_users: int) -> list[int]:
    if env == "rmcat":
        return list(range(num_users))  # flows 0 … F-1
    if env == "custom":
        return list(range(num_users))
    return list(range(1, num_users + 1))  # IMSIs 1 … N


@st.composite
def _population(draw: st.DrawFn, expected: list[int]) -> list[int]:
    """The ids a measurement reports: the expected ones, some missing, some extra."""
    kind = draw(st.sampled_from(["all", "holes", "extra", "none"]))
    ids = list(expected)
    if kind in ("holes", "none") and ids:
        keep = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
        ids = [] if kind == "none" else [i for i, k in zip(ids, keep, strict=True) if k]
    if kind == "extra":
        top = max(expected, default=0)
        ids += list(range(top + 1, top + 1 + draw(st.integers(1, 3))))
    return ids


def _value_range(key: str) -> tuple[float, float, bool]:
    """Typical ``(low, high)`` of metric ``key`` in its unit, and whether it is an integer."""
    last = key.rsplit("::", 1)[-1]
    if key.startswith("test::"):
        return 3.0, 9.0, True  # the dummy worker's random ints (PROTOCOL.md §8)
    if last == "cell_id":
        return 1.0, 8.0, True
    if last == "slice_id":
        return 0.0, 7.0, True
    low, high = _TYPICAL.get(last, (0.0, 100.0))
    return low, high, last in _INTEGER


def _on_the_wire(values: np.ndarray, integer: bool) -> list[int | float]:
    if integer:
        return [int(v) for v in np.clip(np.round(values), -(2**62), 2**62)]
    return [float(v) for v in values]


def _values(draw: st.DrawFn, rng: np.random.Generator, key: str, count: int) -> list[int | float]:
    """``count`` values for metric ``key``: typical, zeros, huge, or a hand-picked mix."""
    low, high, integer = _value_range(key)
    regime = draw(st.sampled_from(["typical", "zeros", "huge", "mixed"]))
    if regime == "zeros":
        values: np.ndarray = np.zeros(count)
    elif regime == "huge":
        values = rng.uniform(1e3, HUGE, count)
    elif regime == "mixed":
        special = st.sampled_from([0.0, -1.0, low, high, 1e6, HUGE, 255.0])
        values = np.asarray(
            draw(st.lists(special | st.floats(low, high), min_size=count, max_size=count)),
            dtype=np.float64,
        )
    else:
        values = rng.uniform(low, high, count)
    return _on_the_wire(values, integer)


def _shaped(
    key: str,
    *,
    ts: int,
    users: list[int],
    cells: list[list[int]],
    numbers: Callable[[int], list[Any]],
    nested: bool = False,
) -> dict[str, Any]:
    """The record of ``key``: per user, or per cell (``cells``: each cell's slice ids).

    LTE cells are numbered 1 …; ``numbers(k)`` gives ``k`` values.
    """
    source, name = key.split("::", 1)
    if "::cell::" in f"::{name}":
        ids = list(range(1, len(cells) + 1))
        value: list[Any] = [{"slice": s, "value": numbers(len(s))} for s in cells]
    else:
        ids, value = list(users), numbers(len(users))
    if nested:
        return {"name": name, "ts": ts, "source": source, "": {"id": ids, "value": value}}
    return {"source": source, "name": name, "ts": ts, "id": ids, "value": value}


@st.composite
def _record(
    draw: st.DrawFn,
    rng: np.random.Generator,
    key: str,
    *,
    ts: int,
    users: list[int],
    cells: int,
    slices: int,
    nested: bool,
) -> dict[str, Any]:
    """A record of ``key`` whose values are drawn (:func:`_values`); a slice may be missing."""
    per_cell = []
    for _ in range(cells):
        slice_ids = list(range(slices))
        if slices and draw(st.integers(0, 4)) == 4:  # a slice without a value
            slice_ids.pop(draw(st.integers(0, slices - 1)))
        per_cell.append(slice_ids)
    return _shaped(
        key,
        ts=ts,
        users=users,
        cells=per_cell,
        numbers=lambda count: _values(draw, rng, key, count),
        nested=nested,
    )


@st.composite
def measurements(
    draw: st.DrawFn,
    env: str | None = None,
    num_users: int | None = None,
    *,
    num_slices: int | None = None,
    complete: bool = False,
) -> EnvMeasurement:
    """An ``env-measurement`` that a server of ``env`` could send.

    Args:
        env: The environment; drawn when None.
        num_users: N, the users (rmcat: flows) the adapter expects; the env's default
            config's when None.
        num_slices: Slices in per-cell-per-slice values; the env's default config's when None.
        complete: Only measurements with every record and every expected id (no holes, no
            extra ids), with typical values — what a healthy server sends.

    Returns:
        The message; its records share one ``ts`` and list ids in ascending order.
    """
    if env is None:
        env = draw(st.sampled_from(ENVIRONMENTS))
    _check_env(env)
    config = load_config(env)
    if num_users is None:
        num_users = config.num_users
    if num_users < 0:
        raise InvalidArgument(f"num_users must be >= 0, got {num_users}")
    if num_slices is None:
        per_slice = config.env_config.get("per_slice_config", {})
        num_slices = len(per_slice.get("num_users", [])) or 1
    ts = draw(measurement_ts())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    expected = _entity_ids(env, num_users)
    users = expected if complete else draw(_population(expected))
    cells = 1 if complete else draw(st.sampled_from([1, 2, 0]))  # LTE cells 1 …
    nested = env == "custom" and not complete and draw(st.booleans())
    holes = not complete and draw(st.booleans())  # some records are missing
    records = []
    for key in metric_names(env):
        if holes and draw(st.booleans()):
            continue
        if complete:
            records.append(
                _record_complete(rng, key, ts=ts, users=users, cells=cells, slices=num_slices)
            )
        else:
            records.append(
                draw(
                    _record(
                        rng, key, ts=ts, users=users, cells=cells, slices=num_slices, nested=nested
                    )
                )
            )
    return EnvMeasurement(records)


def _record_complete(
    rng: np.random.Generator,
    key: str,
    *,
    ts: int,
    users: list[int],
    cells: int,
    slices: int,
    constant: float | None = None,
) -> dict[str, Any]:
    """A record with every id and slice: typical values, or ``constant`` everywhere."""
    low, high, integer = _value_range(key)

    def numbers(count: int) -> list[Any]:
        if constant is None:
            return _on_the_wire(rng.uniform(max(low, 0.0), high, count), integer)
        return _on_the_wire(np.full(count, constant), integer)

    per_cell = [list(range(slices))] * cells
    return _shaped(key, ts=ts, users=users, cells=per_cell, numbers=numbers)


def edge_cases(env: str, num_users: int, *, num_slices: int | None = None) -> list[NetworkStats]:
    """Fixed measurements every adapter must handle, to try before any random draw.

    In order: a complete one with typical values; every value 0; every value huge
    (:data:`HUGE`, integers 2**62); every record present but without ids; no record at all.
    """
    _check_env(env)
    if num_slices is None:
        per_slice = load_config(env).env_config.get("per_slice_config", {})
        num_slices = len(per_slice.get("num_users", [])) or 1
    users = _entity_ids(env, num_users)
    ts = 1000
    keys = metric_names(env)
    out = []
    for constant in (None, 0.0, HUGE):
        rng = np.random.default_rng(0)
        records = [
            _record_complete(
                rng,
                k,
                ts=ts,
                users=users,
                cells=1,
                slices=num_slices,
                constant=constant,
            )
            for k in keys
        ]
        out.append(NetworkStats.from_records(records))
    rng = np.random.default_rng(0)
    out.append(
        NetworkStats.from_records(
            [_record_complete(rng, k, ts=ts, users=[], cells=0, slices=num_slices) for k in keys]
        )
    )
    out.append(NetworkStats.from_records([]))
    return out


def network_stats(
    env: str | None = None,
    num_users: int | None = None,
    *,
    num_slices: int | None = None,
    complete: bool = False,
) -> st.SearchStrategy[NetworkStats]:
    """The :class:`~netgym_client.stats.NetworkStats` of a :func:`measurements` draw.

    Arguments as :func:`measurements`. Use it to property-test an adapter::

        @given(network_stats(env="nqos_split", num_users=5))
        def test_obs_in_space(stats):
            assert adapter.observation_space.contains(adapter.observation(stats))
    """
    return measurements(env, num_users, num_slices=num_slices, complete=complete).map(
        lambda msg: NetworkStats.from_records(msg.network_stats)
    )
