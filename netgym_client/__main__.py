"""``python -m netgym_client``: the ``netgym`` command."""

from __future__ import annotations

import sys

from netgym_client.cli import main

if __name__ == "__main__":
    sys.exit(main())
