"""The northbound message types: one frozen dataclass per wire ``type`` (PROTOCOL.md §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

#: Largest payload ``decode`` accepts, in bytes (see the module's Rules).
MAX_MESSAGE_BYTES: int = 64 * 1024 * 1024
#: Deepest nesting of JSON arrays/objects accepted; the top-level object is level 1.
MAX_NESTING_DEPTH: int = 32


# --------------------------------------------------------------------------- message types
# Each message is a frozen dataclass; ``extra`` holds the unknown top-level keys, preserved.


@dataclass(frozen=True)
class EnvStart:
    """``env-start`` (client → server → worker): start a session.

    Attributes:
        env_config: The client's whole ``env_config`` without ``"type"``, keys in order; must
            hold the environment name ``env`` (str). Unknown keys simply live here.
    """

    env_config: dict[str, Any]


@dataclass(frozen=True)
class EnvAction:
    """``env-action`` (client → server → worker): the policy answering one measurement.

    Attributes:
        action_list: One action record or a non-empty list of them.
        extra: Unknown top-level keys.
    """

    action_list: dict[str, Any] | list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvMeasurement:
    """``env-measurement`` (worker → server → client): one measurement interval's records.

    Attributes:
        network_stats: The records exactly as received (flat ``id``/``value`` or the custom
            worker's nested ``""`` shape); read them with :func:`record_ids_values`.
        workload_stats: ns-3's timing report, if sent.
        extra: Unknown top-level keys.
    """

    network_stats: list[dict[str, Any]]
    workload_stats: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvEnd:
    """``env-end`` (worker → server): the session's last measurement was sent.

    Attributes:
        extra: Unknown top-level keys.
    """

    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvHello:
    """``env-hello`` (worker → server): an idle worker offers these environments.

    Attributes:
        env_list: Environment names the worker can run.
        extra: Unknown top-level keys.
    """

    env_list: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorReply:
    """``env-error`` (server or worker → client): the session failed.

    Attributes:
        error_msg: The sender's explanation.
        extra: Unknown top-level keys.
    """

    error_msg: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoWorkerReply:
    """``no-available-worker`` (server → client): no idle worker offers the environment.

    Attributes:
        msg: The server's explanation, when it gives one.
        extra: Unknown top-level keys.
    """

    msg: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Message: TypeAlias = (
    EnvStart | EnvAction | EnvMeasurement | EnvEnd | EnvHello | ErrorReply | NoWorkerReply
)

#: Message class of each wire ``type``.
_CLASSES: dict[str, type[Message]] = {
    "env-start": EnvStart,
    "env-action": EnvAction,
    "env-measurement": EnvMeasurement,
    "env-end": EnvEnd,
    "env-hello": EnvHello,
    "env-error": ErrorReply,
    "no-available-worker": NoWorkerReply,
}
_WIRE_TYPES = {cls: name for name, cls in _CLASSES.items()}
