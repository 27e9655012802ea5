"""Bottleneck traces for rmcat: a piecewise-constant schedule of bandwidth, delay and loss.

A trace is a list of periods. Period ``i`` starts at ``time_ms[i]`` (simulated time, ms since
the simulation started) and lasts until the next period starts; the last one lasts forever.
During a period the bottleneck forwards ``bw_kbps`` kbit/s, adds a one-way propagation delay
of ``delay_ms`` and loses each packet with probability ``loss`` (PROTOCOL.md §12). Before the
first period the first period's values apply.

Two textual forms exist, both with the columns ``time_ms, bw_kbps, delay_ms, loss``:

* a CSV file with a header line (``bw_trace.csv`` of the original client: header + 4 rows);
* the column-wise dict of floats the client puts into ``env_config.bw_trace``.

Rules for both: at least one period; every value finite; ``time_ms`` >= 0 and strictly
increasing; ``bw_kbps`` > 0 (a zero-capacity period would make queuing delay infinite);
``delay_ms`` >= 0; ``loss`` in [0, 1]. A violation raises :class:`TraceError` whose
``location`` names the place (``"bw_kbps[2]"``, or ``"line 3, column bw_kbps"`` in a CSV).

The synthetic generators (:func:`step_trace`, :func:`ramp_trace`, :func:`random_walk_trace`)
build traces for tests, benchmarks and the files in ``netgym_sim/data/``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "Trace",
    "TraceError",
    "ramp_trace",
    "random_walk_trace",
    "step_trace",
]

#: Largest bottleneck bandwidth of a period, kbit/s (1 Tbit/s).
MAX_BW_KBPS = 1e9
#: Smallest bottleneck bandwidth of a period, kbit/s (1 bit/s; smaller ones overflow times).
MIN_BW_KBPS = 1e-3
#: Largest one-way delay of a period, ms (10 s).
MAX_DELAY_MS = 10_000.0
#: Latest period start, ms (about 31 years).
MAX_TIME_MS = 1e12

#: Column names, in the order of the original ``bw_trace.csv``.
COLUMNS = ("time_ms", "bw_kbps", "delay_ms", "loss")


class TraceError(ValueError):
    """A trace (CSV text or column dict) breaks a rule.

    Attributes:
        location: Where: ``"bw_kbps[2]"``, ``"line 3, column loss"``, ``"header"``...
        problem: What is wrong, with the offending value.
    """

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"{location}: {problem}")


def _is_number(value: Any) -> bool:
    """A JSON number a float holds (an int too large for a float is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, int) or abs(value) <= 2**53


def _check_values(columns: Mapping[str, Sequence[float]], where: Callable[[int, str], str]) -> None:
    """Check the value rules of the module docstring; ``where(i, column)`` names row ``i``."""
    times = columns["time_ms"]
    if not times:
        raise TraceError(where(-1, "time_ms"), "a trace needs at least one period, got none")
    for i in range(len(times)):
        for name in COLUMNS:
            value = columns[name][i]
            if not math.isfinite(value):
                raise TraceError(where(i, name), f"must be finite, got {value!r}")
        if times[i] < 0:
            raise TraceError(where(i, "time_ms"), f"must be >= 0, got {times[i]!r}")
        if times[i] > MAX_TIME_MS:
            raise TraceError(where(i, "time_ms"), f"must be <= {MAX_TIME_MS:g}, got {times[i]!r}")
        if i and not times[i] > times[i - 1]:
            raise TraceError(
                where(i, "time_ms"),
                f"must be > the previous time {times[i - 1]!r} (times increase), got {times[i]!r}",
            )
        bw_kbps, delay_ms = columns["bw_kbps"][i], columns["delay_ms"][i]
        if not bw_kbps > 0:
            raise TraceError(where(i, "bw_kbps"), f"must be > 0, got {bw_kbps!r}")
        if not MIN_BW_KBPS <= bw_kbps <= MAX_BW_KBPS:
            raise TraceError(
                where(i, "bw_kbps"),
                f"must be in [{MIN_BW_KBPS:g}, {MAX_BW_KBPS:g}], got {bw_kbps!r}",
            )
        if delay_ms < 0:
            raise TraceError(where(i, "delay_ms"), f"must be >= 0, got {delay_ms!r}")
        if delay_ms > MAX_DELAY_MS:
            raise TraceError(where(i, "delay_ms"), f"must be <= {MAX_DELAY_MS:g}, got {delay_ms!r}")
        if not 0 <= columns["loss"][i] <= 1:
            raise TraceError(where(i, "loss"), f"must be in [0, 1], got {columns['loss'][i]!r}")


@dataclass(frozen=True)
class Trace:
    """A validated bottleneck schedule; build it with the ``from_*`` constructors.

    Attributes:
        time_ms: Start of each period, ms, strictly increasing.
        bw_kbps: Bottleneck bandwidth in each period, kbit/s (> 0).
        delay_ms: One-way propagation delay in each period, ms (>= 0).
        loss: Random packet loss probability in each period, [0, 1].
    """

    time_ms: tuple[float, ...]
    bw_kbps: tuple[float, ...]
    delay_ms: tuple[float, ...]
    loss: tuple[float, ...]

    def __post_init__(self) -> None:
        lengths = {name: len(getattr(self, name)) for name in COLUMNS}
        if len(set(lengths.values())) != 1:
            raise TraceError("columns", f"must have equal lengths, got {lengths}")
        _check_values(self.to_columns(), lambda i, name: f"{name}[{i}]")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def constant(cls, bw_kbps: float, delay_ms: float, loss: float = 0.0) -> Trace:
        """One period from time 0 that lasts forever (the topology defaults)."""
        return cls((0.0,), (float(bw_kbps),), (float(delay_ms),), (float(loss),))

    @classmethod
    def from_columns(cls, columns: Any) -> Trace:
        """Build a trace from ``{"time_ms": [...], "bw_kbps": [...], ...}`` (env_config form).

        Raises:
            TraceError: Not a mapping, a column missing, unknown, not a list of numbers, or of
                another length than ``time_ms``; or a value rule broken.
        """
        if not isinstance(columns, Mapping):
            raise TraceError("bw_trace", f"must be an object of columns, got {columns!r:.80}")
        unknown = sorted(str(key) for key in columns if key not in COLUMNS)
        if unknown:
            raise TraceError(unknown[0], f"unknown column; the columns are {', '.join(COLUMNS)}")
        parsed: dict[str, tuple[float, ...]] = {}
        for name in COLUMNS:
            if name not in columns:
                raise TraceError(name, "missing column")
            values = columns[name]
            if not isinstance(values, list | tuple):
                raise TraceError(name, f"must be an array of numbers, got {values!r:.80}")
            for i, value in enumerate(values):
                if not _is_number(value):
                    raise TraceError(f"{name}[{i}]", f"must be a number, got {value!r:.80}")
            if len(values) != len(columns["time_ms"]):
                raise TraceError(
                    name, f"has {len(values)} values but time_ms has {len(columns['time_ms'])}"
                )
            parsed[name] = tuple(float(value) for value in values)
        return cls(parsed["time_ms"], parsed["bw_kbps"], parsed["delay_ms"], parsed["loss"])

    @classmethod
    def from_csv_text(cls, text: str) -> Trace:
        """Parse CSV text: a header naming the four columns (any order), then one row per period.

        Blank lines are ignored; the last line needs no newline.

        Raises:
            TraceError: Bad header, a row with the wrong field count, a cell that is not a
                finite number, or a value rule broken (``location`` names line and column).
        """
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if not lines:
            raise TraceError("header", f"missing; expected {','.join(COLUMNS)}")
        header_line, header_text = lines[0]
        header = [cell.strip() for cell in header_text.split(",")]
        if sorted(header) != sorted(COLUMNS):
            raise TraceError(
                f"line {header_line}", f"header must name {','.join(COLUMNS)}, got {header_text!r}"
            )
        cells: dict[str, list[float]] = {name: [] for name in COLUMNS}
        line_numbers: list[int] = []
        for number, line in lines[1:]:
            fields = [cell.strip() for cell in line.split(",")]
            if len(fields) != len(header):
                raise TraceError(
                    f"line {number}", f"has {len(fields)} fields, expected {len(header)}"
                )
            for name, cell in zip(header, fields, strict=True):
                try:
                    value = float(cell)
                except ValueError:
                    raise TraceError(
                        f"line {number}, column {name}", f"not a number: {cell!r}"
                    ) from None
                cells[name].append(value)
            line_numbers.append(number)

        def where(i: int, name: str) -> str:
            if i < 0:
                return f"line {header_line}"
            return f"line {line_numbers[i]}, column {name}"

        _check_values(cells, where)
        return cls(*(tuple(cells[name]) for name in COLUMNS))

    @classmethod
    def from_csv_path(cls, path: str | Path) -> Trace:
        """Read and parse a CSV file (see :meth:`from_csv_text`).

        Raises:
            TraceError: The file cannot be read (``location`` is the path) or is malformed
                (``location`` is ``"<path>: line N, column C"``).
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TraceError(str(path), f"cannot read: {exc}") from exc
        try:
            return cls.from_csv_text(text)
        except TraceError as exc:
            raise TraceError(f"{path}: {exc.location}", exc.problem) from exc

    # -- conversions ----------------------------------------------------------------------
    def to_columns(self) -> dict[str, list[float]]:
        """The env_config form: ``{"time_ms": [...], "bw_kbps": [...], ...}`` of floats."""
        return {name: list(getattr(self, name)) for name in COLUMNS}

    def to_csv_text(self) -> str:
        """CSV text with a header; floats in shortest round-trip form (``repr``)."""
        rows = [",".join(COLUMNS)]
        rows.extend(
            ",".join(repr(value) for value in row)
            for row in zip(self.time_ms, self.bw_kbps, self.delay_ms, self.loss, strict=True)
        )
        return "\n".join(rows) + "\n"

    # -- lookups --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.time_ms)

    def index_at(self, t_ms: float) -> int:
        """Index of the period in force at ``t_ms`` (period 0 before the first start)."""
        return max(0, bisect.bisect_right(self.time_ms, t_ms) - 1)

    def next_change_ms(self, t_ms: float) -> float:
        """Start of the first period after ``t_ms`` (``inf`` if none)."""
        i = bisect.bisect_right(self.time_ms, t_ms)
        return self.time_ms[i] if i < len(self.time_ms) else math.inf

    def bw_kbps_at(self, t_ms: float) -> float:
        """Bottleneck bandwidth at ``t_ms``, kbit/s."""
        return self.bw_kbps[self.index_at(t_ms)]

    def with_leading_period(self, bw_kbps: float, delay_ms: float, loss: float = 0.0) -> Trace:
        """This trace with a period from time 0 prepended when its first period starts later."""
        if self.time_ms[0] <= 0:
            return self
        return Trace(
            (0.0, *self.time_ms),
            (float(bw_kbps), *self.bw_kbps),
            (float(delay_ms), *self.delay_ms),
            (float(loss), *self.loss),
        )


# -- synthetic generators -----------------------------------------------------------------
def step_trace(
    levels_kbps: Sequence[float], hold_ms: float, *, delay_ms: float = 10.0, loss: float = 0.0
) -> Trace:
    """Bandwidth ``levels_kbps[i]`` from ``i × hold_ms`` on (a staircase of steps).

    Raises:
        TraceError: No level, ``hold_ms`` <= 0, or a value rule broken.
    """
    if not hold_ms > 0:
        raise TraceError("hold_ms", f"must be > 0, got {hold_ms!r}")
    n = len(levels_kbps)
    return Trace(
        tuple(i * float(hold_ms) for i in range(n)),
        tuple(float(level) for level in levels_kbps),
        (float(delay_ms),) * n,
        (float(loss),) * n,
    )


def ramp_trace(
    start_kbps: float,
    end_kbps: float,
    duration_ms: float,
    *,
    step_ms: float = 1000.0,
    delay_ms: float = 10.0,
    loss: float = 0.0,
) -> Trace:
    """A linear ramp from ``start_kbps`` to ``end_kbps`` over ``duration_ms``, in steps.

    The bandwidth changes every ``step_ms``; the last period (at ``duration_ms``) holds
    ``end_kbps``.

    Raises:
        TraceError: ``step_ms`` or ``duration_ms`` <= 0, or a value rule broken.
    """
    if not step_ms > 0:
        raise TraceError("step_ms", f"must be > 0, got {step_ms!r}")
    if not duration_ms > 0:
        raise TraceError("duration_ms", f"must be > 0, got {duration_ms!r}")
    steps = max(1, math.ceil(duration_ms / step_ms))
    times = [min(k * step_ms, duration_ms) for k in range(steps)] + [float(duration_ms)]
    levels = [start_kbps + (end_kbps - start_kbps) * t / duration_ms for t in times]
    return step_like(times, levels, delay_ms, loss)


def random_walk_trace(
    seed: int,
    *,
    start_kbps: float = 1000.0,
    duration_ms: float = 100_000.0,
    step_ms: float = 1000.0,
    sigma: float = 0.15,
    min_kbps: float = 200.0,
    max_kbps: float = 3000.0,
    delay_ms: float = 10.0,
    loss: float = 0.0,
) -> Trace:
    """A seeded multiplicative random walk of the bandwidth, reflected into [min, max].

    Every ``step_ms`` the log-bandwidth moves by a normal step of standard deviation
    ``sigma`` (0.15 ≈ ±15 % per step), which keeps the bandwidth positive and its changes
    proportional to its level, as in measured cellular traces.

    Raises:
        TraceError: Non-positive ``step_ms``/``duration_ms``/bounds, ``min_kbps > max_kbps``,
            ``start_kbps`` outside the bounds, or a value rule broken.
    """
    if not step_ms > 0 or not duration_ms > 0:
        raise TraceError("step_ms", f"step_ms and duration_ms must be > 0, got {step_ms!r}")
    if not 0 < min_kbps <= start_kbps <= max_kbps:
        raise TraceError(
            "start_kbps",
            f"need 0 < min_kbps <= start_kbps <= max_kbps, got "
            f"{min_kbps!r}, {start_kbps!r}, {max_kbps!r}",
        )
    rng = np.random.default_rng(seed)
    steps = math.ceil(duration_ms / step_ms) + 1
    low, high = math.log(min_kbps), math.log(max_kbps)
    level = math.log(start_kbps)
    levels: list[float] = []
    for move in rng.normal(0.0, sigma, size=steps).tolist():
        levels.append(round(math.exp(level), 3))
        level += move
        # Reflect at the bounds (in log space) so the walk does not stick to them.
        while not low <= level <= high:
            level = 2 * low - level if level < low else 2 * high - level
    times = [k * float(step_ms) for k in range(steps)]
    return step_like(times, levels, delay_ms, loss)


def step_like(
    times_ms: Sequence[float], levels_kbps: Sequence[float], delay_ms: float, loss: float
) -> Trace:
    """A trace from start times and levels with a constant delay and loss (duplicates merged)."""
    keep = [i for i in range(len(times_ms)) if i == 0 or times_ms[i] > times_ms[i - 1]]
    return Trace(
        tuple(float(times_ms[i]) for i in keep),
        tuple(float(levels_kbps[i]) for i in keep),
        (float(delay_ms),) * len(keep),
        (float(loss),) * len(keep),
    )
