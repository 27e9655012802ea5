"""``client_id: "auto"``: distinct client ids for environments started with the same config.

Rules:
- ``gymnasium.make_vec(..., vectorization_mode="async")`` builds every sub-environment from
  the same arguments in its own process, so a fixed ``client_id`` gives them one identity
  ``"<session_name>-<client_id>"``, and on a NetworkGym server (ours or the original) each
  new connection takes over the route of the one before. With ``"auto"`` each environment
  leases the lowest id that no other environment on this machine holds for the same server
  address and account.
- A lease is an exclusive, non-blocking lock (``fcntl.flock``) on one file per id, in a
  directory per (user, address, account) under the temporary directory. The operating
  system drops a lock when its process ends, so a crashed environment never keeps its id.
- Ids are tried from 0 up to ``limit - 1``; when all are held the lease fails with a
  :class:`~netgym_client.errors.ConfigError` naming ``server.client_id``.
- Only ids leased through ``"auto"`` are seen: an environment with a fixed ``client_id`` on
  the same account may still collide with a leased one (pick fixed ids above the ones in
  use, or use ``"auto"`` everywhere).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import IO

from netgym_client.errors import ConfigError

__all__ = ["AUTO", "DEFAULT_LIMIT", "ClientIdLease", "lease_client_id"]

logger = logging.getLogger(__name__)

#: The ``server.client_id`` value that asks for a leased id.
AUTO = "auto"

#: Ids tried before giving up (the original server's largest account allows 32 instances).
DEFAULT_LIMIT = 1024

try:  # POSIX
    import fcntl

    def _try_lock(file: IO[bytes]) -> bool:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

except ImportError:  # pragma: no cover (Windows)
    import msvcrt

    def _try_lock(file: IO[bytes]) -> bool:
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True


def _lock_dir(address: str, session_name: str, root: Path | None) -> Path:
    key = hashlib.sha256(f"{address}\0{session_name}".encode()).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    base = root if root is not None else Path(tempfile.gettempdir())
    return base / f"netgym-client-ids-{user}" / key


class ClientIdLease:
    """One leased client id, held until :meth:`release` (or the process ends).

    Attributes:
        client_id: The leased id.
    """

    def __init__(self, client_id: int, file: IO[bytes]) -> None:
        self.client_id = client_id
        self._file: IO[bytes] | None = file

    @property
    def held(self) -> bool:
        """Whether the lease is still held."""
        return self._file is not None

    def release(self) -> None:
        """Give the id back (idempotent)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()  # closing the file drops its lock
            self._file = None

    def __del__(self) -> None:
        self.release()


def lease_client_id(
    address: str,
    session_name: str,
    *,
    limit: int = DEFAULT_LIMIT,
    root: Path | None = None,
) -> ClientIdLease:
    """Lease the lowest client id free on this machine for ``address`` and ``session_name``.

    Args:
        address: The server address the environment connects to.
        session_name: The account (the identity's first part).
        limit: Ids tried: 0 … limit - 1.
        root: Directory for the lock files (default: the temporary directory).

    Raises:
        ConfigError: Every id below ``limit`` is held, or the lock directory is unusable.
    """
    directory = _lock_dir(address, session_name, root)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            "server.client_id", f"'auto' needs a lock directory, {directory}: {exc}"
        ) from exc
    for client_id in range(limit):
        try:
            file = (directory / f"{client_id}.lock").open("a+b")
        except OSError as exc:
            raise ConfigError(
                "server.client_id", f"'auto' cannot open its lock file in {directory}: {exc}"
            ) from exc
        if _try_lock(file):
            logger.debug("leased client id %d for %s at %s", client_id, session_name, address)
            return ClientIdLease(client_id, file)
        file.close()
    raise ConfigError(
        "server.client_id",
        f"'auto': all {limit} client ids of {session_name!r} at {address} are in use on this "
        "machine",
    )
