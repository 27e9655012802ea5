"""The ``rmcat`` environment: one NADA media flow over a trace-driven bottleneck.

Rules (PROTOCOL.md §12, §13; MODEL.md L18–L22):
- The bottleneck follows ``env_config.bw_trace`` (the column dict the client reads from its
  ``bw_trace_file``). Without ``bw_trace``, a ``bw_trace_file`` naming one of the package's
  own traces (``netgym_sim/data/*.csv``, by bare file name only: a client never makes the
  server open a path) is used; otherwise the link is constant at ``topo_default_bw_kbps`` /
  ``topo_default_delay_ms`` with no random loss. A trace starting after 0 ms gets a
  leading period with the topology defaults.
- The drop-tail buffer holds :data:`BUFFER_DELAY_MS` (300 ms, the queue size of the RMCAT
  evaluation test cases, RFC 8867) at ``topo_default_bw_kbps``, in bytes, for the whole run.
- The media flow (NADA flow 0) starts at time 0 as in ns-3, where measurements begin at
  ``measurement_start_time_ms``; the model runs from ``max(0, start − 10 s)`` up to the start
  so the first measurement sees a flow that has ramped up (the cap bounds the set-up cost).
- Cross traffic: ``udp_flows`` constant-rate flows of ``udp_flow_bw_kbps`` each and
  ``tcp_flows`` fluid Reno flows; flow ``i`` of a kind starts at ``i ×`` its
  ``…_start_time_diff_ms`` (``upd_…``, sic, as the client spells it). At most
  :data:`MAX_CROSS_FLOWS` of each.
- ``measurement_interval_ms`` must be 100 (NADA's feedback interval DELTA, fixed in ns-3) and
  a ``measurement_guard_interval_ms``, if present, 0: other values are rejected.
  ``nada_flows`` must be 1. Keys left out take the §12 defaults.
- Each measurement holds the subscribed ``rmcat::*`` records (all 11 when
  ``subscribed_network_stats`` is absent), flat shape, ``id [0]``, units of §13: packets,
  ms, bit/s. ``srate`` is the rate used during the interval (the action's, else NADA's);
  ``nada_srate`` is NADA's own rate after the interval's update (the expert's next move).
- Action: one ``rmcat::srate`` record (or a list holding one) for flow 0: ``value [rate_bps]``
  sets the sending rate from now until the next action; ``value []`` hands control back to
  NADA. Any finite rate in [0, :data:`MAX_RATE_BPS`] is used unclipped, as the original
  client sends it (the action space's [150000, 1500000] is not enforced).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Generator, Mapping
from importlib import resources
from typing import Any

import simpy

from netgym_sim.errors import InvalidAction, InvalidEnvConfig, SessionStateError
from netgym_sim.limits import MAX_TIME_MS, echo
from netgym_sim.model.rmcat import IntervalStats, RmcatModel
from netgym_sim.model.traces import MAX_BW_KBPS, MAX_DELAY_MS, MIN_BW_KBPS, Trace, TraceError
from netgym_sim.scenarios.base import Record, Scenario

__all__ = ["METRICS", "RmcatScenario"]

logger = logging.getLogger(__name__)

#: The ``rmcat::*`` metrics, in the original subscription order, and the field each reads.
METRICS: dict[str, str] = {
    "loglen": "loglen_pkts",
    "qdel": "qdel_ms",
    "rtt": "rtt_ms",
    "ploss": "ploss_pkts",
    "plr": "plr",
    "xcurr": "xcurr_ms",
    "rrate": "rrate_bps",
    "srate": "srate_bps",
    "nada_srate": "nada_srate_bps",
    "avgint": "avgint_pkts",
    "curint": "curint_pkts",
}
#: NADA's feedback interval (RFC 8698 DELTA), the only measurement interval accepted, ms.
INTERVAL_MS = 100
#: Fluid-queue sub-step inside an interval, ms (trace boundaries are split exactly anyway).
SUBSTEP_MS = 5
#: Drop-tail buffer, as ms of the default bottleneck bandwidth (RFC 8867 test cases).
BUFFER_DELAY_MS = 300.0
#: Longest warm-up simulated before the first measurement, ms.
MAX_WARMUP_MS = 10_000
#: Most cross flows of each kind (UDP, TCP).
MAX_CROSS_FLOWS = 16
#: Largest sending rate an action may ask for, bit/s (1 Tbit/s).
MAX_RATE_BPS = 1e12
#: Defaults of PROTOCOL.md §12 for keys a client leaves out.
DEFAULTS: dict[str, float] = {
    "nada_flows": 1,
    "nada_flow_start_time_diff_ms": 1,
    "tcp_flows": 0,
    "tcp_flow_start_time_diff_ms": 50_000,
    "udp_flows": 0,
    "udp_flow_bw_kbps": 100,
    "upd_flow_start_time_diff_ms": 50_000,
    "topo_default_bw_kbps": 1000,
    "topo_default_delay_ms": 10,
}
_DATA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.csv")


def _number(
    env_config: Mapping[str, Any], key: str, *, positive: bool = False, maximum: float = MAX_TIME_MS
) -> float:
    value = env_config.get(key, DEFAULTS.get(key))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEnvConfig(f"env_config.{key}: must be a finite number, got {echo(value)}")
    if value < 0 or (positive and value == 0) or value > maximum:
        raise InvalidEnvConfig(
            f"env_config.{key}: must be {'>' if positive else '>='} 0 and <= {maximum:g}, "
            f"got {echo(value)}"
        )
    return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0


def _count(env_config: Mapping[str, Any], key: str, maximum: int) -> int:
    value = _number(env_config, key)
    if value != int(value) or value > maximum:
        raise InvalidEnvConfig(
            f"env_config.{key}: must be an integer in [0, {maximum}], got {env_config.get(key)!r}"
        )
    return int(value)


def _subscriptions(env_config: Mapping[str, Any]) -> list[str]:
    if "subscribed_network_stats" not in env_config:
        return list(METRICS)
    names = env_config["subscribed_network_stats"]
    if not isinstance(names, list) or not names:
        raise InvalidEnvConfig(
            f"env_config.subscribed_network_stats: must be a non-empty array of "
            f"'rmcat::<name>' strings, got {names!r:.80}"
        )
    chosen: list[str] = []
    for i, full in enumerate(names):
        source, _, name = full.partition("::") if isinstance(full, str) else ("", "", "")
        if source != "rmcat" or name not in METRICS:
            raise InvalidEnvConfig(
                f"env_config.subscribed_network_stats[{i}]: {full!r:.80} is not an rmcat "
                f"metric; known: {', '.join('rmcat::' + m for m in METRICS)}"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _trace(env_config: Mapping[str, Any], bw_kbps: float, delay_ms: float) -> Trace:
    if "bw_trace" in env_config:
        try:
            trace = Trace.from_columns(env_config["bw_trace"])
        except TraceError as exc:
            location = "" if exc.location == "bw_trace" else f".{exc.location}"
            raise InvalidEnvConfig(f"env_config.bw_trace{location}: {exc.problem}") from exc
        return trace.with_leading_period(bw_kbps, delay_ms)
    name = env_config.get("bw_trace_file")
    if isinstance(name, str) and _DATA_NAME.fullmatch(name):
        resource = resources.files("netgym_sim").joinpath("data").joinpath(name)
        if resource.is_file():
            try:
                trace = Trace.from_csv_text(resource.read_text(encoding="utf-8"))
            except TraceError as exc:
                raise InvalidEnvConfig(f"env_config.bw_trace_file: {name}: {exc}") from exc
            return trace.with_leading_period(bw_kbps, delay_ms)
    logger.debug("rmcat: no bw_trace and no packaged trace %r: constant link", name)
    return Trace.constant(bw_kbps, delay_ms)


class RmcatScenario(Scenario):
    """A NADA media flow over a trace-driven drop-tail bottleneck (see the module docstring).

    Args:
        env_config: The ``env-start``'s ``env_config`` (PROTOCOL.md §12 keys).
        seed: Seeds the trace's random packet loss.

    Raises:
        InvalidEnvConfig: A key names an unsupported or malformed value.

    Example:
        >>> import simpy
        >>> scenario = RmcatScenario({"env": "rmcat", "measurement_start_time_ms": 1000}, 0)
        >>> clock = simpy.Environment(initial_time=1000)
        >>> scenario.start(clock)
        >>> clock.run(until=1100)
        >>> [r["name"] for r in scenario.measure(1100)][:3]
        ['loglen', 'qdel', 'rtt']
    """

    name = "rmcat"

    def __init__(self, env_config: Mapping[str, Any], seed: int) -> None:
        super().__init__(env_config, seed)
        if env_config.get("measurement_interval_ms", INTERVAL_MS) != INTERVAL_MS:
            raise InvalidEnvConfig(
                f"env_config.measurement_interval_ms: NADA's feedback interval is fixed at "
                f"{INTERVAL_MS} ms, got {env_config['measurement_interval_ms']!r:.80}"
            )
        if env_config.get("measurement_guard_interval_ms", 0) != 0:
            raise InvalidEnvConfig(
                f"env_config.measurement_guard_interval_ms: rmcat has no guard interval; "
                f"must be 0 or absent, got {env_config['measurement_guard_interval_ms']!r:.80}"
            )
        nada_flows = _number(env_config, "nada_flows")
        if nada_flows != 1:
            raise InvalidEnvConfig(
                f"env_config.nada_flows: only 1 NADA flow is simulated, got {nada_flows:g}"
            )
        _number(env_config, "nada_flow_start_time_diff_ms")
        bw_kbps = _number(env_config, "topo_default_bw_kbps", positive=True, maximum=MAX_BW_KBPS)
        if bw_kbps < MIN_BW_KBPS:
            raise InvalidEnvConfig(
                f"env_config.topo_default_bw_kbps: must be >= {MIN_BW_KBPS:g}, got {bw_kbps!r}"
            )
        delay_ms = _number(env_config, "topo_default_delay_ms", maximum=MAX_DELAY_MS)
        self.trace = _trace(env_config, bw_kbps, delay_ms)
        self.buffer_bytes = BUFFER_DELAY_MS * bw_kbps / 8.0  # kbit/s × ms / 8 = bytes
        udp_flows = _count(env_config, "udp_flows", MAX_CROSS_FLOWS)
        udp_key = "upd_flow_start_time_diff_ms"  # sic: the original client's spelling
        if udp_key not in env_config and "udp_flow_start_time_diff_ms" in env_config:
            udp_key = "udp_flow_start_time_diff_ms"
        udp_diff_ms = _number(env_config, udp_key)
        self.udp_starts_ms = tuple(i * udp_diff_ms for i in range(udp_flows))
        self.udp_rate_bps = _number(env_config, "udp_flow_bw_kbps", maximum=MAX_BW_KBPS) * 1000.0
        tcp_flows = _count(env_config, "tcp_flows", MAX_CROSS_FLOWS)
        tcp_diff_ms = _number(env_config, "tcp_flow_start_time_diff_ms")
        self.tcp_starts_ms = tuple(i * tcp_diff_ms for i in range(tcp_flows))
        self.subscriptions = _subscriptions(env_config)
        self._model: RmcatModel | None = None
        self._action_rate_bps: float | None = None

    # -- simulation -----------------------------------------------------------------------
    def start(self, env: simpy.Environment) -> None:
        """Build the model, warm it up to ``env.now`` and register the sub-step process."""
        now_ms = float(env.now)
        flow_start_ms = max(0.0, now_ms - MAX_WARMUP_MS)
        self._model = RmcatModel(
            self.trace,
            seed=self.seed,
            buffer_bytes=self.buffer_bytes,
            start_ms=flow_start_ms,
            udp_starts_ms=self.udp_starts_ms,
            udp_rate_bps=self.udp_rate_bps,
            tcp_starts_ms=self.tcp_starts_ms,
        )
        # Warm-up intervals end on the grid that ends at now_ms (NADA updates every 100 ms).
        boundary_ms = flow_start_ms + ((now_ms - flow_start_ms) % INTERVAL_MS or INTERVAL_MS)
        while boundary_ms <= now_ms:
            self._advance_to(boundary_ms)
            self._model.end_interval()
            boundary_ms += INTERVAL_MS
        env.process(self._drive(env))

    def _drive(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(SUBSTEP_MS)
            self._advance_to(float(env.now))

    def _advance_to(self, t_ms: float) -> None:
        model = self._require_model()
        while model.now_ms < t_ms:
            model.step(min(SUBSTEP_MS, t_ms - model.now_ms), self._action_rate_bps)

    def _require_model(self) -> RmcatModel:
        if self._model is None:
            raise SessionStateError("rmcat: the scenario has not been started")
        return self._model

    # -- wire side ------------------------------------------------------------------------
    def apply(self, action_list: Any, *, checked: bool = False) -> None:
        """Set the sending rate of flow 0 (``rmcat::srate``), or give it back to NADA.

        Raises:
            InvalidAction: Malformed policy, another knob than ``rmcat::srate``, a flow id
                other than 0, or a rate that is not a finite number in [0, MAX_RATE_BPS].
        """
        self.check_form(action_list, checked)
        records = action_list if isinstance(action_list, list) else [action_list]
        if len(records) != 1:
            raise InvalidAction(
                f"action_list: rmcat takes one rmcat::srate record for flow 0, got {len(records)}"
            )
        record = records[0]
        knob = f"{record['source']}::{record['name']}"
        if knob != "rmcat::srate":
            raise InvalidAction(
                f"action_list: unknown knob {knob!r:.80}; rmcat accepts 'rmcat::srate'"
            )
        ids, values = record["id"], record["value"]
        if values == []:
            self._action_rate_bps = None
            return
        if not isinstance(ids, list):
            ids, values = [ids], [values]
        if ids != [0]:
            raise InvalidAction(f"action_list.id: rmcat has one flow, id [0], got {ids!r:.80}")
        rate = values[0]
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise InvalidAction(f"action_list.value[0]: must be a rate in bit/s, got {rate!r:.80}")
        if not (math.isfinite(rate) and 0 <= rate <= MAX_RATE_BPS):
            raise InvalidAction(
                f"action_list.value[0]: rate must be finite and in [0, {MAX_RATE_BPS:g}] bit/s, "
                f"got {rate!r}"
            )
        self._action_rate_bps = float(rate)

    def measure(self, now_ms: int) -> list[Record]:
        """Run the model up to ``now_ms``, close NADA's interval and return the records."""
        self._advance_to(float(now_ms))
        stats = self._require_model().end_interval()
        return [self._record(name, stats, now_ms) for name in self.subscriptions]

    @staticmethod
    def _record(name: str, stats: IntervalStats, now_ms: int) -> Record:
        value = getattr(stats, METRICS[name])
        value = int(value) if isinstance(value, int) else float(value)
        return {"source": "rmcat", "name": name, "ts": now_ms, "id": [0], "value": [value]}
