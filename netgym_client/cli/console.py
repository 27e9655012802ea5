"""What every ``netgym`` command shares: exit codes, logging setup, the progress bar, errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


#: Exit code of a usage error (argparse's).
EXIT_USAGE = 2


#: The agent ``netgym run`` uses when none is named.
DEFAULT_AGENT = "system_default"


class _StepsPerSecond(ProgressColumn):
    """Steps per second of the task (rich's own speed estimate)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("    – steps/s" if speed is None else f"{speed:6.0f} steps/s")


def _new_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps  ep {task.fields[episode]}  sim {task.fields[sim_s]:.1f} s"),
        _StepsPerSecond(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw the progress bar: both streams are terminals and no flag says no."""
    if getattr(args, "json", False) or getattr(args, "no_progress", False):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress_bar(enabled: bool, err: Console) -> Iterator[Progress | None]:
    """A progress bar on ``err`` while the block runs (``None`` when not ``enabled``)."""
    if not enabled:
        yield None
        return
    bar = _new_progress(err)
    with bar:
        yield bar


def setup_logging(verbose: bool, err: Console, rich_logs: bool) -> None:
    """Log to stderr: DEBUG when ``verbose``, else WARNING; through rich when ``rich_logs``."""
    level = logging.DEBUG if verbose else logging.WARNING
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if rich_logs:
        handler = RichHandler(console=err, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


def error(message: str, code: int = 1) -> int:
    """Print ``message`` as netgym's error line on stderr; the exit code ``code``."""
    print(f"netgym: error: {message}", file=sys.stderr)
    return code


def seed_value(text: str) -> int:
    """An argparse type: a seed, an integer of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be at least 0, got {value}")
    return value


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
