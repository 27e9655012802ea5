"""The pure numeric network model: no JSON, no sockets, no messages."""
