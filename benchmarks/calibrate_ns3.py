"""netgym beside every real ns-3 recording of fixtures/ns3: the same start, the same actions.

Usage: python benchmarks/calibrate_ns3.py [--dir fixtures/ns3] [--stats mean,user_cv,time_cv]
       [--markdown]

For each recording (``*.jsonl.gz``, made with ``netgym record`` against NetworkGym's ns-3; see
fixtures/ns3/README.md), netgym's embedded simulator is sent the recorded env-start and the
recorded actions, and both sides are reduced to the statistics of
:mod:`netgym_client.recording.compare` (median over users of the per-user time mean, spread
across users, spread over time). Prints one row per recording and metric: ns-3, netgym and
their ratio; then, per metric and statistic, the median ratio over the recordings and how
many are within ±30 %. FIDELITY.md holds this table; tests/unit/test_calibration_ns3.py
keeps the calibrated rows there.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

from netgym_client.errors import NetGymError
from netgym_client.recording import compare
from netgym_client.recording.record import read_recording

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.30


def _fmt(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.3g}"


def main(argv: list[str] | None = None) -> int:
    """Print the calibration table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "fixtures" / "ns3")
    parser.add_argument("--stats", default="mean,user_cv,time_cv")
    parser.add_argument("--markdown", action="store_true", help="rows as a markdown table")
    args = parser.parse_args(argv)
    wanted = set(args.stats.split(","))
    paths = sorted(args.dir.glob("*.jsonl.gz"))
    if not paths:
        print(f"no recordings in {args.dir}", file=sys.stderr)
        return 1
    ratios: dict[tuple[str, str], list[float]] = {}
    sep = " | " if args.markdown else "  "
    print(sep.join(["recording", "metric", "stat", "ns-3", "netgym", "ratio"]))
    for path in paths:
        session = compare.recorded_session(read_recording(path))
        try:
            simulated = compare.simulate(session)
        except NetGymError as exc:
            print(f"{path.name}: netgym refused the session: {exc}")
            continue
        for row in compare.compare(session, simulated):
            if row["stat"] not in wanted:
                continue
            ratios.setdefault((row["metric"], row["stat"]), []).append(row["ratio"])
            cells = [path.name.removesuffix(".jsonl.gz"), row["metric"], row["stat"]]
            cells += [_fmt(row["ns3"]), _fmt(row["netgym"]), _fmt(row["ratio"])]
            print(sep.join(cells))
    print()
    print(sep.join(["metric", "stat", "median ratio", "within ±30 %"]))
    for (metric, stat), values in ratios.items():
        finite = [v for v in values if math.isfinite(v)]
        inside = sum(abs(v - 1.0) <= TOLERANCE for v in finite)
        median = statistics.median(finite) if finite else math.nan
        print(sep.join([metric, stat, _fmt(median), f"{inside}/{len(finite)}"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
