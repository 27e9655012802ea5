"""The netgym error tree.

Every failure netgym raises is a :class:`NetGymError`, so callers can catch one
base class. Subclasses say *what kind* of thing went wrong and carry the facts
needed to act on it (the offending field, the address, the server's text).

::

    NetGymError(Exception)
    ├── ConfigError(NetGymError, ValueError)     bad configuration (names the dotted path)
    ├── ActionError(NetGymError, ValueError)     an action that does not fit the action space
    ├── ProtocolError(NetGymError)               malformed or out-of-order messages
    ├── TransportError(NetGymError)
    │   ├── ServerUnavailable(TransportError, TimeoutError)
    │   └── AuthenticationFailed(TransportError)
    └── ServerError(NetGymError)                 the server said no
        ├── EnvError                             an ``env-error`` message
        └── NoAvailableWorker                    a ``no-available-worker`` message
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "AuthenticationFailed",
    "ConfigError",
    "EnvError",
    "NetGymError",
    "NoAvailableWorker",
    "ProtocolError",
    "ServerError",
    "ServerUnavailable",
    "TransportError",
]


class NetGymError(Exception):
    """Base class of every error netgym raises."""


class ActionError(NetGymError, ValueError):
    """An action does not fit the action space."""


class ConfigError(NetGymError, ValueError):
    """A configuration value is unknown, mistyped or out of range.

    Attributes:
        path: The dotted path of the offending key, e.g. ``env_config.num_users``.
        problem: What is wrong with it.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class ProtocolError(NetGymError):
    """A message is malformed, too large, or arrives out of order.

    Attributes:
        field: The dotted path of the offending field (``""`` for the whole message).
        problem: What is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class TransportError(NetGymError):
    """The connection to the server failed."""


class ServerUnavailable(TransportError, TimeoutError):
    """No answer from the server within the allowed time.

    Attributes:
        address: The address that was tried.
        waited_s: How long we waited, in seconds.
        reason: Why we stopped waiting early (e.g. the connection was lost), or ``""``.
    """

    def __init__(
        self, address: str, waited_s: float, what: str = "reply", reason: str = ""
    ) -> None:
        self.address = address
        self.waited_s = waited_s
        self.reason = reason
        text = f"no {what} from {address} within {waited_s:.1f} s"
        super().__init__(f"{text}: {reason}" if reason else text)


class AuthenticationFailed(TransportError):
    """The server refused our PLAIN credentials."""

    def __init__(self, address: str, session_name: str) -> None:
        self.address = address
        self.session_name = session_name
        super().__init__(
            f"{address} refused the credentials of session {session_name!r} "
            "(unknown account or wrong session_key)"
        )


class ServerError(NetGymError):
    """The server answered with an error message.

    Attributes:
        message: The server's own text.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class EnvError(ServerError):
    """The server (or its worker) sent ``env-error``."""


class NoAvailableWorker(ServerError):
    """The server has no idle worker for the requested environment."""
