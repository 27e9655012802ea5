"""``netgym baselines --ray`` and ``netgym dataset --ray``: their sessions as Ray tasks.

Rules:
- :func:`plan` lists one :class:`Session` per (scenario, agent, seed), in the table's order:
  scenarios, then each scenario's baselines, then the seeds. Each is one Ray task running
  :func:`run_session` (:func:`~netgym_client.cli.benchmark.episode_means`, the serial
  table's own code), so one seed gives the same episode means in any process.
- :func:`gather` submits every session, collects them as they finish, submits a failed one
  (an exception in the session, or its worker died) once more and reports a second failure
  as a :class:`Failure`; Ray's own retries are off (``max_retries=0``) so that this is the
  one rule. Ctrl-C cancels what has not finished.
- :func:`table_rows` builds the rows as the serial table does
  (:func:`~netgym_client.cli.benchmark.row_of` over the episodes of the seeds in order), so
  the same seeds give the same numbers. A row whose seed failed twice summarizes the seeds
  that ran (its ``seeds`` column names them); a row with no seed left is omitted.
- ``netgym dataset --ray`` runs one :class:`DatasetSession` per seed
  (:func:`run_dataset_session`, the serial command's
  :func:`~netgym_client.cli.collect.collect_episodes` for that seed) and writes the episodes
  in seed order; when a seed fails twice it writes no dataset.
- Ray is imported only by :func:`ray_executor` (the extra ``ray``). It joins a Ray that is
  already initialized in this process and leaves it running; else it starts a local cluster
  (no address) or connects to ``address``, and shuts that down at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from netgym_client.cli import benchmark
from netgym_client.errors import NetGymError
from netgym_client.scenarios import SCENARIOS, Scenario

if TYPE_CHECKING:
    from netgym_client.recording.dataset import Episode

__all__ = [
    "ATTEMPTS",
    "DatasetSession",
    "DoneCallback",
    "Executor",
    "Failure",
    "RayExecutor",
    "RayMissing",
    "Session",
    "gather",
    "plan",
    "ray_executor",
    "run_dataset_session",
    "run_on_ray",
    "run_session",
    "table_rows",
]

logger = logging.getLogger(__name__)

#: Runs of a session before it is reported as failed: the first and one retry.
ATTEMPTS = 2

H = TypeVar("H", bound=Hashable)
#: A session's kind (:class:`Session`, :class:`DatasetSession`) and what it returns.
S = TypeVar("S", bound="Named")
R = TypeVar("R")
S_contra = TypeVar("S_contra", bound="Named", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Named(Protocol, Hashable):
    """A session: hashable, with a name for the log and the report."""

    @property
    def name(self) -> str:
        """What the log and the failure report call it."""


@dataclass(frozen=True)
class Session:
    """One seeded session of the table: what one Ray task runs."""

    scenario: str
    agent: str
    seed: int
    episodes: int | None = None
    steps_per_episode: int | None = None
    server: str | None = None

    @property
    def name(self) -> str:
        """``<scenario>/<agent> seed <seed>``."""
        return f"{self.scenario}/{self.agent} seed {self.seed}"


@dataclass(frozen=True)
class DatasetSession:
    """One seed of ``netgym dataset``: one episode of ``steps`` transitions."""

    env: str
    agent: str
    seed: int
    steps: int
    server: str | None = None
    config_path: str | None = None

    @property
    def name(self) -> str:
        """``<env>/<agent> seed <seed>``."""
        return f"{self.env}/{self.agent} seed {self.seed}"


@dataclass(frozen=True)
class Failure(Generic[S]):
    """A session that failed on every attempt, with its last error."""

    session: S
    error: str
    attempts: int


def plan(
    scenarios: Sequence[Scenario],
    *,
    seeds: Sequence[int] | None = None,
    episodes: int | None = None,
    steps_per_episode: int | None = None,
    server: str | None = None,
) -> list[Session]:
    """Every (scenario, baseline, seed) session of the table, in the table's order."""
    return [
        Session(scenario.key, agent, seed, episodes, steps_per_episode, server)
        for scenario in scenarios
        for agent in benchmark.baselines_of(scenario)
        for seed in (scenario.seeds if seeds is None else seeds)
    ]


def run_session(session: Session) -> list[float]:
    """The mean reward per step of each episode of ``session`` (the body of one task)."""
    return benchmark.episode_means(
        SCENARIOS[session.scenario],
        session.agent,
        session.seed,
        episodes=session.episodes,
        steps_per_episode=session.steps_per_episode,
        server=session.server,
    )


def run_dataset_session(session: DatasetSession) -> Episode:
    """The episode of one seed of a dataset (the body of one task)."""
    from netgym_client.cli.collect import collect_episodes  # noqa: PLC0415 (as netgym dataset)

    (episode,) = collect_episodes(
        session.env,
        session.agent,
        [session.seed],
        session.steps,
        server=session.server,
        config_path=session.config_path,
    )
    return episode


class Executor(Protocol[H, S_contra, R_co]):
    """Where sessions run: submit one, wait for any, take a result (raising its error)."""

    def submit(self, session: S_contra) -> H:
        """Start ``session``; a handle to wait on."""

    def wait(self, handles: Sequence[H]) -> list[H]:
        """Block until at least one of ``handles`` is finished; the finished ones."""

    def result(self, handle: H) -> R_co:
        """The finished session's episode means; raises its error if it failed."""

    def cancel(self, handle: H) -> None:
        """Give up on an unfinished session."""


#: ``on_done(session, failed, done, total)`` after each session's last attempt.
DoneCallback = Callable[[Any, bool, int, int], None]


def gather(
    sessions: Sequence[S],
    executor: Executor[H, S, R],
    *,
    attempts: int = ATTEMPTS,
    on_done: DoneCallback | None = None,
) -> tuple[dict[S, R], list[Failure[S]], bool]:
    """Run ``sessions`` on ``executor``: ``(results, failures, interrupted)``.

    A session that raises is submitted again until it has run ``attempts`` times; then it is
    a :class:`Failure` (in the order they happen). Ctrl-C cancels the unfinished sessions
    and returns what finished, with ``interrupted`` set.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    running: dict[H, tuple[S, int]] = {}
    results: dict[S, R] = {}
    failures: list[Failure[S]] = []
    try:
        for session in sessions:
            running[executor.submit(session)] = (session, 1)
        while running:
            for handle in executor.wait(list(running)):
                session, attempt = running.pop(handle)
                try:
                    results[session] = executor.result(handle)
                except Exception as exc:  # any error of the session: the retry rule is ours
                    reason = f"{type(exc).__name__}: {exc}"
                    if attempt < attempts:
                        logger.warning("%s failed (%s); retrying", session.name, reason)
                        running[executor.submit(session)] = (session, attempt + 1)
                        continue
                    logger.error("%s failed %d times: %s", session.name, attempt, reason)
                    failures.append(Failure(session, reason, attempt))
                if on_done is not None:
                    done = len(results) + len(failures)
                    on_done(session, session not in results, done, len(sessions))
    except KeyboardInterrupt:
        for handle in running:
            executor.cancel(handle)
        return results, failures, True
    return results, failures, False


def table_rows(
    sessions: Sequence[Session], results: Mapping[Session, list[float]]
) -> list[benchmark.BenchmarkRow]:
    """The table of ``sessions`` from their ``results``, as the serial table computes it."""
    groups: dict[tuple[str, str], list[Session]] = {}
    for session in sessions:
        groups.setdefault((session.scenario, session.agent), []).append(session)
    rows = []
    for (key, agent), group in groups.items():
        ran = [s for s in group if s in results]
        if not ran:
            continue
        values = [value for s in ran for value in results[s]]
        rows.append(
            benchmark.row_of(
                SCENARIOS[key],
                agent,
                [s.seed for s in ran],
                values,
                steps_per_episode=group[0].steps_per_episode,
            )
        )
    return rows


class RayExecutor:
    """Sessions as Ray tasks of one CPU each running ``run`` (Ray's own retries off)."""

    def __init__(self, ray: Any, run: Callable[[Any], Any] = run_session) -> None:
        self._ray = ray
        self._task = ray.remote(num_cpus=1, max_retries=0)(run)

    def submit(self, session: Any) -> Any:
        return self._task.remote(session)

    def wait(self, handles: Sequence[Any]) -> list[Any]:
        ready, _ = self._ray.wait(list(handles), num_returns=1)
        return list(ready)

    def result(self, handle: Any) -> Any:
        return self._ray.get(handle)

    def cancel(self, handle: Any) -> None:
        self._ray.cancel(handle, force=True)


def run_on_ray(
    sessions: Sequence[S],
    run: Callable[[S], R],
    address: str | None,
    *,
    bar: Console | None = None,
    **init: Any,
) -> tuple[dict[S, R], list[Failure[S]], bool]:
    """:func:`gather` of ``run`` over ``sessions`` on Ray (:func:`ray_executor`).

    With ``bar``, a progress bar of the sessions done is drawn on that console.
    """
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sessions"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=bar,
        transient=True,
        disable=bar is None,
    )
    task = progress.add_task(f"on Ray ({address or 'local'})", total=len(sessions))

    def on_done(session: S, failed: bool, done: int, total: int) -> None:
        progress.update(task, completed=done)
        logger.info("%d/%d %s%s", done, total, session.name, " failed" if failed else "")

    with ray_executor(address, run, **init) as executor, progress:
        return gather(sessions, executor, on_done=on_done)


class RayMissing(NetGymError):
    """``--ray`` without Ray installed."""


@contextmanager
def ray_executor(
    address: str | None = None, run: Callable[[Any], Any] = run_session, **init: Any
) -> Iterator[RayExecutor]:
    """A :class:`RayExecutor` of ``run`` on the Ray at ``address`` (``None``: a new local one).

    A Ray already initialized in this process is used as it is and left running;
    otherwise ``ray.init(address=address, **init)`` and ``ray.shutdown()`` at the end.

    Raises:
        RayMissing: Ray is not installed.
    """
    try:
        import ray  # noqa: PLC0415 (the optional extra, only for --ray)
    except ImportError as exc:
        raise RayMissing("--ray needs Ray: pip install -e '.[ray]' (the extra ray)") from exc
    started = not ray.is_initialized()
    if started:
        began = time.perf_counter()
        ray.init(address=address, **init)
        logger.info("ray.init(address=%r) took %.1f s", address, time.perf_counter() - began)
    try:
        yield RayExecutor(ray, run)
    finally:
        if started:
            ray.shutdown()
