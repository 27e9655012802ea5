"""The multi-access network: users, cells, radio, sharing, GMA split, TCP and queues, in sub-steps.

Rules:
- Time advances in sub-steps (:func:`netgym_sim.model.clock.tick_offsets`), laid out so
  that a step ``guard + interval`` ends exactly on its boundary. The guard comes first in
  every step (the new action settles) and is not measured.
- One sub-step: UDP arrivals are drawn and every TCP flow sends one window per
  round trip (:mod:`netgym_sim.model.tcp`); the GMA split (after its lag) spreads each
  user's traffic over its usable links; every cell shares its time max-min fairly among its
  users' demands (queued + new bits: LTE/NR in time, Wi-Fi in throughput); each user's
  link queue is served, overflow beyond the link's buffer (:data:`BUFFER_PACKETS`) is lost
  and is a TCP loss; delays and their distribution are accumulated (see
  :mod:`netgym_sim.model.gma`); each TCP flow's round trip is its in-order one-way delay plus
  its ACK's on the reverse link. With numba installed and LTE not scheduled by slice, the
  sub-steps up to the next radio update run in one compiled call
  (:mod:`netgym_sim.model.substeps`); otherwise one at a time, in numpy.
- Users walk, and association and capacities are recomputed, every :data:`RADIO_PERIOD_MS`
  of simulated time and at the end of every interval, so what is reported matches the
  reported position (users move a few cm a sub-step).
- Traffic whose every link is down is lost. A link is usable when the user has a cell on it
  with a capacity above 0 in the traffic direction.
- LTE is one max-min fair pool per cell, or, once :meth:`MultiAccessNetwork.set_slicing`
  gave it an allocation, scheduled by slice (:mod:`netgym_sim.model.slicing`).
- The built-in split (``value: []``) is GMA's delay-based rule (:func:`gma.delay_based_step`),
  or, for steering environments and users in "steer" mode, the link with the highest capacity.
- Random streams: walk, traffic, shadowing, TCP start times, GMA's decision phases, Wi-Fi
  contention and the reports' Wi-Fi rate probes and ACK bursts (:mod:`netgym_sim.model.report`)
  each have their own, spawned from the seed, so actions never change them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netgym_sim.model import _kernel, gma, radio, substeps
from netgym_sim.model.clock import tick_offsets
from netgym_sim.model.mobility import RandomWalk, WalkParams
from netgym_sim.model.radio import RadioProfile, capacity_mbps, snr_db
from netgym_sim.model.report import ReportNoise
from netgym_sim.model.scheduling import max_min_time_share
from netgym_sim.model.slicing import SliceAllocation, sliced_time_share
from netgym_sim.model.stats import Accumulator, IntervalStats
from netgym_sim.model.tcp import (
    ACK_BYTES,
    BURST_LOSS_SEGMENTS,
    MAX_CWND_BITS,
    MIN_RTO_MS,
    TcpSenders,
)
from netgym_sim.model.topology import (
    LTE,
    NO_CELL,
    NUM_LINKS,
    WIFI,
    Area,
    Cells,
    FloatArray,
    IntArray,
    apart,
)
from netgym_sim.model.traffic import Traffic, TrafficSpec

__all__ = [
    "BUFFER_PACKETS",
    "RADIO_PERIOD_MS",
    "MultiAccessNetwork",
    "NetworkParams",
    "UserParams",
    "tick_offsets",
]

#: Wi-Fi buffer, packets: ns-3's ``WifiMacQueue`` default MaxSize "500p", one queue per AP
#: shared by the users it serves (:func:`netgym_sim.model.gma.shared_wifi_buffer_bits`).
BUFFER_PACKETS = 500
#: LTE's (and NR's) RLC transmit buffer, packets: in fixtures/ns3 a BBR flow's LTE queue grows
#: for the whole session without a loss, to 1.4 s at 4.1 Mbit/s (over 500 packets).
CELLULAR_BUFFER_PACKETS = 1000
#: Simulated time between two radio updates (association, capacities), ms.
RADIO_PERIOD_MS = 100.0


@dataclass(frozen=True)
class NetworkParams:
    """Everything about the network that is not per user.

    Attributes:
        area: User area.
        walk: Random walk parameters.
        cells: Cells per link index (Wi-Fi, NR, LTE); a technology may have none.
        profiles: Radio profile per link index.
        backhaul_delay_ms: Backhaul delay per link index.
        downlink: Traffic flows downlink (else uplink).
        wifi_handover: Re-associate Wi-Fi to the strongest AP (else keep the first AP).
        wifi_shared_band: All APs contend for one airtime pool.
        builtin_steer: The built-in policy steers each user to its best link (qos_steer);
            otherwise it splits in proportion to link capacities.
        shadowing_std_db: Log-normal shadowing standard deviation (0 = off).
        lag_tau_ms: Split lag time constant.
        buffer_packets: Per-user buffer of each link (Wi-Fi, NR, LTE), packets.
        start_ms: Simulated time the network starts at.
        interval_ms: Measured part of a step.
        guard_ms: Unmeasured part at the start of a step.
    """

    area: Area
    walk: WalkParams
    cells: tuple[Cells, Cells, Cells]
    profiles: tuple[RadioProfile, RadioProfile, RadioProfile]
    backhaul_delay_ms: tuple[float, float, float]
    downlink: bool = True
    wifi_handover: bool = True
    wifi_shared_band: bool = False
    builtin_steer: bool = False
    shadowing_std_db: float = 0.0
    lag_tau_ms: float = gma.SPLIT_LAG_MS
    buffer_packets: tuple[float, float, float] = (
        BUFFER_PACKETS,
        CELLULAR_BUFFER_PACKETS,
        CELLULAR_BUFFER_PACKETS,
    )
    start_ms: float = 0.0
    interval_ms: float = 100.0
    guard_ms: float = 0.0


@dataclass(frozen=True)
class UserParams:
    """Per-user settings (arrays of length ``n``).

    Attributes:
        xy_m: ``(n, 2)`` start positions.
        traffic: Traffic settings.
        steer: The user's mode in the traffic direction is "steer" (one link at a time).
        qos_delay_ms: Delay requirement of the QoS test.
        test1_ms: Diagnostic delay threshold 1.
        test2_ms: Diagnostic delay threshold 2.
        loss_target: Largest loss ratio that passes the QoS test.
        violation_target: Largest share (ratio, not %) of late packets that passes it.
        slice_id: ``(n,)`` LTE slice of each user (see :meth:`MultiAccessNetwork.set_slicing`).
    """

    xy_m: FloatArray
    traffic: TrafficSpec
    steer: npt.NDArray[np.bool_]
    qos_delay_ms: FloatArray
    test1_ms: FloatArray
    test2_ms: FloatArray
    loss_target: FloatArray
    violation_target: FloatArray
    slice_id: IntArray | None = None


class MultiAccessNetwork:
    """The simulated multi-access network of ``n`` users.

    Args:
        params: Network settings.
        users: Per-user settings.
        seed: Seed of the walk, traffic and shadowing streams.
    """

    def __init__(self, params: NetworkParams, users: UserParams, seed: int) -> None:
        self.params = params
        self.users = users
        self.n = n = users.xy_m.shape[0]
        walk_ss, traffic_ss, shadow_ss, tcp_ss, tsc_ss, fade_ss, probe_ss = np.random.SeedSequence(
            seed
        ).spawn(7)
        self.walk = RandomWalk(users.xy_m, params.area, params.walk, np.random.default_rng(walk_ss))
        self.traffic = Traffic(users.traffic, np.random.default_rng(traffic_ss))
        self.tcp = TcpSenders(
            users.traffic.tcp,
            self.traffic.packet_bits,
            params.start_ms,
            np.random.default_rng(tcp_ss),
            bbr=users.traffic.bbr,
        )
        shadow_rng = np.random.default_rng(shadow_ss)
        self._shadow: list[FloatArray | None] = [
            shadow_rng.normal(0.0, params.shadowing_std_db, (n, c.count))
            if params.shadowing_std_db > 0.0
            else None
            for c in params.cells
        ]
        self._dir = 0 if params.downlink else 1
        self._mac = np.array([p.mac_efficiency for p in params.profiles])
        self._fixed_ms = np.array(
            [
                b + p.access_delay_ms
                for b, p in zip(params.backhaul_delay_ms, params.profiles, strict=True)
            ]
        )
        # Extra one-way delay of a packet in each direction: uplink channel access.
        self._access_extra_ms = np.array(
            [[0.0] * NUM_LINKS, [p.ul_access_delay_ms for p in params.profiles]]
        )
        self._full_buffer_bits = (
            np.asarray(params.buffer_packets)[None, :] * (self.traffic.packet_bits[:, None])
        )
        self._thresholds = np.column_stack((users.qos_delay_ms, users.test1_ms, users.test2_ms))
        self._wifi_home = np.full(n, -1, dtype=np.int64)
        self.cell_idx: IntArray = np.full((n, NUM_LINKS), -1, dtype=np.int64)
        self._wifi_snr_db: FloatArray = np.full(n, -np.inf)
        self.max_rate_mbps: FloatArray = np.zeros((2, n, NUM_LINKS))
        self.queue_bits: FloatArray = np.zeros((n, NUM_LINKS))
        self.target: FloatArray = np.zeros((2, n, NUM_LINKS))
        self.builtin = np.ones((2, n), dtype=bool)
        self.slicing: SliceAllocation | None = None
        self._slice_id = np.zeros(n, dtype=np.int64) if users.slice_id is None else users.slice_id
        self.last_group: IntArray = np.full((n, NUM_LINKS), -1, dtype=np.int64)
        self._owners: IntArray | None = None  # stacked (model.batch): each user's network
        self._contention: FloatArray = np.ones(n)  # Wi-Fi's, until the first radio period
        self._update_radio()
        # Built-in split state: packets per link of each user's 32-packet burst.
        self._bursts = np.stack(
            [
                gma.BURST_PACKETS * gma.burst_fractions(gma.start_weights(self._usable[d]))
                for d in (0, 1)
            ]
        )
        # Each user's unbroken run of built-in moves and the link it moves traffic off
        # (gma.TSC_SPEEDUP_AFTER): none yet.
        self._tsc_run: IntArray = np.zeros((2, n), dtype=np.int64)
        self._tsc_from: IntArray = np.full((2, n), -1, dtype=np.int64)
        for d in (0, 1):
            self._refresh_builtin(d)
        self.applied: FloatArray = self.target.copy()
        self.acc = Accumulator(n)
        # Time since each user's built-in split last decided: users decide at their own
        # phase of the period (a seeded offset each), as GMA's per-flow control does.
        self._fade = np.random.default_rng(fade_ss).standard_normal((n, radio.FADE_PERIODS))
        self._radio_count = 0
        self.report = ReportNoise(n, probe_ss, params.profiles[WIFI])
        tsc_rng = np.random.default_rng(tsc_ss)
        self._tsc_ms = np.asarray(tsc_rng.uniform(0.0, gma.TSC_PERIOD_MS, n), dtype=np.float64)
        # Delays seen in the interval so far, per user and link (traffic direction).
        self._tsc_bits = np.zeros((n, NUM_LINKS))
        self._tsc_delay_bits_ms = np.zeros((n, NUM_LINKS))
        # Round trip of each TCP flow, from its last sub-step (starts at the base delays).
        self.rtt_ms: FloatArray = self._base_rtt_ms()
        # The last sub-step's sharing, for inspection (laws L4-L6).
        self.last_share: FloatArray = np.zeros((n, NUM_LINKS))
        self.last_capacity_bits: FloatArray = np.zeros((n, NUM_LINKS))
        self.last_served_bits: FloatArray = np.zeros((n, NUM_LINKS))
        self.last_offered_bits: FloatArray = np.zeros((n, NUM_LINKS))
        self._offsets = tick_offsets(params.guard_ms, params.interval_ms)
        self._step_ms = params.guard_ms + params.interval_ms
        self._step_start_ms = params.start_ms
        self._k = 0
        self._since_radio_ms = 0.0
        self.now_ms = params.start_ms
        #: Run the sub-steps in the compiled kernel (numba installed; LTE not sliced).
        self.use_kernel = _kernel.COMPILED
        self._tcp_params = np.array([BURST_LOSS_SEGMENTS, MIN_RTO_MS, MAX_CWND_BITS], float)

    # -- time ----------------------------------------------------------------------------
    @property
    def next_tick_ms(self) -> float:
        """End time of the next sub-step."""
        return self._step_start_ms + self._offsets[self._k][0]

    def advance_to(self, t_ms: float) -> None:
        """Run every sub-step that ends at or before ``t_ms``."""
        steps = substeps.SubSteps() if self.use_kernel and self.slicing is None else None
        while self.next_tick_ms <= t_ms + 1e-9:
            end_ms = self.next_tick_ms
            if steps is None:
                self._tick(end_ms - self.now_ms, self._offsets[self._k][1])
            elif end_ms > self.now_ms:  # (the sub-steps run together up to a radio update)
                self._since_radio_ms += end_ms - self.now_ms
                if self._since_radio_ms >= RADIO_PERIOD_MS - 1e-9:
                    self._run(steps)
                    self._move_and_update_radio()
                steps.add(end_ms - self.now_ms, self.now_ms, self._offsets[self._k][1])
            self.now_ms = end_ms
            self._k += 1
            if self._k == len(self._offsets):
                self._k = 0
                self._step_start_ms += self._step_ms
        if steps is not None:
            self._run(steps)

    def _run(self, steps: substeps.SubSteps) -> None:
        """The collected sub-steps in one compiled run (:mod:`netgym_sim.model.substeps`)."""
        if not steps:  # (advance_to had no sub-step to run)
            return
        arrived = substeps.arrivals(self.traffic.rate_mbps, np.asarray(steps.dts))
        self.traffic.draw_poisson(arrived)
        groups = (self._flat_group, self._busy_group, self._group_count)
        tcp, acc, tau, params = self.tcp, self.acc, self.params.lag_tau_ms, self._tcp_params
        substeps.run(
            steps,
            arrived,
            vars(self),
            groups,
            tcp=tcp,
            acc=acc,
            tcp_params=params,
            lag_tau_ms=tau,
            d=self._dir,
        )

    # -- policy --------------------------------------------------------------------------
    def set_split(self, direction: int, users: IntArray, weights: FloatArray) -> None:
        """Give ``users`` (indices) new split weight rows ``(k, 3)`` in ``direction``."""
        self.set_fractions(direction, users, gma.burst_fractions(weights))

    def set_fractions(self, direction: int, users: IntArray, fractions: FloatArray) -> None:
        """:meth:`set_split` of rows whose burst shares are ``fractions`` (changed in place)."""
        if direction == self._dir and (steer := self.users.steer[users]).any():
            fractions[steer] = gma.steer_fractions(fractions[steer])
        self.target[direction, users] = fractions
        self.builtin[direction, users] = False

    def set_slicing(self, allocation: SliceAllocation | None) -> None:
        """Schedule LTE by the slices' RBG allocation (``None``: one cell-wide pool)."""
        if allocation is not None:
            cells = self.params.cells[LTE].count
            if allocation.dedicated.shape[0] != cells:
                raise ValueError(
                    f"the allocation covers {allocation.dedicated.shape[0]} LTE cells, "
                    f"the network has {cells}"
                )
            if self._slice_id.size and self._slice_id.max() >= allocation.dedicated.shape[1]:
                raise ValueError("a user's slice has no column in the allocation")
        self.slicing = allocation
        self._groups = self._make_groups()

    def use_builtin(self, direction: int) -> None:
        """Hand every user's split in ``direction`` back to the built-in policy.

        The delay-based rule goes on from the split the user has now.
        """
        taken = ~self.builtin[direction]
        if np.any(taken):
            self._bursts[direction, taken] = np.round(
                self.target[direction, taken] * gma.BURST_PACKETS
            )
            self._tsc_run[direction, taken] = 0
            self._tsc_from[direction, taken] = -1
        self.builtin[direction] = True
        self._refresh_builtin(direction)

    def _steered(self, direction: int) -> npt.NDArray[np.bool_]:
        steer = np.full(self.n, self.params.builtin_steer)
        if direction == self._dir:
            steer |= self.users.steer
        return steer

    def _refresh_builtin(self, direction: int) -> None:
        """Targets of the users on the built-in policy in ``direction``."""
        mask = self.builtin[direction]
        if not np.any(mask):
            return
        fractions = self._bursts[direction] / gma.BURST_PACKETS
        steer = self._steered(direction) & mask
        if np.any(steer):
            weights = self.max_rate_mbps[direction] * self._mac * self._usable[direction]
            # A user with no usable link keeps LTE, the always-present link, as its target.
            weights[weights.sum(axis=1) <= 0.0, LTE] = 1.0
            fractions[steer] = gma.steer_fractions(weights[steer])
        self.target[direction, mask] = fractions[mask]

    def _decide_builtin(self, deciding: npt.NDArray[np.bool_]) -> None:
        """One decision of the delay-based built-in split of the ``deciding`` users."""
        for direction in (0, 1):
            base = self._fixed_ms + self._access_extra_ms[direction] + self._tx_ms[direction]
            owd = base
            if direction == self._dir:
                seen = self._tsc_bits > 0.0
                owd = np.where(
                    seen, self._tsc_delay_bits_ms / np.where(seen, self._tsc_bits, 1.0), base
                )
            usable = self._usable[direction].copy()
            usable[:, WIFI] &= self._wifi_snr_db >= gma.WIFI_DOWN_SNR_DB
            stepped, run, run_from = gma.delay_based_step(
                self._bursts[direction],
                owd,
                usable,
                self._tsc_run[direction],
                self._tsc_from[direction],
            )
            keep = ~self.builtin[direction] | self._steered(direction) | ~deciding
            self._bursts[direction] = np.where(keep[:, None], self._bursts[direction], stepped)
            self._tsc_run[direction] = np.where(keep, self._tsc_run[direction], run)
            self._tsc_from[direction] = np.where(keep, self._tsc_from[direction], run_from)
        self._tsc_ms[deciding] = 0.0

    # -- radio ---------------------------------------------------------------------------
    def _move_and_update_radio(self) -> None:
        """Walk every user for the time since the last update, then refresh the radio."""
        self.walk.step(self._since_radio_ms)
        self._since_radio_ms = 0.0
        self._update_radio()
        self._contend()

    def _contend(self) -> None:
        """Wi-Fi contention's noise on each user's rate until the next radio update."""
        aps = apart(self.cell_idx[:, WIFI], self._owners, self.params.cells[WIFI].count)
        self._contention = radio.contention_factor(aps, self._draw())
        self._rate_bits_ms[:, :, WIFI] *= self._contention

    def _draw(self) -> FloatArray:
        """This radio period's contention draws (one per user), the period counted."""
        draw: FloatArray = self._fade[:, self._radio_count % radio.FADE_PERIODS]
        self._radio_count += 1
        return draw

    def _update_radio(self) -> None:
        xy, rows = self.walk.xy_m, np.arange(self.n)
        for link, (cells, profile) in enumerate(
            zip(self.params.cells, self.params.profiles, strict=True)
        ):
            if cells.count == 0:
                self.cell_idx[:, link] = -1
                self.max_rate_mbps[:, :, link] = 0.0
                continue
            dist = cells.distances_m(xy, self.params.area.z_m)
            snr_dl = snr_db(profile, dist, self._shadow[link])
            if link == WIFI and not self.params.wifi_handover:
                unset = self._wifi_home < 0
                if np.any(unset):
                    best = np.argmax(snr_dl[unset], axis=1)
                    ok = snr_dl[unset][np.arange(best.size), best] >= profile.min_snr_db
                    self._wifi_home[unset] = np.where(ok, best, -1)
                idx = self._wifi_home
            else:
                idx = np.argmax(snr_dl, axis=1)
            safe = np.maximum(idx, 0)
            chosen_dl = np.where(idx >= 0, snr_dl[rows, safe], -np.inf)
            connected = chosen_dl >= profile.min_snr_db
            shadow = self._shadow[link]
            chosen_ul = snr_db(
                profile,
                dist[rows, safe],
                None if shadow is None else shadow[rows, safe],
                uplink=True,
            )
            self.cell_idx[:, link] = np.where(connected, idx, -1)
            if link == WIFI:
                self._wifi_snr_db = chosen_dl
            self.max_rate_mbps[0, :, link] = np.where(
                connected, capacity_mbps(profile, chosen_dl), 0
            )
            self.max_rate_mbps[1, :, link] = np.where(
                connected, capacity_mbps(profile, chosen_ul), 0
            )
        # What the sub-steps need until the next radio update.
        self._usable = (self.cell_idx >= 0)[None, :, :] & (self.max_rate_mbps > 0.0)
        self._rate_bits_ms = self.max_rate_mbps * self._mac * 1000.0
        safe_rate = np.where(self._rate_bits_ms > 0.0, self._rate_bits_ms, 1.0)
        self._tx_ms = self.traffic.packet_bits[None, :, None] / safe_rate
        # Base one-way delay of a data packet in the traffic direction, per user and link.
        d = self._dir
        self._fixed_tx_ms = self._fixed_ms[None, :] + self._access_extra_ms[d][None, :]
        self._fixed_tx_ms = self._fixed_tx_ms + self._tx_ms[d]
        # TCP ACKs of the traffic direction travel on the reverse direction's preferred link.
        r = 1 - self._dir
        self._ack_base_ms = self._fixed_ms[None, :] + self._access_extra_ms[r][None, :]
        self._ack_base_ms = self._ack_base_ms + ACK_BYTES * 8.0 / safe_rate[r]
        self._groups = self._make_groups()

    def _base_rtt_ms(self) -> FloatArray:
        d = self._dir
        carrying = self.applied[d] * self._usable[d] > 0.0
        data = np.max(np.where(carrying, self._fixed_tx_ms, 0.0), axis=1)
        _, ack_ms = self._ack_path()
        rtt: FloatArray = data + ack_ms
        return rtt

    def _ack_path(self) -> tuple[IntArray, FloatArray]:
        """Link (−1: none) and one-way delay of each user's ACKs on the reverse direction."""
        r = 1 - self._dir
        usable = self._usable[r]
        weights = np.where(usable, self.applied[r] + 1e-9, 0.0)
        link = np.argmax(weights, axis=1)
        ok = usable.any(axis=1)
        delay = self._ack_base_ms[np.arange(self.n), link]
        return np.where(ok, link, -1), np.where(ok, delay, 0.0)

    def _make_groups(self) -> list[tuple[IntArray, int]]:
        """Each link's sharing groups (cells; one band for shared-band Wi-Fi).

        Also numbers every link's groups apart (``_flat_group``), so that one max-min pass
        shares every cell of every link at once, and ``_busy_group`` likewise for the busy
        shares of the delay model (LTE included even when it is scheduled by slice).
        """
        usable = self._usable[self._dir]
        out = []
        flat = np.full((self.n, NUM_LINKS), -1, dtype=np.int64)
        offset = 0
        for link, cells in enumerate(self.params.cells):
            group = np.where(usable[:, link], self.cell_idx[:, link], -1)
            count = cells.count
            if link == WIFI and self.params.wifi_shared_band:
                group = np.where(usable[:, link], 0, -1)
                count = min(count, 1)
            out.append((group, count))
            flat[:, link] = np.where(group >= 0, group + offset, -1)
            offset += count
        self._busy_group = flat
        self._group_count = offset
        wifi = apart(out[WIFI][0], self._owners, out[WIFI][1])
        self._buffer_bits = gma.shared_wifi_buffer_bits(self._full_buffer_bits, wifi, WIFI)
        # The sharing groups the sub-steps use until the next radio update (laws L4-L6).
        self.last_group = np.column_stack([group for group, _ in out])
        self._flat_group = flat.copy()
        if self.slicing is not None:
            self._flat_group[:, LTE] = -1
        return out

    def _share(
        self, demand: FloatArray, groups: list[tuple[IntArray, int]], capacity: FloatArray
    ) -> FloatArray:
        """Time shares per cell: LTE/NR time-fair, Wi-Fi throughput-fair (weight: time per bit)."""
        flat, count, cap = self._flat_group, self._group_count, capacity[:, WIFI]
        share = max_min_time_share(demand.ravel(), flat.ravel(), count).reshape(demand.shape)
        weight = self._contention / np.where(cap > 0.0, cap, 1.0)  # (see radio.contention_factor)
        share[:, WIFI] = max_min_time_share(demand[:, WIFI], flat[:, WIFI], count, weight)
        if self.slicing is not None:
            group, _ = groups[LTE]
            share[:, LTE] = sliced_time_share(demand[:, LTE], group, self._slice_id, self.slicing)
        return share

    # -- one sub-step --------------------------------------------------------------------
    def _tick(self, dt_ms: float, measured: bool) -> None:
        if dt_ms <= 0.0:
            return
        # Users walk (and radio follows) every RADIO_PERIOD_MS: a few cm per sub-step.
        self._since_radio_ms += dt_ms
        if self._since_radio_ms >= RADIO_PERIOD_MS - 1e-9:
            self._move_and_update_radio()
        arrivals = self.traffic.arrivals_bits(dt_ms)
        self.applied += (self.target - self.applied) * gma.lag_factor(dt_ms, self.params.lag_tau_ms)
        if self.tcp.bbr_any:
            paths = (self.queue_bits, self._rate_bits_ms[self._dir], self._usable[self._dir])
            self.tcp.bbr_windows(self.rtt_ms, *paths, compiled=self.use_kernel)
        self._tick_python(dt_ms, measured, arrivals)
        if self.tcp.bbr_any:
            served = (self.last_served_bits, self.last_offered_bits, self.rtt_ms)
            end_ms = self.now_ms + dt_ms
            self.tcp.bbr_delivery(end_ms, dt_ms, *served, compiled=self.use_kernel)

    def _tick_python(self, dt_ms: float, measured: bool, arrivals: FloatArray) -> None:
        """The rest of a sub-step in numpy (LTE sliced, or numba not installed)."""
        d = self._dir
        if self.tcp.any:
            arrivals = arrivals + self.tcp.send_bits(self.rtt_ms, self.now_ms, dt_ms)
        usable = self._usable[d]
        weights = self.applied[d] * usable
        total = weights.sum(axis=1)
        routed = total > 0.0
        spread = weights / np.where(routed, total, 1.0)[:, None]
        lost = np.where(routed, 0.0, arrivals)
        offered = arrivals[:, None] * spread
        rate_bits_ms = self._rate_bits_ms[d]
        capacity = rate_bits_ms * dt_ms
        safe_cap = np.where(capacity > 0.0, capacity, 1.0)
        queue0 = self.queue_bits
        backlog = queue0 + offered
        demand = np.where(capacity > 0.0, backlog / safe_cap, 0.0)
        groups = self._groups
        share = self._share(demand, groups, capacity)
        served = np.minimum(backlog, share * capacity)
        queue1 = backlog - served
        overflow = np.maximum(queue1 - self._buffer_bits, 0.0)
        queue1 -= overflow
        self.queue_bits = queue1
        self.last_share, self.last_capacity_bits = share, capacity
        self.last_served_bits, self.last_offered_bits = served, offered
        has = served > 0.0
        served_rate = np.where(has, served / dt_ms, 1.0)
        fixed = self._fixed_tx_ms
        if self.tcp.any:
            # In-order one-way delay of the newest data, plus the ACK's way back.
            drain = np.where(has, served_rate, np.maximum(rate_bits_ms, 1e-9))
            link_delay = fixed + queue1 / drain
            one_way = np.max(np.where(spread > 0.0, link_delay, 0.0), axis=1)
            _, ack_ms = self._ack_path()
            rtt = np.where(routed, one_way + ack_ms, self.rtt_ms)
            dropped = overflow.sum(axis=1) + lost
            self.tcp.on_sub_step(self.now_ms + dt_ms, served.sum(axis=1), dropped, rtt)
            self.rtt_ms = rtt
        if not measured:
            return
        # Delays of the packets delivered in this sub-step (netgym_sim.model.gma).
        cell = self._busy_group
        member = cell >= 0
        safe_cell = np.where(member, cell, 0)
        per_cell = np.bincount(
            safe_cell.ravel(), weights=(share * member).ravel(), minlength=max(self._group_count, 1)
        )
        busy = np.where(member, per_cell[safe_cell], 0.0)
        wait_lo, wait_hi = gma.queue_waits_ms(queue0, queue1, served, dt_ms, cell, WIFI)
        lo, hi = fixed + wait_lo, fixed + wait_hi
        hi += 2.0 * gma.md1_wait_ms(busy, self._tx_ms[d])
        mean = 0.5 * (lo + hi)
        slowest = np.max(np.where(has, mean, -np.inf), axis=1)
        shift = np.where(has, gma.REORDERING_FACTOR * (slowest[:, None] - mean), 0.0)
        acc = self.acc
        acc.ms += dt_ms
        acc.offered_bits += arrivals
        acc.link_offered_bits += offered
        acc.served_bits += served
        acc.lost_bits += lost + overflow.sum(axis=1)
        acc.link_delay_bits_ms += served * mean
        acc.link_max_ms = np.maximum(acc.link_max_ms, np.where(has, hi, -np.inf))
        acc.delay_bits_ms += (served * (mean + shift)).sum(axis=1)
        acc.max_ms = np.maximum(acc.max_ms, np.max(np.where(has, hi + shift, -np.inf), axis=1))
        # Every threshold at once: (users, links, thresholds).
        late = gma.violation_fraction(
            (lo + shift)[:, :, None], (hi + shift)[:, :, None], self._thresholds[:, None, :]
        )
        acc.violation_bits += (served[:, :, None] * late).sum(axis=1)
        acc.time_share_ms += share * dt_ms
        if self.tcp.any:
            acc.ack_bits += self.tcp.ack_bits(served.sum(axis=1))
        self._tsc_bits += served
        self._tsc_delay_bits_ms += served * mean

    # -- measurement ---------------------------------------------------------------------
    def end_interval(self) -> IntervalStats:
        """Statistics of the interval since the last call, as reported; starts the next one."""
        return self.report.apply(self.interval_stats())

    def interval_stats(self) -> IntervalStats:
        """:meth:`end_interval`'s statistics before :class:`ReportNoise` (starts the next)."""
        if self._since_radio_ms > 0.0:
            self._move_and_update_radio()
        acc, d = self.acc, self._dir
        span_ms = acc.ms if acc.ms > 0.0 else 1.0
        # bits / ms / 1000 = Mbit/s.
        link_rate = acc.served_bits / span_ms / 1000.0
        tx_rate = acc.offered_bits / span_ms / 1000.0
        loss = np.clip(acc.lost_bits / np.where(acc.offered_bits > 0, acc.offered_bits, 1.0), 0, 1)
        link_owd, link_max = acc.link_owd()
        owd, max_owd, violation = acc.user_owd()
        packets = acc.served_bits.sum(axis=1) > 0.0
        u = self.users
        qos_ok = packets & (violation[:, 0] <= 100.0 * u.violation_target) & (loss <= u.loss_target)
        # Measured share of each link: of the bits sent over the interval; 0 without traffic.
        traffic_ratio = np.zeros((2, self.n, NUM_LINKS))
        sent = acc.link_offered_bits.sum(axis=1)
        traffic_ratio[d] = np.where(
            (sent > 0.0)[:, None],
            100.0 * acc.link_offered_bits / np.where(sent > 0.0, sent, 1.0)[:, None],
            0.0,
        )
        ack_link, ack_ms = self._ack_path()
        ack_rate = acc.ack_bits / span_ms / 1000.0
        acking = (ack_rate > 0.0) & (ack_link >= 0)
        traffic_ratio[1 - d, acking, ack_link[acking]] = 100.0
        self._decide_due()  # (the split reported is the one after the decision, as ns-3's)
        stats = IntervalStats(
            direction=d,
            measured_ms=acc.ms,
            xy_m=self.walk.xy_m.copy(),
            cell_id=np.where(self.cell_idx >= 0, self.cell_idx + 1, NO_CELL),
            max_rate_mbps=self.max_rate_mbps.copy(),
            tx_rate_mbps=tx_rate,
            rate_mbps=link_rate.sum(axis=1),
            link_rate_mbps=link_rate,
            loss_ratio=loss,
            owd_ms=owd,
            max_owd_ms=max_owd,
            link_owd_ms=link_owd,
            link_max_owd_ms=link_max,
            violation_pct=violation,
            qos_ok=qos_ok,
            split_ratio_pct=100.0 * self.target.copy(),
            traffic_ratio_pct=traffic_ratio,
            time_share=acc.time_share_ms / span_ms,
            packets=packets,
            ack_rate_mbps=np.where(acking, ack_rate, 0.0),
            ack_link=np.where(acking, ack_link, -1),
            ack_owd_ms=np.where(acking, ack_ms, -1.0),
        )
        acc.reset()
        return stats

    def _decide_due(self) -> None:
        """The built-in split's decision of each user whose period is over, on the delays of
        the interval that ends it; then the next interval's delays are gathered afresh."""
        self._tsc_ms += self._step_ms
        deciding: npt.NDArray[np.bool_] = self._tsc_ms >= gma.TSC_PERIOD_MS - 1e-9
        if np.any(deciding):
            self._decide_builtin(deciding)
        for direction in (0, 1):
            self._refresh_builtin(direction)
        self._tsc_bits[:] = 0.0
        self._tsc_delay_bits_ms[:] = 0.0
