"""What a run leaves behind: the per-step table, the users' positions, and the summary.

Rules:
- A :class:`Table` has named, typed columns (``int``, ``float`` or ``str``); a cell may be
  ``None`` (written as an empty CSV field). :func:`write_csv` and :func:`read_csv` are exact
  inverses for every table: floats are written with ``repr`` (17 significant digits, so
  they read back bit for bit, ``nan`` and ``inf`` included).
- :class:`RunRecorder` turns each measurement into one row of the steps table (``ts``,
  ``episode``, ``step``, ``reward``, ``action``, then the environment's key metrics, see
  :func:`metric_columns`) and, for environments that report positions, one row per user of
  the users table (position and serving cells). A reset's measurement has no reward and no
  action (empty cells).
- A metric the measurement lacks is ``None``; a mean over no value (e.g. no packet on a
  link, ``owd = −1``) is ``None`` too.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from netgym_client.config import NetGymConfig
from netgym_client.errors import NetGymError
from netgym_client.stats import NetworkStats

__all__ = [
    "STEP_COLUMNS",
    "USER_COLUMNS",
    "ResultsError",
    "RunRecorder",
    "Table",
    "metric_columns",
    "read_csv",
    "steps_columns",
    "write_csv",
    "write_results",
]

logger = logging.getLogger(__name__)

Cell = int | float | str | None
ColumnType = type[int] | type[float] | type[str]

#: Links of the GMA environments, in ns-3's order.
LINKS = ("wifi", "lte", "nr")
#: A user counts as served with QoS over Wi-Fi above this rate (the qos_steer reward's).
QOS_RATE_THRESHOLD_MBPS = 0.1


class ResultsError(NetGymError, ValueError):
    """A table or results file that does not fit its declared columns."""


@dataclass
class Table:
    """Rows of typed cells under named columns.

    Attributes:
        columns: Column name → its type (``int``, ``float`` or ``str``), in order.
        rows: One dict per row, keyed by column name.
    """

    columns: dict[str, ColumnType]
    rows: list[dict[str, Cell]] = field(default_factory=list)

    def append(self, row: Mapping[str, Cell]) -> None:
        """Add one row; it must have exactly the table's columns.

        Raises:
            ResultsError: A missing or extra column, or a cell of the wrong type.
        """
        if set(row) != set(self.columns):
            missing = sorted(set(self.columns) - set(row))
            extra = sorted(set(row) - set(self.columns))
            raise ResultsError(f"row does not fit the table: missing {missing}, extra {extra}")
        for name, kind in self.columns.items():
            value = row[name]
            if value is None:
                continue
            ok = (
                isinstance(value, float | int) and not isinstance(value, bool)
                if kind is float
                else isinstance(value, kind) and not isinstance(value, bool)
            )
            if not ok:
                raise ResultsError(f"column {name!r} holds {kind.__name__}, got {value!r}")
        self.rows.append({name: row[name] for name in self.columns})

    def column(self, name: str) -> np.ndarray:
        """One numeric column as float64, ``None`` read as NaN.

        Raises:
            ResultsError: No such column, or it holds strings.
        """
        kind = self.columns.get(name)
        if kind is None or kind is str:
            raise ResultsError(f"no numeric column {name!r}; columns: {list(self.columns)}")
        return np.array(
            [math.nan if (v := r[name]) is None else float(v) for r in self.rows],
            dtype=np.float64,
        )

    def __len__(self) -> int:
        return len(self.rows)


def _format(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse(text: str, kind: ColumnType, where: str) -> Cell:
    if kind is str:
        return text
    if text == "":
        return None
    try:
        return kind(text)
    except ValueError as exc:
        raise ResultsError(f"{where}: not {kind.__name__}: {text!r}") from exc


def write_csv(path: str | Path, table: Table) -> None:
    """Write ``table`` as CSV with a header row (``None`` as an empty field).

    A ``str`` cell that is ``None`` cannot be told from ``""`` and reads back as ``""``.
    The file appears whole or not at all (:func:`write_whole`).

    Raises:
        ResultsError: The file cannot be written (disk full, read-only place).
    """

    def write(f: IO[str]) -> None:
        writer = csv.writer(f)  # RFC 4180 line ends, so a lone "\r" in a field is quoted
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_format(row[name]) for name in table.columns])

    write_whole(Path(path), write)


def write_whole(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Have ``write`` fill a temporary file beside ``path``, then rename it to ``path``.

    A run killed midway, a full disk or a read-only place never leave a half-written file
    under ``path`` (an older complete one stays); the temporary file is removed on failure.

    Raises:
        ResultsError: One line naming the file and the system's reason.
    """
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with partial.open("w", newline="", encoding="utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        reason = exc.strerror or str(exc)
        raise ResultsError(f"cannot write {path}: {reason}") from exc


def read_csv(path: str | Path, columns: Mapping[str, ColumnType]) -> Table:
    """Read a CSV written by :func:`write_csv` back into a :class:`Table` of ``columns``.

    Raises:
        ResultsError: The header differs from ``columns``, a row has the wrong number of
            fields, or a field does not parse as its column's type.
    """
    table = Table(dict(columns))
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != list(columns):
            raise ResultsError(f"{path}: header {header} differs from {list(columns)}")
        for number, fields in enumerate(reader, start=2):
            if len(fields) != len(header):
                raise ResultsError(f"{path}:{number}: {len(fields)} fields, {len(header)} expected")
            table.rows.append(
                {
                    name: _parse(text, kind, f"{path}:{number}: {name}")
                    for (name, kind), text in zip(columns.items(), fields, strict=True)
                }
            )
    return table


# -- metrics per environment -----------------------------------------------------------
Extractor = Callable[[NetworkStats], float | None]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _sum(key: str) -> Extractor:
    def get(stats: NetworkStats) -> float | None:
        if key not in stats:
            return None
        with np.errstate(over="ignore"):
            return _finite(float(np.sum(stats.get(key))))

    return get


def _mean(key: str, nonnegative: bool = False) -> Extractor:
    def get(stats: NetworkStats) -> float | None:
        if key not in stats:
            return None
        values = stats.get(key)
        if nonnegative:
            values = values[values >= 0]  # −1: no packet in the interval
        if values.size == 0:
            return None
        with np.errstate(over="ignore"):
            return _finite(float(np.mean(values)))

    return get


def _count_above(key: str, threshold: float) -> Extractor:
    def get(stats: NetworkStats) -> float | None:
        if key not in stats:
            return None
        return float(np.count_nonzero(stats.get(key) > threshold))

    return get


def _slice_value(key: str, slice_id: int) -> Extractor:
    def get(stats: NetworkStats) -> float | None:
        if key not in stats:
            return None
        cells = stats.sliced(key)
        if not cells:
            return None
        ids, values = cells[min(cells)]
        for sid, value in zip(ids, values, strict=False):
            if int(sid) == slice_id:
                return _finite(float(value))
        return None

    return get


def _gma_metrics() -> dict[str, Extractor]:
    metrics: dict[str, Extractor] = {
        "rate_mbps": _sum("gma::dl::rate"),
        "owd_ms": _mean("gma::dl::owd", nonnegative=True),
    }
    for link in LINKS:
        metrics[f"{link}_rate_mbps"] = _sum(f"gma::{link}::dl::rate")
    for link in LINKS:
        metrics[f"{link}_owd_ms"] = _mean(f"gma::{link}::dl::owd", nonnegative=True)
    metrics["delay_violation_pct"] = _mean("gma::dl::delay_violation")
    return metrics


def metric_columns(config: NetGymConfig) -> dict[str, Extractor]:
    """The key metrics of ``config.env``: column name → how to read it from a measurement.

    - nqos_split, qos_steer: total delivered rate (sum over users, Mbps) and mean one-way
      delay (ms), the same per link (Wi-Fi, LTE, NR), the mean delay violation (%);
      qos_steer adds ``wifi_qos_users`` (its reward's count).
    - network_slicing: per slice ``s``, ``slice<s>_rate_mbps``, ``slice<s>_rb_usage_pct``,
      ``slice<s>_delay_violation_pct`` of the LTE cell; the total rate and mean delay.
    - rmcat: the mean over flows of ``rtt_ms``, ``qdel_ms``, ``rrate_bps``, ``srate_bps``,
      ``nada_srate_bps``, ``xcurr``, ``plr``.
    - custom: the mean over users of ``measurement_1`` … ``measurement_4``.
    """
    env = config.env
    if env == "nqos_split":
        return _gma_metrics()
    if env == "qos_steer":
        metrics = _gma_metrics()
        metrics["wifi_qos_users"] = _count_above("gma::wifi::dl::qos_rate", QOS_RATE_THRESHOLD_MBPS)
        return metrics
    if env == "network_slicing":
        slices = len(config.env_config["per_slice_config"]["num_users"])
        metrics = {
            "rate_mbps": _sum("gma::dl::rate"),
            "owd_ms": _mean("gma::dl::owd", nonnegative=True),
        }
        for s in range(slices):
            metrics[f"slice{s}_rate_mbps"] = _slice_value("gma::dl::cell::rate", s)
            metrics[f"slice{s}_rb_usage_pct"] = _slice_value("lte::dl::cell::rb_usage", s)
            metrics[f"slice{s}_delay_violation_pct"] = _slice_value(
                "gma::dl::cell::delay_violation", s
            )
        return metrics
    if env == "rmcat":
        names = {
            "rtt_ms": "rtt",
            "qdel_ms": "qdel",
            "rrate_bps": "rrate",
            "srate_bps": "srate",
            "nada_srate_bps": "nada_srate",
            "xcurr": "xcurr",
            "plr": "plr",
        }
        return {column: _mean(f"rmcat::{name}") for column, name in names.items()}
    return {f"measurement_{k}": _mean(f"test::measurement_{k}") for k in range(1, 5)}


STEP_COLUMNS: dict[str, ColumnType] = {
    "ts": int,
    "episode": int,
    "step": int,
    "reward": float,
    "action": str,
}
USER_COLUMNS: dict[str, ColumnType] = {
    "ts": int,
    "episode": int,
    "step": int,
    "user": int,
    "x_m": float,
    "y_m": float,
    "wifi_cell": int,
    "lte_cell": int,
    "nr_cell": int,
}


def _cell_ids(stats: NetworkStats, key: str, ids: Sequence[int]) -> list[int | None]:
    if key not in stats:
        return [None] * len(ids)
    values = stats.get(key, ids=list(ids), fill=math.nan)
    return [None if math.isnan(v) else int(v) for v in values]


class RunRecorder:
    """Collects the steps table and, where positions are reported, the users table.

    Args:
        config: The run's configuration (its env picks the metric columns).

    Attributes:
        steps: One row per measurement: ``ts``, ``episode``, ``step``, ``reward``,
            ``action`` (JSON), then :func:`metric_columns`.
        users: One row per user and measurement (``x_m``, ``y_m``, serving cells), empty
            for environments without positions.
    """

    def __init__(self, config: NetGymConfig) -> None:
        self.config = config
        self.metrics = metric_columns(config)
        columns: dict[str, ColumnType] = dict(STEP_COLUMNS)
        columns.update(dict.fromkeys(self.metrics, float))
        self.steps = Table(columns)
        self.users = Table(dict(USER_COLUMNS))

    def record(
        self,
        episode: int,
        step: int,
        stats: NetworkStats,
        reward: float | None,
        action: np.ndarray | None,
    ) -> None:
        """Add the rows of one measurement (``reward``/``action`` ``None`` at a reset)."""
        row: dict[str, Cell] = {
            "ts": int(stats.ts),
            "episode": episode,
            "step": step,
            "reward": None if reward is None else float(reward),
            "action": None if action is None else json.dumps(np.asarray(action).tolist()),
        }
        for name, extract in self.metrics.items():
            row[name] = extract(stats)
        self.steps.append(row)
        if "gma::x_loc" not in stats or "gma::y_loc" not in stats:
            return
        ids = [int(i) for i in stats.ids("gma::x_loc")]
        xs = stats.get("gma::x_loc", ids=ids, fill=math.nan)
        ys = stats.get("gma::y_loc", ids=ids, fill=math.nan)
        cells = {link: _cell_ids(stats, f"{link}::cell_id", ids) for link in LINKS}
        for i, uid in enumerate(ids):
            self.users.append(
                {
                    "ts": int(stats.ts),
                    "episode": episode,
                    "step": step,
                    "user": uid,
                    "x_m": _finite(float(xs[i])),
                    "y_m": _finite(float(ys[i])),
                    "wifi_cell": cells["wifi"][i],
                    "lte_cell": cells["lte"][i],
                    "nr_cell": cells["nr"][i],
                }
            )


def write_results(
    out_dir: str | Path, recorder: RunRecorder, summary: Mapping[str, Any]
) -> list[Path]:
    """Write ``steps.csv``, ``users.csv`` (if any user rows) and ``summary.json``.

    Returns:
        The paths written.

    Raises:
        ResultsError: ``out_dir`` exists and is not a directory, or cannot be created.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ResultsError(f"--out {out}: not a directory") from exc
    except OSError as exc:
        raise ResultsError(f"--out {out}: cannot create it: {exc}") from exc
    written = [out / "steps.csv"]
    write_csv(written[0], recorder.steps)
    if len(recorder.users):
        written.append(out / "users.csv")
        write_csv(written[-1], recorder.users)
    written.append(out / "summary.json")
    text = json.dumps(dict(summary), indent=2) + "\n"

    def write_summary(f: IO[str]) -> None:
        f.write(text)

    write_whole(written[-1], write_summary)
    logger.info("wrote %s", ", ".join(str(p) for p in written))
    return written


def steps_columns(names: Iterable[str]) -> dict[str, ColumnType]:
    """The steps table's columns for metric ``names`` (to read a ``steps.csv`` back)."""
    columns: dict[str, ColumnType] = dict(STEP_COLUMNS)
    columns.update(dict.fromkeys(names, float))
    return columns
