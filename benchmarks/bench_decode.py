"""Cost of receiving one nqos_split measurement: decode the payload, index it, read it.

Usage: PYTHONPATH=. python benchmarks/bench_decode.py [--repeat 200] [--repeat-large 50]

For 16 and 256 users, builds the measurement a real nqos_split worker sends: all 74
subscribed metrics, user ids 1 … N, the per-cell metrics as one LTE cell with two slices
(``{"slice": [0, 1], "value": [...]}``), pretty-printed with ``indent=2`` as the original
worker writes. Prints the payload size and the median and mean wall time of ``decode``,
``NetworkStats.from_records(..., validate=False)``, the nqos_split observation's read (three
``count_missing`` + ``get(key, ids=...)`` pairs on a fresh view, as ``Adapter.fill`` does),
decode + view, and the whole pipeline. The steps run in turn, ``repeat`` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from netgym_client.adapters._gma import GMA_OBS_KEYS
from netgym_client.protocol import EnvMeasurement, decode, encode
from netgym_client.stats import NetworkStats
from netgym_client.testing.strategies import metric_names

#: Metrics whose values are integers on the wire (ids of cells and slices, flags).
INTEGER_SUFFIXES = ("cell_id", "slice_id", "missed_action", "measurement_ok", "priority")


def build_payload(users: int, seed: int = 0) -> bytes:
    """The ``indent=2`` payload of one nqos_split measurement of ``users`` users."""
    rng = np.random.default_rng(seed)
    ts = 1100
    ids = list(range(1, users + 1))
    records: list[dict[str, Any]] = []
    for key in metric_names("nqos_split"):
        source, name = key.split("::", 1)
        value: list[Any]
        if "::cell::" in f"::{name}":
            cells = [1]
            value = [{"slice": [0, 1], "value": [float(v) for v in rng.uniform(0, 100, 2)]}]
            records.append({"source": source, "name": name, "ts": ts, "id": cells, "value": value})
            continue
        if name.endswith(INTEGER_SUFFIXES):
            value = [int(v) for v in rng.integers(0, 3, users)]
        else:
            value = [float(v) for v in rng.uniform(0, 200, users)]
        records.append({"source": source, "name": name, "ts": ts, "id": list(ids), "value": value})
    return encode(EnvMeasurement(records), indent=2)


def bench(users: int, repeat: int) -> tuple[int, dict[str, list[float]]]:
    payload = build_payload(users)
    ids = np.arange(1, users + 1)
    msg = decode(payload)
    assert isinstance(msg, EnvMeasurement)
    assert len(msg.network_stats) == 74

    def read(stats: NetworkStats) -> list[np.ndarray]:
        rows = []
        for key in GMA_OBS_KEYS:
            stats.count_missing(key, ids=ids)
            rows.append(stats.get(key, ids=ids, fill=0.0))
        return rows

    def pipeline() -> list[np.ndarray]:
        decoded = decode(payload)
        assert isinstance(decoded, EnvMeasurement)
        return read(NetworkStats.from_records(decoded.network_stats, validate=False))

    def decode_and_view() -> NetworkStats:
        decoded = decode(payload)
        assert isinstance(decoded, EnvMeasurement)
        return NetworkStats.from_records(decoded.network_stats, validate=False)

    def fresh_read() -> Callable[[], object]:
        # The read pays for turning three rows into arrays: give it a fresh view each time.
        stats = NetworkStats.from_records(msg.network_stats, validate=False)
        return lambda: read(stats)

    steps: dict[str, Callable[[], Callable[[], object]]] = {
        "decode(bytes)": lambda: lambda: decode(payload),
        "from_records(validate=False)": lambda: (
            lambda: NetworkStats.from_records(msg.network_stats, validate=False)
        ),
        "read: 3 x count_missing+get": fresh_read,
        "decode + view": lambda: decode_and_view,
        "decode + view + read": lambda: pipeline,
    }
    times: dict[str, list[float]] = {step: [] for step in steps}
    # Round robin, so that a busy moment of the machine slows every step alike.
    for _ in range(repeat):
        for step, prepare in steps.items():
            fn = prepare()
            begin = time.perf_counter()
            fn()
            times[step].append((time.perf_counter() - begin) * 1e3)
    return len(payload), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="iterations at 16 users")
    parser.add_argument("--repeat-large", type=int, default=50, help="iterations at 256 users")
    args = parser.parse_args()
    print(f"{'users':>5} {'payload B':>10} {'step':<30} {'median ms':>10} {'mean ms':>10}")
    for users, repeat in ((16, args.repeat), (256, args.repeat_large)):
        size, times = bench(users, repeat)
        for step, ms in times.items():
            median, mean = statistics.median(ms), statistics.fmean(ms)
            print(f"{users:>5} {size:>10} {step:<30} {median:>10.3f} {mean:>10.3f}")


if __name__ == "__main__":
    main()
