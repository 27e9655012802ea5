"""``netgym baselines`` over the scenarios: the table, run here or fanned out on Ray.

Without ``--ray`` every session runs in this process, one after the other
(:func:`~netgym_client.cli.benchmark.run_table`). With ``--ray`` (a new local cluster) or
``--ray ADDRESS`` (a running cluster) every (scenario, agent, seed) session is one Ray task
(:mod:`netgym_client.cli.ray_sweep`): the same table, the same numbers for the same seeds, a
failed session retried once and then named on stderr (exit code 1).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable

from rich.console import Console

from netgym_client.cli import benchmark, ray_sweep
from netgym_client.cli.console import (
    EXIT_INTERRUPTED,
    error,
    progress_bar,
    setup_logging,
    show_progress,
)

__all__ = ["LOCAL", "add_ray_argument", "command"]

logger = logging.getLogger("netgym_client.cli")

#: ``--ray`` given without an address: start a local cluster.
LOCAL = "local"


def add_ray_argument(
    parser: argparse.ArgumentParser, what: str = "(scenario, agent, seed)"
) -> None:
    """``--ray [ADDRESS]`` of ``netgym baselines`` and ``netgym dataset``."""
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help=f"run every {what} session as a Ray task: on a new local cluster, or on the "
        "cluster at ADDRESS (HOST:6379); needs the extra 'ray'",
    )


def _serial(args: argparse.Namespace, err: Console) -> tuple[list[benchmark.BenchmarkRow], bool]:
    with progress_bar(show_progress(args), err) as progress:

        def on_row(name: str) -> Callable[[], None] | None:
            if progress is None:
                return None
            task, bar = progress.add_task(name, total=None, episode="", sim_s=0.0), progress
            return lambda: bar.advance(task)

        return benchmark.run_table(
            benchmark.scenarios_named(args.scenario),
            seeds=args.seeds,
            episodes=args.episodes,
            steps_per_episode=args.steps_per_episode,
            server=args.server,
            on_row=on_row,
        )


def _on_ray(
    args: argparse.Namespace, err: Console
) -> tuple[list[benchmark.BenchmarkRow], list[ray_sweep.Failure[ray_sweep.Session]], bool]:
    sessions = ray_sweep.plan(
        benchmark.scenarios_named(args.scenario),
        seeds=args.seeds,
        episodes=args.episodes,
        steps_per_episode=args.steps_per_episode,
        server=args.server,
    )
    address = None if args.ray == LOCAL else args.ray
    bar = err if show_progress(args) else None
    results, failures, interrupted = ray_sweep.run_on_ray(
        sessions, ray_sweep.run_session, address, bar=bar
    )
    return ray_sweep.table_rows(sessions, results), failures, interrupted


def command(args: argparse.Namespace) -> int:
    """``netgym baselines`` without ``--env``: the scenario table; the exit code."""
    out, err = Console(file=sys.stdout), Console(file=sys.stderr)
    setup_logging(args.verbose, err, show_progress(args))
    failures: list[ray_sweep.Failure[ray_sweep.Session]] = []
    if args.ray is None:
        rows, interrupted = _serial(args, err)
    else:
        rows, failures, interrupted = _on_ray(args, err)
    if args.json:
        print(json.dumps(benchmark.as_dicts(rows)))
    elif args.markdown:
        print("\n".join(benchmark.markdown_table(rows)))
    else:
        out.print(benchmark.rich_table(rows))
    if args.out is not None:  # after the table: a failed write still shows it
        benchmark.write_rows(args.out, rows)
        logger.info("wrote %s", args.out)
    if interrupted:
        print("netgym: interrupted; the table covers what ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    for failure in failures:
        error(f"{failure.session.name} failed {failure.attempts} times: {failure.error}")
    if failures:
        return error(f"{len(failures)} session(s) failed; their rows leave those seeds out")
    return 0
