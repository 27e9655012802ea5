"""The benchmark table: its statistics, seeds, and ``netgym baselines`` over the scenarios."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from netgym_client import cli
from netgym_client.cli.benchmark import (
    markdown_table,
    read_rows,
    run_scenario,
    seed_list,
    summarize,
    t_quantile_975,
)
from netgym_client.scenarios import SCENARIOS


def test_summarize_is_mean_sample_std_and_the_t_interval() -> None:
    mean, std, low, high = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and std == pytest.approx(math.sqrt(2.5))
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)
    assert (low, high) == pytest.approx((3.0 - half, 3.0 + half))
    assert summarize([7.0]) == (7.0, 0.0, 7.0, 7.0)
    with pytest.raises(ValueError, match="no values"):
        summarize([])


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == 12.706 and t_quantile_975(9) == 2.262
    assert t_quantile_975(30) == 2.042 and t_quantile_975(31) == 1.96
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_seed_lists() -> None:
    assert seed_list("0-4") == [0, 1, 2, 3, 4]
    assert seed_list("3,7,0-1") == [3, 7, 0, 1]
    for bad in ("", "a", "4-2", "-1"):
        with pytest.raises(ValueError):
            seed_list(bad)


def test_a_scenario_run_is_reproducible_and_counts_its_episodes() -> None:
    scenario = SCENARIOS["qos_steer-loaded"]
    first = run_scenario(scenario, "random", seeds=(0, 1), episodes=2, steps_per_episode=3)
    again = run_scenario(scenario, "random", seeds=(0, 1), episodes=2, steps_per_episode=3)
    assert first == again
    assert (first.episodes, first.seeds, first.steps_per_episode) == (4, "0 1", 3)
    assert first.ci95_low <= first.mean <= first.ci95_high


def test_baselines_over_a_scenario_writes_what_it_prints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["baselines", "--scenario", "rmcat-varying", "--seeds", "0-1", "--steps-per-episode"]
    for suffix in (".json", ".csv"):
        out = tmp_path / f"table{suffix}"
        assert cli.main([*argv, "3", "--json", "--out", str(out)]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert [r["agent"] for r in printed] == ["nada", "nada_mirror", "random"]
        assert all(r["scenario"] == "rmcat-varying" and r["seeds"] == "0 1" for r in printed)
        assert [r.__dict__ for r in read_rows(out)] == printed


def test_baselines_markdown_over_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["baselines", "--scenario", "network_slicing-competing", "--seeds", "0"]
    assert cli.main([*argv, "--steps-per-episode", "3", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| scenario | agent | mean ± std")
    assert [ln.split("|")[2].strip() for ln in lines[2:]] == [
        "system_default",
        "equal_share",
        "user_proportional",
        "random",
    ]


def test_scenario_flags_do_not_go_with_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["baselines", "--env", "custom", "--out", "x.csv"]) == 1
    assert "--out" in capsys.readouterr().err


def test_markdown_rows() -> None:
    row = run_scenario(SCENARIOS["rmcat-varying"], "nada", seeds=(0,), steps_per_episode=3)
    (line,) = markdown_table([row])[2:]
    assert line.startswith(f"| rmcat-varying | nada | {row.mean:+.3f} ± 0.000 |")
