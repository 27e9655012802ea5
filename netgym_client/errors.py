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

Every error crosses processes: it pickles and unpickles as itself, with its fields (the
class, the message and every attribute; not its traceback, as for any exception), so a
worker process (gymnasium's ``AsyncVectorEnv``, a multiprocessing pool) can hand it back.
gymnasium raises a worker's error in the main process as ``type(error)(error)``: called
with one instance of itself, an error class gives that instance back.
"""

from __future__ import annotations

import inspect
from typing import Any, cast

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


def _rebuild(cls: type[NetGymError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An unpickled error: ``cls`` with the same ``args`` and attributes, ``__init__`` not run.

    Pickle's default for an exception calls ``cls(*args)``, which fails for every error whose
    ``__init__`` takes its fields rather than the message.
    """
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class _ErrorType(type):
    """The metaclass of :class:`NetGymError`: ``Error(error)`` is ``error`` itself.

    gymnasium's ``AsyncVectorEnv`` re-raises a worker's error as ``type(error)(error)``;
    without this, every error whose ``__init__`` takes its fields would become a TypeError.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and cls.__instancecheck__(args[0]):
            return args[0]
        return super().__call__(*args, **kwargs)

    @property
    def __signature__(cls) -> inspect.Signature:
        """The signature of ``__init__`` (without ``self``), not that of ``__call__``."""
        init = inspect.signature(cast(Any, cls).__init__)
        return init.replace(parameters=list(init.parameters.values())[1:])


class NetGymError(Exception, metaclass=_ErrorType):
    """Base class of every error netgym raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as class, args and attributes (see :func:`_rebuild`)."""
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


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
