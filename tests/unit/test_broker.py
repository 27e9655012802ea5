"""The broker's routing rules (PROTOCOL.md §4), sans-IO, against the real captures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netgym_sim.core.backend import (
    INSTANCE_LIMIT_MSG,
    MAPPING_EXISTS_MSG,
    NO_MAPPING_MSG,
    UNKNOWN_ACCOUNT_MSG,
    UNKNOWN_TYPE_MSG,
    Backend,
)
from netgym_sim.core.handlers import handle_frames
from netgym_sim.serving.broker import BACKEND, FRONTEND, WORKER_RESTARTED_MSG, Broker

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"


def capture(number: str) -> dict[str, Any]:
    (path,) = CAPTURES.glob(f"{number}_*.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def frames_of(number: str) -> list[bytes]:
    return [frame.encode() for frame in capture(number)["frames"]]


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def payload(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, indent=2).encode()


def hello(broker: Broker, worker: bytes, envs: list[str]) -> list[Any]:
    return broker.from_worker([worker, b"", payload({"type": "env-hello", "env_list": envs})])


def decoded(out: list[Any]) -> list[tuple[str, list[Any]]]:
    return [(side, [*frames[:-1], json.loads(frames[-1])]) for side, frames in out]


def start_msg(env: str = "nqos_split") -> bytes:
    return payload({"type": "env-start", "env": env, "num_users": 2})


def test_the_captured_session_is_routed_byte_for_byte() -> None:
    # captures 01-13: hello, start, measurement, action, ..., env-end, hello
    broker = Broker()
    assert broker.from_worker(frames_of("01")) == []
    assert broker.idle_workers() == [b"admin-1-vm"]
    pairs = [("02", "03"), ("04", "05"), ("06", "07"), ("08", "09"), ("10", "11")]
    for rx, tx in pairs:
        incoming = frames_of(rx)
        side_in = capture(rx)["side"]
        out = (
            broker.from_client(incoming)
            if side_in.startswith("frontend")
            else broker.from_worker(incoming)
        )
        expected_side = FRONTEND if capture(tx)["side"].startswith("frontend") else BACKEND
        assert out == [(expected_side, frames_of(tx))], (rx, tx)
    assert broker.routes == {b"admin-0": b"admin-1-vm"}
    assert broker.from_worker(frames_of("12")) == []  # env-end: not relayed, route dropped
    assert broker.routes == {}
    assert broker.idle_workers() == []  # busy until its hello
    assert broker.from_worker(frames_of("13")) == []
    assert broker.idle_workers() == [b"admin-1-vm"]


def test_no_worker_for_the_env_lists_the_idle_ones_as_the_original() -> None:
    broker = Broker()
    broker.from_worker(frames_of("01"))
    (out,) = broker.from_client(frames_of("17"))
    assert out == (FRONTEND, [b"admin-9", out[1][1]])
    assert json.loads(out[1][1]) == capture("18")["payload"]


def test_no_idle_worker_at_all_has_no_msg() -> None:
    broker = Broker()
    assert decoded(broker.from_client([b"admin-0", start_msg()])) == [
        (FRONTEND, [b"admin-0", {"type": "no-available-worker"}])
    ]


def test_first_idle_worker_offering_the_env_gets_the_client() -> None:
    broker = Broker()
    hello(broker, b"admin-1-h", ["custom"])
    hello(broker, b"admin-2-h", ["nqos_split", "rmcat"])
    hello(broker, b"admin-3-h", ["nqos_split"])
    start = start_msg()
    assert broker.from_client([b"admin-0", start]) == [(BACKEND, [b"admin-2-h", b"admin-0", start])]
    assert broker.from_client([b"admin-1", start]) == [(BACKEND, [b"admin-3-h", b"admin-1", start])]
    assert (
        decoded(broker.from_client([b"admin-2", start]))[0][1][1]["type"] == "no-available-worker"
    )


def test_custom_is_per_account_and_other_accounts_offer_only_their_custom() -> None:
    broker = Broker()
    hello(broker, b"test-1-h", ["nqos_split", "custom"])  # claims nqos_split: not honoured
    assert broker.workers[b"test-1-h"].env_list == ["test-custom"]
    hello(broker, b"admin-1-h", ["custom", "nqos_split"])
    assert broker.workers[b"admin-1-h"].env_list == ["admin-custom", "nqos_split"]
    custom = start_msg("custom")
    assert broker.from_client([b"test-0", custom]) == [(BACKEND, [b"test-1-h", b"test-0", custom])]
    assert broker.from_client([b"admin-0", custom]) == [
        (BACKEND, [b"admin-1-h", b"admin-0", custom])
    ]


def routed(broker: Broker, client: bytes = b"admin-0", worker: bytes = b"admin-1-h") -> None:
    hello(broker, worker, ["nqos_split"])
    assert broker.from_client([client, start_msg()])[0][1][0] == worker


def test_worker_messages_reach_only_the_routed_client() -> None:
    broker = Broker()
    routed(broker)
    measurement = b'{"type":"env-measurement","network_stats":[]}'
    assert broker.from_worker([b"admin-1-h", b"admin-0", measurement]) == [
        (FRONTEND, [b"admin-0", measurement])
    ]
    assert broker.from_worker([b"admin-1-h", b"admin-5", measurement]) == []  # not its client
    assert broker.from_worker([b"admin-9-h", b"admin-0", measurement]) == []  # not its worker
    other = payload({"type": "env-foo"})
    assert broker.from_worker([b"admin-1-h", b"admin-0", other]) == [
        (FRONTEND, [b"admin-0", other])
    ]
    error = payload({"type": "env-error", "error_msg": "boom"})
    assert broker.from_worker([b"admin-1-h", b"admin-0", error]) == [
        (FRONTEND, [b"admin-0", error])
    ]
    assert broker.routes == {}
    assert broker.from_worker([b"admin-1-h", b"admin-0", measurement]) == []  # route gone


def test_malformed_worker_messages_are_dropped() -> None:
    broker = Broker()
    routed(broker)
    for frames in ([b"admin-1-h", b"{"], [b"admin-1-h", b"admin-0", b"{not json"], [b"x"]):
        assert broker.from_worker(frames) == []
    assert broker.from_worker([b"admin-1-h", b"", b'{"type":"env-hello","env_list":3}']) == []
    assert broker.routes == {b"admin-0": b"admin-1-h"}


def test_a_restarted_worker_sends_its_client_try_again() -> None:
    clock = Clock()
    broker = Broker(clock=clock, hello_grace_s=2.0)
    routed(broker)
    assert hello(broker, b"admin-1-h", ["nqos_split"]) == []  # crossed the start: ignored
    assert broker.routes == {b"admin-0": b"admin-1-h"}
    clock.now_s += 3.0
    assert decoded(hello(broker, b"admin-1-h", ["nqos_split"])) == [
        (FRONTEND, [b"admin-0", {"type": "env-error", "error_msg": WORKER_RESTARTED_MSG}])
    ]
    assert broker.routes == {}
    assert broker.idle_workers() == [b"admin-1-h"]


def test_a_hello_after_the_workers_first_answer_is_a_restart_even_in_the_grace() -> None:
    broker = Broker(hello_grace_s=60.0)
    routed(broker)
    broker.from_worker([b"admin-1-h", b"admin-0", b'{"type":"env-measurement","network_stats":[]}'])
    assert decoded(hello(broker, b"admin-1-h", ["nqos_split"]))[0][1][1]["error_msg"] == (
        WORKER_RESTARTED_MSG
    )


def counted_hello(broker: Broker, boot: str, starts: int) -> list[Any]:
    """A netgym worker's hello: its run and the starts it had received."""
    obj = {"type": "env-hello", "env_list": ["nqos_split"], "netgym_boot": boot}
    return broker.from_worker([b"admin-1-h", b"", payload(obj | {"netgym_starts": starts})])


def test_a_netgym_worker_still_loading_its_first_session_is_not_taken_for_a_restart() -> None:
    """A fresh ``serve --workers 2``: the slot's hello that crossed its start comes late."""
    clock = Clock()
    broker = Broker(clock=clock, hello_grace_s=2.0)
    assert counted_hello(broker, "run-a", 0) == []
    assert broker.from_client([b"admin-0", start_msg()])[0][0] == BACKEND
    clock.now_s += 30.0  # the process was loading another slot's first session
    assert counted_hello(broker, "run-a", 0) == []  # sent before the start came: ignored
    assert broker.routes == {b"admin-0": b"admin-1-h"}
    measured = b'{"type":"env-measurement","network_stats":[]}'
    assert broker.from_worker([b"admin-1-h", b"admin-0", measured]) == [
        (FRONTEND, [b"admin-0", measured])
    ]
    # the same run, having had the start, says hello: the session is gone (as the original)
    assert decoded(counted_hello(broker, "run-a", 1))[0][1][1]["error_msg"] == (
        WORKER_RESTARTED_MSG
    )


def test_a_netgym_worker_of_another_run_is_a_restart_at_once() -> None:
    clock = Clock()
    broker = Broker(clock=clock, hello_grace_s=60.0)
    counted_hello(broker, "run-a", 3)
    broker.from_client([b"admin-0", start_msg()])
    assert decoded(counted_hello(broker, "run-b", 0))[0][1][1]["error_msg"] == (
        WORKER_RESTARTED_MSG
    )
    assert broker.routes == {}
    broker.from_client([b"admin-1", start_msg()])  # the new run's count starts afresh
    assert counted_hello(broker, "run-b", 0) == []


def test_a_lost_worker_sends_its_client_try_again_and_is_forgotten() -> None:
    broker = Broker()
    routed(broker)
    assert decoded(broker.worker_lost(b"admin-1-h")) == [
        (FRONTEND, [b"admin-0", {"type": "env-error", "error_msg": WORKER_RESTARTED_MSG}])
    ]
    assert broker.workers == {} and broker.routes == {}
    assert broker.worker_lost(b"admin-1-h") == []


def test_idle_workers_without_hello_are_forgotten_busy_ones_are_kept() -> None:
    clock = Clock()
    broker = Broker(clock=clock, hello_expiry_s=60.0)
    routed(broker, worker=b"admin-1-h")
    hello(broker, b"admin-2-h", ["nqos_split"])
    clock.now_s += 59.0
    broker.expire()
    assert set(broker.workers) == {b"admin-1-h", b"admin-2-h"}
    clock.now_s += 2.0
    broker.expire()
    assert set(broker.workers) == {b"admin-1-h"}  # it has a client


def test_a_restarted_client_gets_mapping_exists_and_its_start_still_goes_to_the_worker() -> None:
    broker = Broker()
    routed(broker)
    start = start_msg()
    out = broker.from_client([b"admin-0", start])
    assert out[0] == (BACKEND, [b"admin-1-h", b"admin-0", start])
    assert json.loads(out[1][1][1]) == {"type": "env-error", "error_msg": MAPPING_EXISTS_MSG}
    assert broker.routes == {}


def test_actions_are_forwarded_unchanged_or_refused_without_a_route() -> None:
    broker = Broker()
    action = payload(
        {
            "type": "env-action",
            "action_list": {"name": "x", "source": "s", "ts": 1, "id": 0, "value": 1},
        }
    )
    assert decoded(broker.from_client([b"admin-0", action])) == [
        (FRONTEND, [b"admin-0", {"type": "env-error", "error_msg": NO_MAPPING_MSG}])
    ]
    routed(broker)
    assert broker.from_client([b"admin-0", action]) == [
        (BACKEND, [b"admin-1-h", b"admin-0", action])
    ]


def test_a_clients_env_end_ends_its_route_and_tells_the_worker() -> None:
    broker = Broker()
    routed(broker)
    out = decoded(broker.from_client([b"admin-0", b'{"type":"env-end"}']))
    assert out == [
        (BACKEND, [b"admin-1-h", b"admin-0", {"type": "env-end"}]),
        (FRONTEND, [b"admin-0", {"type": "env-end"}]),
    ]
    assert broker.routes == {}


IDENTITIES = [
    b"admin-0",
    b"admin-31",
    b"admin-32",
    b"test-0",
    b"test-1",
    b"nobody-0",
    b"admin",
    b"admin-x",
]
PAYLOADS = [
    b'{"type":"foo"}',
    b'{"type":"env-action","action_list":{"name":"x","source":"s","ts":1,"id":0,"value":1}}',
    b'{"type":"env-action"}',
    b'{"type":"env-end"}',
    b'{"type":3}',
    b"[1, 2]",
    b"{",
    b"\xff",
    b'{"no": "type"}',
]


@given(
    st.sampled_from(IDENTITIES),
    st.sampled_from(PAYLOADS),
    st.sampled_from([None, "admin", "test"]),
)
def test_client_side_answers_equal_the_in_process_servers(
    identity: bytes, data: bytes, user: str | None
) -> None:
    # with no session/route, every non-start message gets the in-process server's answer
    in_process = handle_frames(Backend(), [identity, data], user=user)
    assert [(FRONTEND, [to, out]) for to, out in in_process] == Broker().from_client(
        [identity, data], user=user
    )


def test_an_oversized_client_payload_is_refused_as_in_process() -> None:
    data = b'{"type":"env-start","env":"custom","pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    in_process = handle_frames(Backend(), [b"admin-0", data])
    assert [(FRONTEND, [to, out]) for to, out in in_process] == Broker().from_client(
        [b"admin-0", data]
    )


def test_a_worker_whose_identity_names_another_account_is_ignored() -> None:
    broker = Broker()
    frames = [b"admin-1-h", b"", payload({"type": "env-hello", "env_list": ["nqos_split"]})]
    assert broker.from_worker(frames, user="test") == []
    assert broker.workers == {}
    assert broker.from_worker(frames, user="admin") == []
    assert broker.idle_workers() == [b"admin-1-h"]


def test_identity_refusals_use_the_in_process_texts() -> None:
    broker = Broker()
    for identity, text in [(b"nobody-0", UNKNOWN_ACCOUNT_MSG), (b"admin-32", INSTANCE_LIMIT_MSG)]:
        (reply,) = decoded(broker.from_client([identity, start_msg()]))
        assert reply == (FRONTEND, [identity, {"type": "env-error", "error_msg": text}])
    (reply,) = decoded(broker.from_client([b"admin-0", b'{"type":"foo"}']))
    assert reply[1][1]["error_msg"] == UNKNOWN_TYPE_MSG
    (reply,) = decoded(broker.from_client([b"admin-0", b"a", b"b"]))
    assert reply[1][1]["error_msg"].startswith("ProtocolError")


def test_slots_of_the_least_busy_process_are_chosen_first() -> None:
    broker = Broker()
    for slot in (b"admin-0-h", b"admin-1-h", b"admin-2-h", b"admin-3-h"):
        hello(broker, slot, ["nqos_split"])
    broker.groups = {
        b"admin-0-h": b"p0",
        b"admin-1-h": b"p0",
        b"admin-2-h": b"p1",
        b"admin-3-h": b"p1",
    }
    chosen = [broker.from_client([f"admin-{i}".encode(), start_msg()])[0][1][0] for i in range(4)]
    assert chosen == [b"admin-0-h", b"admin-2-h", b"admin-1-h", b"admin-3-h"]


def test_no_available_worker_names_only_the_asking_accounts_own_workers() -> None:
    broker = Broker()
    hello(broker, b"admin-1-secret.host", ["nqos_split"])
    hello(broker, b"admin-2-other.host", ["qos_steer"])
    hello(broker, b"test-0-mine", ["custom"])
    out = decoded(broker.from_client([b"test-0", start_msg("rmcat")], "test"))
    ((side, (_, reply)),) = out
    assert side == FRONTEND and reply["type"] == "no-available-worker", out
    text = reply["msg"]
    assert "secret.host" not in text and "other.host" not in text, text
    assert "test-0-mine" in text and "other-workers" in text, text
    assert "nqos_split" in text and "qos_steer" in text, text
