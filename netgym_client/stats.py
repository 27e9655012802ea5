"""``NetworkStats``: one decoded measurement, with O(1) lookup of a metric as numpy arrays.

A measurement's ``network_stats`` is a list of records, one per ``source::name``
(PROTOCOL.md §3). :class:`NetworkStats` indexes them once by key; a metric's values are
turned into arrays only when asked for, and then kept, so an adapter that reads three rows
of a 74-record measurement pays for three rows.

Rules:
- A key is ``"source::name"`` (``"gma::dl::rate"``) or the pair ``("gma", "dl::rate")``; the
  source is the part before the first ``::``. The same name under two sources is two metrics.
- Records arrive flat (``id``/``value``) or in the custom worker's nested shape (under the
  ``""`` key); both read the same. If two records share a key, the last one wins and
  takes the last one's place in :meth:`NetworkStats.names`.
- Values are numbers, or per-cell-per-slice objects ``{"slice": [...], "value": [...]}``.
  :meth:`NetworkStats.get` reads numbers (float64), :meth:`NetworkStats.sliced` reads the
  objects; asking one for the other's shape raises :class:`~netgym_client.errors.ProtocolError`
  naming the metric.
- Aligning to ids: ``get(key, ids=[...], fill=x)`` returns one value per requested id, ``x``
  where the record lacks the id (or the record is absent). If a record lists an id twice, its
  first value counts. A key that is absent reads as a record with no ids: ``get(key)`` is an
  empty array, ``ids(key)`` too, ``sliced(key)`` an empty dict; :meth:`NetworkStats.metric`
  and ``stats[key]`` raise ``KeyError``.
- ``ts`` is the ``ts`` of the view's first metric (all records of a message share it, §3);
  each :class:`Metric` keeps its own. An empty measurement has ``ts`` 0. Two views are equal
  when their ``ts`` and metrics are.
- Arrays handed out are fresh copies: changing one never changes the view.
- A deferred view (:meth:`NetworkStats.deferred`, the embedded vector env's lock-step path)
  holds no record until one is needed: it reads a plain per-user metric (``get``,
  ``count_missing``, ``ids``, ``metric``, ``in``) from the simulator's arrays, and builds
  the records (:meth:`NetworkStats.from_records`) the first time anything else is asked
  (iteration, ``len``, ``names``, equality, ``to_records``, a per-slice or absent metric).
  Both read the same numbers: the records' values are the arrays' (float64 both ways).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from netgym_client.errors import ProtocolError
from netgym_client.protocol import record_ids_values, validate_measurement_record

__all__ = ["DeferredMeasurement", "Key", "Metric", "NetworkStats", "metric_key"]

#: A metric's key: ``"source::name"`` or ``(source, name)``.
Key = str | tuple[str, str]


def metric_key(key: Key) -> str:
    """The ``"source::name"`` form of ``key``.

    Raises:
        TypeError: ``key`` is neither a string nor a pair of strings.
    """
    if isinstance(key, str):
        return key
    if (
        isinstance(key, tuple)
        and len(key) == 2
        and isinstance(key[0], str)
        and isinstance(key[1], str)
    ):
        return f"{key[0]}::{key[1]}"
    raise TypeError(f"a metric key is 'source::name' or (source, name), got {key!r:.80}")


class Metric:
    """One record of a measurement: its ids and values, as sent and as arrays.

    Attributes:
        source: The record's ``source`` (``"gma"``, ``"lte"``, ``"test"`` ...).
        name: The record's ``name`` (``"dl::rate"``).
        ts: The record's ``ts`` (ms).
        raw_ids: The ``id`` list exactly as received.
        raw_values: The ``value`` list exactly as received.
    """

    def __init__(
        self, source: str, name: str, ts: int, raw_ids: list[Any], raw_values: list[Any]
    ) -> None:
        self.source = source
        self.name = name
        self.ts = ts
        self.raw_ids = raw_ids
        self.raw_values = raw_values

    @property
    def key(self) -> str:
        """``"source::name"``."""
        return f"{self.source}::{self.name}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        return (self.source, self.name, self.ts, self.raw_ids, self.raw_values) == (
            other.source,
            other.name,
            other.ts,
            other.raw_ids,
            other.raw_values,
        )

    __hash__ = None  # type: ignore[assignment]  # equal by content, and mutable lists inside

    def __repr__(self) -> str:
        return f"Metric({self.key!r}, ts={self.ts}, ids={len(self.raw_ids)})"

    @cached_property
    def _ids(self) -> np.ndarray:
        try:
            return np.asarray(self.raw_ids, dtype=np.int64).reshape(-1)
        except (OverflowError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{self.key}.id", f"must be 64-bit integers: {exc}") from exc

    @cached_property
    def _values(self) -> np.ndarray:
        # numbers (the usual case) convert at C speed; a mapping never converts, so only a
        # failed conversion needs the slower look for per-slice objects
        try:
            return np.asarray(self.raw_values, dtype=np.float64).reshape(-1)
        except (OverflowError, TypeError, ValueError) as exc:
            if any(isinstance(v, Mapping) for v in self.raw_values):
                raise ProtocolError(
                    f"{self.key}.value",
                    "holds per-cell-per-slice objects, not numbers: read it with sliced()",
                ) from None
            raise ProtocolError(f"{self.key}.value", f"must be numbers: {exc}") from exc

    @cached_property
    def _distinct(self) -> bool:
        """No id twice (then the record's own ids map to its values one to one)."""
        return len(set(self._ids.tolist())) == self._ids.size

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted ids and, for each, the position of its first occurrence in the record."""
        order = np.argsort(self._ids, kind="stable")
        return self._ids[order], order

    @property
    def ids(self) -> np.ndarray:
        """The record's ids (int64), in the record's order."""
        ids: np.ndarray = self._ids.copy()
        return ids

    @property
    def values(self) -> np.ndarray:
        """The record's values (float64), in the record's order."""
        values: np.ndarray = self._values.copy()
        return values

    def _positions(self, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each requested id: whether the record has it, and where (first occurrence)."""
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        sorted_ids, order = self._lookup
        if sorted_ids.size == 0:
            return np.zeros(wanted.shape, dtype=bool), np.zeros(wanted.shape, dtype=np.intp)
        at = np.searchsorted(sorted_ids, wanted, side="left")
        at_clipped = np.minimum(at, sorted_ids.size - 1)
        found = sorted_ids[at_clipped] == wanted
        return found, order[at_clipped]

    def _same_ids(self, ids: Sequence[int] | np.ndarray) -> bool:
        """Whether ``ids`` are the record's own ids in its order (the usual request)."""
        own = self._ids  # first: a record whose ids are not integers raises here, as ever
        if len(ids) != own.size:
            return False
        wanted = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        return bool(wanted == self.raw_ids)

    def get(self, ids: Sequence[int] | np.ndarray | None = None, fill: float = 0.0) -> np.ndarray:
        """Values (float64) in record order, or aligned to ``ids`` with ``fill`` where missing."""
        values: np.ndarray = self._values
        if ids is None or (self._distinct and self._same_ids(ids)):
            copied: np.ndarray = values.copy()
            return copied
        found, where = self._positions(ids)
        out = np.full(found.shape, fill, dtype=np.float64)
        out[found] = values[where[found]]
        return out

    def count_missing(self, ids: Sequence[int] | np.ndarray) -> int:
        """How many of ``ids`` the record lacks."""
        if self._same_ids(ids):
            return 0
        found, _ = self._positions(ids)
        return int(found.size - np.count_nonzero(found))

    def sliced(self) -> dict[int, tuple[list[int], list[float]]]:
        """Per-cell-per-slice values: ``{cell id: (slice ids, values)}`` in record order.

        Raises:
            ProtocolError: A value is not a ``{"slice": [...], "value": [...]}`` object.
        """
        out: dict[int, tuple[list[int], list[float]]] = {}
        for i, (entity, value) in enumerate(zip(self.raw_ids, self.raw_values, strict=True)):
            if not isinstance(value, Mapping):
                raise ProtocolError(
                    f"{self.key}.value[{i}]",
                    "is a number, not a {slice, value} object: read it with get()",
                )
            slices, numbers = value.get("slice"), value.get("value")
            if not isinstance(slices, list) or not isinstance(numbers, list):
                raise ProtocolError(f"{self.key}.value[{i}]", "needs 'slice' and 'value' arrays")
            try:
                row = ([int(s) for s in slices], [float(v) for v in numbers])
            except (OverflowError, TypeError, ValueError) as exc:
                raise ProtocolError(f"{self.key}.value[{i}]", f"must hold numbers: {exc}") from exc
            out.setdefault(int(entity), row)
        return out

    def to_record(self) -> dict[str, Any]:
        """The record in the flat wire shape (a deep copy of its lists)."""
        return {
            "source": self.source,
            "name": self.name,
            "ts": self.ts,
            "id": list(self.raw_ids),
            "value": copy.deepcopy(self.raw_values),
        }


class DeferredMeasurement(Protocol):
    """A measurement whose records are built on demand (the simulator's ``DeferredRecords``)."""

    @property
    def ts(self) -> int:
        """The ``ts`` of the measurement's first record (0 without a record)."""

    def values(self, full: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Ids (int64) and values (float64) of the plain per-user record ``full``, as the
        record holds them; None when it is not such a record (then the records are built)."""

    def build(self) -> list[dict[str, Any]]:
        """The measurement's records."""


class NetworkStats(Mapping[str, Metric]):
    """A read-only view of one measurement's ``network_stats``, keyed by ``"source::name"``.

    >>> stats = NetworkStats.from_records([
    ...     {"source": "gma", "name": "dl::rate", "ts": 1100, "id": [1, 3], "value": [4.5, 2.0]},
    ... ])
    >>> stats.ts, "gma::dl::rate" in stats
    (1100, True)
    >>> stats.get("gma::dl::rate", ids=[1, 2, 3], fill=0.0).tolist()
    [4.5, 0.0, 2.0]
    >>> stats.count_missing(("gma", "dl::rate"), ids=[1, 2, 3])
    1
    """

    __slots__ = ("_metrics", "ts")

    def __init__(self, metrics: Sequence[Metric]) -> None:
        self._metrics: dict[str, Metric] = {}
        for metric in metrics:
            key = metric.key
            self._metrics.pop(key, None)  # the last record of a key wins, in its place
            self._metrics[key] = metric
        first = next(iter(self._metrics.values()), None)
        self.ts: int = 0 if first is None else int(first.ts)

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], *, validate: bool = True
    ) -> NetworkStats:
        """Index the records of one measurement.

        Args:
            records: The ``network_stats`` list, flat or nested records as on the wire.
            validate: Check each record first (PROTOCOL.md §3). Records of a message that
                :func:`netgym_client.protocol.decode` returned are valid already.

        Raises:
            ProtocolError: A record breaks the wire rules (with ``validate``).
        """
        if not isinstance(records, list | tuple):
            raise ProtocolError("network_stats", f"must be a list of records, got {records!r:.60}")
        metrics = []
        for i, record in enumerate(records):
            if validate:
                validate_measurement_record(record, where=f"network_stats[{i}]")
            # the common flat record first, without the ABC checks of record_ids_values
            ids = record.get("id") if type(record) is dict else None
            values = record.get("value") if ids is not None else None
            if type(ids) is not list or type(values) is not list:
                ids, values = record_ids_values(record)
            source, name = record["source"], record["name"]
            metrics.append(
                Metric(
                    source if type(source) is str else str(source),
                    name if type(name) is str else str(name),
                    int(record["ts"]),
                    ids,
                    values,
                )
            )
        return cls(metrics)

    @classmethod
    def deferred(cls, measurement: DeferredMeasurement) -> NetworkStats:
        """A view of ``measurement`` that builds its records only when needed (see the rules)."""
        return _DeferredStats(measurement)

    # -- Mapping ----------------------------------------------------------------------
    def __getitem__(self, key: Key) -> Metric:
        try:
            return self._metrics[metric_key(key)]
        except KeyError:
            raise KeyError(f"the measurement has no record {metric_key(key)!r}") from None

    def __contains__(self, key: object) -> bool:
        try:
            return metric_key(key) in self._metrics  # type: ignore[arg-type]
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkStats):
            return NotImplemented
        return self.ts == other.ts and self._metrics == other._metrics

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[str]:
        return iter(self._metrics)

    def __len__(self) -> int:
        return len(self._metrics)

    def __repr__(self) -> str:
        return f"NetworkStats(ts={self.ts}, metrics={len(self._metrics)})"

    # -- lookups ----------------------------------------------------------------------
    def metric(self, key: Key) -> Metric:
        """The record ``key``.

        Raises:
            KeyError: The measurement has no such record.
        """
        return self[key]

    def names(self) -> list[str]:
        """Every ``"source::name"`` of the measurement, in record order."""
        return list(self._metrics)

    def get(  # type: ignore[override]
        self, key: Key, ids: Sequence[int] | np.ndarray | None = None, fill: float = 0.0
    ) -> np.ndarray:
        """The values of ``key`` as float64.

        Args:
            key: ``"source::name"`` or ``(source, name)``.
            ids: Entity ids to align to; ``None`` keeps the record's own order.
            fill: The value for every requested id the record (or measurement) lacks.

        Returns:
            A fresh array: ``len(ids)`` values, or the record's values when ``ids`` is None
            (empty when the record is absent).

        Raises:
            ProtocolError: The record holds per-slice objects (use :meth:`sliced`).
        """
        metric = self._metrics.get(metric_key(key))
        if metric is None:
            if ids is None:
                return np.zeros(0, dtype=np.float64)
            return np.full(np.asarray(ids).reshape(-1).shape, fill, dtype=np.float64)
        return metric.get(ids, fill)

    def ids(self, key: Key) -> np.ndarray:
        """The ids (int64) of record ``key`` in its order; empty when absent."""
        metric = self._metrics.get(metric_key(key))
        return np.zeros(0, dtype=np.int64) if metric is None else metric.ids

    def count_missing(self, key: Key, ids: Sequence[int] | np.ndarray) -> int:
        """How many of ``ids`` record ``key`` lacks (all of them when it is absent)."""
        metric = self._metrics.get(metric_key(key))
        if metric is None:
            return int(np.asarray(ids).size)
        return metric.count_missing(ids)

    def sliced(self, key: Key) -> dict[int, tuple[list[int], list[float]]]:
        """Per-cell-per-slice values of ``key``: ``{cell id: (slice ids, values)}``.

        Empty when the record is absent; if a cell is listed twice its first entry counts.

        Raises:
            ProtocolError: A value of the record is a plain number.
        """
        metric = self._metrics.get(metric_key(key))
        return {} if metric is None else metric.sliced()

    # -- export -----------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """The records in the flat wire shape, one per key (copies)."""
        return [metric.to_record() for metric in self._metrics.values()]

    def to_dataframe(self) -> Any:
        """One row per record (``source``, ``name``, ``ts``, ``id``, ``value``), like the
        original client's ``pd.json_normalize`` of the records.

        pandas is not a dependency of netgym; this is the one place that imports it.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            pandas = importlib.import_module("pandas")
        except ImportError as exc:
            raise ImportError(
                "NetworkStats.to_dataframe() needs pandas, which netgym does not install: "
                "pip install pandas"
            ) from exc
        columns = ["source", "name", "ts", "id", "value"]
        return pandas.DataFrame(self.to_records(), columns=columns)


class _ArrayMetric(Metric):
    """A plain per-user record read from arrays; its lists made only when asked for."""

    def __init__(self, key: str, ts: int, ids: np.ndarray, values: np.ndarray) -> None:
        source, _, name = key.partition("::")
        self.source, self.name, self.ts = source, name, ts
        self.__dict__["_ids"] = ids
        self.__dict__["_values"] = values
        self.__dict__["_distinct"] = True  # ids 1 … N

    def _same_ids(self, ids: Sequence[int] | np.ndarray) -> bool:
        if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":  # an adapter's own ids
            # what Metric's list comparison answers, without making the lists
            return ids.shape == self._ids.shape and bool(np.array_equal(ids, self._ids))
        return super()._same_ids(ids)

    @cached_property
    def raw_ids(self) -> list[Any]:  # type: ignore[override]
        return list(self._ids.tolist())

    @cached_property
    def raw_values(self) -> list[Any]:  # type: ignore[override]
        return list(self._values.tolist())


#: NetworkStats' own slot for its metrics (a deferred view's ``_metrics`` is a property).
_METRICS_SLOT: Any = NetworkStats.__dict__["_metrics"]


class _DeferredStats(NetworkStats):
    """:meth:`NetworkStats.deferred`: plain per-user metrics from arrays, the rest built."""

    __slots__ = ("_measurement", "_read")

    def __init__(self, measurement: DeferredMeasurement) -> None:
        self._measurement: DeferredMeasurement | None = measurement
        self._read: dict[str, Metric | None] = {}
        self.ts = int(measurement.ts)

    @property
    def _metrics(self) -> dict[str, Metric]:  # type: ignore[override]
        measurement = self._measurement
        if measurement is not None:
            built = NetworkStats.from_records(measurement.build(), validate=False)
            _METRICS_SLOT.__set__(self, built._metrics)
            self._measurement = None
            self._read.clear()
        metrics: dict[str, Metric] = _METRICS_SLOT.__get__(self)
        return metrics

    @property
    def built(self) -> bool:
        """Whether the records were built."""
        return self._measurement is None

    def _array(self, key: Key) -> Metric | None:
        """The plain per-user metric ``key`` from the arrays, or None (then build)."""
        measurement = self._measurement
        if measurement is None:
            return None
        full = metric_key(key)
        if full in self._read:
            return self._read[full]
        found = measurement.values(full)
        metric = None if found is None else _ArrayMetric(full, self.ts, *found)
        self._read[full] = metric
        return metric

    def __getitem__(self, key: Key) -> Metric:
        metric = self._array(key)
        return super().__getitem__(key) if metric is None else metric

    def __contains__(self, key: object) -> bool:
        try:
            metric = self._array(key)  # type: ignore[arg-type]
        except TypeError:
            return False
        return True if metric is not None else super().__contains__(key)

    def get(  # type: ignore[override]
        self, key: Key, ids: Sequence[int] | np.ndarray | None = None, fill: float = 0.0
    ) -> np.ndarray:
        metric = self._array(key)
        return super().get(key, ids, fill) if metric is None else metric.get(ids, fill)

    def ids(self, key: Key) -> np.ndarray:
        metric = self._array(key)
        return super().ids(key) if metric is None else metric.ids

    def count_missing(self, key: Key, ids: Sequence[int] | np.ndarray) -> int:
        metric = self._array(key)
        return super().count_missing(key, ids) if metric is None else metric.count_missing(ids)

    def __repr__(self) -> str:
        return "NetworkStats(deferred)" if not self.built else super().__repr__()

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy or a pickle is the built view (its records)
        return (NetworkStats, (list(self._metrics.values()),))
