"""A raw ZeroMQ peer behaving as PROTOCOL.md says the original NetworkGym client behaves.

It does not use netgym's codec or client on purpose: a bug shared by our client and server
would otherwise go unseen. It sends ``json.dumps(payload, indent=2)`` in one frame from a
DEALER whose identity is ``"<session_name>-<client_id>"`` with PLAIN credentials.
"""

from __future__ import annotations

import json
from typing import Any

import zmq

RECV_TIMEOUT_MS = 5_000


class RawPeer:
    """One DEALER socket; every receive is bounded."""

    def __init__(
        self,
        context: zmq.Context[Any],
        address: str,
        identity: str = "admin-0",
        username: str = "admin",
        password: str = "admin",
    ) -> None:
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.IDENTITY, identity.encode())
        self.socket.setsockopt(zmq.PLAIN_USERNAME, username.encode())
        self.socket.setsockopt(zmq.PLAIN_PASSWORD, password.encode())
        self.socket.connect(address)

    def send(self, payload: dict[str, Any]) -> None:
        self.socket.send(json.dumps(payload, indent=2).encode())

    def send_raw(self, *frames: bytes) -> None:
        self.socket.send_multipart(list(frames))

    def recv(self, timeout_ms: int = RECV_TIMEOUT_MS) -> dict[str, Any] | None:
        """The next payload as a dict, or None if nothing came in time."""
        if not self.socket.poll(timeout_ms):
            return None
        frames = self.socket.recv_multipart()
        assert len(frames) == 1, frames
        payload: dict[str, Any] = json.loads(frames[0])
        return payload

    def close(self) -> None:
        self.socket.close(linger=0)


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """The row the original client's DataFrame holds for a record (nested "" pair flattened)."""
    row = {k: v for k, v in record.items() if k != ""}
    if "" in record:
        row.update(record[""])
    return row


def action_from_template(record: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """The original client's policy: a template row copy with name/value replaced."""
    row = flatten(record)
    row["name"] = name
    row["value"] = value
    return {"type": "env-action", "action_list": row}
