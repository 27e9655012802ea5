"""The benchmark table: every baseline agent on every scenario, over fixed seeds.

Rules:
- One session per (scenario, agent, seed), seeded with ``random_seed = seed`` (the agent too),
  of the scenario's ``episodes`` episodes of ``steps_per_episode`` measurements each.
- The figure of an episode is its mean reward per step (so scenarios of different lengths
  compare); a row gives, over every episode of every seed, the mean, the sample standard
  deviation (``std``, 0 for one episode) and the 95 % confidence interval of the mean
  (Student's t with ``n − 1`` degrees of freedom; the mean itself for one episode).
- :func:`write_rows` writes the rows as CSV (``.csv``) or JSON (``.json``);
  :func:`read_rows` reads either back to equal rows (floats bit for bit).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from rich.table import Table as RichTable

from netgym_client.cli.agents import BASELINES, make_agent
from netgym_client.cli.results import ResultsError, Table, read_csv, write_csv, write_whole
from netgym_client.scenarios import SCENARIOS, Scenario

__all__ = [
    "ROW_COLUMNS",
    "BenchmarkRow",
    "baselines_of",
    "read_rows",
    "row_of",
    "run_scenario",
    "summarize",
    "t_quantile_975",
    "write_rows",
]

logger = logging.getLogger(__name__)

#: Two-sided 95 % quantiles of Student's t, by degrees of freedom 1–30.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(dof: int) -> float:
    """Student's t 97.5 % quantile for ``dof`` ≥ 1 degrees of freedom (1.96 above 30)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof}")
    return _T975[dof - 1] if dof <= len(_T975) else 1.96


@dataclass(frozen=True)
class BenchmarkRow:
    """One agent on one scenario: the per-step reward's mean over episodes, spread and CI."""

    scenario: str
    env: str
    agent: str
    seeds: str
    episodes: int
    steps_per_episode: int
    mean: float
    std: float
    ci95_low: float
    ci95_high: float


ROW_COLUMNS: dict[str, type[int] | type[float] | type[str]] = {
    "scenario": str,
    "env": str,
    "agent": str,
    "seeds": str,
    "episodes": int,
    "steps_per_episode": int,
    "mean": float,
    "std": float,
    "ci95_low": float,
    "ci95_high": float,
}


def summarize(values: Sequence[float]) -> tuple[float, float, float, float]:
    """``(mean, std, ci95_low, ci95_high)`` of ``values`` (at least one)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no values to summarize")
    mean = float(data.mean())
    if data.size == 1:
        return mean, 0.0, mean, mean
    std = float(data.std(ddof=1))
    half = t_quantile_975(data.size - 1) * std / math.sqrt(data.size)
    return mean, std, mean - half, mean + half


def _seed_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return " ".join(str(s) for s in seeds)


def baselines_of(scenario: Scenario) -> tuple[str, ...]:
    """The agents ``netgym baselines`` runs on ``scenario``: its environment's baselines."""
    return BASELINES[scenario.env]


def episode_means(
    scenario: Scenario,
    agent: str,
    seed: int,
    *,
    episodes: int | None = None,
    steps_per_episode: int | None = None,
    server: str | None = None,
    on_step: Callable[[], None] | None = None,
) -> list[float]:
    """The mean reward per step of each episode of one seeded session of ``agent``."""
    from netgym_client.env import NetworkGymEnv  # noqa: PLC0415 (loads the env lazily)

    episodes = scenario.episodes if episodes is None else episodes
    steps = scenario.steps_per_episode if steps_per_episode is None else steps_per_episode
    extra = {
        "env_config": {
            "random_seed": seed,
            "episodes_per_session": episodes,
            "steps_per_episode": steps,
        }
    }
    env = NetworkGymEnv(scenario.env, config=scenario.config(extra), server=server)
    means: list[float] = []
    try:
        actor = make_agent(agent, env, seed)
        for episode in range(episodes):
            obs, info = env.reset(seed=seed) if episode == 0 else env.reset()
            total, count, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, info = env.step(actor.act(obs, info))
                total += float(reward)
                count += 1
                done = terminated or truncated
                if on_step is not None:
                    on_step()
            means.append(total / max(count, 1))
    finally:
        env.close()
    return means


def run_scenario(
    scenario: Scenario,
    agent: str,
    *,
    seeds: Sequence[int] | None = None,
    episodes: int | None = None,
    steps_per_episode: int | None = None,
    server: str | None = None,
    on_step: Callable[[], None] | None = None,
) -> BenchmarkRow:
    """Run ``agent`` on ``scenario`` for every seed and summarize its episodes."""
    seeds = tuple(scenario.seeds if seeds is None else seeds)
    values: list[float] = []
    for seed in seeds:
        values.extend(
            episode_means(
                scenario,
                agent,
                seed,
                episodes=episodes,
                steps_per_episode=steps_per_episode,
                server=server,
                on_step=on_step,
            )
        )
    return row_of(scenario, agent, seeds, values, steps_per_episode=steps_per_episode)


def row_of(
    scenario: Scenario,
    agent: str,
    seeds: Sequence[int],
    values: Sequence[float],
    *,
    steps_per_episode: int | None = None,
) -> BenchmarkRow:
    """The row of ``agent`` on ``scenario``: ``values`` (the episodes of ``seeds``, in order)."""
    mean, std, low, high = summarize(values)
    logger.info(
        "%s / %s: %.4f ± %.4f over %d episodes", scenario.key, agent, mean, std, len(values)
    )
    return BenchmarkRow(
        scenario=scenario.key,
        env=scenario.env,
        agent=agent,
        seeds=_seed_text(seeds),
        episodes=len(values),
        steps_per_episode=scenario.steps_per_episode
        if steps_per_episode is None
        else steps_per_episode,
        mean=mean,
        std=std,
        ci95_low=low,
        ci95_high=high,
    )


def as_dicts(rows: Sequence[BenchmarkRow]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (the JSON file's and ``--json``'s form)."""
    return [asdict(row) for row in rows]


def write_rows(path: str | Path, rows: Sequence[BenchmarkRow]) -> None:
    """Write ``rows`` as CSV (a ``.csv`` path) or JSON (anything else).

    Raises:
        ResultsError: The file cannot be written.
    """
    target = Path(path)
    if target.suffix.lower() == ".csv":
        table = Table(dict(ROW_COLUMNS))
        for row in rows:
            table.append(asdict(row))
        write_csv(target, table)
        return
    text = json.dumps(as_dicts(rows), indent=2) + "\n"

    def write(f: IO[str]) -> None:
        f.write(text)

    write_whole(target, write)


def _row(fields: dict[str, Any], where: str) -> BenchmarkRow:
    if set(fields) != set(ROW_COLUMNS):
        raise ResultsError(f"{where}: columns {sorted(fields)} differ from {list(ROW_COLUMNS)}")
    for name, kind in ROW_COLUMNS.items():
        value = fields[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            fields[name] = float(value)
        elif not isinstance(fields[name], kind) or isinstance(value, bool):
            raise ResultsError(f"{where}: {name} is not {kind.__name__}: {value!r}")
    return BenchmarkRow(**fields)


def read_rows(path: str | Path) -> list[BenchmarkRow]:
    """Read rows written by :func:`write_rows` (CSV or JSON, by the suffix).

    Raises:
        ResultsError: The file does not hold benchmark rows.
    """
    source = Path(path)
    if source.suffix.lower() == ".csv":
        table = read_csv(source, ROW_COLUMNS)
        return [_row(dict(r), f"{source}:{i + 2}") for i, r in enumerate(table.rows)]
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{source}: not readable JSON: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ResultsError(f"{source}: not a list of rows")
    return [_row(dict(r), f"{source}[{i}]") for i, r in enumerate(data)]


def scenarios_named(names: Sequence[str] | None) -> list[Scenario]:
    """The scenarios called ``names`` (all of them for ``None``), in table order."""
    if not names:
        return list(SCENARIOS.values())
    return [SCENARIOS[n] for n in names]


# -- the command ------------------------------------------------------------------------
def seed_list(text: str) -> list[int]:
    """``"0-4"`` or ``"0,3,7"`` (or both, comma-separated) as a list of seeds ≥ 0.

    Raises:
        ValueError: Not of that form, or a seed below 0.
    """
    seeds: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        low = int(first)
        high = int(last) if dash else low
        if low < 0 or high < low:
            raise ValueError(f"bad seed range {part!r}")
        seeds.extend(range(low, high + 1))
    if not seeds:
        raise ValueError("no seeds")
    return seeds


def seed_arg(text: str) -> list[int]:
    """:func:`seed_list` as an ``argparse`` type."""
    try:
        return seed_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc} (e.g. 0-4 or 0,3,7)") from exc


def markdown_table(rows: Sequence[BenchmarkRow]) -> list[str]:
    """The rows as Markdown lines: mean ± std and the 95 % interval per agent."""
    lines = [
        "| scenario | agent | mean ± std (per step) | 95 % CI | episodes (seeds) | steps |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.agent} | {r.mean:+.3f} ± {r.std:.3f} | "
            f"[{r.ci95_low:+.3f}, {r.ci95_high:+.3f}] | {r.episodes} ({r.seeds}) | "
            f"{r.steps_per_episode} |"
        )
    return lines


def run_table(
    scenarios: Sequence[Scenario],
    *,
    seeds: Sequence[int] | None = None,
    episodes: int | None = None,
    steps_per_episode: int | None = None,
    server: str | None = None,
    on_row: Callable[[str], Callable[[], None] | None] | None = None,
) -> tuple[list[BenchmarkRow], bool]:
    """Every baseline of every scenario; ``(rows, interrupted)`` (Ctrl-C ends it early)."""
    rows: list[BenchmarkRow] = []
    try:
        for scenario in scenarios:
            for agent in baselines_of(scenario):
                rows.append(
                    run_scenario(
                        scenario,
                        agent,
                        seeds=seeds,
                        episodes=episodes,
                        steps_per_episode=steps_per_episode,
                        server=server,
                        on_step=None if on_row is None else on_row(f"{scenario.key}/{agent}"),
                    )
                )
    except KeyboardInterrupt:
        return rows, True
    return rows, False


def rich_table(rows: Sequence[BenchmarkRow]) -> RichTable:
    """The rows as a rich table (mean ± std, 95 % interval, episodes and seeds, steps)."""
    table = RichTable(title="netgym baselines: mean reward per step over fixed seeds")
    for name in ("scenario", "agent", "mean ± std", "95 % CI", "episodes (seeds)", "steps"):
        table.add_column(name, justify="left" if name in ("scenario", "agent") else "right")
    for r in rows:
        table.add_row(
            r.scenario,
            r.agent,
            f"{r.mean:+.3f} ± {r.std:.3f}",
            f"[{r.ci95_low:+.3f}, {r.ci95_high:+.3f}]",
            f"{r.episodes} ({r.seeds})",
            str(r.steps_per_episode),
        )
    return table
