"""Wire ⇄ backend: frames in, frames out.

Rules: this is the one place where bytes are decoded for the backend and where a
:class:`~netgym_sim.errors.SimError`, a :class:`~netgym_client.errors.ProtocolError` or an
unexpected failure becomes an ``env-error``. Whatever one client sends, the functions return
replies for that client only and never raise, so the server keeps serving everyone else.
Replies are compact JSON, like the real server's own messages.

- Each client payload is parsed once (:func:`~netgym_client.protocol.decode_json`, then
  :func:`~netgym_client.protocol.decode_object` on the parsed object).
- The replies are built here from the backend's own records, so they are encoded without
  being validated again (``validate=False``; the codec still refuses non-JSON values).
- An ``env-action`` that is malformed (its records break the wire's rules) ends the client's
  session with the ``env-error``, as a bad action does to an ns-3 session behind the original
  server (the worker aborts, the server drops the mapping): the next action gets "…mapping
  removed.", as any action without a session does, malformed or not. A bad action the scenario
  refuses ends the session the same way (the backend's rule).
- :func:`handle_message` is the same answer without bytes: the embedded client calls it in
  process with message objects and gets message objects back, so both paths share every
  rule, error text and error type.
"""

from __future__ import annotations

import logging

from netgym_client import protocol
from netgym_client.errors import ProtocolError
from netgym_client.protocol import identity_text as _t
from netgym_sim.core.backend import (
    CLIENT_END_TYPE,
    NO_MAPPING_MSG,
    UNKNOWN_TYPE_MSG,
    Backend,
    Reply,
)
from netgym_sim.limits import LogTally

__all__ = ["handle_frames", "handle_idle", "handle_message", "internal_error"]

logger = logging.getLogger(__name__)

Frames = tuple[bytes, bytes]

#: Largest client payload accepted, in bytes. Clients send only env-start and env-action; a
#: 1,000-user split-weight action is about 100 KB, so 8 MiB is ample and bounds what a hostile
#: peer can make us parse (the codec's own limit is sized for measurements).
CLIENT_MAX_BYTES = 8 * 1024 * 1024

#: Longest ``error_msg`` sent: a reply never echoes more than a short part of a request.
MAX_ERROR_CHARS = 1000

#: The message types a client may send.
CLIENT_TYPES = frozenset({"env-start", "env-action", CLIENT_END_TYPE})


def _error(identity: bytes, text: str) -> list[Frames]:
    return [(identity, protocol.encode(protocol.ErrorReply(_clip(text)), validate=False))]


def _clipped(reply: protocol.Message) -> protocol.Message:
    if isinstance(reply, protocol.ErrorReply) and len(reply.error_msg) > MAX_ERROR_CHARS:
        return protocol.ErrorReply(_clip(reply.error_msg))
    return reply


def _clip(text: str) -> str:
    """An error text cut to :data:`MAX_ERROR_CHARS` (it may quote what a client sent)."""
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def handle_message(backend: Backend, identity: bytes, msg: protocol.Message) -> list[Reply]:
    """Answer one decoded client message; an internal failure costs that session only."""
    try:
        if backend.faults is not None:  # the fault plan decides, then asks the backend
            return backend.faults.handle(backend, identity, msg)
        return backend.handle(identity, msg)
    except Exception as exc:  # a bug must cost one session, not the server
        return [(identity, internal_error(backend, identity, exc))]


def internal_error(backend: Backend, identity: bytes, exc: Exception) -> protocol.Message:
    """After a bug while serving ``identity``: log it, drop the session; the error reply."""
    logger.exception("internal error while serving %s", _t(identity), exc_info=exc)
    backend.drop(identity)
    return protocol.ErrorReply(f"InternalError: {type(exc).__name__}: {exc}")


_malformed = LogTally(logger, "malformed messages")


def handle_frames(
    backend: Backend, frames: list[bytes], *, user: str | None = None
) -> list[Frames]:
    """Answer the frames a ROUTER received (``[identity, payload]``).

    Args:
        backend: The session table.
        frames: The frames, routing id first.
        user: The ZAP User-Id of the connection (the PLAIN username), when known.
    """
    identity = frames[0]
    if len(frames) != 2:
        _malformed.add(identity, f"{len(frames) - 1} payload frames")
        return _error(identity, f"ProtocolError: expected 1 payload frame, got {len(frames) - 1}")
    refusal = backend.check_identity(identity, user)
    if refusal is not None:
        return _error(identity, refusal)
    kind: object = None
    try:
        obj = protocol.decode_json(frames[1], max_bytes=backend.limits.max_message_bytes)
        kind = obj.get("type")
        if isinstance(kind, str) and kind not in CLIENT_TYPES:
            # what the real server answers to any other type (captures/14, 15)
            return _error(identity, UNKNOWN_TYPE_MSG)
        msg = protocol.decode_object(obj)
    except ProtocolError as exc:
        _malformed.add(identity, exc)
        if kind == "env-action":
            if not backend.drop(identity):  # no session: the original's answer to any action
                return _error(identity, NO_MAPPING_MSG)
            # what the original does with a bad action: the session ends with the env-error
            # (ns-3 aborts, its worker reports it, the server drops the client's mapping)
            logger.info("%s sent a malformed action; session ended", _t(identity))
        return _error(identity, f"ProtocolError: {exc}")
    replies = handle_message(backend, identity, msg)
    try:
        return [(to, protocol.encode(_clipped(reply), validate=False)) for to, reply in replies]
    except ProtocolError as exc:  # a scenario built a non-JSON record: a bug, one session
        logger.error("cannot encode the reply to %s: %s", _t(identity), exc)
        backend.drop(identity)
        return _error(identity, f"InternalError: {exc}")


def handle_idle(backend: Backend) -> list[Frames]:
    """Expire idle sessions; the replies tell their clients."""
    return [(to, protocol.encode(reply, validate=False)) for to, reply in backend.expire()]
