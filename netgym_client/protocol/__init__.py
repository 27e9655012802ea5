"""The northbound wire codec: message types, ``encode`` and ``decode`` (sans-IO, stdlib only).

Every payload is one UTF-8 JSON object whose ``"type"`` names the message (PROTOCOL.md §2–§3).
This module turns bytes into typed, validated messages and back; it owns no socket, so the
client and the simulated server share it.

Rules:
- ``decode`` turns *any* input into a :data:`Message` or raises
  :class:`~netgym_client.errors.ProtocolError` naming the offending field as a dotted path
  (``network_stats[3][""].value[2]``) and showing the value briefly. No other exception leaks.
- ``encode`` applies the same rules before writing, so we never put on the wire what we would
  refuse to read: ``decode(encode(m)) == m`` for every message ``encode`` accepts. Only the JSON
  data model is encodable (dict with str keys, list, str, int, float, bool, None); tuples,
  numpy scalars and other objects are refused rather than silently converted.
- Limits: a payload over :data:`MAX_MESSAGE_BYTES` (64 MiB) is refused before it is even read as
  text. The largest real message is a measurement: a 256-user ``nqos_split`` measurement is well
  under 1 MiB even pretty-printed, so 64 MiB leaves ample room for big custom scenarios while
  bounding what a hostile peer can make us parse. JSON nested deeper than
  :data:`MAX_NESTING_DEPTH` (32) containers is refused: the deepest legitimate message has 7
  levels (measurement → records → record → ``""`` → value → ``{slice, value}`` → slice ids), and
  32 keeps everything downstream that recurses (``json.dumps``, ``repr``, ``copy.deepcopy``) far
  from Python's recursion limit.
- ``NaN``/``Infinity`` literals and numbers that overflow a double are refused (they are not
  JSON, RFC 8259 §6); strings holding a lone UTF-16 surrogate (``"\\ud800"``) are refused (they
  cannot be re-encoded as UTF-8, RFC 8259 §8.2). Duplicate object keys keep the last value,
  as Python's ``json`` and the original peers do.
- Unknown extra keys are allowed everywhere and preserved: at the top level in ``extra``
  (``env-start``: in ``env_config``), inside records as received.
- Codec: payloads are parsed with ``orjson`` when it is installed (``pip install -e
  '.[fast]'`` in a clone), else with the standard library's ``json``; both give the same objects
  and the same errors. orjson's answer is taken only where it is exactly the stdlib's: a
  payload orjson refuses is parsed again by ``json`` (so errors keep the stdlib's wording),
  and one holding a run of 19 or more digits (an integer orjson would turn into a float
  beyond 64 bits) goes to ``json`` directly. Encoding always uses ``json`` (C accelerated),
  so the bytes we write do not depend on what is installed, and numpy scalars and other
  non-JSON objects stay refused.
"""

from __future__ import annotations

from netgym_client.protocol.codec import (
    SERVER_METADATA,
    SERVER_PROPERTY,
    check_message,
    decode,
    decode_object,
    encode,
    expect_measurement,
    identity_text,
)
from netgym_client.protocol.jsontext import decode_json, json_codec
from netgym_client.protocol.messages import (
    MAX_MESSAGE_BYTES,
    MAX_NESTING_DEPTH,
    EnvAction,
    EnvEnd,
    EnvHello,
    EnvMeasurement,
    EnvStart,
    ErrorReply,
    Message,
    NoWorkerReply,
)
from netgym_client.protocol.records import (
    record_ids_values,
    users_action_record,
    validate_action_list,
    validate_measurement_record,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_NESTING_DEPTH",
    "SERVER_METADATA",
    "SERVER_PROPERTY",
    "EnvAction",
    "EnvEnd",
    "EnvHello",
    "EnvMeasurement",
    "EnvStart",
    "ErrorReply",
    "Message",
    "NoWorkerReply",
    "check_message",
    "decode",
    "decode_json",
    "decode_object",
    "encode",
    "expect_measurement",
    "identity_text",
    "json_codec",
    "record_ids_values",
    "users_action_record",
    "validate_action_list",
    "validate_measurement_record",
]
