"""Which connection holds each identity's route: a reply never follows a route that changed.

Rules:
- Our ROUTERs do not hand a live route over (no ``ROUTER_HANDOVER``): while a connection
  holds an identity, a second connection with that identity (of any account) is neither
  read nor written by ZeroMQ. Only once the first connection has closed can another take it.
- So a reply may go out only while the connection its request came on is still open. The
  server notes the connection (its file descriptor, from the frame's metadata) of every
  message it takes off the socket, and every connection ZeroMQ reports closed. A reply to an
  identity whose last connection closed is held back (dropped and logged): the identity now
  names nobody, or somebody who has not yet spoken on it, however briefly the original
  client was away.
- A message can be read after its connection's close was reported (it was already queued):
  a closed connection stays closed until ZeroMQ reports a new connection accepted on that
  number (the system reuses numbers), so such a message gives its identity no route.
- Messages without a connection (no metadata: an inproc peer) are not tracked; their
  replies are allowed.

Pure bookkeeping, no sockets: the serving loops feed it.
"""

from __future__ import annotations

__all__ = ["RouteBook"]


class RouteBook:
    """Identity → the connection its last message arrived on, while that connection lives.

    Memory: one entry per identity whose connection is open (a connection holds one
    identity), so the book is bounded by the open connections.

    Example:
        >>> book = RouteBook()
        >>> book.arrived(b"admin-0", 7)
        >>> book.may_send(b"admin-0")
        True
        >>> book.closed(7)
        >>> book.may_send(b"admin-0")
        False
        >>> book.may_send(b"never-seen")
        False
    """

    def __init__(self) -> None:
        self._conn_of: dict[bytes, int | None] = {}
        self._ids_of: dict[int, set[bytes]] = {}
        self._closed: set[int] = set()  # closed, not yet reused by an accepted connection

    def __len__(self) -> int:
        return len(self._conn_of)

    def arrived(self, identity: bytes, conn: int | None) -> None:
        """Note that a message of ``identity`` arrived on connection ``conn`` (None: untracked)."""
        old = self._conn_of.get(identity)
        if old is not None and old != conn:
            ids = self._ids_of.get(old)
            if ids is not None:
                ids.discard(identity)
                if not ids:
                    del self._ids_of[old]
        if conn is not None and conn in self._closed:  # queued before its connection closed
            self._conn_of.pop(identity, None)
            return
        self._conn_of[identity] = conn
        if conn is not None:
            self._ids_of.setdefault(conn, set()).add(identity)

    def opened(self, conn: int) -> None:
        """Note that a new connection was accepted on number ``conn``."""
        self._closed.discard(conn)

    def closed(self, conn: int) -> None:
        """Note that connection ``conn`` closed: its identities' routes are gone."""
        self._closed.add(conn)
        for identity in self._ids_of.pop(conn, ()):
            if self._conn_of.get(identity) == conn:
                del self._conn_of[identity]

    def may_send(self, identity: bytes) -> bool:
        """Whether the connection that last spoke for ``identity`` is still open."""
        return identity in self._conn_of
