"""Recorded sessions: the JSONL format (``record``), the recording proxy and Minari datasets."""
