"""CURVE keys for netgym's encrypted option (``netgym keys``; ``server.server_public_key``).

Rules:
- PLAIN (the original NetworkGym's mechanism) stays the default; CURVE is netgym's option
  between a netgym client and a netgym server. The server holds a key pair written by
  ``netgym keys`` (``zmq.auth.create_certificates``: ``NAME.key`` public, ``NAME.key_secret``
  secret); a client is given the server's public key only.
- A client's own key pair is derived from its account, its password and the server's public
  key (:func:`client_keypair`): PBKDF2-HMAC-SHA256 gives the 32-byte secret, ZeroMQ the public
  key. The server derives the same public key for each account of its accounts file, so a
  CURVE handshake authenticates the account as PLAIN does, the password never crosses the
  wire (not even encrypted), and the identity stays bound to that account.
- Keys are Z85 text (40 characters) or a ``.key``/``.key_secret`` certificate file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

from netgym_client.errors import ConfigError

__all__ = ["KDF_ITERATIONS", "client_keypair", "load_public_key", "write_keypair"]

#: PBKDF2 rounds of the client key derivation (a few ms per connection).
KDF_ITERATIONS = 20_000
#: Length of a Z85-encoded CURVE key, characters.
Z85_KEY_CHARS = 40


def write_keypair(directory: str | os.PathLike[str], name: str = "server") -> tuple[Path, Path]:
    """Write ``NAME.key`` (public) and ``NAME.key_secret`` (secret) into ``directory``.

    Raises:
        ConfigError: ``name`` is not a plain file name, or a file exists or cannot be written.
    """
    folder = Path(directory)
    if not name or Path(name).name != name:
        raise ConfigError("name", f"must be a plain file name, got {name!r}")
    public, secret = folder / f"{name}.key", folder / f"{name}.key_secret"
    for path in (public, secret):
        if path.exists():
            raise ConfigError(str(path), "exists; remove it or choose another --name")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        made_public, made_secret = zmq.auth.create_certificates(folder, name)
        Path(made_secret).chmod(0o600)
    except OSError as exc:
        raise ConfigError(str(folder), f"cannot write the key pair: {exc}") from exc
    return Path(made_public), Path(made_secret)


def load_public_key(value: str, path: str = "server.server_public_key") -> str:
    """A public key as Z85 text, from Z85 text or a certificate file.

    Raises:
        ConfigError: Neither a 40-character Z85 key nor a readable certificate with one.
    """
    if len(value) == Z85_KEY_CHARS and _is_z85(value):
        return value
    try:
        public, _ = zmq.auth.load_certificate(value)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            path, f"must be a 40-character Z85 key or a .key file, got {value[:60]!r}: {exc}"
        ) from exc
    return public.decode("ascii")


def client_keypair(
    server_public_key: str, session_name: str, session_key: str
) -> tuple[bytes, bytes]:
    """``(public, secret)`` Z85 CURVE keys of an account on the server with that public key.

    Raises:
        ConfigError: The account name or password is empty.
    """
    if not session_name or not session_key:
        raise ConfigError("server.session_key", "CURVE needs a non-empty account and password")
    salt = b"netgym-curve-v1\0" + server_public_key.encode("ascii") + b"\0" + session_name.encode()
    raw = hashlib.pbkdf2_hmac("sha256", session_key.encode("utf-8"), salt, KDF_ITERATIONS)
    secret = z85.encode(raw)
    return zmq.curve_public(secret), secret


def _is_z85(text: str) -> bool:
    try:
        return len(z85.decode(text.encode("ascii"))) == 32
    except (ValueError, UnicodeEncodeError, KeyError):
        return False
