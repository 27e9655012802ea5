"""The backend's routing rules, in memory (no sockets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netgym_client import protocol
from netgym_client.errors import ConfigError
from netgym_sim.core.backend import (
    DEFAULT_ACCOUNTS,
    IDLE_TIMEOUT_MSG,
    INSTANCE_LIMIT_MSG,
    MAPPING_EXISTS_MSG,
    NO_MAPPING_MSG,
    UNKNOWN_ACCOUNT_MSG,
    UNKNOWN_TYPE_MSG,
    Backend,
    load_accounts,
)
from netgym_sim.core.handlers import handle_frames


def start_msg(**overrides: Any) -> protocol.EnvStart:
    config = {
        "env": "custom",
        "num_users": 2,
        "measurement_start_time_ms": 0,
        "measurement_interval_ms": 10,
        "measurement_guard_interval_ms": 0,
        "env_end_time_ms": 40,
    }
    config.update(overrides)
    return protocol.EnvStart(env_config=config)


def action_for(reply: protocol.Message, value: Any = None) -> protocol.EnvAction:
    assert isinstance(reply, protocol.EnvMeasurement)
    record = reply.network_stats[0]
    return protocol.EnvAction(
        action_list={
            "name": "srate",
            "ts": record["ts"],
            "source": "test",
            "id": record[""]["id"],
            "value": value if value is not None else [0.5, 0.5],
        }
    )


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_session_runs_its_measurements_then_ends() -> None:
    backend = Backend()
    ((to, reply),) = backend.handle(b"admin-0", start_msg())
    assert to == b"admin-0"
    ts = [reply.network_stats[0]["ts"]]  # type: ignore[union-attr]
    for _ in range(2):  # (40 - 0) / 10 - 1 = 3 measurements
        ((_, reply),) = backend.handle(b"admin-0", action_for(reply))
        ts.append(reply.network_stats[0]["ts"])  # type: ignore[union-attr]
    assert ts == [10, 20, 30]
    assert not backend.has_session(b"admin-0")
    assert backend.handle(b"admin-0", action_for(reply)) == [
        (b"admin-0", protocol.ErrorReply(NO_MAPPING_MSG))
    ]


@pytest.mark.parametrize(
    ("identity", "text"),
    [
        (b"admin-32", INSTANCE_LIMIT_MSG),
        (b"test-1", INSTANCE_LIMIT_MSG),
        (b"ghost-0", UNKNOWN_ACCOUNT_MSG),
        (b"admin", UNKNOWN_ACCOUNT_MSG),
    ],
)
def test_identity_rules(identity: bytes, text: str) -> None:
    assert Backend().handle(identity, start_msg()) == [(identity, protocol.ErrorReply(text))]


def test_identity_with_non_integer_instance_is_refused_by_name() -> None:
    ((_, reply),) = Backend().handle(b"admin-x", start_msg())
    assert isinstance(reply, protocol.ErrorReply) and "admin-x" in reply.error_msg


def test_restart_with_same_identity_drops_the_old_session_first() -> None:
    backend = Backend()
    backend.handle(b"admin-1", start_msg())
    assert backend.handle(b"admin-1", start_msg()) == [
        (b"admin-1", protocol.ErrorReply(MAPPING_EXISTS_MSG))
    ]
    assert not backend.has_session(b"admin-1")
    ((_, reply),) = backend.handle(b"admin-1", start_msg())
    assert isinstance(reply, protocol.EnvMeasurement)


def test_capacity_and_unknown_env() -> None:
    backend = Backend(max_sessions=1)
    backend.handle(b"admin-0", start_msg())
    assert backend.handle(b"admin-1", start_msg()) == [(b"admin-1", protocol.NoWorkerReply())]
    ((_, reply),) = Backend().handle(b"admin-0", start_msg(env="warp_drive"))
    assert isinstance(reply, protocol.NoWorkerReply) and reply.msg and "warp_drive" in reply.msg


def test_bad_timing_in_env_start_is_an_env_error_naming_the_key() -> None:
    ((_, reply),) = Backend().handle(b"admin-0", start_msg(env_end_time_ms=10))
    assert isinstance(reply, protocol.ErrorReply) and "env_end_time_ms" in reply.error_msg
    ((_, reply),) = Backend().handle(b"admin-0", start_msg(measurement_interval_ms="x"))
    assert isinstance(reply, protocol.ErrorReply) and "measurement_interval_ms" in reply.error_msg


def test_other_message_types_are_unknown() -> None:
    backend = Backend()
    for msg in (
        protocol.EnvHello(env_list=["custom"]),
        protocol.ErrorReply("x"),
    ):
        assert backend.handle(b"admin-0", msg) == [
            (b"admin-0", protocol.ErrorReply(UNKNOWN_TYPE_MSG))
        ]


def test_a_clients_env_end_ends_its_session_and_is_answered() -> None:
    backend = Backend()
    ((_, first),) = backend.handle(b"admin-0", start_msg())
    assert backend.has_session(b"admin-0")
    assert backend.handle(b"admin-0", protocol.EnvEnd()) == [(b"admin-0", protocol.EnvEnd())]
    assert not backend.has_session(b"admin-0")
    # the next env-start starts afresh: no "Mapping Exits"
    ((_, again),) = backend.handle(b"admin-0", start_msg())
    assert again == first
    # an env-end without a session is answered all the same
    backend.handle(b"admin-0", protocol.EnvEnd())
    assert backend.handle(b"admin-0", protocol.EnvEnd()) == [(b"admin-0", protocol.EnvEnd())]


def test_env_end_of_one_client_leaves_the_others() -> None:
    backend = Backend()
    backend.handle(b"admin-0", start_msg())
    backend.handle(b"admin-1", start_msg())
    backend.handle(b"admin-0", protocol.EnvEnd())
    assert backend.has_session(b"admin-1") and not backend.has_session(b"admin-0")


def test_env_end_over_frames_is_compact_and_parsed_once() -> None:
    backend = Backend()
    handle_frames(backend, [b"admin-0", protocol.encode(start_msg())])
    replies = handle_frames(backend, [b"admin-0", b'{\n  "type": "env-end"\n}'])
    assert replies == [(b"admin-0", b'{"type":"env-end"}')]
    assert backend.session_count == 0


def test_idle_sessions_expire() -> None:
    clock = FakeClock()
    backend = Backend(idle_timeout_s=5.0, clock=clock)
    backend.handle(b"admin-0", start_msg())
    clock.now_s = 4.0
    assert backend.expire() == []
    clock.now_s = 5.5
    assert backend.expire() == [(b"admin-0", protocol.ErrorReply(IDLE_TIMEOUT_MSG))]
    assert backend.session_count == 0


def test_an_internal_failure_costs_one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = Backend()
    backend.handle(b"admin-0", start_msg())
    ((_, other),) = backend.handle(b"admin-1", start_msg())

    def boom(self: Any, action_list: Any) -> None:
        raise RuntimeError("model bug")

    from netgym_sim.scenarios.custom import CustomScenario

    monkeypatch.setattr(CustomScenario, "apply", boom)
    ((_, payload),) = handle_frames(backend, [b"admin-0", protocol.encode(action_for(other))])
    reply = protocol.decode(payload)
    assert isinstance(reply, protocol.ErrorReply) and "model bug" in reply.error_msg
    assert not backend.has_session(b"admin-0") and backend.has_session(b"admin-1")


def test_handle_message_turns_an_internal_failure_into_env_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netgym_sim.core.handlers import handle_message
    from netgym_sim.scenarios.custom import CustomScenario

    backend = Backend()
    ((_, first),) = handle_message(backend, b"admin-0", start_msg())

    def boom(self: Any, action_list: Any) -> None:
        raise RuntimeError("model bug")

    monkeypatch.setattr(CustomScenario, "apply", boom)
    ((to, reply),) = handle_message(backend, b"admin-0", action_for(first))
    assert to == b"admin-0"
    assert reply == protocol.ErrorReply("InternalError: RuntimeError: model bug")
    assert not backend.has_session(b"admin-0")


def test_only_subscribed_records_are_sent() -> None:
    backend = Backend()
    ((_, everything),) = backend.handle(b"admin-0", start_msg())
    assert isinstance(everything, protocol.EnvMeasurement)
    names = [f"{r['source']}::{r['name']}" for r in everything.network_stats]
    assert len(names) > 2
    wanted = [names[-1], names[0], "test::not_built"]
    ((_, some),) = backend.handle(b"admin-1", start_msg(subscribed_network_stats=wanted))
    assert isinstance(some, protocol.EnvMeasurement)
    # the scenario's order, only what was asked for; an unknown name is simply absent
    assert some.network_stats == [everything.network_stats[0], everything.network_stats[-1]]
    ((_, bad),) = backend.handle(b"admin-2", start_msg(subscribed_network_stats="test::x"))
    assert isinstance(bad, protocol.ErrorReply)
    assert "subscribed_network_stats" in bad.error_msg


def test_load_accounts_real_format(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Identity,Password,Max_Instances,Email\nalice,secret,2,a@example.org\nbob,pw,1,\n"
    )
    accounts = load_accounts(path)
    assert accounts["alice"].password == "secret" and accounts["alice"].max_instances == 2
    assert accounts["bob"].max_instances == 1
    backend = Backend(accounts)
    assert backend.check_identity(b"alice-1") is None
    assert backend.check_identity(b"alice-2") == INSTANCE_LIMIT_MSG
    assert backend.check_identity(b"admin-0") == UNKNOWN_ACCOUNT_MSG


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("Name,Password\nx,y\n", ":1"),
        ("Identity,Password,Max_Instances,Email\nx,y,many,\n", ":2"),
        ("Identity,Password,Max_Instances,Email\nx,y\n", ":2"),
        ("Identity,Password,Max_Instances,Email\n", ""),
    ],
)
def test_load_accounts_rejects_bad_files(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_accounts(path)
    assert f"{path}{where}" in str(info.value)


def test_default_accounts() -> None:
    assert DEFAULT_ACCOUNTS["admin"].max_instances == 32
    assert DEFAULT_ACCOUNTS["test"].max_instances == 1


def test_custom_is_per_account_as_the_original_routes_it() -> None:
    """The original serves ``custom`` as ``"<account>-custom"``: only the official account's
    (``admin``) workers offer ``admin-custom``, which the simulated worker is."""
    backend = Backend()
    start = start_msg()
    assert start.env_config["env"] == "custom"
    ((_, reply),) = backend.handle(b"test-0", start)
    offered = ["admin-custom", "network_slicing", "nqos_split", "qos_steer", "rmcat"]
    assert reply == protocol.NoWorkerReply(
        msg="No available workers for env: test-custom. Available_workers and their "
        f"[env list]:{{'netgym-sim': {offered}}}"
    )
    assert not backend.has_session(b"test-0")
    ((_, served),) = backend.handle(b"admin-0", start)
    assert isinstance(served, protocol.EnvMeasurement)
    ((_, unknown),) = backend.handle(b"test-0", protocol.EnvStart({"env": "wifi6"}))
    assert isinstance(unknown, protocol.NoWorkerReply) and unknown.msg is not None
    assert unknown.msg.startswith("No available workers for env: wifi6. Available_workers")
    ((_, again),) = backend.handle(b"admin-0", start)
    assert again == protocol.ErrorReply(
        "NetworkGym Client - Worker Mapping Exits (Client was force quited, e.g., ctrl+c!). "
        "Restart the client."
    )


def test_logs_name_identities_as_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="netgym_sim"):
        Backend().handle(b"admin-0", start_msg())
    assert "admin-0 started a custom session" in caplog.text
    assert "b'" not in caplog.text
