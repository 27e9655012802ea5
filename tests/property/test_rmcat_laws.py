"""MODEL.md laws L18–L22 for rmcat, as properties of the numeric model and of whole sessions."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_sim.core.session import Session
from netgym_sim.errors import SessionStateError
from netgym_sim.model.rmcat import BITS_MS_PER_BYTE_S, RmcatModel, StepResult
from netgym_sim.model.traces import Trace

INTERVAL_MS = 100
SUBSTEP_MS = 5.0
BUFFER_BYTES = 37_500.0  # 300 ms at 1 Mbit/s


@st.composite
def traces(draw: st.DrawFn, *, lossy: bool | None = None, grid_ms: int = 1) -> Trace:
    """Traces of 1–6 periods over the first 3 s; start times on a ``grid_ms`` grid."""
    slots = draw(st.sets(st.integers(1, 3000 // grid_ms), max_size=5))
    times = [0.0, *sorted(float(s * grid_ms) for s in slots)]
    n = len(times)
    bw = draw(st.lists(st.integers(100, 3000).map(float), min_size=n, max_size=n))
    delay = draw(st.lists(st.integers(0, 100).map(float), min_size=n, max_size=n))
    if lossy is None:
        loss = draw(st.lists(st.sampled_from([0.0, 0.01, 0.1]), min_size=n, max_size=n))
    else:
        loss = [draw(st.floats(0.05, 0.3)) if lossy else 0.0] * n
    return Trace(tuple(times), tuple(bw), tuple(delay), tuple(loss))


#: Per-interval sending rates: None lets NADA choose.
rate_plans = st.lists(st.none() | st.integers(0, 4_000_000).map(float), min_size=1, max_size=30)


def mean_capacity_bps(trace: Trace, start_ms: float, end_ms: float) -> float:
    """Mean bottleneck rate over [start, end), integrated on a 1 ms grid (integer trace times)."""
    cells = range(int(start_ms), int(end_ms))
    return sum(trace.bw_kbps_at(t + 0.5) * 1000.0 for t in cells) / len(cells)


# -- L18 ---------------------------------------------------------------------------------
@given(traces(), rate_plans, st.integers(0, 2**16))
def test_l18_receive_rate_bounded_by_capacity_and_sending(
    trace: Trace, plan: list[float | None], seed: int
) -> None:
    model = RmcatModel(trace, seed=seed, buffer_bytes=BUFFER_BYTES)
    sent = received = 0.0
    for rate in plan:
        start_ms = model.now_ms
        for _ in range(int(INTERVAL_MS / SUBSTEP_MS)):
            model.step(SUBSTEP_MS, rate)
        stats = model.end_interval()
        capacity = mean_capacity_bps(trace, start_ms, model.now_ms)
        assert stats.rrate_bps <= capacity * (1 + 1e-9)
        if stats.start_media_backlog_bytes == 0.0:
            # Nothing queued from earlier: all that arrives was sent in this interval.
            assert stats.rrate_bps <= stats.srate_bps * (1 + 1e-9)
        sent += stats.totals.sent_bytes
        received += stats.totals.received_bytes
        assert received <= sent * (1 + 1e-9)
        assert stats.totals.received_bytes <= stats.totals.delivered_bytes


# -- L19 ---------------------------------------------------------------------------------
@given(
    st.integers(200, 3000).map(float),
    st.floats(1.05, 3.0),
    st.floats(0.0, 0.8),
    st.integers(0, 100).map(float),
)
def test_l19_queue_grows_above_and_drains_below_the_bottleneck(
    bw_kbps: float, over: float, under: float, delay_ms: float
) -> None:
    model = RmcatModel(Trace.constant(bw_kbps, delay_ms), seed=0, buffer_bytes=BUFFER_BYTES)
    buffer_delay_ms = BUFFER_BYTES * BITS_MS_PER_BYTE_S / (bw_kbps * 1000.0)
    qdel = [0.0]
    ploss: list[int] = []
    full = False
    fill_intervals = math.ceil(buffer_delay_ms / ((over - 1) * INTERVAL_MS))
    for _ in range(fill_intervals + 10):
        for _ in range(20):
            step = model.step(SUBSTEP_MS, over * bw_kbps * 1000.0)
            full = full or step.backlog_bytes >= BUFFER_BYTES * (1 - 1e-12)
        stats = model.end_interval()
        if qdel[-1] < buffer_delay_ms * (1 - 1e-9):
            assert stats.qdel_ms > qdel[-1]  # still below the buffer: the queue grows
        else:
            assert abs(stats.qdel_ms - buffer_delay_ms) <= 1e-6 * buffer_delay_ms
        if not full:
            assert stats.ploss_pkts == 0 and stats.plr == 0.0
        qdel.append(stats.qdel_ms)
        ploss.append(stats.ploss_pkts)
    assert full and ploss[-1] > 0  # 1 s past the time to fill the buffer: losses follow
    drain_intervals = math.ceil(buffer_delay_ms / ((1 - under) * INTERVAL_MS))
    for _ in range(drain_intervals + 1):
        for _ in range(20):
            model.step(SUBSTEP_MS, under * bw_kbps * 1000.0)
        stats = model.end_interval()
        assert stats.qdel_ms < qdel[-1] or stats.qdel_ms == 0.0  # drains down to empty
        qdel.append(stats.qdel_ms)
    assert qdel[-1] == 0.0


@given(
    traces(lossy=False),
    st.lists(st.none() | st.integers(0, 8_000_000).map(float), min_size=5, max_size=30),
    st.sampled_from([2_000.0, 8_000.0, BUFFER_BYTES]),
    st.integers(0, 2**16),
)
def test_l19_tail_drops_only_with_a_full_buffer(
    trace: Trace, plan: list[float | None], buffer_bytes: float, seed: int
) -> None:
    model = RmcatModel(trace, seed=seed, buffer_bytes=buffer_bytes)
    for rate in plan:
        for _ in range(20):
            step: StepResult = model.step(SUBSTEP_MS, rate)
            if step.dropped_bytes > 0:
                assert step.peak_backlog_bytes >= buffer_bytes * (1 - 1e-12)
            assert step.lost_bytes == 0.0  # no random loss in these traces
        stats = model.end_interval()
        assert stats.totals.peak_backlog_bytes <= buffer_bytes * (1 + 1e-12)
        assert (stats.ploss_pkts > 0) <= (stats.totals.dropped_bytes > 0 or stats.plr > 0)


# -- L20 ---------------------------------------------------------------------------------
@given(traces(lossy=False), st.integers(1, 30), st.sampled_from([1.0, 2.5, 5.0, 10.0]))
def test_l20_sending_at_the_trace_bandwidth(trace: Trace, intervals: int, dt_ms: float) -> None:
    model = RmcatModel(trace, seed=0, buffer_bytes=BUFFER_BYTES)
    for _ in range(intervals):
        end_ms = model.now_ms + INTERVAL_MS
        while model.now_ms < end_ms:
            # Follow the trace exactly: never step across one of its period boundaries.
            dt = min(
                dt_ms, end_ms - model.now_ms, trace.next_change_ms(model.now_ms) - model.now_ms
            )
            model.step(dt, trace.bw_kbps_at(model.now_ms) * 1000.0)
        stats = model.end_interval()
        assert stats.qdel_ms <= 1e-6
        utilisation = stats.totals.delivered_bytes / stats.totals.capacity_bytes
        assert abs(utilisation - 1.0) <= 1e-9


@settings(max_examples=15)
@given(st.lists(st.integers(200, 2000), min_size=1, max_size=5), st.integers(1, 10))
def test_l20_scenario_actions_at_the_trace_bandwidth(levels: list[int], hold: int) -> None:
    hold_ms = hold * INTERVAL_MS  # periods on the measurement grid
    trace = {
        "time_ms": [float(i * hold_ms) for i in range(len(levels))],
        "bw_kbps": [float(level) for level in levels],
        "delay_ms": [10.0] * len(levels),
        "loss": [0.0] * len(levels),
    }
    steps = len(levels) * hold
    session = Session(rmcat_config(start_ms=0, steps=steps + 1, bw_trace=trace))
    records = session.first_measurement()
    for k in range(1, steps + 1):
        # The action answering ts = k × 100 ms applies to [k × 100, (k + 1) × 100) ms.
        bw_bps = levels[min(k * INTERVAL_MS // hold_ms, len(levels) - 1)] * 1000.0
        action = {"source": "rmcat", "name": "srate", "ts": records[0]["ts"], "id": [0]}
        records = session.step({**action, "value": [bw_bps]})
        values = {r["name"]: r["value"][0] for r in records}
        assert values["qdel"] <= 1e-6
        assert abs(values["rrate"] - bw_bps) <= 1e-6 * bw_bps
        assert values["srate"] == bw_bps


# -- L21, L22: whole sessions -----------------------------------------------------------
def rmcat_config(
    *, start_ms: int = 1000, steps: int = 5, episodes: int = 1, seed: int = 0, **extra: Any
) -> dict[str, Any]:
    """An env_config as the original client sends it for rmcat (PROTOCOL.md §7.2, §12)."""
    config: dict[str, Any] = {
        "env": "rmcat",
        "steps_per_episode": steps,
        "episodes_per_session": episodes,
        "nada_flows": 1,
        "measurement_start_time_ms": start_ms,
        "measurement_interval_ms": INTERVAL_MS,
        "env_end_time_ms": start_ms + INTERVAL_MS * (steps * episodes + 1),
        "topo_default_bw_kbps": 1000,
        "topo_default_delay_ms": 10,
        "random_seed": seed,
    }
    config.update(extra)
    return config


def run_session(config: dict[str, Any], plan: list[float | None]) -> list[list[dict[str, Any]]]:
    session = Session(config)
    out = [session.first_measurement()]
    for rate in plan:
        if session.finished:
            break
        value = [] if rate is None else [rate]
        action = {"source": "rmcat", "name": "srate", "id": [0], "value": value}
        out.append(session.step({**action, "ts": out[-1][0]["ts"]}))
    return out


@given(st.integers(0, 20_000), st.integers(2, 8), st.integers(1, 3))
def test_l21_ts_advances_by_one_interval_and_the_session_ends(
    start_ms: int, steps: int, episodes: int
) -> None:
    config = rmcat_config(start_ms=start_ms, steps=steps, episodes=episodes)
    session = Session(config)
    stamps = [{r["ts"] for r in session.first_measurement()}]
    while not session.finished:
        action = {"source": "rmcat", "name": "srate", "id": [0], "value": []}
        stamps.append({r["ts"] for r in session.step({**action, "ts": session.last_ts})})
    assert stamps == [{start_ms + INTERVAL_MS * k} for k in range(1, steps * episodes + 1)]
    assert max(stamps[-1]) == config["env_end_time_ms"] - INTERVAL_MS
    try:
        session.step({"source": "rmcat", "name": "srate", "id": [0], "value": [], "ts": 0})
    except SessionStateError:
        pass
    else:
        raise AssertionError("an action after the last measurement was accepted")


@settings(max_examples=20)
@given(traces(), st.lists(st.none() | st.integers(0, 3_000_000).map(float), max_size=12))
def test_l22_same_seed_same_actions_same_bytes(trace: Trace, plan: list[float | None]) -> None:
    config = rmcat_config(steps=len(plan) + 1, seed=7, bw_trace=trace.to_columns())
    first = json.dumps(run_session(config, plan))
    assert json.dumps(run_session(config, plan)) == first
    assert "NaN" not in first and "Infinity" not in first


@settings(max_examples=15)
@given(traces(lossy=True), st.integers(0, 2**16), st.integers(1, 2**16))
def test_l22_another_seed_changes_the_random_loss(trace: Trace, seed: int, offset: int) -> None:
    plan: list[float | None] = [1_000_000.0] * 19
    a = run_session(rmcat_config(steps=20, seed=seed, bw_trace=trace.to_columns()), plan)
    b = run_session(rmcat_config(steps=20, seed=seed + offset, bw_trace=trace.to_columns()), plan)
    assert json.dumps(a) != json.dumps(b)
