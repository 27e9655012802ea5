"""Serving over ZeroMQ: the server, its authenticator, the broker and env workers."""
