"""``netgym``: run agents against a NetworkGym server (the embedded simulator by default).

Examples::

    netgym run nqos_split --agent utility_logistic --episodes 5
    netgym run nqos_split --agent throughput_argmax --out results/ --plot
    netgym run custom --server tcp://127.0.0.1:8088
    netgym baselines --episodes 10
    netgym envs
    netgym serve --port 8088          # same flags as: python -m netgym_sim serve
    netgym bench --quick
    netgym record --listen tcp://127.0.0.1:8090 --upstream tcp://HOST:8088 --out session.jsonl
    netgym replay session.jsonl --port 8088 --mode strict
    netgym dataset --env nqos_split --agent system_default --seeds 0-63 --steps 10000 --out NAME

The progress bar (steps, episodes, simulated time, steps/s, ETA) is drawn on stderr only when
both stdout and stderr are terminals and ``--json`` is not given. Ctrl-C ends a run early:
the summary of what ran is printed and the exit code is 130.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    Progress,
)
from rich.table import Table as RichTable

import netgym_client
from netgym_client.adapters import adapter_class
from netgym_client.cli import scenario_table
from netgym_client.cli.agents import AGENTS, BASELINES, AgentError, agents_for, make_agent
from netgym_client.cli.benchmark import seed_arg
from netgym_client.cli.console import (
    DEFAULT_AGENT,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    error,
    positive,
    progress_bar,
    seed_value,
    setup_logging,
    show_progress,
)
from netgym_client.cli.results import ResultsError, RunRecorder, write_results
from netgym_client.config import ENVIRONMENTS, load_config
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import NetGymError
from netgym_client.scenarios import SCENARIOS

__all__ = ["RunSummary", "build_parser", "main", "run"]

logger = logging.getLogger("netgym_client.cli")

#: Episodes per (env, agent) of ``netgym baselines`` and its first seed.
BASELINE_EPISODES = 10
BASELINE_SEED = 0

StepCallback = Callable[["RunSummary"], None]


@dataclass
class RunSummary:
    """What one run measured (filled while it runs, so an interrupted run has a summary)."""

    env: str
    agent: str
    server: str
    seed: int | None
    episodes_planned: int = 0
    steps_planned: int = 0
    measurements: int = 0
    steps: int = 0
    episode_returns: list[float] = field(default_factory=list)
    current_return: float = 0.0
    filled_values: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    wall_s: float = 0.0
    #: Seconds of the first reset: the session's start, with loading the simulator (and, on
    #: the first run after an install, compiling its numba kernel: ``netgym warmup``).
    startup_s: float = 0.0
    interrupted: bool = False
    error: str | None = None

    @property
    def sim_s(self) -> float:
        """Simulated time covered so far, seconds."""
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return (self.last_ts - self.first_ts) / 1000.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        returns = np.asarray(self.episode_returns, dtype=float)
        stepping_s = self.wall_s - self.startup_s  # the steps' rate, not the start's
        return {
            "env": self.env,
            "agent": self.agent,
            "server": self.server,
            "seed": self.seed,
            "episodes": len(self.episode_returns),
            "steps": self.steps,
            "measurements": self.measurements,
            "mean_episode_return": float(returns.mean()) if returns.size else None,
            "std_episode_return": float(returns.std()) if returns.size else None,
            "min_episode_return": float(returns.min()) if returns.size else None,
            "max_episode_return": float(returns.max()) if returns.size else None,
            "episode_returns": [float(r) for r in returns],
            "filled_values": self.filled_values,
            "last_ts_ms": self.last_ts,
            "sim_s": round(self.sim_s, 3),
            "wall_s": round(self.wall_s, 3),
            "startup_s": round(self.startup_s, 3),
            "steps_per_s": round(self.steps / stepping_s, 1) if stepping_s > 0 else None,
            "interrupted": self.interrupted,
            "error": self.error,
        }


def run(
    env_name: str,
    agent_name: str,
    *,
    episodes: int,
    steps_per_episode: int | None = None,
    server: str | None = None,
    seed: int | None = 0,
    config_path: str | None = None,
    reward_type: str | None = None,
    record: bool = False,
    on_step: StepCallback | None = None,
    keep_partial: bool = False,
) -> tuple[RunSummary, RunRecorder | None]:
    """Run ``episodes`` episodes of ``agent_name`` in one session and summarise them.

    Ctrl-C (``KeyboardInterrupt``) during the episodes ends the run early: the summary so far
    is returned with ``interrupted`` set. With ``keep_partial`` a server or transport fault
    during the episodes ends the run the same way, with ``error`` naming it (the env has
    already closed its socket). With ``record`` the second value is a
    :class:`~netgym_client.cli.results.RunRecorder` holding every measurement's rows.

    Raises:
        AgentError: The agent is unknown or does not fit the environment.
        NetGymError: A configuration, transport or server fault.
    """
    env_config: dict[str, Any] = {"episodes_per_session": episodes}
    if steps_per_episode is not None:
        env_config["steps_per_episode"] = steps_per_episode
    overrides: dict[str, Any] = {"env_config": env_config}
    if reward_type is not None:
        overrides["rl_config"] = {"reward_type": reward_type}
    env = NetworkGymEnv(env_name, config=overrides, server=server, config_path=config_path)
    address = env.config.server.address  # --server, else the config file's, else embedded
    summary = RunSummary(env_name, agent_name, address, seed, episodes_planned=episodes)
    steps = int(env.config.env_config["steps_per_episode"])
    summary.steps_planned = (steps - 1) * episodes
    started = time.perf_counter()
    rec = RunRecorder(env.config) if record else None
    try:
        agent = make_agent(agent_name, env, seed)
        for episode in range(1, episodes + 1):
            obs, info = env.reset(seed=seed) if episode == 1 else env.reset()
            if episode == 1:
                summary.startup_s = time.perf_counter() - started
            stats = info["network_stats"]
            summary.measurements += 1
            summary.first_ts = stats.ts if summary.first_ts is None else summary.first_ts
            summary.last_ts = stats.ts
            if rec is not None:
                rec.record(episode, env.current_step, stats, None, None)
            summary.current_return = 0.0
            done = False
            while not done:
                action = agent.act(obs, info)
                obs, reward, terminated, truncated, info = env.step(action)
                done = terminated or truncated
                stats = info["network_stats"]
                summary.measurements += 1
                summary.steps += 1
                summary.filled_values += int(info.get("filled_values", 0))
                summary.current_return += float(reward)
                summary.last_ts = stats.ts
                if rec is not None:
                    rec.record(episode, env.current_step, stats, float(reward), action)
                if on_step is not None:
                    on_step(summary)
            summary.episode_returns.append(summary.current_return)
            logger.info(
                "episode %d/%d done: return %.4f", episode, episodes, summary.current_return
            )
    except KeyboardInterrupt:
        summary.interrupted = True
    except AgentError:
        raise
    except NetGymError as exc:
        if not keep_partial:
            raise
        summary.error = f"{type(exc).__name__}: {exc}"
    finally:
        summary.wall_s = time.perf_counter() - started
        env.close()
    return summary, rec


# -- presentation -----------------------------------------------------------------------


def _step_callback(progress: Progress | None, description: str) -> StepCallback | None:
    if progress is None:
        return None
    task = progress.add_task(description, total=None, episode="0/0", sim_s=0.0)

    def on_step(summary: RunSummary) -> None:
        progress.update(
            task,
            total=summary.steps_planned,
            completed=summary.steps,
            episode=f"{len(summary.episode_returns) + 1}/{summary.episodes_planned}",
            sim_s=summary.sim_s,
        )

    return on_step


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    if value is None:
        return "–"
    return str(value)


def _print_summary(summary: RunSummary, console: Console) -> None:
    status = " (interrupted)" if summary.interrupted else " (failed)" if summary.error else ""
    table = RichTable(title="netgym run" + status)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.as_dict().items():
        shown = ", ".join(f"{r:.3f}" for r in value) or "–" if key == "episode_returns" else value
        table.add_row(key, _fmt(shown))
    console.print(table)


# -- commands ---------------------------------------------------------------------------
def _cmd_run(args: argparse.Namespace) -> int:
    out, err = Console(file=sys.stdout), Console(file=sys.stderr)
    show = show_progress(args)
    setup_logging(args.verbose, err, show)
    wants_files = args.out is not None or args.plot is not None
    if args.plot is not None:
        from netgym_client.cli import plot  # noqa: PLC0415 (optional extra)

        try:
            plot.require_matplotlib()
        except plot.MissingExtra as exc:
            return error(str(exc))
    with progress_bar(show, err) as progress:
        summary, rec = run(
            args.env,
            args.agent,
            episodes=args.episodes,
            steps_per_episode=args.steps_per_episode,
            server=args.server,
            seed=args.seed,
            config_path=args.config,
            reward_type=args.reward_type,
            record=wants_files,
            on_step=_step_callback(progress, f"{args.env}/{args.agent}"),
            keep_partial=True,
        )
    figures = summary.as_dict()
    unwritten: ResultsError | None = None
    if rec is not None and args.out is not None:
        try:
            for path in write_results(args.out, rec, figures):
                logger.info("wrote %s", path)
        except ResultsError as exc:  # the summary below still shows the run
            unwritten = exc
    if rec is not None and args.plot is not None:
        from netgym_client.cli.plot import plot_run  # noqa: PLC0415 (optional extra)

        target = Path(args.plot) if args.plot else _default_plot_path(args)
        plot_run(target, rec, title=f"{args.env} · {args.agent} · seed {args.seed}")
        print(f"netgym: plot written to {target}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures))
    else:
        _print_summary(summary, out)
    if unwritten is not None:
        return error(f"{unwritten} (the summary above is the run's)")
    if summary.interrupted:
        print("netgym: interrupted; the summary covers what ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.error is not None:
        return error(f"{summary.error} (the summary covers what ran)")
    return 0


def _default_plot_path(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return Path(args.out) / "plot.png"
    return Path(f"netgym-{args.env}-{args.agent}.png")


def _baseline_rows(args: argparse.Namespace, progress: Progress | None) -> list[dict[str, Any]]:
    rows = []
    envs = args.env or list(BASELINES)
    for env_name in envs:
        for agent_name in BASELINES[env_name]:
            summary, _ = run(
                env_name,
                agent_name,
                episodes=args.episodes,
                steps_per_episode=args.steps_per_episode,
                server=args.server,
                seed=args.seed,
                on_step=_step_callback(progress, f"{env_name}/{agent_name}"),
            )
            figures = summary.as_dict()
            rows.append(figures)
            if summary.interrupted:
                return rows
    return rows


def _cmd_baselines(args: argparse.Namespace) -> int:
    if not args.env:
        return scenario_table.command(args)
    if args.out is not None or args.scenario or args.seeds is not None or args.ray:
        return error("--out, --scenario, --seeds and --ray go with the scenarios, not --env")
    if args.episodes is None:
        args.episodes = BASELINE_EPISODES
    out, err = Console(file=sys.stdout), Console(file=sys.stderr)
    show = show_progress(args)
    setup_logging(args.verbose, err, show)
    with progress_bar(show, err) as progress:
        rows = _baseline_rows(args, progress)
    interrupted = any(r["interrupted"] for r in rows)
    columns = ("env", "agent", "episodes", "steps", "mean_episode_return", "std_episode_return")
    if args.json:
        print(json.dumps(rows))
    elif args.markdown:
        print("| env | agent | mean return | std | episodes | steps |")
        print("|---|---|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['env']} | {r['agent']} | {_fmt(r['mean_episode_return'])} | "
                f"{_fmt(r['std_episode_return'])} | {r['episodes']} | {r['steps']} |"
            )
    else:
        table = RichTable(title=f"netgym baselines (seed {args.seed})")
        for name in columns:
            table.add_column(name, justify="right" if name not in ("env", "agent") else "left")
        for r in rows:
            table.add_row(*(_fmt(r[name]) for name in columns))
        out.print(table)
    if interrupted:
        print("netgym: interrupted; the table covers what ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def env_descriptions() -> list[dict[str, Any]]:
    """Per environment: spaces, reward types (default first) and the agents that fit."""
    from netgym_client._config_schema import allowed_reward_types  # noqa: PLC0415

    rows = []
    for env_name in ENVIRONMENTS:
        config = load_config(env_name)
        adapter = adapter_class(env_name)(config)
        default = str(config.rl_config.get("reward_type", ""))
        others = sorted(allowed_reward_types(env_name) - {default})
        rows.append(
            {
                "env": env_name,
                "observation_space": str(adapter.observation_space),
                "action_space": str(adapter.action_space),
                "reward_type": default,
                "other_reward_types": others,
                "steps_per_episode": int(config.env_config["steps_per_episode"]),
                "agents": agents_for(env_name),
            }
        )
    return rows


def _cmd_envs(args: argparse.Namespace) -> int:
    rows = env_descriptions()
    if args.json:
        print(json.dumps(rows))
        return 0
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    for r in rows:
        rewards = repr(r["reward_type"]) + " (default)"
        if r["other_reward_types"]:
            rewards += "; also " + ", ".join(repr(t) for t in r["other_reward_types"])
        console.print(f"[bold]{r['env']}[/bold]  ({r['steps_per_episode']} steps per episode)")
        console.print(f"  observation  {r['observation_space']}", markup=False)
        console.print(f"  action       {r['action_space']}", markup=False)
        console.print(f"  reward_type  {rewards}", markup=False)
        console.print(f"  agents       {', '.join(r['agents'])}", markup=False)
    return 0


def _cmd_serve(raw: Sequence[str]) -> int:
    from netgym_sim.embedded import serve  # noqa: PLC0415 (the sim loads when asked for)

    return serve(raw)


def _cmd_bench(raw: Sequence[str]) -> int:
    from netgym_client.cli.bench import main as bench_main  # noqa: PLC0415 (heavy, rarely used)

    return bench_main(list(raw))


# -- parser -----------------------------------------------------------------------------


def _add_session_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--steps-per-episode",
        type=int,
        metavar="N",
        help="measurements per episode, at least 2 (default: the environment's own)",
    )
    p.add_argument(
        "--server",
        default=None,
        help="'embedded' (in-process simulator) or tcp://host:port of a server "
        "(default: the --config file's server.address, else embedded)",
    )
    p.add_argument(
        "--seed",
        type=seed_value,
        default=0,
        help="the first session's random_seed, >= 0 (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print JSON only (no progress bar)")
    p.add_argument("--no-progress", action="store_true", help="never draw the progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level to stderr")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    from netgym_sim.embedded import SERVE_DESCRIPTION, add_serve_arguments  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="netgym",
        description="Run agents against a NetworkGym server (the embedded simulator by "
        "default), list environments, compare baselines, serve the simulator.",
    )
    parser.add_argument(
        "--version", action="version", version=f"netgym {netgym_client.__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_p = sub.add_parser(
        "run",
        help="run an agent for some episodes and print a summary",
        description="Run an agent for some episodes of one session and print a summary.",
    )
    run_p.add_argument(
        "env",
        nargs="?",
        default="nqos_split",
        choices=ENVIRONMENTS,
        help="environment (default: %(default)s)",
    )
    run_p.add_argument(
        "--agent",
        default=DEFAULT_AGENT,
        choices=sorted(AGENTS),
        metavar="NAME",
        help=f"agent to run, one of: {', '.join(sorted(AGENTS))}; `netgym envs` lists "
        "those that fit each environment (default: %(default)s)",
    )
    run_p.add_argument(
        "--episodes", type=positive, default=5, help="episodes to run (default: %(default)s)"
    )
    run_p.add_argument("--config", metavar="FILE.json", help="JSON config merged over defaults")
    run_p.add_argument(
        "--reward-type",
        metavar="TYPE",
        help="rl_config.reward_type; '' keeps the original's (default: the environment's)",
    )
    run_p.add_argument(
        "--out",
        metavar="DIR",
        help="write steps.csv (per step), users.csv (positions) and summary.json to DIR",
    )
    run_p.add_argument(
        "--plot",
        nargs="?",
        const="",
        metavar="FILE.png",
        help="draw reward, rates, delays and the users' map as a PNG (needs the 'plot' "
        "extra; default file: DIR/plot.png with --out, else netgym-<env>-<agent>.png)",
    )
    _add_session_flags(run_p)

    base_p = sub.add_parser(
        "baselines",
        help="run every baseline agent on every benchmark scenario with fixed seeds",
        description="Run the baseline agents on each benchmark scenario (one session per "
        "fixed seed) and print the mean reward per step with its spread and 95 %% interval; "
        "with --env, run them on the environments' default configurations instead (one "
        "session of --episodes episodes, the mean episode return).",
    )
    base_p.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="scenario to include (repeatable; default: all)",
    )
    base_p.add_argument(
        "--seeds",
        type=seed_arg,
        metavar="LIST",
        help="seeds of the scenarios, e.g. 0-4 or 0,3,7 (default: each scenario's own)",
    )
    base_p.add_argument(
        "--out",
        metavar="FILE",
        help="also write the scenario table to FILE: CSV if it ends in .csv, else JSON",
    )
    base_p.add_argument(
        "--env",
        action="append",
        choices=list(BASELINES),
        help="run the default configuration of this environment instead (repeatable)",
    )
    base_p.add_argument(
        "--episodes",
        type=positive,
        default=None,
        help=f"episodes per session (default: each scenario's own; {BASELINE_EPISODES} with --env)",
    )
    base_p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    scenario_table.add_ray_argument(base_p, "(scenario, agent, seed)")
    _add_session_flags(base_p)

    envs_p = sub.add_parser(
        "envs",
        help="list environments with their spaces, reward types and agents",
        description="List the environments with their spaces, reward types and agents.",
    )
    envs_p.add_argument("--json", action="store_true", help="print JSON")

    serve_p = sub.add_parser(
        "serve",
        help="run the simulated server (the flags of python -m netgym_sim serve)",
        description=SERVE_DESCRIPTION,
    )
    add_serve_arguments(serve_p)

    warm_p = sub.add_parser(
        "warmup",
        help="start each environment once, so that its compiled kernel is cached",
        description="Start one short session of each environment in process, so that "
        "numba compiles the simulator's kernel into its cache now and not in the first "
        "session of a run; --measure times a fresh process instead (cold start).",
    )
    warm_p.add_argument(
        "--env", action="append", choices=list(ENVIRONMENTS), help="repeatable (default: all)"
    )
    warm_p.add_argument(
        "--measure",
        action="store_true",
        help="time import, first reset, first step and a warm step in a fresh process",
    )
    warm_p.add_argument("--users", type=positive, default=16, help="users with --measure")
    warm_p.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser(
        "bench",
        help="steps per second of every path (netgym bench --help for its flags)",
        add_help=False,
    )
    from netgym_client.cli.recording import add_recording_parsers  # noqa: PLC0415

    add_recording_parsers(sub)
    keys_p = sub.add_parser(
        "keys",
        help="write a CURVE key pair for an encrypted server",
        description="Write NAME.key (public: give it to clients as server.server_public_key) "
        "and NAME.key_secret (secret: serve --curve-secret-key) into DIR.",
    )
    keys_p.add_argument("dir", metavar="DIR", help="folder to write the two files into")
    keys_p.add_argument("--name", default="server", help="file name stem (default: %(default)s)")
    return parser


def _cmd_warmup(args: argparse.Namespace) -> int:
    from netgym_client.cli.warmup import measure_cold_start, warm_up  # noqa: PLC0415

    envs = args.env or list(ENVIRONMENTS)
    if not args.measure:
        rows: list[dict[str, Any]] = [
            {"env": env, "first_reset_s": seconds} for env, seconds in warm_up(envs)
        ]
    else:
        rows = [measure_cold_start(env, args.users) for env in envs]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        print("  ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
    return 0


def _cmd_keys(args: argparse.Namespace) -> int:
    from netgym_client.keys import load_public_key, write_keypair  # noqa: PLC0415

    public, secret = write_keypair(args.dir, args.name)
    print(f"public key {load_public_key(str(public))}")
    print(f"wrote {public} (public) and {secret} (secret, mode 600)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netgym`` command; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["bench"]:
            return _cmd_bench(args_list[1:])
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command == "serve":
            return _cmd_serve(args_list[1:])
        if args.command in ("record", "replay", "dataset"):
            from netgym_client.cli.recording import COMMANDS  # noqa: PLC0415

            return COMMANDS[args.command](args)
        if args.command == "keys":
            return _cmd_keys(args)
        if args.command == "warmup":
            return _cmd_warmup(args)
        if args.command == "envs":
            return _cmd_envs(args)
        if args.command == "baselines":
            return _cmd_baselines(args)
        return _cmd_run(args)
    except AgentError as exc:
        return error(str(exc), EXIT_USAGE)
    except NetGymError as exc:
        return error(str(exc))
    except KeyboardInterrupt:
        print("netgym: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
