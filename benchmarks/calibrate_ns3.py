"""netgym beside every real ns-3 recording of fixtures/ns3: the same start, the same actions.

Usage: python benchmarks/calibrate_ns3.py [--dir fixtures/ns3] [--stats mean,user_cv,time_cv]
       [--markdown] [--by-config | --matrix] [--seeds K] [--group all|own|fixed] [--skip N]

For each recording (``*.jsonl.gz``, made with ``netgym record`` against NetworkGym's ns-3; see
fixtures/ns3/README.md), netgym's embedded simulator is sent the recorded env-start and the
recorded actions, and both sides are reduced to the statistics of
:mod:`netgym_client.recording.compare` (median over users of the per-user time mean, spread
across users, spread over time). Prints one row per recording and metric: ns-3, netgym and
their ratio; then, per metric and statistic, the median ratio over the recordings and how
many are within ±30 %, over all the recordings and apart over those of GMA's own split
(``value: []`` every step) and those of fixed splits (an action sets a split). FIDELITY.md
holds these tables; tests/unit/test_calibration_ns3.py keeps the calibrated rows there.
``--group`` keeps the recordings of one group only; ``--skip N`` leaves the first N
measurements of every session out of the statistics (1, the env-start's, by default; 6 leaves
the flows' first half second out too).

``--by-config`` groups the recordings of one configuration (the same name but for its seed):
the ns-3 figure is the mean over its recorded seeds, netgym's the mean over ``--seeds`` runs
of each recording's start and actions (its own seed, then seeds 1001, 1002, …), so one
session's draw of positions weighs less. ``--matrix`` prints the means of the main metrics per
configuration as one Markdown table (ns-3 → netgym (ratio)): FIDELITY.md holds it.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from netgym_client.errors import NetGymError
from netgym_client.recording import compare
from netgym_client.recording.record import read_recording

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.30


def _fmt(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.3g}"


def config_key(name: str) -> str:
    """A recording's configuration: its name without the seed (``_s3``) and ``_long``."""
    return re.sub(r"_s\d+(_long)?$", "", name)


def sets_a_split(session: compare.Session) -> bool:
    """Whether any of the session's actions sets a split (a fixed split, not GMA's own)."""
    for action in session.actions:
        records = action if isinstance(action, list) else [action]
        if any(isinstance(r, dict) and r.get("value") not in ([], None) for r in records):
            return True
    return False


def _in_group(session: compare.Session, group: str) -> bool:
    return group == "all" or sets_a_split(session) == (group == "fixed")


def _summary(ratios: dict[tuple[str, str], list[float]], sep: str) -> None:
    print(sep.join(["metric", "stat", "median ratio", "within ±30 %"]))
    for (metric, stat), values in ratios.items():
        finite = [v for v in values if math.isfinite(v)]
        inside = sum(abs(v - 1.0) <= TOLERANCE for v in finite)
        median = statistics.median(finite) if finite else math.nan
        print(sep.join([metric, stat, _fmt(median), f"{inside}/{len(finite)}"]))


def _figures(
    session: compare.Session, seeds: int, skip: int = 1
) -> tuple[dict[str, Any], dict[str, Any]]:
    """ns-3's statistics of ``session`` and netgym's mean over ``seeds`` runs of it."""
    recorded = compare.statistics(session.measurements, session.user_ids, skip=skip)
    runs = []
    for k in range(seeds):
        config = dict(session.env_config)
        if k:
            config["random_seed"] = 1000 + k
        run = compare.Session(session.identity, config, session.actions, session.measurements)
        runs.append(compare.statistics(compare.simulate(run), session.user_ids, skip=skip))
    ours = {
        metric: {stat: _mean([r[metric][stat] for r in runs]) for stat in recorded[metric]}
        for metric in recorded
    }
    return recorded, ours


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else math.nan


#: The metrics of ``--matrix``, with their column titles.
MATRIX = [
    ("gma::dl::rate", "dl rate"),
    ("gma::dl::owd", "dl owd"),
    ("gma::wifi::dl::rate", "Wi-Fi rate"),
    ("gma::lte::dl::rate", "LTE rate"),
    ("gma::wifi::dl::owd", "Wi-Fi owd"),
    ("gma::lte::dl::owd", "LTE owd"),
    ("gma::wifi::dl::split_ratio", "split %"),
    ("wifi::dl::max_rate", "Wi-Fi max_rate"),
]


def config_figures(
    paths: list[Path], wanted: set[str], seeds: int, skip: int = 1
) -> dict[str, tuple[int, dict[tuple[str, str], tuple[float, float]]]]:
    """Per configuration: its recordings' count and ``{(metric, stat): (ns-3, netgym)}``."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(config_key(path.name.removesuffix(".jsonl.gz")), []).append(path)
    out: dict[str, tuple[int, dict[tuple[str, str], tuple[float, float]]]] = {}
    for key, members in groups.items():
        ns3: dict[tuple[str, str], list[float]] = {}
        ours: dict[tuple[str, str], list[float]] = {}
        for path in members:
            session = compare.recorded_session(read_recording(path))
            try:
                recorded, simulated = _figures(session, seeds, skip)
            except NetGymError as exc:
                print(f"{path.name}: netgym refused the session: {exc}")
                continue
            for metric, figures in recorded.items():
                for stat, value in figures.items():
                    if stat in wanted:
                        ns3.setdefault((metric, stat), []).append(value)
                        ours.setdefault((metric, stat), []).append(simulated[metric][stat])
        out[key] = (
            len(members),
            {k: (_mean(v), _mean(ours[k])) for k, v in ns3.items()},
        )
    return out


def by_config(paths: list[Path], wanted: set[str], seeds: int, sep: str, skip: int = 1) -> None:
    """Print one row per configuration, metric and statistic (see the module's text)."""
    print(sep.join(["config", "recordings", "metric", "stat", "ns-3", "netgym", "ratio"]))
    for key, (count, figures) in config_figures(paths, wanted, seeds, skip).items():
        for (metric, stat), (a, b) in figures.items():
            cells = [key, str(count), metric, stat, _fmt(a), _fmt(b)]
            print(sep.join([*cells, _fmt(compare.ratio(b, a))]))


def matrix(paths: list[Path], seeds: int, skip: int = 1) -> None:
    """A Markdown table: per configuration, each :data:`MATRIX` mean as ns-3 → netgym (ratio)."""
    print("| config | recordings | " + " | ".join(title for _, title in MATRIX) + " |")
    print("|---|---|" + "---|" * len(MATRIX))
    for key, (count, figures) in config_figures(paths, {"mean"}, seeds, skip).items():
        cells = []
        for metric, _ in MATRIX:
            a, b = figures.get((metric, "mean"), (math.nan, math.nan))
            r = compare.ratio(b, a)
            cells.append(f"{_fmt(a)} → {_fmt(b)} ({_fmt(r)})" if math.isfinite(r) else "–")
        print(f"| {key} | {count} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    """Print the calibration table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "fixtures" / "ns3")
    parser.add_argument("--stats", default="mean,user_cv,time_cv")
    parser.add_argument("--markdown", action="store_true", help="rows as a markdown table")
    parser.add_argument("--by-config", action="store_true", help="one row per configuration")
    parser.add_argument("--matrix", action="store_true", help="config × metric means (Markdown)")
    parser.add_argument("--seeds", type=int, default=3, help="netgym runs per recording")
    parser.add_argument(
        "--group", choices=("all", "own", "fixed"), default="all", help="recordings compared"
    )
    parser.add_argument("--skip", type=int, default=1, help="first measurements left out")
    args = parser.parse_args(argv)
    wanted = set(args.stats.split(","))
    skip = max(1, args.skip)
    paths = sorted(args.dir.glob("*.jsonl.gz"))
    if args.group != "all":
        paths = [
            p for p in paths if _in_group(compare.recorded_session(read_recording(p)), args.group)
        ]
    if not paths:
        print(f"no recordings in {args.dir}", file=sys.stderr)
        return 1
    sep = " | " if args.markdown else "  "
    if args.matrix:
        matrix(paths, max(1, args.seeds), skip)
        return 0
    if args.by_config:
        by_config(paths, wanted, max(1, args.seeds), sep, skip)
        return 0
    ratios: dict[str, dict[tuple[str, str], list[float]]] = {}
    print(sep.join(["recording", "metric", "stat", "ns-3", "netgym", "ratio"]))
    for path in paths:
        session = compare.recorded_session(read_recording(path))
        try:
            simulated = compare.simulate(session)
        except NetGymError as exc:
            print(f"{path.name}: netgym refused the session: {exc}")
            continue
        group = "fixed" if sets_a_split(session) else "own"
        for row in compare.compare(session, simulated, skip=skip):
            if row["stat"] not in wanted:
                continue
            for key in ("all", group):
                ratios.setdefault(key, {}).setdefault((row["metric"], row["stat"]), [])
                ratios[key][(row["metric"], row["stat"])].append(row["ratio"])
            cells = [path.name.removesuffix(".jsonl.gz"), row["metric"], row["stat"]]
            cells += [_fmt(row["ns3"]), _fmt(row["netgym"]), _fmt(row["ratio"])]
            print(sep.join(cells))
    titles = {"all": "", "own": "GMA's own split", "fixed": "fixed splits"}
    for key in ("all", "own", "fixed"):
        if key not in ratios or (key != "all" and len(ratios) == 2):
            continue  # (one group only: its table is the one over all)
        print()
        if titles[key]:
            print(titles[key])
        _summary(ratios[key], sep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
