"""ZAP authentication of the fake server: PLAIN over the accounts' passwords, or CURVE.

Rules:
- PLAIN (the default, as the original): the username must be an account and the password
  its password (compared in constant time). The ZAP User-Id of the connection is the account.
- CURVE (netgym's option, ``serve --curve-secret-key``): the server holds a key pair written
  by ``netgym keys``; each account's client public key is derived from the account, its
  password and the server's public key exactly as :func:`netgym_client.keys.client_keypair`
  derives it, so a client key authenticates an account and the User-Id is that account.
- A refused login is logged at WARNING with the peer address and the account tried (never
  the password), at most one line per :data:`AUTH_LOG_INTERVAL_S`, with the count of the
  refusals left out since the last line. pyzmq's own authenticator log, whose DEBUG lines
  would show a PLAIN password, is kept at INFO.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

__all__ = ["AUTH_LOG_INTERVAL_S", "Authenticator", "account_public_key"]

logger = logging.getLogger(__name__)

#: Shortest time between two WARNING lines about failed logins, s.
AUTH_LOG_INTERVAL_S = 10.0
#: PBKDF2 rounds of the client key derivation (equal to netgym_client.keys.KDF_ITERATIONS).
KDF_ITERATIONS = 20_000


def account_public_key(server_public_key: str, account: str, password: str) -> bytes:
    """The raw 32-byte CURVE public key a netgym client of ``account`` presents."""
    salt = b"netgym-curve-v1\0" + server_public_key.encode("ascii") + b"\0" + account.encode()
    raw = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, KDF_ITERATIONS)
    return z85.decode(zmq.curve_public(z85.encode(raw)))


class Authenticator(ThreadAuthenticator):
    """The ZAP handler of one server (see the module docstring).

    Args:
        context: The server's context.
        passwords: Password by account name.
        server_public_key: The server's Z85 public key when it serves CURVE, else None.
    """

    def __init__(
        self,
        context: zmq.Context[Any],
        passwords: Mapping[str, str],
        server_public_key: str | None = None,
    ) -> None:
        zap_log = logging.getLogger(f"{__name__}.zap")
        zap_log.setLevel(logging.INFO)  # its DEBUG lines would show a PLAIN password
        super().__init__(context, log=zap_log)
        self._passwords = dict(passwords)
        self._curve_accounts: dict[bytes, str] = {}
        if server_public_key is not None:
            self._curve_accounts = {
                account_public_key(server_public_key, name, password): name
                for name, password in self._passwords.items()
                if password
            }
        self._address = ""
        self._failed = 0
        self._last_warning_s = -math.inf

    def start(self) -> None:
        """Start the ZAP thread and accept the configured mechanism for every domain."""
        super().start()
        # both when CURVE is served: a broker's client port may be CURVE and its worker port
        # PLAIN; a socket only ever takes the mechanism it was bound with
        self.configure_plain(domain="*", passwords=self._passwords)
        if self._curve_accounts:
            self.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Remember the peer address of the request, then answer it."""
        self._address = msg[3].decode("utf-8", "replace")[:64] if len(msg) > 3 else "?"
        await super().handle_zap_message(msg)

    def _authenticate_plain(self, domain: str, username: str, password: str) -> tuple[bool, bytes]:
        expected = self._passwords.get(username)
        if expected and hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8")):
            return True, b"OK"
        self._refused(f"as {username[:40]!r}")
        return False, b"Invalid username or password"

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        if client_key in self._curve_accounts:
            return True, b"OK"
        self._refused("with an unknown CURVE key")
        return False, b"Unknown client key"

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The account whose derived key the client presented."""
        return self._curve_accounts[client_public_key]

    def _refused(self, how: str) -> None:
        self._failed += 1
        now_s = time.monotonic()
        if now_s - self._last_warning_s >= AUTH_LOG_INTERVAL_S:
            logger.warning(
                "failed login from %s %s (%d failed logins since the last such line)",
                self._address,
                how,
                self._failed,
            )
            self._failed, self._last_warning_s = 0, now_s
