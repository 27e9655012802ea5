"""The session core: sessions, the session table, wire handlers, the fault plan (no sockets)."""
