"""Every fault kind over loopback ZeroMQ: what the client does, and within what time.

Times are bounded by the configured timeouts with slack (never asserted as speeds): the
client is given a 1 s reply timeout, so a lost or late reply must end in ServerUnavailable
after about 1 s, and an error reply at once.
"""

from __future__ import annotations

import json
import logging
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_client import cli
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import EnvError, NoAvailableWorker, ServerUnavailable
from netgym_client.testing.plugin import (  # noqa: F401 (fixtures)
    EnvFactory,
    ServerFactory,
    netgym_env,
    netgym_faulty_server,
    netgym_server,
)
from netgym_sim.core.backend import NO_MAPPING_MSG, WORKER_RESTARTED_MSG
from netgym_sim.serving.server import FakeServer

pytestmark = pytest.mark.e2e

TIMEOUT_S = 1.0
#: Slack on every time bound: a loaded CI machine, the socket's linger, thread wake-ups.
SLACK_S = 2.0
STEPS = 3


def config(steps: int = STEPS, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    return {
        "env_config": {"steps_per_episode": steps, "episodes_per_session": 1},
        "server": {"step_timeout_s": timeout_s, "connect_timeout_s": 2.0},
    }


@pytest.fixture
def faulty(netgym_faulty_server: ServerFactory) -> Iterator[Callable[..., tuple[Any, Any]]]:  # noqa: F811
    """``faulty(plan, env="custom")`` -> (server, env); the envs are closed after the test."""
    envs: list[NetworkGymEnv] = []

    def make(plan: Any, env: str = "custom", **kwargs: Any) -> tuple[FakeServer, NetworkGymEnv]:
        server = netgym_faulty_server(plan)
        instance = NetworkGymEnv(env, config=config(**kwargs), server=server.address)
        envs.append(instance)
        return server, instance

    yield make
    for instance in envs:
        instance.close()


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def raises_within(exc_type: type[Exception], call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    with pytest.raises(exc_type) as info:
        call()
    return info.value, time.monotonic() - started


def assert_cleaned_up(server: FakeServer, env: NetworkGymEnv) -> None:
    """No socket left in the env, no session left on the server (within a bounded wait)."""
    link = env._link
    assert link is None or getattr(link, "_client", None) is None
    deadline = time.monotonic() + SLACK_S
    while server.backend.session_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.backend.session_count == 0


def run_session(env: NetworkGymEnv) -> list[int]:
    """The ``ts`` of every measurement of one session."""
    _, info = env.reset(seed=1)
    seen = [info["network_stats"].ts]
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        seen.append(info["network_stats"].ts)
        done = terminated or truncated
    return seen


# -- error replies: a typed error at once -----------------------------------------------------
def test_env_error_raises_env_error_with_the_text(faulty: Any) -> None:
    server, env = faulty(["env-error@2:ns-3 aborted: segfault"])
    env.reset(seed=1)
    exc, took_s = raises_within(EnvError, lambda: env.step(env.action_space.sample()))
    assert exc.message == "ns-3 aborted: segfault"
    assert took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


def test_worker_restart_at_start_is_retried_once_and_recovers(faulty: Any) -> None:
    server, env = faulty(["worker-restart@1x1"])
    seen, took_s = timed(lambda: run_session(env))
    assert len(seen) == STEPS  # the retried session ran whole
    assert 1.0 <= took_s < 1.0 + TIMEOUT_S + SLACK_S  # the original client's 1 s pause
    assert server.backend.faults is not None and server.backend.faults.fired["worker-restart"] == 1


def test_worker_restart_every_time_fails_after_the_one_retry(faulty: Any) -> None:
    server, env = faulty(["worker-restart@1"])
    exc, took_s = raises_within(EnvError, lambda: env.reset(seed=1))
    assert exc.message == WORKER_RESTARTED_MSG
    assert 1.0 <= took_s < 1.0 + TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


def test_worker_restart_mid_session_raises(faulty: Any) -> None:
    server, env = faulty(["worker-restart@3x1"])
    env.reset(seed=1)
    env.step(env.action_space.sample())
    exc, took_s = raises_within(EnvError, lambda: env.step(env.action_space.sample()))
    assert exc.message == WORKER_RESTARTED_MSG and took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)
    assert len(run_session(env)) == STEPS  # a new session starts cleanly after it


def test_no_available_worker_at_start(faulty: Any) -> None:
    server, env = faulty(["no-available-worker@1"])
    _, took_s = raises_within(NoAvailableWorker, lambda: env.reset(seed=1))
    assert took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


def test_mapping_removed_answers_the_next_action(faulty: Any) -> None:
    server, env = faulty(["mapping-removed@2"])
    env.reset(seed=1)
    exc, took_s = raises_within(EnvError, lambda: env.step(env.action_space.sample()))
    assert exc.message == NO_MAPPING_MSG and took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


# -- delivery: late, lost, doubled, paced ---------------------------------------------------
def test_a_delay_within_the_timeout_is_waited_for(faulty: Any) -> None:
    _, env = faulty(["delay@2:400"])
    env.reset(seed=1)
    _, took_s = timed(lambda: env.step(env.action_space.sample()))
    assert 0.4 <= took_s < TIMEOUT_S + SLACK_S


def test_a_delay_beyond_the_timeout_is_server_unavailable(faulty: Any) -> None:
    server, env = faulty(["delay@2x1:4000"])
    env.reset(seed=1)
    exc, took_s = raises_within(ServerUnavailable, lambda: env.step(env.action_space.sample()))
    assert exc.waited_s == pytest.approx(TIMEOUT_S, abs=0.2)
    assert TIMEOUT_S <= took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)  # our env-end dropped the session and its late reply
    assert server.backend.faults is not None and server.backend.faults.next_due_s() is None
    assert len(run_session(env)) == STEPS  # nothing stale reaches the next session


def test_a_dropped_reply_is_server_unavailable(faulty: Any) -> None:
    server, env = faulty(["drop@2"])
    env.reset(seed=1)
    _, took_s = raises_within(ServerUnavailable, lambda: env.step(env.action_space.sample()))
    assert TIMEOUT_S <= took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


def test_a_duplicate_is_dropped_and_the_session_stays_in_step(
    faulty: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, clean = faulty([])
    expected = run_session(clean)
    server, env = faulty(["duplicate@1", "duplicate@2"], steps=4)
    with caplog.at_level(logging.WARNING, logger="netgym_client.env"):
        seen = run_session(env)
    assert seen == expected[:1] + [expected[0] + 1000 * k for k in range(1, 4)]
    assert seen == sorted(set(seen))
    assert sum("duplicate measurement" in r.getMessage() for r in caplog.records) == 2
    assert_cleaned_up(server, env)


def test_missed_action_is_reported_in_the_measurement(faulty: Any) -> None:
    _, env = faulty(["missed-action@2"], env="nqos_split")
    _, info = env.reset(seed=1)
    missed = [info["network_stats"]["gma::dl::missed_action"].values]
    for _ in range(STEPS - 1):
        _, _, _, _, info = env.step(env.action_space.sample())
        missed.append(info["network_stats"]["gma::dl::missed_action"].values)
    assert [bool(np.all(m == 1)) for m in missed] == [False, True, False]
    assert [bool(np.all(m == 0)) for m in missed] == [True, False, True]


def test_slow_paces_the_session(faulty: Any) -> None:
    # custom's step is 1000 ms: pace 0.25 -> 250 ms of wall-clock time per measurement
    _, env = faulty(["slow@2:0.25"])
    seen, took_s = timed(lambda: run_session(env))
    assert len(seen) == STEPS
    assert 0.25 * (STEPS - 1) <= took_s < (STEPS - 1) * TIMEOUT_S + SLACK_S


def test_slower_than_the_timeout_is_server_unavailable(faulty: Any) -> None:
    server, env = faulty(["slow@1:3.0"])  # 3 s per measurement, the client waits 1 s
    _, took_s = raises_within(ServerUnavailable, lambda: env.reset(seed=1))
    assert TIMEOUT_S <= took_s < TIMEOUT_S + SLACK_S
    assert_cleaned_up(server, env)


# -- where a plan is set ------------------------------------------------------------------------
@pytest.mark.parametrize("netgym_server", [["env-error@2:boom"]], indirect=True)
def test_the_server_fixture_takes_a_plan(netgym_env: EnvFactory) -> None:  # noqa: F811
    env = netgym_env("custom", config=config())
    env.reset(seed=1)
    with pytest.raises(EnvError, match="boom"):
        env.step(env.action_space.sample())


def test_the_embedded_paths_take_a_plan() -> None:
    for server in ("embedded", "embedded+tcp"):
        env = NetworkGymEnv("custom", config=config(), server=server, faults=["env-error@2:x"])
        try:
            env.reset(seed=1)
            with pytest.raises(EnvError, match="x"):
                env.step(env.action_space.sample())
        finally:
            env.close()


def test_netgym_run_keeps_the_partial_summary(
    faulty: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = faulty(["env-error@3:ns-3 aborted"])
    argv = ["run", "custom", "--server", server.address, "--episodes", "2", "--json"]
    assert cli.main([*argv, "--steps-per-episode", "3"]) == 1
    captured = capsys.readouterr()
    figures = json.loads(captured.out)
    assert figures["measurements"] == 2 and figures["steps"] == 1
    assert figures["error"] == "EnvError: ns-3 aborted"
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netgym: error: EnvError: ns-3 aborted")


def test_serve_takes_fault_flags_and_names_a_bad_one() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "netgym_sim", "serve", "--fault", "delay@2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--fault[0].delay_ms" not in bad.stderr
    assert "--fault.delay_ms: is required for delay" in bad.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_sim", "serve", "--port", "0", "--fault", "env-error@2:x"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = _serving_address(proc)
        env = NetworkGymEnv("custom", config=config(), server=address)
        try:
            env.reset(seed=1)
            with pytest.raises(EnvError, match=r"^x$"):
                env.step(env.action_space.sample())
        finally:
            env.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        assert proc.stderr is not None
        proc.stderr.close()


def _serving_address(proc: subprocess.Popen[str], timeout_s: float = 30.0) -> str:
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stderr.readline()
            match = re.search(r"serving on (tcp://\S+)", line)
            if match:
                return match.group(1)
            if not line:
                break
    finally:
        selector.close()
    raise AssertionError(f"the server did not start within {timeout_s} s")


def _readme_blocks() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_failing_server_snippet_runs() -> None:
    (block,) = [b for b in _readme_blocks() if "FakeServer(faults=plan)" in b]
    namespace: dict[str, Any] = {}
    started = time.monotonic()
    exec(compile(block, "README.md", "exec"), namespace)
    failure = namespace["failure"]
    assert isinstance(failure, EnvError) and failure.message == "ns-3 aborted"
    assert time.monotonic() - started < 2.0 + SLACK_S  # one 300 ms delay, no timeout


def test_the_readme_fixture_snippet_uses_the_fixtures_as_documented() -> None:
    (block,) = [b for b in _readme_blocks() if "netgym_faulty_server(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    (mark,) = namespace["test_my_training_loop_survives"].pytestmark
    assert mark.args[0] == "netgym_server" and mark.kwargs == {"indirect": True}
    for plan in mark.args[1]:
        FakeServer(faults=plan)  # every plan shown is valid (building binds nothing)
    FakeServer(faults=["drop@0.2"])
