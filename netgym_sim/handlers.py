"""Wire ⇄ backend: frames in, frames out.

Rules: this is the one place where bytes are decoded for the backend and where a
:class:`~netgym_sim.errors.SimError`, a :class:`~netgym_client.errors.ProtocolError` or an
unexpected failure becomes an ``env-error``. Whatever one client sends, the function returns
replies for that client only and never raises, so the server keeps serving everyone else.
Replies are compact JSON, like the real server's own messages.
"""

from __future__ import annotations

import logging

from netgym_client import protocol
from netgym_client.errors import ProtocolError
from netgym_sim.backend import UNKNOWN_TYPE_MSG, Backend

__all__ = ["handle_frames", "handle_idle"]

logger = logging.getLogger(__name__)

Frames = tuple[bytes, bytes]

#: Largest client payload accepted, in bytes. Clients send only env-start and env-action; a
#: 1,000-user split-weight action is about 100 KB, so 8 MiB is ample and bounds what a hostile
#: peer can make us parse (the codec's own limit is sized for measurements).
CLIENT_MAX_BYTES = 8 * 1024 * 1024

#: The message types a client may send.
CLIENT_TYPES = frozenset({"env-start", "env-action"})


def _error(identity: bytes, text: str) -> list[Frames]:
    return [(identity, protocol.encode(protocol.ErrorReply(text)))]


def handle_frames(backend: Backend, frames: list[bytes]) -> list[Frames]:
    """Answer the frames a ROUTER received (``[identity, payload]``)."""
    identity = frames[0]
    if len(frames) != 2:
        logger.warning("%r sent %d payload frames; expected 1", identity, len(frames) - 1)
        return _error(identity, f"ProtocolError: expected 1 payload frame, got {len(frames) - 1}")
    refusal = backend.check_identity(identity)
    if refusal is not None:
        return _error(identity, refusal)
    try:
        kind = protocol.decode_json(frames[1], max_bytes=CLIENT_MAX_BYTES).get("type")
        if isinstance(kind, str) and kind not in CLIENT_TYPES:
            # what the real server answers to any other type (captures/14, 15)
            return _error(identity, UNKNOWN_TYPE_MSG)
        msg = protocol.decode(frames[1], max_bytes=CLIENT_MAX_BYTES)
    except ProtocolError as exc:
        logger.info("%r sent a malformed message: %s", identity, exc)
        return _error(identity, f"ProtocolError: {exc}")
    try:
        replies = backend.handle(identity, msg)
        return [(to, protocol.encode(reply)) for to, reply in replies]
    except Exception as exc:  # a bug must cost one session, not the server
        logger.exception("internal error while serving %r", identity)
        backend.drop(identity)
        return _error(identity, f"InternalError: {type(exc).__name__}: {exc}")


def handle_idle(backend: Backend) -> list[Frames]:
    """Expire idle sessions; the replies tell their clients."""
    return [(to, protocol.encode(reply)) for to, reply in backend.expire()]
