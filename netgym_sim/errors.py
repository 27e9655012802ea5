"""Errors raised inside the simulated server.

Each :class:`SimError` subclass has a class-level ``code`` and becomes one
``env-error`` message (``error_msg = "<code>: <text>"``) in
:mod:`netgym_sim.core.handlers`, the one place where that translation happens. A
SimError never stops the server: it ends at most the session that caused it.
"""

from __future__ import annotations

from netgym_client.errors import NetGymError

__all__ = [
    "InvalidAction",
    "InvalidEnvConfig",
    "SessionStateError",
    "SimError",
    "UnknownEnvironment",
]


class SimError(NetGymError):
    """Base class of errors the simulated server reports to a client as ``env-error``."""

    code = "SimError"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    @property
    def error_msg(self) -> str:
        """The text sent to the client in ``env-error.error_msg``."""
        return f"{self.code}: {self.message}"


class UnknownEnvironment(SimError):
    """The ``env`` of an ``env-start`` is not one the server simulates."""

    code = "UnknownEnvironment"


class InvalidEnvConfig(SimError):
    """An ``env-start`` carries a key, value or layout the scenario cannot run."""

    code = "InvalidEnvConfig"


class InvalidAction(SimError):
    """An ``env-action`` policy is malformed, names an unknown knob, or is out of range."""

    code = "InvalidAction"


class SessionStateError(SimError):
    """A message arrived that the session's state does not allow (e.g. an action after the end)."""

    code = "SessionStateError"
