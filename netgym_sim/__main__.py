"""``python -m netgym_sim serve``: run the fake NetworkGym server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from netgym_client.errors import NetGymError
from netgym_sim.server import FakeServer

logger = logging.getLogger("netgym_sim")


#: What ``serve`` does, for ``--help`` (also shown by ``netgym serve --help``).
SERVE_DESCRIPTION = (
    "Serve NetworkGym clients over ZeroMQ (PLAIN auth). Without --accounts the "
    "built-in accounts are admin/admin (32 instances) and test/test (1)."
)


def add_serve_arguments(serve: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags of ``serve`` to ``serve`` (shared with ``netgym serve``)."""
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8088, help="TCP port (default: %(default)s)")
    serve.add_argument(
        "--accounts",
        metavar="FILE.csv",
        help="accounts CSV with header Identity,Password,Max_Instances,Email",
    )
    serve.add_argument(
        "--max-sessions", type=int, default=64, help="sessions at once (default: %(default)s)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="drop a session silent for this long (default: %(default)s)",
    )
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log messages of this level and above to stderr (default: %(default)s)",
    )
    return serve


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m netgym_sim",
        description="A simulated NetworkGym server speaking the real northbound protocol.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(
        sub.add_parser(
            "serve", help="serve clients until SIGINT/SIGTERM", description=SERVE_DESCRIPTION
        )
    )
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground; returns the process exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server = FakeServer(
            args.host,
            args.port,
            accounts_file=args.accounts,
            max_sessions=args.max_sessions,
            idle_timeout_s=args.idle_timeout,
        ).start()
    except NetGymError as exc:
        logger.error("%s", exc)
        return 2
    try:
        while not stop.wait(0.2):
            if not server.running:
                logger.error("the serving thread stopped unexpectedly")
                return 1
    finally:
        server.stop()
    logger.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m netgym_sim``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
