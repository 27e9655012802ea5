"""The server's session protocol as a state machine, checked against a simple model.

Frames go through :func:`netgym_sim.core.handlers.handle_frames` exactly as the ROUTER would hand
them over, so decoding, routing and error replies are all exercised, with no sockets.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from netgym_sim.core.backend import MAPPING_EXISTS_MSG, NO_MAPPING_MSG, Backend
from netgym_sim.core.handlers import handle_frames

IDENTITIES = [b"admin-0", b"admin-1", b"admin-2"]  # custom runs on the official account only
STEP_MS = 10


def start_payload(measurements: int) -> bytes:
    return json.dumps(
        {
            "type": "env-start",
            "env": "custom",
            "num_users": 2,
            "measurement_start_time_ms": 0,
            "measurement_interval_ms": STEP_MS,
            "measurement_guard_interval_ms": 0,
            "env_end_time_ms": STEP_MS * (measurements + 1),
        },
        indent=2,
    ).encode()


def action_payload(ts: int) -> bytes:
    return json.dumps(
        {
            "type": "env-action",
            "action_list": {
                "name": "srate",
                "ts": ts,
                "source": "test",
                "id": [0, 1],
                "value": [0.5, 0.5],
            },
        }
    ).encode()


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.backend = Backend()
        # model: identity -> (measurements left, ts of the last measurement)
        self.model: dict[bytes, tuple[int, int]] = {}

    def send(self, identity: bytes, payload: bytes) -> dict[str, Any]:
        replies = handle_frames(self.backend, [identity, payload])
        assert len(replies) == 1 and replies[0][0] == identity, replies
        reply: dict[str, Any] = json.loads(replies[0][1])
        return reply

    @rule(identity=st.sampled_from(IDENTITIES), measurements=st.integers(1, 4))
    def start(self, identity: bytes, measurements: int) -> None:
        reply = self.send(identity, start_payload(measurements))
        if identity in self.model:
            assert reply == {"type": "env-error", "error_msg": MAPPING_EXISTS_MSG}
            del self.model[identity]
            return
        assert reply["type"] == "env-measurement"
        assert reply["network_stats"][0]["ts"] == STEP_MS
        if measurements > 1:
            self.model[identity] = (measurements - 1, STEP_MS)

    @rule(identity=st.sampled_from(IDENTITIES))
    def act(self, identity: bytes) -> None:
        if identity not in self.model:
            reply = self.send(identity, action_payload(0))
            assert reply == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
            return
        left, ts = self.model[identity]
        reply = self.send(identity, action_payload(ts))
        assert reply["type"] == "env-measurement"
        assert reply["network_stats"][0]["ts"] == ts + STEP_MS
        if left == 1:
            del self.model[identity]
        else:
            self.model[identity] = (left - 1, ts + STEP_MS)

    @rule(identity=st.sampled_from(IDENTITIES))
    def act_with_stale_ts(self, identity: bytes) -> None:
        if identity not in self.model:
            return
        _, ts = self.model.pop(identity)
        reply = self.send(identity, action_payload(ts - STEP_MS))
        assert reply["type"] == "env-error" and "ts" in reply["error_msg"]

    @rule(identity=st.sampled_from(IDENTITIES), junk=st.binary(max_size=64))
    def junk(self, identity: bytes, junk: bytes) -> None:
        reply = self.send(identity, junk)
        assert reply["type"] == "env-error"  # junk never touches a session

    @invariant()
    def sessions_match_the_model(self) -> None:
        assert self.backend.session_count == len(self.model)
        for identity in IDENTITIES:
            assert self.backend.has_session(identity) == (identity in self.model)


SessionMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestSessionMachine = SessionMachine.TestCase
