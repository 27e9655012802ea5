"""The fault plan (netgym_sim.core.faults): parsing, validation, decisions and timed delivery."""

from __future__ import annotations

from typing import Any

import pytest

from netgym_client import cli, protocol
from netgym_client.config import load_config
from netgym_client.env import NetworkGymEnv
from netgym_client.errors import ConfigError
from netgym_sim.core.backend import NO_MAPPING_MSG, WORKER_RESTARTED_MSG, Backend
from netgym_sim.core.faults import Fault, FaultInjector, FaultPlan, check_fault, parse_fault
from netgym_sim.core.handlers import handle_message

ID = b"admin-0"


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def env_config(env: str = "custom", steps: int = 4, seed: int = 0) -> dict[str, Any]:
    config = load_config(env, {"env_config": {"steps_per_episode": steps}})
    return {**config.env_config, "episodes_per_session": 1, "random_seed": seed}


def custom_action(ts: int) -> dict[str, Any]:
    return {"source": "test", "name": "x", "ts": ts, "id": [0], "value": [0.0]}


def session(plan: Any) -> tuple[Backend, FaultInjector]:
    clock = Clock()
    injector = FaultInjector(plan, clock=clock)
    return Backend(faults=injector, idle_timeout_s=1e9), injector


def run_session(plan: Any, steps: int = 4, seed: int = 0) -> list[protocol.Message]:
    """What the client receives, in the order the replies become due (a sans-IO client)."""
    backend, injector = session(plan)
    got: list[protocol.Message] = []
    msg: protocol.Message = protocol.EnvStart(env_config(steps=steps, seed=seed))
    for _ in range(steps):
        for to, reply in handle_message(backend, ID, msg):
            injector.schedule(to, protocol.encode(reply, validate=False))
        due = [protocol.decode(p) for _, p in injector.due(float("inf"))]
        got += due
        last = due[-1] if due else None
        if not isinstance(last, protocol.EnvMeasurement):
            break
        msg = protocol.EnvAction(custom_action(last.network_stats[0]["ts"]))
    return got


# -- parsing and validation ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("env-error@3:it broke: here", Fault("env-error", 3, text="it broke: here")),
        ("worker-restart@1x1", Fault("worker-restart", 1, times=1)),
        ("worker-restart@2:250", Fault("worker-restart", 2, delay_ms=250)),
        ("no-available-worker@1", Fault("no-available-worker", 1)),
        ("mapping-removed@0.25", Fault("mapping-removed", None, 0.25)),
        ("delay@3:1500", Fault("delay", 3, delay_ms=1500)),
        ("drop@.5x2", Fault("drop", None, 0.5, times=2)),
        ("duplicate@1", Fault("duplicate", 1)),
        ("missed-action@2", Fault("missed-action", 2)),
        ("slow@1:2.5", Fault("slow", 1, pace=2.5)),
    ],
)
def test_cli_specs_parse(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault
    assert check_fault(fault.to_dict()) == fault  # the JSON form round-trips


@pytest.mark.parametrize(
    ("specs", "path", "words"),
    [
        (["drop@2", "delay@3"], "faults[1].delay_ms", "required"),
        (["drop@2", "dely@3:10"], "faults[1].kind", "did you mean 'delay'"),
        (["drop"], "faults[0]", "KIND@AT"),
        (["drop@two"], "faults[0].at", "measurement number"),
        (["drop@1.5"], "faults[0].at", "probability"),
        (["drop@0"], "faults[0].at", ">= 1"),
        (["no-available-worker@2"], "faults[0].at", "at the start"),
        (["mapping-removed@1"], "faults[0].at", ">= 2"),
        (["missed-action@1"], "faults[0].at", ">= 2"),
        (["drop@2:5"], "faults[0].kind", "takes no parameter"),
        (["delay@2:soon"], "faults[0].delay_ms", "number"),
        (["delay@2:-5"], "faults[0].delay_ms", "[0, 3600000]"),
        (["slow@1:0"], "faults[0].pace", "(0, 1000.0]"),
        (["drop@1x0"], "faults[0].times", ">= 1"),
        ([{"kind": "delay", "at": 2, "delay_ms": 5, "dealy": 1}], "faults[0].dealy", "unknown"),
        ([{"kind": "drop"}], "faults[0].at", "required"),
        ([{"kind": "drop", "at": True}], "faults[0].at", "integer"),
        ([{"kind": "slow", "at": 1, "pace": float("nan")}], "faults[0].pace", "(0, 1000.0]"),
        ([{"kind": "env-error", "at": 1, "text": 5}], "faults[0].text", "string"),
        ([7], "faults[0]", "object"),
        ("drop@2", "faults", "list"),
    ],
)
def test_bad_plans_name_the_field(specs: Any, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        FaultPlan.build(specs)
    assert info.value.path == path
    assert words in info.value.problem


def test_in_process_refuses_the_delivery_kinds() -> None:
    FaultPlan.build(["env-error@2", "missed-action@2"]).check_in_process()
    with pytest.raises(ConfigError, match=r"faults\[1\]\.kind: duplicate"):
        FaultPlan.build(["env-error@2", "duplicate@2"]).check_in_process()


# -- decisions ------------------------------------------------------------------------------
def test_no_plan_changes_nothing() -> None:
    got = run_session([])
    assert [type(m) for m in got] == [protocol.EnvMeasurement] * 4


def test_env_error_replaces_measurement_n_and_ends_the_session() -> None:
    got = run_session(["env-error@3:ns-3 aborted"])
    assert [type(m) for m in got] == [protocol.EnvMeasurement] * 2 + [protocol.ErrorReply]
    assert got[-1] == protocol.ErrorReply("ns-3 aborted")


def test_worker_restart_and_mapping_removed_use_the_real_texts() -> None:
    assert run_session(["worker-restart@2"])[-1] == protocol.ErrorReply(WORKER_RESTARTED_MSG)
    assert run_session(["mapping-removed@2"])[-1] == protocol.ErrorReply(NO_MAPPING_MSG)


def test_no_available_worker_answers_the_start() -> None:
    backend, injector = session(["no-available-worker@1"])
    replies = handle_message(backend, ID, protocol.EnvStart(env_config()))
    assert replies == [(ID, protocol.NoWorkerReply())]
    assert backend.session_count == 0 and injector.fired["no-available-worker"] == 1


def test_drop_and_duplicate() -> None:
    dropped = run_session(["drop@2"])
    assert len(dropped) == 1  # measurement 2 never comes
    doubled = run_session(["duplicate@2"])
    ts = [m.network_stats[0]["ts"] for m in doubled if isinstance(m, protocol.EnvMeasurement)]
    assert len(ts) == 5 and ts[1] == ts[2] and sorted(set(ts)) == ts[:2] + ts[3:]


def test_delay_is_due_late_and_does_not_hold_others() -> None:
    backend, injector = session(["delay@1:1500"])
    clock = injector._clock
    assert isinstance(clock, Clock)
    for identity in (b"admin-1", b"admin-2"):
        for to, reply in handle_message(backend, identity, protocol.EnvStart(env_config())):
            injector.schedule(to, protocol.encode(reply, validate=False))
    # both sessions' first measurement is late; a third client's refusal is not
    for to, reply in handle_message(backend, b"nobody-1", protocol.EnvStart(env_config())):
        injector.schedule(to, protocol.encode(reply, validate=False))
    assert [to for to, _ in injector.due()] == [b"nobody-1"]
    assert injector.next_due_s() == pytest.approx(clock.now_s + 1.5)
    clock.now_s += 1.499
    assert injector.due() == []
    clock.now_s += 0.002
    assert [to for to, _ in injector.due()] == [b"admin-1", b"admin-2"]


def test_a_new_start_cancels_late_replies_of_the_old_session() -> None:
    backend, injector = session(["delay@1:5000"])
    for to, reply in handle_message(backend, ID, protocol.EnvStart(env_config())):
        injector.schedule(to, protocol.encode(reply, validate=False))
    handle_message(backend, ID, protocol.EnvEnd())
    assert injector.next_due_s() is None


def test_slow_paces_every_measurement_from_at_on() -> None:
    backend, injector = session(["slow@2:3.0"])
    step_s = (env_config()["measurement_interval_ms"] + 0) / 1000.0
    msg: protocol.Message = protocol.EnvStart(env_config())
    lates = []
    for _ in range(3):
        (reply,) = handle_message(backend, ID, msg)
        lates.append(injector._shaping.get(ID, (0.0,))[0])
        injector.schedule(*reply[:1], protocol.encode(reply[1], validate=False))
        injector.due(float("inf"))
        assert isinstance(reply[1], protocol.EnvMeasurement)
        msg = protocol.EnvAction(custom_action(reply[1].network_stats[0]["ts"]))
    assert lates[0] == 0.0
    assert lates[1] == pytest.approx(3.0 * step_s) and lates[2] == pytest.approx(3.0 * step_s)


def test_missed_action_marks_the_gma_records() -> None:
    backend, injector = session(["missed-action@2"])
    config = env_config("nqos_split", steps=3)
    (first,) = handle_message(backend, ID, protocol.EnvStart(config))
    assert isinstance(first[1], protocol.EnvMeasurement)
    ts = first[1].network_stats[0]["ts"]
    action = {
        "source": "gma",
        "name": "dl::split_weight",
        "ts": ts,
        "id": list(range(1, config["num_users"] + 1)),
        "value": [[32, 0, 0]] * config["num_users"],
    }
    (second,) = handle_message(backend, ID, protocol.EnvAction(action))
    assert isinstance(second[1], protocol.EnvMeasurement)
    missed = {
        r["name"]: r["value"]
        for r in second[1].network_stats
        if r["name"].endswith("missed_action")
    }
    assert missed and all(v == [1] * config["num_users"] for v in missed.values())
    assert injector.fired["missed-action"] == 1


def test_probabilities_are_deterministic_given_plan_and_seed() -> None:
    plan = ["duplicate@0.5"]
    runs = [run_session(plan, steps=12, seed=s) for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert len(runs[0]) > 12  # some measurements doubled
    assert runs[0] != runs[2]  # another seed, other measurements


def test_times_caps_the_firings_over_the_server() -> None:
    backend, _ = session(["worker-restart@1x1"])
    first = handle_message(backend, ID, protocol.EnvStart(env_config()))
    second = handle_message(backend, ID, protocol.EnvStart(env_config()))
    assert first == [(ID, protocol.ErrorReply(WORKER_RESTARTED_MSG))]
    assert isinstance(second[0][1], protocol.EnvMeasurement)


def test_the_env_checks_its_plan_against_its_path() -> None:
    with pytest.raises(ConfigError, match=r"^faults\[0\]\.kind: drop shapes"):
        NetworkGymEnv("custom", faults=["drop@2"])  # in process: no socket to drop from
    with pytest.raises(ConfigError, match=r"^faults: a fault plan runs in netgym's own server"):
        NetworkGymEnv("custom", server="tcp://127.0.0.1:9", faults=["env-error@2"])
    with pytest.raises(ConfigError, match=r"^faults\[0\]\.at: "):
        NetworkGymEnv("custom", faults=["env-error@zero"])


def test_netgym_serve_forwards_the_fault_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "--fault", "mapping-removed@1"])
    assert info.value.code == 2
    assert "--fault.at: mapping-removed answers an action: must be >= 2" in capsys.readouterr().err
