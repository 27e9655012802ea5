"""Several accounts and identities against a model of sessions and routes (no sockets).

Every frame goes through :func:`netgym_sim.core.handlers.handle_frames` with the ZAP user of its
connection, as the server hands it over, plus :meth:`Backend.note_arrival` as the server's
receive does. The model says which identity an account may use (its own, instance below its
limit, canonical spelling), which sessions run and who holds each route.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from netgym_sim.core.backend import (
    INSTANCE_LIMIT_MSG,
    MAPPING_EXISTS_MSG,
    NO_MAPPING_MSG,
    UNKNOWN_ACCOUNT_MSG,
    Account,
    Backend,
)
from netgym_sim.core.handlers import handle_frames
from tests.stateful.test_backend_machine import STEP_MS, action_payload, start_payload

ACCOUNTS = {
    "admin": Account("admin", "admin", 3),
    "test": Account("test", "test", 1),
    "ops": Account("ops", "ops", 2),
}
USERS = sorted(ACCOUNTS)
IDENTITIES = [
    b"admin-0",
    b"admin-2",
    b"admin-3",
    b"test-0",
    b"test-1",
    b"ops-1",
    b"test-a-0",
    b"admin--3",
    b"admin-+1",
    b"admin-01",
    b"admin-a-b-2",
    b"ghost-0",
    b"admin",
]


def expected_refusal(identity: bytes, user: str) -> str | None:
    """The model of rule 1: None when ``user`` may use ``identity``."""
    account, dash, instance = identity.decode().partition("-")
    if not dash or account not in ACCOUNTS:
        return UNKNOWN_ACCOUNT_MSG
    if account != user:
        return "belongs to account"
    if not re.fullmatch(r"0|[1-9][0-9]*", instance):
        return "non-negative integer"
    if int(instance) >= ACCOUNTS[account].max_instances:
        return INSTANCE_LIMIT_MSG
    return None


class AccountsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.backend = Backend(ACCOUNTS)
        # model: identity -> (measurements left, ts of the last measurement)
        self.sessions: dict[bytes, tuple[int, int]] = {}
        # model: identity -> the user whose connection last sent a frame with it
        self.route: dict[bytes, str] = {}

    def send(self, identity: bytes, user: str, payload: bytes) -> dict[str, Any] | None:
        """One frame from ``user``'s connection; the reply, or None when it was held back."""
        self.backend.note_arrival(identity, user, 0.0)
        if identity in self.sessions:
            self.route[identity] = user
        replies = handle_frames(self.backend, [identity, payload], user=user)
        assert len(replies) == 1 and replies[0][0] == identity, replies
        if not self.backend.route_ok(identity):
            return None
        reply: dict[str, Any] = json.loads(replies[0][1])
        return reply

    def check_refused(self, identity: bytes, user: str, reply: dict[str, Any] | None) -> bool:
        refusal = expected_refusal(identity, user)
        if refusal is None:
            return False
        if identity in self.sessions:  # another account holds the route: nothing goes out
            assert reply is None, reply
        else:
            assert reply is not None and reply["type"] == "env-error", reply
            assert refusal in reply["error_msg"], (identity, user, reply)
        return True

    @rule(identity=st.sampled_from(IDENTITIES), user=st.sampled_from(USERS), n=st.integers(1, 3))
    def start(self, identity: bytes, user: str, n: int) -> None:
        reply = self.send(identity, user, start_payload(n))
        if self.check_refused(identity, user, reply):
            return
        assert reply is not None
        if identity in self.sessions:
            assert reply == {"type": "env-error", "error_msg": MAPPING_EXISTS_MSG}
            del self.sessions[identity]
            return
        account = identity.decode().partition("-")[0]
        if account != "admin":  # custom is per account, as the original routes it
            assert reply["type"] == "no-available-worker", reply
            assert f"No available workers for env: {account}-custom." in reply["msg"], reply
            return
        assert reply["type"] == "env-measurement", reply
        if n > 1:
            self.sessions[identity] = (n - 1, STEP_MS)
            self.route[identity] = user

    @rule(identity=st.sampled_from(IDENTITIES), user=st.sampled_from(USERS))
    def act(self, identity: bytes, user: str) -> None:
        left, ts = self.sessions.get(identity, (0, 0))
        reply = self.send(identity, user, action_payload(ts))
        if self.check_refused(identity, user, reply):
            return
        assert reply is not None
        if identity not in self.sessions:
            assert reply == {"type": "env-error", "error_msg": NO_MAPPING_MSG}
            return
        assert reply["type"] == "env-measurement", reply
        assert reply["network_stats"][0]["ts"] == ts + STEP_MS
        if left == 1:
            del self.sessions[identity]
        else:
            self.sessions[identity] = (left - 1, ts + STEP_MS)

    @rule(identity=st.sampled_from(IDENTITIES), user=st.sampled_from(USERS))
    def end(self, identity: bytes, user: str) -> None:
        reply = self.send(identity, user, b'{"type": "env-end"}')
        if self.check_refused(identity, user, reply):
            return
        assert reply == {"type": "env-end"}
        self.sessions.pop(identity, None)

    @invariant()
    def sessions_and_routes_match_the_model(self) -> None:
        assert self.backend.session_count == len(self.sessions)
        for identity in IDENTITIES:
            assert self.backend.has_session(identity) == (identity in self.sessions)
            if identity in self.sessions:
                owner = identity.decode().partition("-")[0]
                assert self.backend.route_ok(identity) == (self.route[identity] == owner)

    @invariant()
    def instance_limits_hold(self) -> None:
        for name, account in ACCOUNTS.items():
            mine = [i for i in self.sessions if i.decode().partition("-")[0] == name]
            assert len(mine) <= account.max_instances


AccountsMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestAccountsMachine = AccountsMachine.TestCase
