"""``python -m netgym_sim serve``: run the fake NetworkGym server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from netgym_client.errors import ConfigError, NetGymError
from netgym_sim.core.faults import KINDS, Fault, parse_fault
from netgym_sim.limits import Limits
from netgym_sim.scenarios import SCENARIOS
from netgym_sim.serving.broker_server import BrokerServer
from netgym_sim.serving.server import FakeServer
from netgym_sim.serving.worker import ACTION_TIMEOUT_S, HELLO_INTERVAL_S, SESSION_KEY_ENV, Worker

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
        "--workers",
        type=int,
        metavar="N",
        help="broker mode: start and supervise N local worker processes (0: remote workers "
        "only) and relay each client to an idle worker; without it, sessions run in-process",
    )
    serve.add_argument(
        "--slots",
        type=int,
        metavar="S",
        help="with --workers: sessions each worker process runs at once (default: "
        "--max-sessions / N, rounded up; 1 isolates every session in its own process)",
    )
    serve.add_argument(
        "--env-port",
        type=int,
        default=8087,
        help="with --workers: the port env workers connect to (default: %(default)s)",
    )
    serve.add_argument(
        "--fault",
        action="append",
        type=_fault_arg,
        metavar="KIND@AT[:PARAM]",
        help="inject a fault (repeatable): KIND is one of " + ", ".join(KINDS) + "; AT a "
        "measurement number (3) or a probability per measurement (0.05), optionally xN to "
        "fire at most N times (worker-restart@1x1); PARAM the env-error text, the delay's or "
        "worker-restart's ms, or slow's pace (e.g. delay@3:1500, slow@1:2.0)",
    )
    serve.add_argument(
        "--no-handover",
        action="store_true",
        help="never hand a live identity's route to a new connection (no account can take "
        "or listen to another's live session; a client restarted with its identity is served "
        "once its old connection has closed)",
    )
    serve.add_argument(
        "--curve-secret-key",
        metavar="FILE.key_secret",
        help="serve CURVE (encrypted) instead of PLAIN with this key pair from `netgym keys`; "
        "clients set server.server_public_key to the public key (with --workers: the "
        "clients' port; workers log in with PLAIN)",
    )
    limits = Limits()
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        default=limits.max_message_bytes,
        metavar="BYTES",
        help="largest client message; larger ones get env-error (default: %(default)s)",
    )
    serve.add_argument(
        "--max-users",
        type=int,
        default=limits.max_users,
        metavar="N",
        help="most users of one session (default: %(default)s)",
    )
    serve.add_argument(
        "--max-trace-points",
        type=int,
        default=limits.max_trace_points,
        metavar="N",
        help="most rows of an rmcat bw_trace (default: %(default)s)",
    )
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log messages of this level and above to stderr (default: %(default)s)",
    )
    return serve


def limits_from(args: argparse.Namespace) -> Limits:
    """The :class:`~netgym_sim.limits.Limits` the ``serve`` flags ask for.

    Raises:
        ConfigError: A limit is not positive.
    """
    try:
        return Limits(
            max_message_bytes=args.max_message_bytes,
            max_users=args.max_users,
            max_trace_points=args.max_trace_points,
        )
    except ValueError as exc:
        raise ConfigError("serve", str(exc)) from exc


def _fault_arg(spec: str) -> Fault:
    try:
        return parse_fault(spec, "--fault")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
    add_worker_arguments(
        sub.add_parser(
            "worker",
            help="run one simulated env worker against a server's env port",
            description=WORKER_DESCRIPTION,
        )
    )
    return parser


#: What ``worker`` does, for ``--help``.
WORKER_DESCRIPTION = (
    "One simulated NetworkGym env worker (one simulation slot): it dials a server's env "
    "port with PLAIN credentials, says env-hello every 5 s while idle and runs the sessions "
    "the server routes to it."
)


def add_worker_arguments(worker: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags of ``worker``."""
    worker.add_argument("--server", required=True, metavar="tcp://HOST:PORT", help="env port")
    worker.add_argument("--session-name", default="admin", help="account (default: admin)")
    worker.add_argument(
        "--session-key",
        default=os.environ.get(SESSION_KEY_ENV, "admin"),
        help=f"password (default: ${SESSION_KEY_ENV}, else admin; the variable keeps it out of ps)",
    )
    worker.add_argument("--id", type=int, default=0, help="worker id in the identity")
    worker.add_argument(
        "--envs",
        default=",".join(sorted(SCENARIOS)),
        help="comma-separated environments offered (default: %(default)s)",
    )
    worker.add_argument("--hostname", help="identity host part (default: this machine's)")
    worker.add_argument(
        "--parent-pid", type=int, metavar="PID", help="exit when PID is no longer the parent"
    )
    worker.add_argument(
        "--slots", type=int, default=1, help="simulation slots, ids N, N+1, … (default: 1)"
    )
    defaults = Limits()
    worker.add_argument("--max-users", type=int, default=defaults.max_users, metavar="N")
    worker.add_argument(
        "--max-trace-points", type=int, default=defaults.max_trace_points, metavar="N"
    )
    worker.add_argument("--hello-interval", type=float, default=HELLO_INTERVAL_S, metavar="S")
    worker.add_argument("--action-timeout", type=float, default=ACTION_TIMEOUT_S, metavar="S")
    worker.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return worker


def run_worker(args: argparse.Namespace) -> int:
    """Run one worker in the foreground until SIGINT/SIGTERM."""
    envs = [e.strip() for e in args.envs.split(",") if e.strip()]
    if args.id < 0:
        logger.error("--id: must be >= 0, got %d", args.id)
        return 2
    unknown = [e for e in envs if e not in SCENARIOS]
    if unknown or not envs:
        logger.error("--envs: unknown %s; choose from %s", unknown, ",".join(sorted(SCENARIOS)))
        return 2
    try:
        worker = Worker(
            args.server,
            session_name=args.session_name,
            session_key=args.session_key,
            worker_id=args.id,
            hostname=args.hostname,
            env_list=envs,
            slots=args.slots,
            hello_interval_s=args.hello_interval,
            action_timeout_s=args.action_timeout,
            limits=Limits(max_users=args.max_users, max_trace_points=args.max_trace_points),
            parent_pid=args.parent_pid,
        )
    except (NetGymError, ValueError) as exc:
        logger.error("%s", exc)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: stopping (running sessions are told)", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    worker.run(stop)
    return 0


def serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground; returns the process exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if args.fault and args.workers is not None:
        logger.error("--fault acts on in-process sessions: it cannot be used with --workers")
        return 2
    try:
        server: FakeServer | BrokerServer
        if args.workers is not None:
            server = BrokerServer(
                args.host,
                args.port,
                env_port=args.env_port,
                workers=args.workers,
                slots_per_worker=args.slots
                or max(1, -(-args.max_sessions // max(1, args.workers))),
                accounts_file=args.accounts,
                action_timeout_s=args.idle_timeout,
                limits=limits_from(args),
                curve_secret_key_file=args.curve_secret_key,
                handover=not args.no_handover,
            ).start()
        else:
            server = FakeServer(
                args.host,
                args.port,
                accounts_file=args.accounts,
                max_sessions=args.max_sessions,
                idle_timeout_s=args.idle_timeout,
                faults=args.fault,
                limits=limits_from(args),
                curve_secret_key_file=args.curve_secret_key,
                handover=not args.no_handover,
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
    if args.command == "worker":
        return run_worker(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
