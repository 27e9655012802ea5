"""Every path's steps/s as ratios to the raw ZeroMQ+JSON limit: ``netgym bench`` as a script.

Usage: python benchmarks/bench_all.py [--quick] [--env nqos_split] [--users 16] ...

All options are those of ``netgym bench`` (see ``--help``); the tables go to stdout.
"""

from __future__ import annotations

import sys

from netgym_client.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
