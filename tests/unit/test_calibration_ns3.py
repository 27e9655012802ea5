"""netgym stays within ±30 % of real ns-3 on the calibrated figures of fixtures/ns3.

Every recording of fixtures/ns3 (``netgym record`` against NetworkGym's own ns-3 scenario,
fixtures/ns3/README.md) is replayed through netgym's simulator: the same env-start, the same
actions. For each calibrated (metric, statistic) of FIDELITY.md, the median over the
recordings of netgym / ns-3 must stay within ±30 %: a model change that drifts from ns-3
turns this red. The figures not yet calibrated are listed in FIDELITY.md with their ratios.

The calibrated medians are over the recordings of GMA's own split (``value: []`` every step),
and apart over the fixed-split recordings (``wifi``, ``lte``, ``half``: two-column rows, as
ns-3 takes them without gNBs), whose LTE queue grows for the whole session under BBR: the
slope of that growth is calibrated too.
"""

from __future__ import annotations

import math
import statistics
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from netgym_client.errors import NetGymError
from netgym_client.recording import compare
from netgym_client.recording.record import read_recording

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ns3"
TOLERANCE = 0.30
#: (metric, statistic) pairs netgym is calibrated on (FIDELITY.md, "Calibration against ns-3").
CALIBRATED = [
    ("gma::dl::rate", "mean"),
    ("gma::dl::rate", "user_cv"),
    ("gma::dl::rate", "time_cv"),
    ("gma::dl::owd", "mean"),
    ("gma::dl::owd", "time_cv"),
    ("gma::lte::dl::rate", "mean"),
    ("gma::lte::dl::rate", "user_cv"),
    ("gma::lte::dl::rate", "time_cv"),
    ("gma::lte::dl::owd", "mean"),
    ("gma::wifi::dl::owd", "mean"),
    ("gma::lte::dl::owd", "user_cv"),
    ("gma::lte::dl::owd", "time_cv"),
    ("gma::wifi::dl::rate", "mean"),
    ("gma::wifi::dl::rate", "user_cv"),
    ("gma::wifi::dl::rate", "time_cv"),
    ("gma::wifi::dl::traffic_ratio", "mean"),
    ("gma::wifi::dl::traffic_ratio", "user_cv"),
    ("gma::wifi::dl::traffic_ratio", "time_cv"),
    ("gma::wifi::dl::split_ratio", "mean"),
    ("gma::wifi::dl::split_ratio", "user_cv"),
    ("gma::wifi::dl::split_ratio", "time_cv"),
    ("wifi::dl::max_rate", "mean"),
    ("wifi::dl::max_rate", "user_cv"),
    ("wifi::dl::max_rate", "time_cv"),
    ("gma::ul::rate", "mean"),
    ("gma::ul::rate", "user_cv"),
    ("gma::ul::rate", "time_cv"),
]

#: GMA-own figures still outside ±30 % (FIDELITY.md says why): bounds they must not leave, so
#: that they do not drift further from ns-3 unnoticed.
OUTSIDE = {
    ("gma::dl::owd", "user_cv"): (0.7, 1.75),
    ("gma::wifi::dl::owd", "user_cv"): (0.55, 1.3),
    ("gma::wifi::dl::owd", "time_cv"): (0.55, 1.3),
}

#: (metric, statistic) pairs calibrated on the fixed-split recordings. Not Wi-Fi's owd there:
#: ns-3 reports 0–1 ms on a Wi-Fi link that carries little, netgym 1 ms (ratios of noise).
FIXED_SPLIT_CALIBRATED = [
    ("gma::dl::rate", "mean"),
    ("gma::dl::owd", "mean"),
    ("gma::dl::owd", "time_cv"),
    ("gma::wifi::dl::rate", "mean"),
    ("gma::wifi::dl::rate", "time_cv"),
    ("gma::lte::dl::rate", "mean"),
    ("gma::lte::dl::owd", "mean"),
    ("gma::lte::dl::owd", "time_cv"),
    ("gma::wifi::dl::traffic_ratio", "mean"),
    ("gma::wifi::dl::traffic_ratio", "time_cv"),
    ("gma::wifi::dl::split_ratio", "mean"),
    ("gma::ul::rate", "mean"),
    ("wifi::dl::max_rate", "mean"),
    ("wifi::dl::max_rate", "user_cv"),
    ("wifi::dl::max_rate", "time_cv"),
]


def recordings() -> list[Path]:
    return sorted(FIXTURES.glob("*.jsonl.gz"))


@cache
def ratios(fixed_split: bool = False) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for path in recordings():
        session = compare.recorded_session(read_recording(path))
        if any(_sets_a_split(action) for action in session.actions) != fixed_split:
            continue
        try:
            simulated = compare.simulate(session)
        except NetGymError:  # a recorded action netgym refuses: test_every_recording_replays
            continue
        for row in compare.compare(session, simulated):
            out.setdefault((row["metric"], row["stat"]), []).append(row["ratio"])
    return out


def _sets_a_split(action_list: object) -> bool:
    records = action_list if isinstance(action_list, list) else [action_list]
    return any(isinstance(r, dict) and r.get("value") not in ([], None) for r in records)


def test_there_are_recordings_of_several_layouts_and_sizes() -> None:
    names = [p.name for p in recordings()]
    assert len(names) >= 10
    assert any("_docs_" in n for n in names) and any("_paper_" in n for n in names)
    assert {4, 8, 16} <= {int(n.split("_u")[1].split("_")[0]) for n in names}


@pytest.mark.parametrize(("metric", "stat"), CALIBRATED)
def test_calibrated_figure_is_within_tolerance_of_ns3(metric: str, stat: str) -> None:
    values = [v for v in ratios()[(metric, stat)] if math.isfinite(v)]
    assert len(values) >= 8, (metric, stat, values)
    median = statistics.median(values)
    assert abs(median - 1.0) <= TOLERANCE, f"{metric} {stat}: netgym/ns-3 = {median:.3f}"


@pytest.mark.parametrize(("metric", "stat"), sorted(OUTSIDE))
def test_a_figure_outside_the_tolerance_drifts_no_further(metric: str, stat: str) -> None:
    values = [v for v in ratios()[(metric, stat)] if math.isfinite(v)]
    assert len(values) >= 8, (metric, stat, values)
    median = statistics.median(values)
    low, high = OUTSIDE[(metric, stat)]
    assert low <= median <= high, f"{metric} {stat}: netgym/ns-3 = {median:.3f}"


@pytest.mark.parametrize(("metric", "stat"), FIXED_SPLIT_CALIBRATED)
def test_fixed_split_figure_is_within_tolerance_of_ns3(metric: str, stat: str) -> None:
    values = [v for v in ratios(fixed_split=True)[(metric, stat)] if math.isfinite(v)]
    assert len(values) >= 8, (metric, stat, values)
    median = statistics.median(values)
    assert abs(median - 1.0) <= TOLERANCE, f"{metric} {stat}: netgym/ns-3 = {median:.3f}"


def _lte_owd_slope_ms_per_s(measurements: list[compare.Records], user_ids: list[int]) -> float:
    """Median over users of the LTE one-way delay's growth from 2 s to 10 s, ms per second."""
    table = compare.user_table(measurements, "gma::lte::dl::owd", user_ids)
    return float(statistics.median((table[100] - table[20]) / 8.0))


def test_a_bbr_flows_lte_queue_grows_as_fast_as_in_ns3() -> None:
    """On LTE (all of it, or half of a fixed split) ns-3's BBR queue grows ~48 ms each second."""
    slopes: list[float] = []
    for path in recordings():
        if "_tcp_lte_" not in path.name and "_tcp_half_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        ns3 = _lte_owd_slope_ms_per_s(session.measurements, session.user_ids)
        ours = _lte_owd_slope_ms_per_s(compare.simulate(session), session.user_ids)
        assert ns3 > 20.0, (path.name, ns3)  # the recordings do show the growth
        slopes.append(ours / ns3)
    assert len(slopes) >= 6
    median = statistics.median(slopes)
    assert abs(median - 1.0) <= TOLERANCE, f"LTE queue growth: netgym/ns-3 = {median:.3f}"


def _lte_rate_spreads(measurements: list[compare.Records], user_ids: list[int]) -> list[float]:
    """From 0.6 s on: the LTE rate's spread across users (largest minus smallest user mean)
    and the median over users of its standard deviation over time, Mbit/s."""
    table = compare.user_table(measurements[6:], "gma::lte::dl::rate", user_ids)
    means = np.nanmean(table, axis=0)
    return [float(means.max() - means.min()), float(np.median(np.nanstd(table, axis=0)))]


def test_on_an_all_lte_split_the_users_are_as_equal_as_in_ns3_once_started() -> None:
    """ns-3 gives every user of an all-LTE split the same rate, 8.5/N Mbit/s, give or take a
    packet or two an interval (0.11 Mbit/s each): its spreads (coefficients of variation
    ~0.0005 across users) are too small for ratios, so they are compared in Mbit/s. netgym's
    fixed-split spreads (FIDELITY.md) come from its first half second, before every flow has
    started."""
    checked = 0
    for path in recordings():
        if "_tcp_lte_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        ns3 = _lte_rate_spreads(session.measurements, session.user_ids)
        ours = _lte_rate_spreads(compare.simulate(session), session.user_ids)
        assert ns3[0] < 0.05 and ns3[1] < 0.25, (path.name, ns3)  # the recordings show it
        assert abs(ours[0] - ns3[0]) <= 0.05 and abs(ours[1] - ns3[1]) <= 0.25, (path.name, ours)
        checked += 1
    assert checked >= 6


def test_the_calibration_script_prints_a_row_per_recording_and_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util
    import shutil

    source = FIXTURES / "nqos_docs_u4_tcp_default_s1.jsonl.gz"
    shutil.copy(source, tmp_path / source.name)
    script = FIXTURES.parents[1] / "benchmarks" / "calibrate_ns3.py"
    spec = importlib.util.spec_from_file_location("calibrate_ns3", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--dir", str(tmp_path), "--stats", "mean"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith("nqos_docs_u4_tcp_default_s1")]
    assert len(rows) == len(compare.METRICS)
    assert any(line.startswith("gma::dl::rate  mean") for line in out)


def test_the_calibration_script_prints_the_medians_of_each_group_and_can_skip_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util
    import shutil

    for name in ("nqos_paper_u4_tcp_default_s2", "nqos_paper_u4_tcp_lte_s2"):
        shutil.copy(FIXTURES / f"{name}.jsonl.gz", tmp_path / f"{name}.jsonl.gz")
    script = FIXTURES.parents[1] / "benchmarks" / "calibrate_ns3.py"
    spec = importlib.util.spec_from_file_location("calibrate_ns3", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(*args: str) -> list[str]:
        assert module.main(["--dir", str(tmp_path), "--stats", "user_cv", *args]) == 0
        return capsys.readouterr().out.splitlines()

    out = run()
    assert "GMA's own split" in out and "fixed splits" in out
    assert sum(line.startswith("gma::lte::dl::rate  user_cv") for line in out) == 3
    fixed = run("--group", "fixed")
    assert not any(line.startswith("nqos_paper_u4_tcp_default") for line in fixed)
    assert "fixed splits" not in fixed  # one group: its table is the one over all

    def lte_user_cv(lines: list[str]) -> float:
        row = next(x for x in lines if x.startswith("nqos_paper_u4_tcp_lte_s2  gma::lte::dl::rate"))
        return float(row.split()[-1])

    # On the all-LTE split netgym's users are equal once every flow has started.
    later = lte_user_cv(run("--group", "fixed", "--skip", "6"))
    assert later != lte_user_cv(fixed) and later < 2.0


def _off_wifi_share(measurements: list[compare.Records], user_ids: list[int]) -> dict[str, float]:
    """Share of user-steps (from 2 s) with under 5 % of the traffic on Wi-Fi, per Wi-Fi level."""
    ratio = compare.user_table(measurements, "gma::wifi::dl::traffic_ratio", user_ids)[20:]
    level = compare.user_table(measurements, "wifi::dl::max_rate", user_ids)[20:]
    seen = np.isfinite(ratio) & np.isfinite(level)
    out = {}
    for name, band in (("edge", (level > 40) & (level < 50)), ("near", level > 60)):
        picked = seen & band
        out[name] = float(np.mean(ratio[picked] < 5.0)) if picked.any() else math.nan
    return out


def test_gma_gives_up_wifi_at_the_cell_edge_as_often_as_ns3() -> None:
    """ns-3's built-in split moves about half the users at a reported 43.9 Mbit/s (MCS 4)
    off Wi-Fi, and almost none at 65.8 Mbit/s and more (fixtures/ns3, GMA's own split)."""
    sides: dict[str, dict[str, list[float]]] = {"ns3": {}, "netgym": {}}
    for path in recordings():
        if "_tcp_default_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        for side, measurements in (
            ("ns3", session.measurements),
            ("netgym", compare.simulate(session)),
        ):
            for name, share in _off_wifi_share(measurements, session.user_ids).items():
                if math.isfinite(share):
                    sides[side].setdefault(name, []).append(share)
    for name, limit in (("edge", 0.2), ("near", 0.05)):
        ns3, ours = (float(np.mean(sides[s][name])) for s in ("ns3", "netgym"))
        assert abs(ours - ns3) <= limit, (name, ns3, ours)
    assert float(np.mean(sides["ns3"]["edge"])) > 0.2  # the recordings do show it


def test_a_light_udp_flow_reads_0_ms_as_in_ns3() -> None:
    """ns-3 cuts delays to whole ms: a 2–6 Mbit/s UDP flow on Wi-Fi reads 0 ms."""
    checked = 0
    for path in recordings():
        if "_udp_default_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        ns3 = compare.user_table(session.measurements, "gma::wifi::dl::owd", session.user_ids)
        if not np.isfinite(ns3).any():  # no Wi-Fi rows in this layout
            continue
        ours = compare.user_table(compare.simulate(session), "gma::wifi::dl::owd", session.user_ids)
        assert float(np.nanmedian(ns3)) == float(np.nanmedian(ours)) == 0.0, path.name
        checked += 1
    assert checked >= 4


def _wifi_rate_cv_by_ap_load(
    measurements: list[compare.Records], user_ids: list[int]
) -> dict[int, list[float]]:
    """Per AP load (users on the AP, 4 = four or more): a user's Wi-Fi rate std / mean over
    10-interval windows in which its AP's users stay the same."""
    rate = compare.user_table(measurements, "gma::wifi::dl::rate", user_ids)[20:]
    cell = compare.user_table(measurements, "wifi::cell_id", user_ids)[20:]
    out: dict[int, list[float]] = {}
    for u in range(rate.shape[1]):
        for t0 in range(0, rate.shape[0] - 10, 10):
            cells = cell[t0 : t0 + 10]
            if not np.all(cells[:, u] == cells[0, u]):
                continue
            window = rate[t0 : t0 + 10, u]
            if np.mean(window) > 1.0:
                load = min(int(np.sum(cells[0] == cells[0, u])), 4)
                out.setdefault(load, []).append(float(np.std(window) / np.mean(window)))
    return out


def test_a_saturated_wifi_users_rate_varies_with_its_aps_load_as_in_ns3() -> None:
    """Contention: in ns-3's all-Wi-Fi recordings a user's rate varies 2.6 % from one interval
    to the next alone on its AP, 9–14 % with 2–4 users (netgym: radio.CONTENTION_CV)."""
    sides: dict[str, dict[int, list[float]]] = {"ns3": {}, "netgym": {}}
    for path in recordings():
        if "_tcp_wifi_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        for side, measurements in (
            ("ns3", session.measurements),
            ("netgym", compare.simulate(session)),
        ):
            for load, cvs in _wifi_rate_cv_by_ap_load(measurements, session.user_ids).items():
                sides[side].setdefault(load, []).extend(cvs)
    assert set(sides["ns3"]) >= {1, 2, 3}
    for load, cvs in sides["ns3"].items():
        ns3, ours = statistics.median(cvs), statistics.median(sides["netgym"].get(load, [0.0]))
        assert abs(ours / ns3 - 1.0) <= TOLERANCE, (load, ns3, ours)


def _fast_over_slow(measurements: list[compare.Records], user_ids: list[int]) -> list[float]:
    """Per interval and AP serving exactly two users with Wi-Fi traffic whose levels differ
    1.4× or more: the faster user's Wi-Fi rate over the slower one's."""
    rate = compare.user_table(measurements, "gma::wifi::dl::rate", user_ids)[20:]
    level = compare.user_table(measurements, "wifi::dl::max_rate", user_ids)[20:]
    cell = compare.user_table(measurements, "wifi::cell_id", user_ids)[20:]
    out: list[float] = []
    for t in range(rate.shape[0]):
        for ap in np.unique(cell[t][np.isfinite(cell[t]) & (cell[t] != 255)]):
            users = np.nonzero(cell[t] == ap)[0]
            if users.size != 2 or not np.all(rate[t, users] > 0.5):
                continue
            fast, slow = users[np.argsort(-level[t, users])]
            if level[t, fast] >= 1.4 * level[t, slow]:
                out.append(float(rate[t, fast] / rate[t, slow]))
    return out


def test_the_users_of_one_ap_get_one_rate_whatever_their_levels_as_in_ns3() -> None:
    """Wi-Fi shares throughput, not airtime (the 802.11 performance anomaly): in ns-3's
    all-Wi-Fi recordings two backlogged users of one AP whose levels differ 1.4× or more get
    rates ~1.0× each other's (median over 300+ interval pairs), not their levels' ratio."""
    sides: dict[str, list[float]] = {"ns3": [], "netgym": []}
    for path in recordings():
        if "_tcp_wifi_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        sides["ns3"] += _fast_over_slow(session.measurements, session.user_ids)
        sides["netgym"] += _fast_over_slow(compare.simulate(session), session.user_ids)
    assert len(sides["ns3"]) >= 100 and len(sides["netgym"]) >= 20, {
        side: len(ratios) for side, ratios in sides.items()
    }
    ns3, ours = statistics.median(sides["ns3"]), statistics.median(sides["netgym"])
    assert abs(ours / ns3 - 1.0) <= TOLERANCE, (ns3, ours, len(sides["netgym"]))


def _same_ap_owd_spread(measurements: list[compare.Records], user_ids: list[int]) -> list[float]:
    """Per interval and AP serving two users or more: std / mean of their Wi-Fi delays."""
    owd = compare.user_table(measurements, "gma::wifi::dl::owd", user_ids)[20:]
    cell = compare.user_table(measurements, "wifi::cell_id", user_ids)[20:]
    out: list[float] = []
    for t in range(owd.shape[0]):
        for ap in np.unique(cell[t][np.isfinite(cell[t])]):
            delays = owd[t][(cell[t] == ap) & np.isfinite(owd[t])]
            if delays.size >= 2 and delays.mean() > 5.0:
                out.append(float(delays.std() / delays.mean()))
    return out


def test_the_users_of_one_ap_report_one_queueing_delay_as_in_ns3() -> None:
    """One transmit queue per AP: in ns-3's all-Wi-Fi recordings the users of one AP report
    Wi-Fi delays within ~4 % of each other (median over intervals and APs)."""
    ns3: list[float] = []
    ours: list[float] = []
    for path in recordings():
        if "_tcp_wifi_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        ns3 += _same_ap_owd_spread(session.measurements, session.user_ids)
        ours += _same_ap_owd_spread(compare.simulate(session), session.user_ids)
    assert len(ns3) >= 100 and len(ours) >= 100
    assert statistics.median(ns3) <= 0.10 and statistics.median(ours) <= 0.10


def _one_interval_excursions(
    measurements: list[compare.Records], user_ids: list[int]
) -> tuple[int, int]:
    """(intervals, excursions): a user's reported Wi-Fi level that differs from the level it
    held the interval before and holds again the interval after (one-interval excursions)."""
    level = compare.user_table(measurements[1:], "wifi::dl::max_rate", user_ids)
    intervals = excursions = 0
    for u in range(level.shape[1]):
        x = level[np.isfinite(level[:, u]), u]
        if x.size < 3:
            continue
        intervals += x.size - 2
        excursions += int(np.sum((x[1:-1] != x[:-2]) & (x[2:] == x[:-2])))
    return intervals, excursions


def test_the_reported_wifi_level_leaves_for_an_interval_as_often_as_in_ns3() -> None:
    """Minstrel-HT's rate probes: in ns-3 a user's reported level leaves the level it holds
    for one interval and comes back in 1.5 % of the intervals (netgym: radio.probe_levels)."""
    sides = {"ns3": [0, 0], "netgym": [0, 0]}
    for path in recordings():
        session = compare.recorded_session(read_recording(path))
        try:
            simulated = compare.simulate(session)
        except NetGymError:
            continue
        for side, measurements in (("ns3", session.measurements), ("netgym", simulated)):
            intervals, excursions = _one_interval_excursions(measurements, session.user_ids)
            sides[side][0] += intervals
            sides[side][1] += excursions
    ns3, ours = (sides[s][1] / sides[s][0] for s in ("ns3", "netgym"))
    assert ns3 > 0.01, ns3  # the recordings do show them
    assert abs(ours / ns3 - 1.0) <= TOLERANCE, (ns3, ours)


def _busy_ack_ratios(measurements: list[compare.Records], user_ids: list[int]) -> list[float]:
    """Uplink (ACK) rate over downlink rate per interval (from 2 s, downlink over 2 Mbit/s) of
    the users on an AP busy 30 % or more (its users' Wi-Fi rate over 0.84 × level, summed)."""
    ul = compare.user_table(measurements, "gma::ul::rate", user_ids)[20:]
    dl = compare.user_table(measurements, "gma::dl::rate", user_ids)[20:]
    wifi = np.nan_to_num(compare.user_table(measurements, "gma::wifi::dl::rate", user_ids)[20:])
    level = compare.user_table(measurements, "wifi::dl::max_rate", user_ids)[20:]
    cell = compare.user_table(measurements, "wifi::cell_id", user_ids)[20:]
    airtime = np.where(level > 0, wifi / (0.84 * np.where(level > 0, level, 1.0)), 0.0)
    out: list[float] = []
    for t, u in zip(*np.nonzero((dl > 2.0) & np.isfinite(ul) & np.isfinite(cell)), strict=True):
        if np.sum(airtime[t][cell[t] == cell[t, u]]) >= 0.3:
            out.append(float(ul[t, u] / dl[t, u]))
    return out


def test_acks_of_a_busy_wifi_ap_arrive_in_bursts_as_in_ns3() -> None:
    """ACK compression: in ns-3's TCP sessions a user's ACK rate over its data rate varies from
    one interval to the next by 15 % (mean absolute deviation from the median) on a busy AP
    (netgym: model.report's held ACKs); it would be a constant without the bursts."""
    spread: dict[str, list[float]] = {"ns3": [], "netgym": []}
    for path in recordings():
        if "_tcp_default_" not in path.name and "_tcp_wifi_" not in path.name:
            continue
        session = compare.recorded_session(read_recording(path))
        for side, measurements in (
            ("ns3", session.measurements),
            ("netgym", compare.simulate(session)),
        ):
            spread[side] += _busy_ack_ratios(measurements, session.user_ids)
    deviation = {}
    for side, ratios_ in spread.items():
        values = np.asarray(ratios_) / np.median(ratios_)
        deviation[side] = float(np.mean(np.abs(values - 1.0)))
    assert len(spread["ns3"]) >= 1000 and len(spread["netgym"]) >= 1000
    assert deviation["ns3"] > 0.1, deviation  # the recordings do show the bursts
    assert abs(deviation["netgym"] / deviation["ns3"] - 1.0) <= TOLERANCE, deviation


@cache
def _tcp_default_replays() -> tuple[
    tuple[list[compare.Records], list[compare.Records], list[int]], ...
]:
    """(ns-3's measurements, netgym's, user ids) of every TCP session on GMA's own split."""
    out = []
    for path in recordings():
        if "_tcp_default_" in path.name:
            session = compare.recorded_session(read_recording(path))
            out.append((session.measurements, compare.simulate(session), session.user_ids))
    return tuple(out)


def _split_moves(
    measurements: list[compare.Records], user_ids: list[int]
) -> list[tuple[int, bool, int, bool, bool]]:
    """Each move of a user's built-in split (its Wi-Fi share changed, from 1.2 s on for the
    delays): (units, in the session's first run, place in its run, it leaves the slower link
    of its own interval, it leaves the slower link of the 10 intervals before). Slower: by
    more than 10 ms. A run: moves one way in a row; a lost link's move (over 8 units) ends it.
    """
    unit = 100.0 / 32
    split = compare.user_table(measurements, "gma::wifi::dl::split_ratio", user_ids)
    gap = compare.user_table(measurements, "gma::wifi::dl::owd", user_ids) - compare.user_table(
        measurements, "gma::lte::dl::owd", user_ids
    )  # > 0: Wi-Fi slower
    out = []
    for j in range(len(user_ids)):
        last, run, way, first = math.nan, 0, 0, True
        for t in range(len(measurements)):
            now = float(split[t, j])
            if not math.isfinite(now):
                continue
            if math.isfinite(last) and now != last:
                units = round((now - last) / unit)
                way_now = 1 if units > 0 else -1  # 1: onto Wi-Fi
                if abs(units) > 8:
                    last, run, way, first = now, 0, 0, False
                    continue
                first = first and way in (0, way_now)
                run = run + 1 if way_now == way else 1
                way = way_now
                before = gap[max(t - 10, 0) : t, j]
                mean = float(np.nanmean(before)) if np.isfinite(before).any() else math.nan
                if t >= 12:
                    own = -way_now * float(gap[t, j]) > 10.0
                    out.append((abs(units), first, run, own, -way_now * mean > 10.0))
            last = now
    return out


def _moves(side: int) -> np.ndarray:
    return np.array(
        [m for replay in _tcp_default_replays() for m in _split_moves(replay[side], replay[2])],
        dtype=float,
    )


def test_gma_moves_its_split_on_the_delays_of_the_last_interval_as_in_ns3() -> None:
    """ns-3's GMA moves a split off the link that was slower in the interval the move shows
    in (94 % of the moves), far less often off the slower of the second before (73 %): it
    decides on the latest delays, not on the period's mean."""
    ns3, ours = _moves(0), _moves(1)
    assert len(ns3) >= 1000 and len(ours) >= 1000
    assert ns3[:, 3].mean() > ns3[:, 4].mean() + 0.1  # the recordings do show it
    assert ours[:, 3].mean() > ours[:, 4].mean() + 0.1, (ours[:, 3].mean(), ours[:, 4].mean())
    assert abs(ours[:, 3].mean() - ns3[:, 3].mean()) <= 0.1


def test_gma_moves_more_units_the_longer_a_run_goes_as_in_ns3() -> None:
    """ns-3's GMA moves 1 unit at a time for the first moves of a run one way, then 2, 3, 4:
    the session's first run (off Wi-Fi) averages ~2.2 units from its 4th move on."""
    for name, moves in (("ns3", _moves(0)), ("netgym", _moves(1))):
        early = moves[moves[:, 2] <= 3]
        assert abs(early[:, 0].mean() - 1.0) <= 0.05, name
    ns3, ours = (m[(m[:, 1] > 0) & (m[:, 2] >= 4)] for m in (_moves(0), _moves(1)))
    assert len(ns3) >= 100 and len(ours) >= 100
    assert ns3[:, 0].mean() > 1.5  # the recordings do show it
    assert abs(ours[:, 0].mean() / ns3[:, 0].mean() - 1.0) <= TOLERANCE, (
        ns3[:, 0].mean(),
        ours[:, 0].mean(),
    )
