"""The edge checks of netgym_sim.limits and the numeric guards behind them (no sockets)."""

from __future__ import annotations

import copy
import json
import logging
import math
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_client.config import load_config
from netgym_sim.core.backend import Backend
from netgym_sim.core.handlers import handle_frames
from netgym_sim.core.session import Session
from netgym_sim.limits import Limits, LogTally
from netgym_sim.serving.server import plain_in_clear

ENVS = ["custom", "nqos_split", "qos_steer", "network_slicing", "rmcat"]
#: Numbers that once crashed a session (10**400 ints, -0.0 bounds, 1e308 rates).
HOSTILE = ["1" + "0" * 400, "-0.0", "1e308", "-1e308", "1e-308", str(2**63), "-1", "0"]


def default_env_config(env: str) -> dict[str, Any]:
    return dict(load_config(env).env_config)


def builtin_action(env: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    ts = records[0]["ts"]
    if env == "custom":
        return {"source": "test", "name": "srate", "ts": ts, "id": [], "value": []}
    if env == "rmcat":
        return {"source": "rmcat", "name": "srate", "ts": ts, "id": [0], "value": []}
    if env == "network_slicing":
        return {"source": "lte", "name": "prb_allocation", "ts": ts, "id": [1], "value": []}
    return {"source": "gma", "name": "dl::split_weight", "ts": ts, "id": [], "value": []}


def assert_finite(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, list):
        for item in value:
            assert_finite(item)
    elif isinstance(value, dict):
        for item in value.values():
            assert_finite(item)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("env", ENVS)
def test_default_runs_raise_no_warning(env: str, compiled: bool) -> None:
    """Defect 6: a default run, with and without the compiled kernel, warns of nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session = Session({k: v for k, v in default_env_config(env).items() if k != "type"})
        model = getattr(session.scenario, "model", None)
        if model is not None and hasattr(model, "use_kernel"):
            model.use_kernel = model.use_kernel and compiled
        records = session.first_measurement()
        for _ in range(min(40, session.total_measurements - 1)):
            assert_finite(records)
            records = session.step(builtin_action(env, records))
        assert_finite(records)


def leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in leaves(v, (*path, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj[:2]) for p in leaves(v, (*path, i))]
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return [path]
    return []


def with_token(config: dict[str, Any], path: tuple[Any, ...], token: str) -> bytes:
    config = copy.deepcopy(config)
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "@@token@@"
    return json.dumps(config).replace('"@@token@@"', token).encode()


@settings(max_examples=120, deadline=None)
@given(data=st.data(), env=st.sampled_from(ENVS), token=st.sampled_from(HOSTILE))
def test_hostile_numbers_get_a_named_env_error_never_an_internal_error(
    data: st.DataObject, env: str, token: str
) -> None:
    """Defect 6: any extreme number in an env-start: measurements or env-error naming it."""
    config = default_env_config(env)
    path = data.draw(st.sampled_from(leaves(config)))
    backend = Backend()
    ((_, payload),) = handle_frames(backend, [b"admin-0", with_token(config, path, token)])
    reply = json.loads(payload)
    for _ in range(3):
        if reply["type"] != "env-measurement" or not backend.has_session(b"admin-0"):
            break
        action = {"type": "env-action", "action_list": builtin_action(env, reply["network_stats"])}
        ((_, payload),) = handle_frames(backend, [b"admin-0", json.dumps(action).encode()])
        reply = json.loads(payload)
        assert_finite(reply)
    if reply["type"] == "env-error":
        text = reply["error_msg"]
        assert not text.startswith("InternalError"), text
        named = [str(p) for p in path if isinstance(p, str)]
        assert any(name in text for name in named), (path, text)
    else:
        assert reply["type"] == "env-measurement", reply


@pytest.mark.parametrize(
    ("env", "key", "value", "needle"),
    [
        ("custom", "steps_per_episode", "x", "env_config.steps_per_episode"),
        ("custom", "episodes_per_session", 0, "env_config.episodes_per_session"),
        ("custom", "pad", [0.5] * 10, "env_config.pad: unknown key"),
        ("rmcat", "bw_trace_extra", 1, "env_config.bw_trace_extra: unknown key"),
        ("custom", "num_users", 10**400, "env_config.num_users"),
        ("custom", "measurement_start_time_ms", 10**13, "env_config.measurement_start_time_ms"),
    ],
)
def test_edge_rejections_name_the_field(env: str, key: str, value: Any, needle: str) -> None:
    config = default_env_config(env)
    config[key] = value
    ((_, payload),) = handle_frames(Backend(), [b"admin-0", json.dumps(config).encode()])
    reply = json.loads(payload)
    assert reply["type"] == "env-error" and needle in reply["error_msg"], reply


def test_caps_on_users_trace_points_and_sizes() -> None:
    """Defects 3-4: requests that would pin memory or stall the loop are refused at once."""
    limits = Limits(max_users=100, max_trace_points=50)
    backend = Backend(limits=limits)
    nqos = default_env_config("nqos_split")
    nqos["per_slice_config"]["num_users"] = [60, 60]
    nqos.pop("num_users")
    rmcat = default_env_config("rmcat")
    rmcat["bw_trace"] = {
        "time_ms": [float(i) for i in range(51)],
        "bw_kbps": [1000.0] * 51,
        "delay_ms": [10.0] * 51,
        "loss": [0.0] * 51,
    }
    deep: Any = 0
    for _ in range(20):
        deep = [deep]
    custom = default_env_config("custom")
    custom["subscribed_network_stats"] = deep
    for config, needle in [
        (nqos, "env_config.per_slice_config.num_users: 120 users"),
        (rmcat, "env_config.bw_trace.time_ms: 51 points"),
        (custom, "nested deeper"),
    ]:
        ((_, payload),) = handle_frames(backend, [b"admin-0", json.dumps(config).encode()])
        reply = json.loads(payload)
        assert reply["type"] == "env-error" and needle in reply["error_msg"], reply
    assert backend.session_count == 0


def test_a_session_does_not_keep_its_env_config() -> None:
    """Defect 3: the request is not pinned by the session (only parsed settings are kept)."""
    session = Session({k: v for k, v in default_env_config("rmcat").items() if k != "type"})
    assert not hasattr(session.scenario, "env_config")


def test_hostile_action_numbers_are_named() -> None:
    backend = Backend()
    config = default_env_config("rmcat")
    ((_, payload),) = handle_frames(backend, [b"admin-0", json.dumps(config).encode()])
    ts = json.loads(payload)["network_stats"][0]["ts"]
    action = (
        '{"type": "env-action", "action_list": {"source": "rmcat", "name": "srate", '
        f'"ts": {ts}, "id": [0], "value": [1{"0" * 400}]}}}}'
    )
    ((_, payload),) = handle_frames(backend, [b"admin-0", action.encode()])
    reply = json.loads(payload)
    assert reply["type"] == "env-error", reply
    assert "action_list.value[0]" in reply["error_msg"], reply


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_idle_time_counts_from_the_arrival_of_the_message() -> None:
    """Defect 5: a message that waited behind slow ones does not get its session expired."""
    clock = FakeClock()
    backend = Backend(idle_timeout_s=5.0, clock=clock)
    ((_, reply),) = handle_frames(backend, [b"admin-0", json.dumps(custom_start()).encode()])
    ts = json.loads(reply)["network_stats"][0]["ts"]
    backend.note_arrival(b"admin-0", "admin", 4.0)  # arrived at 4 s, served much later
    backend.note_arrival(b"admin-0", "test", 9.0)  # another account's frame counts for nothing
    clock.now_s = 8.5  # 8.5 s after the start, 4.5 s after the arrival: not idle
    assert backend.expire() == []
    action = {
        "type": "env-action",
        "action_list": {"source": "test", "name": "srate", "ts": ts, "id": [], "value": []},
    }
    ((_, reply),) = handle_frames(backend, [b"admin-0", json.dumps(action).encode()], user="admin")
    assert json.loads(reply)["type"] == "env-measurement"
    clock.now_s = 14.0  # 5.5 s after the reply
    assert [to for to, _ in backend.expire()] == [b"admin-0"]


def custom_start() -> dict[str, Any]:
    return {
        "type": "env-start",
        "env": "custom",
        "num_users": 2,
        "measurement_start_time_ms": 0,
        "measurement_interval_ms": 10,
        "env_end_time_ms": 100,
    }


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_users"):
        Limits(max_users=0)


def test_replies_quote_at_most_a_short_prefix() -> None:
    """Defect 8: a 200 kB unknown key or env name comes back as a short excerpt only."""
    config = custom_start()
    config["k" * 200_000] = 1
    ((_, payload),) = handle_frames(Backend(), [b"admin-0", json.dumps(config).encode()])
    assert len(payload) < 400
    config = custom_start()
    config["env"] = "e" * 200_000
    ((_, payload),) = handle_frames(Backend(), [b"admin-0", json.dumps(config).encode()])
    assert len(payload) < 400


def test_log_tally_warns_once_then_counts(caplog: pytest.LogCaptureFixture) -> None:
    """Defect 8: malformed messages are DEBUG lines; a WARNING now and then gives the count."""
    log = logging.getLogger("netgym_sim.test_tally")
    tally = LogTally(log, "bad things", interval_s=3600.0)
    with caplog.at_level(logging.DEBUG, logger="netgym_sim.test_tally"):
        for i in range(50):
            tally.add(b"admin-0", f"problem {i}")
    levels = [r.levelno for r in caplog.records]
    assert levels.count(logging.WARNING) == 1 and levels.count(logging.DEBUG) == 50
    assert tally.count == 49


@pytest.mark.parametrize(
    ("host", "curve", "warned"),
    [
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("0.0.0.0", False, True),
        ("10.1.2.3", False, True),
        ("0.0.0.0", True, False),
    ],
)
def test_plain_off_loopback_is_warned_of(host: str, curve: bool, warned: bool) -> None:
    assert plain_in_clear(host, curve) is warned
