"""Any fault plan is either refused naming the field, or runs to a typed outcome."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgym_client import protocol
from netgym_client.config import load_config
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import (
    ConfigError,
    EnvError,
    NetGymError,
    NoAvailableWorker,
    ServerUnavailable,
)
from netgym_sim.core.backend import NO_MAPPING_MSG, WORKER_RESTARTED_MSG, Backend
from netgym_sim.core.faults import KINDS, FaultInjector, FaultPlan
from netgym_sim.core.handlers import handle_message
from netgym_sim.serving.server import FakeServer

#: A path naming the list, an entry, or an entry's field.
PATH = re.compile(r"faults(\[\d+\](\.[A-Za-z_]\w*)?)?")
TEXT = "injected"

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
junk_fault = st.dictionaries(
    st.sampled_from(["kind", "at", "times", "text", "delay_ms", "pace", "dealy", "x"]),
    st.one_of(json_scalar, st.sampled_from(KINDS)),
    max_size=5,
)
cli_fault = st.builds(
    lambda kind, at, times, param: f"{kind}@{at}{times}{param}",
    st.one_of(st.sampled_from(KINDS), st.text(max_size=6)),
    st.one_of(
        st.integers(-2, 9).map(str),
        st.floats(0, 1.5).map(lambda f: f"{f:.2f}"),
        st.text(max_size=4),
    ),
    st.sampled_from(["", "x1", "x0", "x"]),
    st.sampled_from(["", ":", ":200", ":0.5", ":boom", ":-1"]),
)


@st.composite
def _valid_fault(draw: st.DrawFn, max_delay_ms: int, max_pace: float) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    p = draw(st.one_of(st.none(), st.floats(0, 1)))
    at: int | float = p if p is not None else draw(st.integers(1, 5))
    if kind == "no-available-worker" and p is None:
        at = 1
    elif kind in ("mapping-removed", "missed-action") and p is None:
        at = max(2, int(at))
    fault: dict[str, Any] = {"kind": kind, "at": at}
    times = draw(st.one_of(st.none(), st.integers(1, 3)))
    if times is not None:
        fault["times"] = times
    if kind == "env-error":
        fault["text"] = TEXT
    if kind in ("delay", "worker-restart"):
        fault["delay_ms"] = draw(st.integers(0, max_delay_ms))
    if kind == "slow":
        fault["pace"] = draw(st.floats(0.01, max_pace))
    return fault


def valid_fault(max_delay_ms: int = 2000, max_pace: float = 3.0) -> st.SearchStrategy[Any]:
    """A fault every check accepts (its delays and paces capped)."""
    return _valid_fault(max_delay_ms, max_pace)


@given(st.lists(st.one_of(junk_fault, cli_fault, valid_fault()), max_size=4))
def test_a_plan_is_built_or_refused_naming_the_field(specs: list[Any]) -> None:
    try:
        plan = FaultPlan.build(specs)
    except ConfigError as exc:
        assert PATH.fullmatch(exc.path), exc.path
        assert exc.problem
        return
    assert len(plan.faults) == len(specs)
    assert all(f.kind in KINDS for f in plan.faults)
    assert FaultPlan.build(plan.faults) == plan  # a built plan is valid again


def _config(steps: int) -> dict[str, Any]:
    config = load_config("custom", {"env_config": {"steps_per_episode": steps}})
    return {**config.env_config, "episodes_per_session": 1}


@given(st.lists(valid_fault(), max_size=4), st.integers(0, 2**31), st.integers(2, 6))
def test_the_server_answers_every_message_of_any_plan(
    specs: list[Any], seed: int, steps: int
) -> None:
    """Sans-IO: every message gets a well-formed answer; a fault never becomes InternalError."""
    backend = Backend(faults=FaultInjector(specs), idle_timeout_s=1e9)
    injector = backend.faults
    assert injector is not None
    msg: protocol.Message = protocol.EnvStart({**_config(steps), "random_seed": seed})
    for _ in range(steps + 1):
        replies = handle_message(backend, b"admin-0", msg)
        assert len(replies) == 1
        for to, reply in replies:
            injector.schedule(to, protocol.encode(reply, validate=False))
        delivered = [protocol.decode(p) for _, p in injector.due(float("inf"))]
        for reply in delivered:
            if isinstance(reply, protocol.ErrorReply):
                assert reply.error_msg in (TEXT, WORKER_RESTARTED_MSG, NO_MAPPING_MSG)
        last = delivered[-1] if delivered else None
        if not isinstance(last, protocol.EnvMeasurement):
            return
        ts = last.network_stats[0]["ts"]
        msg = protocol.EnvAction({"source": "test", "name": "x", "ts": ts, "id": [0], "value": [0]})


REPLY_TIMEOUT_S = 0.4
SLACK_S = 2.0


@pytest.mark.e2e
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(valid_fault(max_delay_ms=600, max_pace=0.6), min_size=1, max_size=3),
    st.integers(0, 99),
)
def test_any_plan_runs_to_a_typed_outcome_over_loopback(specs: list[Any], seed: int) -> None:
    """The real client: a whole session, or one typed error with the plan's text, in time."""
    steps = 3
    config = {
        "env_config": {"steps_per_episode": steps, "episodes_per_session": 1},
        "server": {"step_timeout_s": REPLY_TIMEOUT_S, "connect_timeout_s": 2.0},
    }
    with FakeServer(faults=specs) as server:
        env = NetworkGymEnv("custom", config=config, server=server.address)
        started = time.monotonic()
        seen: list[int] = []
        try:
            _, info = env.reset(seed=seed)
            seen.append(info["network_stats"].ts)
            for _ in range(steps - 1):
                _, _, _, _, info = env.step(env.action_space.sample())
                seen.append(info["network_stats"].ts)
            outcome: NetGymError | None = None
        except NetGymError as exc:
            outcome = exc
        finally:
            env.close()
        took_s = time.monotonic() - started
        assert seen == sorted(set(seen))  # never a measurement twice, never out of order
        if outcome is None:
            assert len(seen) == steps
        else:
            assert isinstance(outcome, EnvError | NoAvailableWorker | ServerUnavailable), outcome
            if isinstance(outcome, EnvError):
                assert outcome.message in (TEXT, WORKER_RESTARTED_MSG, NO_MAPPING_MSG)
        # each reply comes within the timeout or ends the run; one retry waits 1 s
        assert took_s < steps * REPLY_TIMEOUT_S + 1.0 + SLACK_S
        deadline = time.monotonic() + SLACK_S
        while server.backend.session_count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.backend.session_count == 0
