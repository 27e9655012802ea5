"""The sans-IO replay: matching, tolerance, divergence reports, strict and lenient modes."""

from __future__ import annotations

from typing import Any

import pytest

from netgym_sim.replay.script import ATOL, RTOL, ReplaySession


def action(value: list[Any], ts: int = 1100) -> dict[str, Any]:
    record = {"source": "test", "name": "srate", "ts": ts, "id": [0, 1], "value": value}
    return {"type": "env-action", "action_list": record}


def measurement(ts: int) -> dict[str, Any]:
    record = {"source": "test", "name": "m", "ts": ts, "id": [0], "value": [1.0]}
    return {"type": "env-measurement", "network_stats": [record]}


START = {"type": "env-start", "env": "custom", "steps_per_episode": 3, "num_users": 2}
SCRIPT = [
    ("c2s", START),
    ("s2c", measurement(1100)),
    ("c2s", action([1.0, 2.0], 1100)),
    ("s2c", measurement(1200)),
    ("c2s", action([3.0, 4.0], 1200)),
    ("s2c", measurement(1300)),
]


def test_a_faithful_client_gets_the_recorded_measurements() -> None:
    session = ReplaySession(SCRIPT, "admin-0")
    assert session.handle({**START, "extra_key": 1}) == [measurement(1100)]
    assert session.handle(action([1.0, 2.0 + ATOL / 2])) == [measurement(1200)]
    tiny = 4.0 * (1 + RTOL / 2)
    assert session.handle(action([3.0, tiny], 1200)) == [measurement(1300)]
    assert session.report.ok and session.report.served == 3


def test_strict_divergence_names_step_and_field_and_stops() -> None:
    session = ReplaySession(SCRIPT, "admin-0")
    session.handle(START)
    session.handle(action([1.0, 2.0]))
    (reply,) = session.handle(action([3.0, 4.5], 1200))
    assert reply["type"] == "env-error"
    assert "step 2" in reply["error_msg"]
    assert "action_list.value[1]: recorded 4.0, got 4.5" in reply["error_msg"]
    (later,) = session.handle(action([3.0, 4.0], 1200))
    assert later["type"] == "env-error"
    assert session.report.stopped and not session.report.ok
    assert "diverged at step 2" in session.report.summary()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (action([1.0, 2.0], 1000), "action_list.ts"),
        ({**action([1.0, 2.0]), "action_list": [action([1.0])["action_list"]] * 2}, "action_list"),
        ({"type": "env-start", **{k: v for k, v in START.items() if k != "type"}}, "type"),
    ],
)
def test_each_kind_of_divergence_is_named(message: dict[str, Any], field: str) -> None:
    session = ReplaySession(SCRIPT)
    session.handle(START)
    (reply,) = session.handle(message)
    assert f": {field}:" in reply["error_msg"]


def test_an_env_start_of_another_shape_diverges_on_its_key() -> None:
    session = ReplaySession(SCRIPT)
    (reply,) = session.handle({**START, "num_users": 3})
    assert "step 0 (client message 1): num_users: recorded 2, got 3" in reply["error_msg"]


def test_lenient_keeps_serving_and_counts_divergences() -> None:
    session = ReplaySession(SCRIPT, mode="lenient")
    session.handle(START)
    assert session.handle(action([9.0, 9.0])) == [measurement(1200)]
    assert session.handle(action([3.0, 4.0], 1200)) == [measurement(1300)]
    assert session.report.finished and len(session.report.divergences) == 1
    (reply,) = session.handle(action([0.0, 0.0], 1300))  # past the end: nothing to serve
    assert reply["type"] == "env-error" and "end of the recording" in reply["error_msg"]


def test_recorded_env_ends_are_skipped_and_env_end_is_answered() -> None:
    script = [*SCRIPT[:2], ("c2s", {"type": "env-end"}), ("s2c", {"type": "env-end"}), *SCRIPT]
    session = ReplaySession(script)
    session.handle(START)
    assert session.handle(START) == [measurement(1100)]  # the recorded env-end skipped
    assert session.handle({"type": "env-end"}) == [{"type": "env-end"}]


def test_a_bad_mode_or_script_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        ReplaySession(SCRIPT, mode="loose")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"script\[0\]"):
        ReplaySession([("up", {})])
