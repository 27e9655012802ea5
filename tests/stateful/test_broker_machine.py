"""The broker and its env workers as one state machine, in memory (sans-IO, no sockets).

Clients' frames go through :meth:`Broker.from_client`, the broker's frames to workers through
:meth:`WorkerSlot.handle`, the workers' answers back through :meth:`Broker.from_worker`, until
nothing is in flight; a simple model says what each client must get.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from netgym_sim.core.backend import MAPPING_EXISTS_MSG, NO_MAPPING_MSG
from netgym_sim.serving.broker import BACKEND, WORKER_RESTARTED_MSG, Broker
from netgym_sim.serving.worker import WorkerSlot
from tests.stateful.test_backend_machine import STEP_MS, action_payload, start_payload
from tests.unit.test_broker import Clock

CLIENTS = [b"admin-0", b"admin-1", b"test-0"]
WORKERS = [b"admin-1-h", b"admin-2-h", b"test-1-h"]
MEASUREMENTS = 3
START = start_payload(MEASUREMENTS)
action = action_payload


class BrokerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.broker = Broker(clock=self.clock, hello_grace_s=0.0)
        self.slots = {w: WorkerSlot(["custom"], clock=self.clock) for w in WORKERS}
        self.inbox: dict[bytes, list[dict[str, Any]]] = {c: [] for c in CLIENTS}
        # model: client -> (worker, ts of its last measurement)
        self.sessions: dict[bytes, tuple[bytes, int]] = {}
        self.registered: set[bytes] = set()
        for worker in WORKERS:
            self.hello(worker)

    def deliver(self, frames: list[Any]) -> None:
        queue = deque(frames)
        while queue:
            side, out = queue.popleft()
            if side == BACKEND:
                worker, client, payload = out
                for reply in self.slots[worker].handle(client, payload):
                    queue.extend(self.broker.from_worker([worker, *reply]))
            else:
                self.inbox[out[0]].append(json.loads(out[1]))

    def send(self, client: bytes, payload: bytes) -> list[dict[str, Any]]:
        self.inbox[client] = []
        self.deliver(self.broker.from_client([client, payload]))
        return self.inbox[client]

    def idle_offering(self, client: bytes) -> list[bytes]:
        account = client.split(b"-")[0]
        return [w for w in WORKERS if w in self.registered and w.startswith(account + b"-")]

    def hello(self, worker: bytes) -> None:
        self.slots[worker].hello_now()
        for frames in self.slots[worker].tick():
            self.deliver(self.broker.from_worker([worker, *frames]))
        self.registered.add(worker)

    @rule(client=st.sampled_from(CLIENTS))
    def start(self, client: bytes) -> None:
        running = self.sessions.pop(client, None)
        free = [w for w in self.idle_offering(client) if not self.slots[w].busy]
        replies = self.send(client, START)
        if running is not None:
            assert replies == [{"type": "env-error", "error_msg": MAPPING_EXISTS_MSG}]
            assert not self.slots[running[0]].busy  # the forwarded start ended it
            return
        if not free:
            assert [r["type"] for r in replies] == ["no-available-worker"]
            return
        (reply,) = replies
        assert reply["type"] == "env-measurement", reply
        worker = self.broker.routes[client]
        # the first idle one in registration order (a restarted worker registers anew)
        assert worker == next(w for w in self.broker.workers if w in free)
        self.sessions[client] = (worker, reply["network_stats"][0]["ts"])
        assert reply["network_stats"][0]["ts"] == STEP_MS

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(sorted(self.sessions)))
        worker, ts = self.sessions[client]
        (reply,) = self.send(client, action(ts))
        assert reply["type"] == "env-measurement"
        assert reply["network_stats"][0]["ts"] == ts + STEP_MS
        if ts + STEP_MS == STEP_MS * MEASUREMENTS:  # the last: env-end, hello, idle again
            del self.sessions[client]
            assert client not in self.broker.routes and not self.slots[worker].busy
        else:
            self.sessions[client] = (worker, ts + STEP_MS)

    @rule(client=st.sampled_from(CLIENTS))
    def act_without_session(self, client: bytes) -> None:
        if client in self.sessions:
            return
        assert self.send(client, action(STEP_MS)) == [
            {"type": "env-error", "error_msg": NO_MAPPING_MSG}
        ]

    @rule(client=st.sampled_from(CLIENTS))
    def end(self, client: bytes) -> None:
        running = self.sessions.pop(client, None)
        assert self.send(client, b'{"type":"env-end"}') == [{"type": "env-end"}]
        if running is not None:
            assert not self.slots[running[0]].busy

    @rule(worker=st.sampled_from(WORKERS))
    def worker_dies_and_comes_back(self, worker: bytes) -> None:
        victims = [c for c, (w, _) in self.sessions.items() if w == worker]
        for client in victims:
            self.inbox[client] = []
        self.deliver(self.broker.worker_lost(worker))
        for client in victims:
            assert self.inbox[client] == [{"type": "env-error", "error_msg": WORKER_RESTARTED_MSG}]
            del self.sessions[client]
        self.registered.discard(worker)
        self.slots[worker] = WorkerSlot(["custom"], clock=self.clock)
        self.hello(worker)

    @rule(worker=st.sampled_from(WORKERS))
    def action_timeout(self, worker: bytes) -> None:
        slot = self.slots[worker]
        if not slot.busy:
            return
        client = slot.client
        assert client is not None
        self.inbox[client] = []
        self.clock.now_s += slot.action_timeout_s + 1
        for frames in slot.tick():
            self.deliver(self.broker.from_worker([worker, *frames]))
        assert [r["type"] for r in self.inbox[client]] == ["env-error"]
        del self.sessions[client]

    @invariant()
    def routes_match_the_workers(self) -> None:
        for client, worker in self.broker.routes.items():
            assert self.broker.workers[worker].client == client
            assert self.slots[worker].client == client
        busy = {c: w for c, (w, _) in self.sessions.items()}
        assert busy == self.broker.routes
        for worker, entry in self.broker.workers.items():
            assert entry.idle == (not self.slots[worker].busy)


TestBrokerMachine = BrokerMachine.TestCase
TestBrokerMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
