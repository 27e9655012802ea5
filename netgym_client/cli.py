"""``netgym``: run an agent against a NetworkGym server (the embedded simulator by default).

Examples::

    netgym run nqos_split --agent capacity --episodes 5
    netgym run custom --server tcp://127.0.0.1:8088
    netgym serve --port 8088          # same as: python -m netgym_sim serve --port 8088
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from netgym_client.agents import AGENTS, make_agent
from netgym_client.config import ENVIRONMENTS
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import NetGymError

__all__ = ["ProgressBar", "RunSummary", "main", "run"]


class ProgressBar:
    """A one-line text progress bar on a terminal stream."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.done = 0
        self.started = time.perf_counter()

    def update(self, done: int, note: str = "") -> None:
        """Redraw with ``done`` of ``total`` finished."""
        self.done = done
        frac = min(done / self.total, 1.0)
        filled = int(frac * self.width)
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {rate:7.1f} steps/s {note}")
        self.stream.flush()

    def finish(self) -> None:
        """End the line."""
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class RunSummary:
    """What one run measured."""

    env: str
    agent: str
    server: str
    measurements: int = 0
    episode_returns: list[float] = field(default_factory=list)
    filled_values: int = 0
    wall_s: float = 0.0
    last_ts: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        returns = np.asarray(self.episode_returns, dtype=float)
        return {
            "env": self.env,
            "agent": self.agent,
            "server": self.server,
            "episodes": len(self.episode_returns),
            "measurements": self.measurements,
            "mean_episode_return": float(returns.mean()) if returns.size else None,
            "min_episode_return": float(returns.min()) if returns.size else None,
            "max_episode_return": float(returns.max()) if returns.size else None,
            "filled_values": self.filled_values,
            "last_ts_ms": self.last_ts,
            "wall_s": round(self.wall_s, 3),
            "steps_per_s": round(self.measurements / self.wall_s, 1) if self.wall_s else None,
        }


def run(
    env_name: str,
    agent_name: str,
    *,
    episodes: int,
    steps_per_episode: int | None = None,
    server: str = "embedded",
    seed: int | None = 0,
    config_path: str | None = None,
    progress: ProgressBar | None = None,
) -> RunSummary:
    """Run ``episodes`` episodes of ``agent_name`` in one session and summarise them."""
    env_config: dict[str, Any] = {"episodes_per_session": episodes}
    if steps_per_episode is not None:
        env_config["steps_per_episode"] = steps_per_episode
    env = NetworkGymEnv(
        env_name, config={"env_config": env_config}, server=server, config_path=config_path
    )
    summary = RunSummary(env_name, agent_name, server)
    steps = int(env.config.env_config["steps_per_episode"])
    if progress is not None:
        progress.total = steps * episodes
    started = time.perf_counter()
    try:
        agent = make_agent(agent_name, env, seed)
        obs, info = env.reset(seed=seed)
        for episode in range(episodes):
            if episode:
                obs, info = env.reset()
            summary.measurements += 1
            total = 0.0
            truncated = terminated = False
            while not (truncated or terminated):
                obs, reward, terminated, truncated, info = env.step(agent.act(obs))
                summary.measurements += 1
                summary.filled_values += int(info.get("filled_values", 0))
                total += reward
                if progress is not None:
                    progress.update(summary.measurements, f"ep {episode + 1}/{episodes}")
            summary.episode_returns.append(total)
            summary.last_ts = info["network_stats"].ts
    finally:
        env.close()
        summary.wall_s = time.perf_counter() - started
    return summary


def _print_summary(summary: RunSummary, stream: TextIO) -> None:
    figures = summary.as_dict()
    stream.write("\nSummary\n")
    for key, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        stream.write(f"  {key:<22} {shown}\n")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="netgym", description=__doc__.splitlines()[0].replace("``", "")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run an agent for some episodes and print a summary")
    run_p.add_argument("env", nargs="?", default="nqos_split", choices=ENVIRONMENTS)
    run_p.add_argument("--agent", default="capacity", choices=sorted(AGENTS))
    run_p.add_argument("--episodes", type=int, default=5)
    run_p.add_argument("--steps-per-episode", type=int)
    run_p.add_argument("--server", default="embedded", help="'embedded' or tcp://host:port")
    run_p.add_argument("--seed", type=int, default=0)
    run_p.add_argument("--config", help="JSON config file merged over the defaults")
    run_p.add_argument("--json", action="store_true", help="print the summary as JSON")
    run_p.add_argument("--no-progress", action="store_true")
    run_p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    serve_p = sub.add_parser("serve", help="run the simulated server (python -m netgym_sim serve)")
    serve_p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netgym`` command."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from netgym_sim.__main__ import main as serve_main  # noqa: PLC0415 (optional layer)

        return serve_main(["serve", *args.rest])
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    agent = args.agent
    if agent == "capacity" and args.env != "nqos_split":
        agent = "random"
    bar = None if args.no_progress else ProgressBar(1, sys.stderr)
    try:
        summary = run(
            args.env,
            agent,
            episodes=args.episodes,
            steps_per_episode=args.steps_per_episode,
            server=args.server,
            seed=args.seed,
            config_path=args.config,
            progress=bar,
        )
    except (NetGymError, ValueError) as exc:
        if bar is not None:
            bar.finish()
        print(f"netgym: error: {exc}", file=sys.stderr)
        return 1
    if bar is not None:
        bar.finish()
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        _print_summary(summary, sys.stdout)
    return 0
