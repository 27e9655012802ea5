"""``netgym baselines --ray`` without Ray: the fan-out, retry and table rules on a fake executor.

The fake runs each session in this process (the body a Ray task runs) and finishes them in
reverse order of submission, as a cluster may; scripted errors stand for failed tasks.
The same rules on a real local Ray cluster: ``tests/unit/test_ray.py`` (marker ``ray``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from netgym_client import cli
from netgym_client.cli import ray_sweep
from netgym_client.cli.benchmark import run_table
from netgym_client.cli.collect import collect_episodes
from netgym_client.cli.ray_sweep import gather, plan, run_session, table_rows
from netgym_client.cli.scenario_table import LOCAL
from netgym_client.scenarios import SCENARIOS


class FakeExecutor:
    """Sessions run at submit; ``wait`` hands back the latest one first."""

    def __init__(
        self,
        failures: dict[tuple[str, int], int] | None = None,
        run: Callable[[Any], Any] = run_session,
    ) -> None:
        self.failures = dict(failures or {})  # (agent, seed) -> attempts that raise
        self.run = run
        self.submitted: list[Any] = []
        self.cancelled: list[int] = []
        self.outcome: dict[int, Any] = {}
        self.interrupt_after: int | None = None

    def submit(self, session: Any) -> int:
        handle = len(self.submitted)
        self.submitted.append(session)
        key = (session.agent, session.seed)
        if self.failures.get(key, 0) > 0:
            self.failures[key] -= 1
            self.outcome[handle] = RuntimeError(f"worker lost running {session.name}")
        else:
            self.outcome[handle] = self.run(session)
        return handle

    def wait(self, handles: Sequence[int]) -> list[int]:
        done = len(self.submitted) - len(handles)
        if self.interrupt_after is not None and done >= self.interrupt_after:
            raise KeyboardInterrupt
        return [max(handles)]

    def result(self, handle: int) -> Any:
        outcome = self.outcome[handle]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def cancel(self, handle: int) -> None:
        self.cancelled.append(handle)


TINY = {"seeds": [0, 1], "steps_per_episode": 3}
SCENARIO = SCENARIOS["rmcat-varying"]


def test_the_plan_is_one_session_per_scenario_agent_and_seed_in_table_order() -> None:
    sessions = plan([SCENARIO, SCENARIOS["qos_steer-loaded"]], seeds=[4, 2], episodes=2)
    agents = ["nada", "nada_mirror", "random"]
    assert [(s.agent, s.seed) for s in sessions[:6]] == [(a, x) for a in agents for x in (4, 2)]
    assert {s.scenario for s in sessions[6:]} == {"qos_steer-loaded"}
    assert all(s.episodes == 2 for s in sessions)
    default = plan([SCENARIO])
    assert [s.seed for s in default[: len(SCENARIO.seeds)]] == list(SCENARIO.seeds)


def test_out_of_order_sessions_give_the_serial_table() -> None:
    serial, interrupted = run_table([SCENARIO], **TINY)  # type: ignore[arg-type]
    assert not interrupted
    sessions = plan([SCENARIO], **TINY)  # type: ignore[arg-type]
    done: list[tuple[int, int]] = []
    results, failures, interrupted = gather(
        sessions, FakeExecutor(), on_done=lambda s, failed, n, total: done.append((n, total))
    )
    assert failures == [] and not interrupted
    assert table_rows(sessions, results) == serial
    assert done == [(n, len(sessions)) for n in range(1, len(sessions) + 1)]


def test_a_failed_session_is_retried_once() -> None:
    sessions = plan([SCENARIO], **TINY)  # type: ignore[arg-type]
    executor = FakeExecutor({("random", 1): 1})
    results, failures, _ = gather(sessions, executor)
    assert failures == [] and len(results) == len(sessions)
    assert [s.name for s in executor.submitted].count("rmcat-varying/random seed 1") == 2
    assert len(executor.submitted) == len(sessions) + 1


def test_a_session_failing_twice_is_reported_and_its_row_keeps_the_seeds_that_ran() -> None:
    sessions = plan([SCENARIO], **TINY)  # type: ignore[arg-type]
    executor = FakeExecutor({("random", 1): 2, ("nada", 0): 2, ("nada", 1): 2})
    results, failures, _ = gather(sessions, executor)
    assert sorted((f.session.agent, f.session.seed, f.attempts) for f in failures) == [
        ("nada", 0, 2),
        ("nada", 1, 2),
        ("random", 1, 2),
    ]
    assert "worker lost" in failures[0].error
    rows = table_rows(sessions, results)
    assert [r.agent for r in rows] == ["nada_mirror", "random"]  # no seed of nada ran
    (alone,) = run_table([SCENARIO], seeds=[0], steps_per_episode=3)[0][2:]
    assert rows[1] == alone  # random over seed 0 alone


def test_ctrl_c_cancels_what_has_not_finished() -> None:
    sessions = plan([SCENARIO], **TINY)  # type: ignore[arg-type]
    executor = FakeExecutor()
    executor.interrupt_after = 2
    results, failures, interrupted = gather(sessions, executor)
    assert interrupted and len(results) == 2 and failures == []
    assert sorted(executor.cancelled) == list(range(len(sessions) - 2))


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        gather([], FakeExecutor(), attempts=0)


def test_ray_goes_with_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["baselines", "--env", "custom", "--ray"]) == 1
    assert "--ray" in capsys.readouterr().err


def test_ray_missing_is_an_error_naming_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    argv = ["baselines", "--scenario", "rmcat-varying", "--seeds", "0", "--ray"]
    assert cli.main([*argv, "--steps-per-episode", "3", "--json"]) == 1
    assert "pip install -e '.[ray]'" in capsys.readouterr().err


def test_ray_address_is_parsed() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["baselines"]).ray is None
    assert parser.parse_args(["baselines", "--ray"]).ray == LOCAL
    assert parser.parse_args(["baselines", "--ray", "head:6379"]).ray == "head:6379"


def test_the_session_names_what_it_runs() -> None:
    assert ray_sweep.Session("rmcat-varying", "nada", 3).name == "rmcat-varying/nada seed 3"


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, int], int]:
    """``--ray`` runs on a :class:`FakeExecutor`; the dict scripts its failures."""
    failures: dict[tuple[str, int], int] = {}

    @contextmanager
    def executor(address: str | None, run: Callable[[Any], Any]) -> Iterator[FakeExecutor]:
        assert address in (None, "head:6379")
        yield FakeExecutor(failures, run)

    monkeypatch.setattr(ray_sweep, "ray_executor", executor)
    return failures


ARGV = ["baselines", "--scenario", "rmcat-varying", "--seeds", "0-1", "--steps-per-episode", "3"]


def test_baselines_ray_prints_the_serial_table_and_names_failed_sessions(
    fake_ray: dict[tuple[str, int], int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*ARGV, "--json"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert cli.main([*ARGV, "--json", "--ray", "head:6379"]) == 0
    assert json.loads(capsys.readouterr().out) == serial
    fake_ray[("nada_mirror", 0)] = 2
    assert cli.main([*ARGV, "--json", "--ray"]) == 1
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert [r["seeds"] for r in rows] == ["0 1", "1", "0 1"]
    assert "rmcat-varying/nada_mirror seed 0 failed 2 times: RuntimeError: worker lost" in err


def test_dataset_sessions_on_ray_give_the_serial_episodes(
    fake_ray: dict[tuple[str, int], int],
) -> None:
    serial = list(collect_episodes("nqos_split", "utility_logistic", [3, 1], 4))
    sessions = [ray_sweep.DatasetSession("nqos_split", "utility_logistic", s, 4) for s in (3, 1)]
    results, failures, _ = ray_sweep.run_on_ray(sessions, ray_sweep.run_dataset_session, None)
    assert failures == []
    for one, other in zip(serial, [results[s] for s in sessions], strict=True):
        assert one.seed == other.seed and one.rewards == other.rewards
        assert np.array_equal(np.stack(one.observations), np.stack(other.observations))
        assert np.array_equal(np.stack(one.actions), np.stack(other.actions))
        assert one.infos == other.infos


def test_the_dataset_command_on_ray_writes_nothing_when_a_seed_fails_twice(
    fake_ray: dict[tuple[str, int], int],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    argv = ["dataset", "--env", "rmcat", "--agent", "random", "--seeds", "0-2", "--steps", "3"]
    assert cli.main([*argv, "--out", "netgym/rmcat/r-v0", "--json", "--ray"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    fake_ray[("random", 2)] = 2
    assert cli.main([*argv, "--out", "netgym/rmcat/r2-v0", "--json", "--ray"]) == 1
    assert "no dataset written: rmcat/random seed 2 failed 2 times" in capsys.readouterr().err
    assert not (tmp_path / "netgym" / "rmcat" / "r2-v0").exists()
