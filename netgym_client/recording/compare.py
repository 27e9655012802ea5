"""A recorded session beside netgym's simulator: the same start and actions, the same statistics.

A recording of a real NetworkGym server (``netgym record``) holds the env-start the client sent,
every action and every measurement. :func:`recorded_session` reads them back;
:func:`simulate` sends the same env-start and the same actions to netgym's embedded simulator
and keeps its measurements; :func:`statistics` reduces either side to the figures
FIDELITY.md compares (``benchmarks/calibrate_ns3.py`` prints them for ``fixtures/ns3/``).

Rules:
- A session is the first identity's first env-start and what followed it up to the next
  env-start (or the end of the recording).
- Per-user tables are aligned on the session's user ids (1 … N); a user missing from a row
  (ns-3 omits users from some rows) and the delay sentinel −1 count as no sample (NaN).
- Statistics of a metric (``gma::dl::rate``, …) over the measurements after the first (after
  the first ``skip``, to leave a session's start out):
  ``mean`` is the median over users of each user's time mean; ``user_cv`` the coefficient of
  variation across users of those means; ``time_cv`` the median over users of each user's
  coefficient of variation over time. A figure without samples is NaN.
- :func:`layout` is what a client sees of the records' shape: for every ``source::name``,
  in how many measurements it appears and which ids it carries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netgym_client import protocol
from netgym_client.recording.record import Recording, RecordingError

__all__ = [
    "DELAY_METRICS",
    "METRICS",
    "Session",
    "compare",
    "layout",
    "names_diff",
    "ratio",
    "recorded_session",
    "simulate",
    "statistics",
    "user_table",
]

#: Per-user metrics compared, each a ``source::name`` of nqos_split/qos_steer measurements.
METRICS: tuple[str, ...] = (
    "gma::dl::rate",
    "gma::dl::owd",
    "gma::wifi::dl::rate",
    "gma::lte::dl::rate",
    "gma::wifi::dl::owd",
    "gma::lte::dl::owd",
    "gma::wifi::dl::traffic_ratio",
    "gma::wifi::dl::split_ratio",
    "wifi::dl::max_rate",
    "gma::ul::rate",
)
#: Metrics where −1 means "no packet" rather than a value.
DELAY_METRICS = frozenset(
    name for name in METRICS if name.endswith("owd") or name.endswith("max_owd")
)

Records = list[dict[str, Any]]


@dataclass
class Session:
    """One recorded session: what the client sent, and what the server measured.

    Attributes:
        identity: The client's identity (``"<account>-<client_id>"``).
        env_config: The env-start's configuration (every key but ``type``).
        actions: Each env-action's ``action_list``, in order.
        measurements: Each env-measurement's ``network_stats``, in order.
    """

    identity: str
    env_config: dict[str, Any]
    actions: list[Any] = field(default_factory=list)
    measurements: list[Records] = field(default_factory=list)

    @property
    def user_ids(self) -> list[int]:
        """The users' ids, 1 … ``num_users`` (the GMA environments' numbering)."""
        return list(range(1, int(self.env_config.get("num_users", 0)) + 1))


def recorded_session(recording: Recording, identity: str | None = None) -> Session:
    """The first session of ``identity`` (default: the first) in ``recording``.

    Raises:
        RecordingError: The recording holds no env-start for that identity.
    """
    identity = identity or next(iter(recording.identities()), None)
    if identity is None:
        raise RecordingError("env-start", "none in the recording: it holds no message")
    session: Session | None = None
    for direction, payload in recording.script(identity):
        kind = payload.get("type")
        if direction == "c2s" and kind == "env-start":
            if session is not None:
                break
            session = Session(identity, {k: v for k, v in payload.items() if k != "type"})
        elif session is None:
            continue
        elif direction == "c2s" and kind == "env-action":
            session.actions.append(payload.get("action_list"))
        elif direction == "s2c" and kind == "env-measurement":
            session.measurements.append(list(payload.get("network_stats", [])))
    if session is None:
        raise RecordingError("env-start", f"none for {identity} in the recording")
    return session


def simulate(session: Session) -> list[Records]:
    """netgym's measurements for the session's env-start and actions (embedded simulator).

    One measurement for the start and one per recorded action, as many as the recording has.

    Raises:
        EnvError: netgym's simulator refused the start or an action (its text says why).
    """
    from netgym_sim.embedded import InProcessServer  # noqa: PLC0415 (the simulator loads lazily)

    server = InProcessServer(session.identity)
    replies: list[Records] = []
    try:
        start = protocol.EnvStart(env_config=dict(session.env_config))
        replies.append(protocol.expect_measurement(server.ask(start)).network_stats)
        for action_list in session.actions[: max(0, len(session.measurements) - 1)]:
            msg = protocol.EnvAction(action_list=action_list)
            replies.append(protocol.expect_measurement(server.ask(msg)).network_stats)
    finally:
        server.drop()
    return replies


def user_table(measurements: Sequence[Records], name: str, user_ids: Sequence[int]) -> np.ndarray:
    """``(T, N)`` values of ``source::name`` per measurement and user; NaN where none.

    The delay sentinel −1 (:data:`DELAY_METRICS`) is NaN too.
    """
    column = {uid: i for i, uid in enumerate(user_ids)}
    table = np.full((len(measurements), len(user_ids)), np.nan)
    source, _, short = name.partition("::")
    for t, records in enumerate(measurements):
        for record in records:
            if record.get("source") != source or record.get("name") != short:
                continue
            for uid, value in zip(record.get("id", []), record.get("value", []), strict=False):
                if uid in column and isinstance(value, (int, float)):
                    table[t, column[uid]] = float(value)
    if name in DELAY_METRICS:
        table[table == -1.0] = np.nan
    return table


def _cv(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size < 2 or not np.any(values):
        return math.nan
    mean = float(np.mean(values))
    return float(np.std(values) / abs(mean)) if mean else math.nan


def _nanmedian(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def statistics(
    measurements: Sequence[Records],
    user_ids: Sequence[int],
    metrics: Iterable[str] = METRICS,
    skip: int = 1,
) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "user_cv", "time_cv"}}`` over the measurements after the first
    ``skip`` (the first: the env-start's, before any action)."""
    out: dict[str, dict[str, float]] = {}
    for name in metrics:
        table = user_table(measurements[skip:], name, user_ids)
        counts = np.sum(np.isfinite(table), axis=0)
        sums = np.nansum(table, axis=0)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        out[name] = {
            "mean": _nanmedian(means.tolist()),
            "user_cv": _cv(means),
            "time_cv": _nanmedian(_cv(table[:, j]) for j in range(table.shape[1])),
        }
    return out


def layout(measurements: Sequence[Records]) -> dict[str, dict[str, Any]]:
    """``{source::name: {"rows": measurements holding it, "ids": sorted ids seen}}``."""
    seen: dict[str, dict[str, Any]] = {}
    for records in measurements:
        for record in records:
            name = f"{record.get('source')}::{record.get('name')}"
            entry = seen.setdefault(name, {"rows": 0, "ids": set()})
            entry["rows"] += 1
            entry["ids"].update(i for i in record.get("id", []) if isinstance(i, int))
    return {k: {"rows": v["rows"], "ids": sorted(v["ids"])} for k, v in seen.items()}


def ratio(netgym: float, ns3: float) -> float:
    """``netgym / ns3``, NaN where either is not a positive finite figure."""
    if not (math.isfinite(netgym) and math.isfinite(ns3)) or ns3 <= 0.0:
        return math.nan
    return netgym / ns3


def compare(
    session: Session,
    simulated: Sequence[Records],
    metrics: Iterable[str] = METRICS,
    skip: int = 1,
) -> list[dict[str, Any]]:
    """One row per (metric, statistic): the recorded figure, netgym's, and their ratio (both
    over the measurements after the first ``skip``)."""
    ids = session.user_ids
    recorded = statistics(session.measurements, ids, metrics, skip)
    ours = statistics(simulated, ids, metrics, skip)
    rows: list[dict[str, Any]] = []
    for name, figures in recorded.items():
        for stat, value in figures.items():
            mine = ours[name][stat]
            rows.append(
                {
                    "metric": name,
                    "stat": stat,
                    "ns3": value,
                    "netgym": mine,
                    "ratio": ratio(mine, value),
                }
            )
    return rows


def names_diff(recorded: Mapping[str, Any], simulated: Mapping[str, Any]) -> dict[str, list[str]]:
    """Which ``source::name`` rows only one side sends."""
    return {
        "only_recorded": sorted(set(recorded) - set(simulated)),
        "only_netgym": sorted(set(simulated) - set(recorded)),
    }
