"""``decode`` and ``encode``: bytes to typed, validated messages and back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from netgym_client.errors import EnvError, NoAvailableWorker, ProtocolError
from netgym_client.protocol.jsontext import (
    _SURROGATE_ESCAPE,
    _check_tree,
    _describe,
    _join,
    decode_json,
)
from netgym_client.protocol.messages import (
    _CLASSES,
    _WIRE_TYPES,
    MAX_MESSAGE_BYTES,
    EnvMeasurement,
    EnvStart,
    ErrorReply,
    Message,
    NoWorkerReply,
)
from netgym_client.protocol.records import (
    _check_records,
    _check_str_list,
    _get,
    _require,
    validate_action_list,
)

#: How each top-level field is checked, given the message object and the field's name.
_FIELD_CHECKS: dict[str, Callable[[dict[str, Any], str], object]] = {
    "action_list": lambda obj, key: validate_action_list(_get(obj, key, ""), where=key),
    "network_stats": _check_records,
    "workload_stats": lambda obj, key: _require(obj, key, "", dict, "an object"),
    "env_list": _check_str_list,
    "error_msg": lambda obj, key: _require(obj, key, "", str, "a string"),
    "msg": lambda obj, key: _require(obj, key, "", str, "a string"),
}


def _from_dict(obj: dict[str, Any]) -> Message:
    kind = _get(obj, "type", "")
    if not isinstance(kind, str):
        raise ProtocolError("type", f"must be a string, got {_describe(kind)}")
    cls = _CLASSES.get(kind)
    if cls is None:
        expected = sorted(_CLASSES)
        raise ProtocolError("type", f"unknown message type {_describe(kind)}; expected {expected}")
    if cls is EnvStart:
        _require(obj, "env", "", str, "a string")
        return EnvStart({k: v for k, v in obj.items() if k != "type"})
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name != "extra":
            kwargs[f.name] = obj.get(f.name)
            if f.default is not None or kwargs[f.name] is not None:  # default None: optional
                _FIELD_CHECKS[f.name](obj, f.name)
    kwargs["extra"] = {k: v for k, v in obj.items() if k != "type" and k not in kwargs}
    return cls(**kwargs)


def decode(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
    """Decode one payload frame into a validated message.

    Args:
        data: The payload frame (UTF-8 JSON object; any whitespace).
        max_bytes: Largest payload accepted, in bytes.

    Returns:
        The message; records and unknown keys are kept exactly as received.

    Raises:
        ProtocolError: The payload is not a valid message. Nothing else is raised, whatever
            the bytes.
    """
    return _from_dict(decode_json(data, max_bytes=max_bytes))


def decode_object(obj: dict[str, Any]) -> Message:
    """The message of an object :func:`decode_json` returned (so a payload is parsed once).

    Raises:
        ProtocolError: The object is not a valid message.
    """
    return _from_dict(obj)


def expect_measurement(msg: Message) -> EnvMeasurement:
    """``msg`` if it is a measurement; the typed error a server's other answers mean.

    Raises:
        EnvError: ``msg`` is an ``env-error``.
        NoAvailableWorker: ``msg`` is a ``no-available-worker``.
        ProtocolError: ``msg`` is of a type a server does not send a client.
    """
    if isinstance(msg, EnvMeasurement):
        return msg
    if isinstance(msg, ErrorReply):
        raise EnvError(msg.error_msg)
    if isinstance(msg, NoWorkerReply):
        raise NoAvailableWorker(msg.msg or "no available worker")
    raise ProtocolError("type", f"unexpected {type(msg).__name__} from the server")


def _to_dict(msg: Message) -> dict[str, Any]:
    """The wire object: ``type`` first, then the fields in declaration order, then ``extra``."""
    wire_type = _WIRE_TYPES.get(type(msg))
    if wire_type is None:
        raise ProtocolError("", f"not a message: {_describe(msg)}")
    if isinstance(msg, EnvStart):
        config = msg.env_config
        if not isinstance(config, dict):
            raise ProtocolError("env_config", f"must be a dict, got {_describe(config)}")
        if "type" in config:
            raise ProtocolError("env_config.type", "must be absent: encode adds the message type")
        return {"type": wire_type, **config}
    obj: dict[str, Any] = {"type": wire_type}
    for f in dataclasses.fields(msg):
        if f.name != "extra":
            value = getattr(msg, f.name)
            if value is not None or f.default is not None:  # optional fields: absent if None
                obj[f.name] = value
    extra = msg.extra
    if not isinstance(extra, dict):
        raise ProtocolError("extra", f"must be a dict, got {_describe(extra)}")
    # "extra" is not a wire field: a peer's top-level "extra" key lives in extra itself.
    reserved = {f.name for f in dataclasses.fields(msg) if f.name != "extra"} | {"type"}
    for key, value in extra.items():
        if key in reserved:
            raise ProtocolError(_join("extra", key), "collides with a field of the message")
        obj[key] = value
    return obj


def check_message(msg: Message) -> None:
    """Check a message by exactly the rules :func:`encode` applies, without writing it.

    For a peer in the same process: what passes here, ``encode`` would put on the wire and
    ``decode`` would give back equal.

    Raises:
        ProtocolError: As :func:`encode` would (except for the size limit).
    """
    obj = _to_dict(msg)
    _check_tree(obj, strings=True)
    _from_dict(obj)


def encode(msg: Message, *, indent: int | None = None, validate: bool = True) -> bytes:
    """Encode a message as one payload frame, after checking it by the rules of :func:`decode`.

    Args:
        msg: The message.
        indent: ``None`` for compact JSON (separators ``,`` and ``:``, as the real server writes);
            ``2`` to pretty-print as the original client and worker do.
        validate: Check the message's fields and records first. ``False`` is for messages
            the caller built itself from trusted data (the server's replies): the encoder
            still refuses what JSON cannot write (numpy integers, non-finite numbers…).

    Returns:
        UTF-8 (in fact ASCII: non-ASCII text is ``\\u``-escaped) JSON bytes, ``type`` first.

    Raises:
        ProtocolError: The message would not decode (missing or mistyped field, bad record,
            non-finite number, non-JSON value, too deep, larger than ``MAX_MESSAGE_BYTES``).
    """
    obj = _to_dict(msg)
    if validate:
        _check_tree(obj, strings=False)
        _from_dict(obj)
    separators = (",", ":") if indent is None else (",", ": ")
    try:
        text = json.dumps(obj, indent=indent, separators=separators, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an int past the digit limit
        raise ProtocolError("", f"cannot encode: {str(exc)[:120]}") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        _check_tree(obj, strings=True)
    data = text.encode("ascii")
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("", f"encoded size {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data


#: The ZMTP handshake property with which netgym's servers name themselves (value
#: ``netgym``). It travels in ZeroMQ's metadata, not in any message, so the original
#: client never sees it; a netgym client reads it to know that a server is netgym's.
SERVER_PROPERTY = "X-Netgym-Server"
#: The ``ZMQ_METADATA`` a netgym server's ROUTER sets.
SERVER_METADATA = f"{SERVER_PROPERTY}:netgym".encode()

#: Longest identity :func:`identity_text` writes out whole.
IDENTITY_TEXT_CHARS = 80


def identity_text(identity: bytes | str) -> str:
    """A ZeroMQ identity as log text: ``admin-0``, not ``b'admin-0'``.

    Bytes that are not UTF-8 are written as ``\\xNN`` escapes and control characters as
    escapes too, so a hostile identity cannot forge log lines; the text is cut to
    :data:`IDENTITY_TEXT_CHARS` characters (``…`` marks a cut).
    """
    text = identity if isinstance(identity, str) else identity.decode("utf-8", "backslashreplace")
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > IDENTITY_TEXT_CHARS:
        text = text[: IDENTITY_TEXT_CHARS - 1] + "…"
    return text if text else "''"
