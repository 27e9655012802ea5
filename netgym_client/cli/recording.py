"""``netgym record``, ``netgym replay`` and ``netgym dataset``: the recording commands.

Loaded by :mod:`netgym_client.cli` only when one of them is used (they bring ZeroMQ servers
and, for datasets, Minari).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from netgym_client.cli.agents import AGENTS
from netgym_client.cli.console import (
    DEFAULT_AGENT,
    positive,
    progress_bar,
    setup_logging,
    show_progress,
)
from netgym_client.cli.scenario_table import LOCAL, add_ray_argument
from netgym_client.config import ENVIRONMENTS

__all__ = ["COMMANDS", "add_recording_parsers"]


def _cmd_record(args: argparse.Namespace) -> int:
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from netgym_client.recording.proxy import RecordingProxy  # noqa: PLC0415

    setup_logging(args.verbose, Console(file=sys.stderr), False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with RecordingProxy(args.listen, args.upstream, args.out) as proxy:
        print(
            f"netgym: recording {proxy.address} -> {args.upstream} into {args.out}", file=sys.stderr
        )
        try:
            while not stop.wait(0.2) and proxy.running:
                pass
        except KeyboardInterrupt:
            pass
    if proxy.error is not None:
        raise proxy.error
    print(f"netgym: {proxy.messages} messages recorded in {args.out}", file=sys.stderr)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from netgym_client.recording.record import read_recording  # noqa: PLC0415
    from netgym_sim.embedded import ReplayServer, load_accounts  # noqa: PLC0415

    setup_logging(args.verbose, Console(file=sys.stderr), False)
    script = read_recording(args.recording).script(args.identity)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    accounts = None
    if args.accounts:
        accounts = load_accounts(args.accounts)
    server = ReplayServer(script, args.host, args.port, mode=args.mode, accounts=accounts).start()
    print(f"netgym: replaying {args.recording} on {server.address} ({args.mode})", file=sys.stderr)
    try:
        while not stop.wait(0.2):
            if args.once and server.finished.is_set():
                break
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    reports = server.reports
    if args.json:
        print(json.dumps([r.as_dict() for r in reports]))
    else:
        for report in reports:
            print(report.summary())
        if not reports:
            print("netgym: no client connected")
    return 0 if reports and all(r.ok for r in reports) else 1


def _cmd_dataset(args: argparse.Namespace) -> int:
    from netgym_client.recording import dataset  # noqa: PLC0415

    err = Console(file=sys.stderr)
    show = show_progress(args)
    setup_logging(args.verbose, err, show)
    if args.from_recording:
        from netgym_client.recording.record import read_recording  # noqa: PLC0415

        script = read_recording(args.from_recording).script(None)
        episodes: Any = dataset.episodes_from_recording(script)
        starts = [str(p.get("env")) for d, p in script if p.get("type") == "env-start"]
        if not starts:
            raise dataset.DatasetError(f"{args.from_recording}: the recording has no env-start")
        env_name = starts[0]
        algorithm = f"recording:{Path(args.from_recording).name}"
        total = None
    else:
        seeds = dataset.parse_seeds(args.seeds)
        env_name, algorithm, total = args.env, args.agent, len(seeds) * args.steps
    if args.ray is not None:
        if args.from_recording:
            raise dataset.DatasetError("--ray collects live sessions, not --from-recording")
        episodes = _episodes_on_ray(args, seeds, err if show else None)
        summary = dataset.write_dataset(
            args.out, episodes, env_name=env_name, algorithm_name=algorithm
        )
        return _print_dataset(args, summary)
    with progress_bar(show, err) as progress:
        task = (
            None
            if progress is None
            else progress.add_task(f"{env_name}/{algorithm}", total=total, episode="", sim_s=0.0)
        )

        def advance(episode: int, sim_s: float) -> None:
            if progress is not None and task is not None:
                shown = f"{episode + 1}/{len(seeds)}"
                progress.update(task, advance=1, episode=shown, sim_s=sim_s)

        if not args.from_recording:
            from netgym_client.cli.collect import collect_episodes  # noqa: PLC0415

            episodes = collect_episodes(
                args.env,
                args.agent,
                seeds,
                args.steps,
                server=args.server,
                config_path=args.config,
                on_step=advance,
            )
        summary = dataset.write_dataset(
            args.out, episodes, env_name=env_name, algorithm_name=algorithm
        )
    return _print_dataset(args, summary)


def _episodes_on_ray(args: argparse.Namespace, seeds: list[int], bar: Console | None) -> list[Any]:
    """One Ray task per seed (:mod:`netgym_client.cli.ray_sweep`); the episodes in seed order.

    Raises:
        DatasetError: A seed failed twice (no dataset is written then).
    """
    from netgym_client.cli import ray_sweep  # noqa: PLC0415
    from netgym_client.recording.dataset import DatasetError  # noqa: PLC0415

    config = None if args.config is None else str(Path(args.config).resolve())
    sessions = [
        ray_sweep.DatasetSession(args.env, args.agent, seed, args.steps, args.server, config)
        for seed in seeds
    ]
    address = None if args.ray == LOCAL else args.ray
    results, failures, interrupted = ray_sweep.run_on_ray(
        sessions, ray_sweep.run_dataset_session, address, bar=bar
    )
    if interrupted:
        raise KeyboardInterrupt
    if failures:
        reasons = "; ".join(
            f"{f.session.name} failed {f.attempts} times: {f.error}" for f in failures
        )
        raise DatasetError(f"no dataset written: {reasons}")
    return [results[s] for s in sessions]


def _print_dataset(args: argparse.Namespace, summary: Any) -> int:
    figures = {
        "dataset_id": summary.dataset_id,
        "episodes": summary.episodes,
        "steps": summary.steps,
        "path": summary.path,
        "size_bytes": summary.size_bytes,
    }
    print(
        json.dumps(figures)
        if args.json
        else f"netgym: dataset {summary.dataset_id}: {summary.episodes} episodes, "
        f"{summary.steps} steps, {summary.size_bytes} bytes in {summary.path}"
    )
    return 0


def add_recording_parsers(sub: Any) -> None:
    """Add ``record``, ``replay`` and ``dataset`` to the ``netgym`` sub-parsers ``sub``."""
    rec_p = sub.add_parser(
        "record",
        help="record sessions through a proxy between a client and a server",
        description="A recording proxy: clients connect to --listen, every message goes on "
        "to --upstream unchanged and is written to --out (netgym-recording JSONL; "
        "credentials are never written). Stops on Ctrl-C.",
    )
    rec_p.add_argument(
        "--listen",
        required=True,
        metavar="tcp://HOST:PORT",
        help="where clients connect (port 0: any free one)",
    )
    rec_p.add_argument(
        "--upstream", required=True, metavar="tcp://HOST:PORT", help="the server to record"
    )
    rec_p.add_argument("--out", required=True, metavar="FILE.jsonl", help="the recording to write")
    rec_p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    rep_p = sub.add_parser(
        "replay",
        help="serve a recorded session back to a client and report divergences",
        description="Serve a recorded session: the recorded measurements in order, each "
        "incoming action checked against the recorded one. Prints a summary at the end "
        "(exit code 0 when every replay matched to the end).",
    )
    rep_p.add_argument("recording", metavar="FILE.jsonl", help="a recording (netgym record)")
    rep_p.add_argument("--port", type=int, default=8088, help="TCP port (default: %(default)s)")
    rep_p.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    rep_p.add_argument(
        "--mode",
        choices=["strict", "lenient"],
        default="strict",
        help="strict: env-error at the first divergence; lenient: keep serving "
        "(default: %(default)s)",
    )
    rep_p.add_argument("--identity", help="which recorded client to replay (default: the first)")
    rep_p.add_argument("--once", action="store_true", help="exit when the first replay ends")
    rep_p.add_argument(
        "--accounts",
        metavar="FILE.csv",
        help="check PLAIN logins against this accounts CSV (default: accept any login)",
    )
    rep_p.add_argument("--json", action="store_true", help="print the reports as JSON")
    rep_p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    ds_p = sub.add_parser(
        "dataset",
        help="collect an offline-RL dataset (Minari) with an agent, or from a recording",
        description="Collect one episode of --steps transitions per seed with --agent into "
        "the Minari dataset --out (needs the 'datasets' extra), or rebuild one from "
        "--from-recording.",
    )
    ds_p.add_argument(
        "--env",
        default="nqos_split",
        choices=ENVIRONMENTS,
        help="environment (default: %(default)s)",
    )
    ds_p.add_argument(
        "--agent",
        default=DEFAULT_AGENT,
        choices=sorted(AGENTS),
        metavar="NAME",
        help="agent collecting the data (default: %(default)s)",
    )
    ds_p.add_argument("--seeds", default="0", help="e.g. 0-63 or 1,4,9 (default: %(default)s)")
    ds_p.add_argument("--steps", type=positive, default=1000, help="transitions per seed")
    ds_p.add_argument(
        "--out",
        required=True,
        metavar="NAME",
        help="Minari dataset id, e.g. netgym/nqos_split/system_default-v0",
    )
    ds_p.add_argument(
        "--from-recording",
        metavar="FILE.jsonl",
        help="rebuild the episodes from a recording instead of running",
    )
    ds_p.add_argument("--config", metavar="FILE.json", help="JSON config merged over defaults")
    ds_p.add_argument("--server", default="embedded", help="'embedded' or tcp://host:port")
    add_ray_argument(ds_p, "seed's")
    ds_p.add_argument("--json", action="store_true", help="print JSON only (no progress bar)")
    ds_p.add_argument("--no-progress", action="store_true", help="never draw the progress bar")
    ds_p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")


#: The commands of this module, by name.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "record": _cmd_record,
    "replay": _cmd_replay,
    "dataset": _cmd_dataset,
}
