"""Replaying a recorded session: the sans-IO script (``script``) and its server (``server``)."""
