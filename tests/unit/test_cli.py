"""The ``netgym`` command, driven through ``main([...])``."""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import netgym_client
from netgym_client import cli
from netgym_client.cli.agents import AGENTS, AgentSpec
from netgym_client.cli.commands import run as cli_run
from netgym_client.cli.results import read_csv, steps_columns
from netgym_client.config import ENVIRONMENTS


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = cli.main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"netgym {netgym_client.__version__}"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_flag_has_help() -> None:
    parser = cli.build_parser()
    for name, sub in _subparsers(parser).items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or name == "bench":
                continue
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_serve_has_every_flag_of_the_simulators_serve() -> None:
    from netgym_sim.__main__ import build_parser as sim_parser

    ours = _subparsers(cli.build_parser())["serve"]
    theirs = _subparsers(sim_parser())["serve"]

    def flags(p: argparse.ArgumentParser) -> set[str]:
        return {s for a in p._actions for s in a.option_strings}

    assert flags(ours) == flags(theirs)
    assert "--port" in flags(ours)


def test_serve_forwards_its_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    import netgym_sim.__main__ as sim_main

    monkeypatch.setattr(sim_main, "main", lambda argv: seen.append(list(argv)) or 0)
    argv = ["--port", "18090", "--host", "127.0.0.1", "--idle-timeout", "5", "--log-level", "ERROR"]
    assert cli.main(["serve", *argv]) == 0
    assert seen == [["serve", *argv]]


def test_serve_rejects_an_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--prot", "1"])
    assert exit_info.value.code == 2
    assert "--prot" in capsys.readouterr().err


def test_bench_is_forwarded_to_the_bench_module(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("netgym_client.cli.bench")
    fake.main = lambda argv: seen.append(list(argv)) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "netgym_client.cli.bench", fake)
    assert cli.main(["bench", "--quick", "--env", "custom"]) == 7
    assert seen == [["--quick", "--env", "custom"]]


def test_an_agent_that_does_not_fit_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "rmcat", "--agent", "capacity", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert "'capacity'" in err and "'rmcat'" in err
    assert "nada_mirror" in err  # names the agents that fit


def test_json_run_prints_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, figures, err = run_json(
        capsys, "run", "custom", "--agent", "random", "--episodes", "2", "--steps-per-episode", "3"
    )
    assert code == 0
    assert err == ""
    assert (figures["episodes"], figures["steps"], figures["measurements"]) == (2, 4, 6)
    assert figures["interrupted"] is False
    assert figures["sim_s"] == pytest.approx(5.0)  # 6 measurements, 1 s apart


def test_the_summary_table_names_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2", "--no-progress"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    for figure in ("mean_episode_return", "steps_per_s", "interrupted"):
        assert figure in out


def test_steps_per_s_leaves_out_the_start() -> None:
    summary, _ = cli_run("custom", "random", episodes=2, steps_per_episode=3)
    assert 0 < summary.startup_s < summary.wall_s
    figures = summary.as_dict()
    assert figures["startup_s"] == round(summary.startup_s, 3)
    stepping_s = summary.wall_s - summary.startup_s
    assert figures["steps_per_s"] == round(summary.steps / stepping_s, 1)


def test_warmup_starts_each_env_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["warmup", "--env", "custom", "--env", "rmcat", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["env"] for row in rows] == ["custom", "rmcat"]
    assert all(row["first_reset_s"] > 0 for row in rows)


def test_warmup_measure_times_a_fresh_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["warmup", "--measure", "--env", "custom", "--users", "2", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["env"] == "custom" and row["users"] == 2
    for key in ("import_s", "first_reset_s", "first_step_s", "warm_step_s"):
        assert row[key] > 0, key
    assert row["first_step_x_warm"] == pytest.approx(row["first_step_s"] / row["warm_step_s"])


def test_ctrl_c_prints_the_partial_summary_and_exits_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Interrupting:
        def __init__(self, env: Any, seed: int | None) -> None:
            self.calls = 0
            self.space = env.action_space

        def act(self, observation: np.ndarray, info: Any) -> np.ndarray:
            self.calls += 1
            if self.calls == 5:
                raise KeyboardInterrupt
            return np.asarray(self.space.sample())

    monkeypatch.setitem(AGENTS, "interrupting", AgentSpec(Interrupting, "test"))
    argv = ["run", "custom", "--agent", "interrupting", "--episodes", "3", "--steps-per-episode"]
    code, figures, err = run_json(capsys, *argv, "3")
    assert code == 130
    assert figures["interrupted"] is True
    assert figures["steps"] == 4 and figures["episodes"] == 2
    assert "interrupted" in err and "Traceback" not in err


def test_envs_lists_every_environment(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows, _ = run_json(capsys, "envs")
    assert code == 0
    by_env = {r["env"]: r for r in rows}
    assert list(by_env) == list(ENVIRONMENTS)
    assert by_env["nqos_split"]["action_space"] == "Box(0.0, 1.0, (5, 3), float32)"
    assert by_env["qos_steer"]["reward_type"] == "wifi_qos_user_num"
    assert "utility_logistic" in by_env["nqos_split"]["agents"]
    assert "capacity" not in by_env["rmcat"]["agents"]


def test_envs_plain_lists_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["envs"]) == 0
    out = capsys.readouterr().out
    assert out.count("observation") == len(ENVIRONMENTS)
    assert "MultiDiscrete([2 2 2 2 2 2 2 2])" in out


def test_out_writes_the_steps_table_and_the_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["run", "nqos_split", "--agent", "throughput_argmax", "--episodes", "2"]
    code, figures, _ = run_json(capsys, *argv, "--steps-per-episode", "3", "--out", str(tmp_path))
    assert code == 0
    assert json.loads((tmp_path / "summary.json").read_text()) == figures
    header = (tmp_path / "steps.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["ts", "episode", "step", "reward", "action"]
    assert {"wifi_rate_mbps", "lte_rate_mbps", "wifi_owd_ms", "lte_owd_ms"} <= set(header)
    table = read_csv(tmp_path / "steps.csv", steps_columns(header[5:]))
    assert len(table) == 6  # 2 episodes of 3 measurements
    rewards, episodes = table.column("reward"), table.column("episode")
    for episode, expected in zip((1, 2), figures["episode_returns"], strict=True):
        mine = episodes == episode
        assert np.isnan(rewards[mine][0])  # the reset's measurement has no reward
        assert np.nansum(rewards[mine]) == pytest.approx(expected)
    actions = [json.loads(r["action"]) for r in table.rows if r["action"]]
    assert len(actions) == 4
    assert all(np.asarray(a).shape == (5, 3) for a in actions)
    users = (tmp_path / "users.csv").read_text().splitlines()
    assert len(users) == 1 + 6 * 5  # header, then 5 users per measurement


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("env", ["nqos_split", "rmcat", "network_slicing"])
def test_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path, env: str) -> None:
    target = tmp_path / "run.png"
    argv = ["run", env, "--episodes", "2", "--steps-per-episode", "3", "--plot", str(target)]
    assert cli.main([*argv, "--no-progress"]) == 0
    assert png_size(target) == (1300, 900)
    assert "plot written" in capsys.readouterr().err


def test_plot_defaults_into_the_out_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2", "--out", str(tmp_path)]
    assert cli.main([*argv, "--plot", "--json"]) == 0
    assert png_size(tmp_path / "plot.png") == (1300, 900)


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["run", "custom", "--episodes", "1", "--plot", str(tmp_path / "x.png")]
    assert cli.main(argv) == 1
    assert "pip install -e '.[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_bad_out_dir_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2", "--out", str(blocker)]
    assert cli.main([*argv, "--json"]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_episodes_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "custom", "--episodes", "0"])
    assert "at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", "-70000", "one"])
def test_a_bad_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str], seed: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "custom", "--seed", seed, "--episodes", "1"])
    assert exit_info.value.code == 2  # argparse's usage error, before any session
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err
    assert ("at least 0" in err) if seed != "one" else ("not an integer" in err)


def test_a_config_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "custom", "--steps-per-episode", "1", "--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("netgym: error:") and "steps_per_episode" in err
    assert "Traceback" not in err


def test_reward_type_flag(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "network_slicing", "--episodes", "1", "--steps-per-episode", "3"]
    code, zero, _ = run_json(capsys, *argv, "--reward-type", "")
    assert code == 0 and zero["episode_returns"] == [0.0]
    code, utility, _ = run_json(capsys, *argv, "--reward-type", "slice_utility")
    assert code == 0 and utility["episode_returns"] != [0.0]


def test_baselines_with_fixed_seeds_repeat(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["baselines", "--env", "network_slicing", "--episodes", "1", "--steps-per-episode", "4"]
    code, first, _ = run_json(capsys, *argv)
    assert code == 0
    assert [r["agent"] for r in first] == [
        "system_default",
        "equal_share",
        "user_proportional",
        "random",
    ]
    assert all(r["episodes"] == 1 and r["steps"] == 3 for r in first)
    _, second, _ = run_json(capsys, *argv)
    assert [r["episode_returns"] for r in first] == [r["episode_returns"] for r in second]


def test_baselines_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["baselines", "--env", "custom", "--episodes", "1", "--steps-per-episode", "2"]
    assert cli.main([*argv, "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| env | agent | mean return")
    assert [ln.split("|")[2].strip() for ln in lines[2:]] == ["system_default", "random"]


def test_a_full_disk_under_out_is_one_line_and_the_summary_still_shows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2", "--out", str(tmp_path)]
    assert cli.main([*argv, "--json", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["episodes"] == 1  # the run's figures are not lost
    lines = [ln for ln in captured.err.splitlines() if "No space left on device" in ln]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no half-written file


def test_results_files_appear_whole_or_not_at_all(tmp_path: Path) -> None:
    from netgym_client.cli.results import ResultsError, write_whole

    target = tmp_path / "steps.csv"
    target.write_text("old, complete\n")

    def fails_midway(f: Any) -> None:
        f.write("half a ")
        raise OSError(28, "No space left on device")

    with pytest.raises(ResultsError, match="No space left on device"):
        write_whole(target, fails_midway)
    assert target.read_text() == "old, complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["steps.csv"]


def test_run_honours_the_config_files_server_address(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from netgym_sim.embedded import FakeServer

    with FakeServer() as server:
        config = tmp_path / "c.json"
        config.write_text(json.dumps({"server": {"address": server.address}}))
        argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2"]
        assert cli.main([*argv, "--config", str(config), "--json", "--no-progress"]) == 0
        figures = json.loads(capsys.readouterr().out)
        assert figures["server"] == server.address
    with FakeServer(max_sessions=0) as full:  # proves the session goes there, not in process
        config.write_text(json.dumps({"server": {"address": full.address}}))
        assert cli.main([*argv, "--config", str(config), "--json", "--no-progress"]) == 1
        assert "no-available-worker" in capsys.readouterr().err.lower().replace(" ", "-")


def test_run_server_flag_beats_the_config_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"server": {"address": "tcp://127.0.0.1:9"}}))
    argv = ["run", "custom", "--episodes", "1", "--steps-per-episode", "2", "--server", "embedded"]
    assert cli.main([*argv, "--config", str(config), "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["server"] == "embedded"
