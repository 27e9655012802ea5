"""The ``netgym`` command line: run, serve, bench, keys, record, replay, dataset.

The commands sit here with the tools only they use: ``agents`` (baseline policies),
``results`` and ``plot`` (what a run writes and draws) and ``bench`` (transport figures).
"""

from __future__ import annotations

from netgym_client.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
