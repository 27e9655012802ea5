"""Many multi-access networks advanced in lock step: one compiled call per run of sub-steps.

:func:`advance_together` does what :meth:`MultiAccessNetwork.advance_to` does for each
network, with the same bits, but the networks that stand at the same point of the same
timeline share their sub-steps: their users are stacked one network after another into
one set of arrays, each network's sharing groups (cells) numbered apart from the others',
so one compiled run of the sub-steps up to the next radio update
(:func:`netgym_sim.model.substeps.run`: the split lag, BBR and the kernel,
:func:`netgym_sim.model._kernel.tick_core`, sub-step after sub-step) serves them all.

Rules:
- A group shares sub-steps when its networks have the same timeline (sub-step offsets,
  step, phase, clock, time since the radio update), the same traffic direction and split
  lag, the same kinds of flows (any TCP, any BBR), an equal interval so far, and run their
  sub-steps in the kernel (numba installed, LTE not scheduled by slice). A network alone in
  its group, or one that does not qualify, runs :meth:`~MultiAccessNetwork.advance_to` itself.
- What stays per network: the random draws (each network's Poisson arrivals, and its
  users' new walking speeds and headings, from its own streams, in its own order) and the
  numbering of its cells into sharing groups. The radio update every ``RADIO_PERIOD_MS``
  (walk, association, capacities) runs :meth:`MultiAccessNetwork._update_radio` itself once
  over the stacked users of the networks of one layout (:func:`radio_update_together`);
  after it the group reloads the arrays the radio derives.
- Why the bits are the same: every stacked operation is element-wise or row by row (a
  user's links and cells), and the kernel loops user by user and group by group in the same
  order; nothing is summed across networks. Arithmetic is IEEE's whatever the array's
  length; numpy's vectorised transcendental functions (the radio's ``log10``, the walk's
  ``cos``/``sin``/``arctan2``) give the same bits on a contiguous array whatever its length
  on the machines measured (AVX-512 and scalar loops), which the lock-step property tests
  check wherever they run.
- The state a sub-step changes is gathered from the networks before the first sub-step and
  handed back after the last: each network's arrays become its slices of the stacked ones.
- :func:`end_intervals_together` likewise ends the intervals of networks of one layout in
  one call of :meth:`MultiAccessNetwork.interval_stats` over their stacked users (its
  statistics, the built-in split's decisions) and one pass of their reports' noise
  (:func:`netgym_sim.model.report.apply_stacked`), each network taking back its slices.
"""

from __future__ import annotations

import dataclasses
import logging
import weakref
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from netgym_sim.model import radio, report, substeps
from netgym_sim.model.mobility import RandomWalk
from netgym_sim.model.network import RADIO_PERIOD_MS, MultiAccessNetwork
from netgym_sim.model.stats import Accumulator, IntervalStats
from netgym_sim.model.tcp import TcpSenders
from netgym_sim.model.topology import WIFI, apart

__all__ = [
    "advance_together",
    "end_intervals_together",
    "radio_update_together",
    "shares_sub_steps",
]

logger = logging.getLogger(__name__)

#: Network arrays with a leading direction axis (stacked along the user axis, 1).
_DIRECTED = frozenset({"applied", "target", "_usable", "_rate_bits_ms", "_tx_ms"})
#: The network's arrays a sub-step changes (handed back after the last sub-step).
_CHANGED = (
    "applied",
    "queue_bits",
    "rtt_ms",
    "last_share",
    "last_capacity_bits",
    "last_served_bits",
    "last_offered_bits",
    "_tsc_bits",
    "_tsc_delay_bits_ms",
)
#: Arrays a sub-step reads and that only actions or the end of an interval change.
_READ = ("target", "_buffer_bits", "_thresholds")
#: Arrays the radio update derives (reloaded after every radio update).
_RADIO = ("_usable", "_rate_bits_ms", "_fixed_tx_ms", "_tx_ms", "_ack_base_ms", "_contention")
#: Of those and the radio's own, the ones with a leading direction axis.
_DIRECTED_RADIO = frozenset({"_usable", "_rate_bits_ms", "_tx_ms", "max_rate_mbps"})


def shares_sub_steps(net: MultiAccessNetwork) -> bool:
    """Whether ``net`` can run its sub-steps stacked with others (the kernel runs them)."""
    return bool(net.use_kernel) and net.slicing is None


def _group_key(net: MultiAccessNetwork) -> tuple[Any, ...]:
    return (
        net._dir,
        tuple(net._offsets),
        net._step_ms,
        net._step_start_ms,
        net._k,
        net.now_ms,
        net._since_radio_ms,
        net.params.lag_tau_ms,
        net.acc.ms,
        net.tcp.any,
        net.tcp.bbr_any,
    )


def advance_together(networks: Sequence[MultiAccessNetwork], t_ms: float) -> None:
    """Run every sub-step of every network that ends at or before ``t_ms``.

    The same as ``net.advance_to(t_ms)`` for each network in turn, byte for byte.
    """
    groups: dict[tuple[Any, ...], list[MultiAccessNetwork]] = {}
    for net in networks:
        if net.next_tick_ms > t_ms + 1e-9:
            continue
        if shares_sub_steps(net):
            groups.setdefault(_group_key(net), []).append(net)
        else:
            net.advance_to(t_ms)
    for members in groups.values():
        if len(members) == 1:
            members[0].advance_to(t_ms)
        else:
            _Stacked(members).advance_to(t_ms)


def _concat(arrays: list[np.ndarray], axis: int = 0) -> np.ndarray:
    return np.concatenate(arrays, axis=axis)


def _stack_object(objects: list[Any], n: int, total: int) -> Any:
    """One object of ``objects``' class holding their per-user arrays one after another.

    ``n`` is the first object's user count, ``total`` everyone's. Every array whose first
    axis is the first object's users is stacked; other attributes (flags, equal in a group)
    are the first object's.
    """
    first = objects[0]
    stacked = object.__new__(type(first))
    for name, value in vars(first).items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
            setattr(stacked, name, _concat([vars(o)[name] for o in objects]))
        else:
            setattr(stacked, name, value)
    if isinstance(stacked, Accumulator):
        stacked.n = total
    return stacked


def _per_user_names(obj: Any, n: int) -> list[str]:
    return [
        name
        for name, value in vars(obj).items()
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n
    ]


class _Stacked:
    """The sub-step state of a group of networks, stacked user after user."""

    def __init__(self, nets: list[MultiAccessNetwork]) -> None:
        self.nets = nets
        sizes = [net.n for net in nets]
        self.bounds = np.concatenate(([0], np.cumsum(sizes))).tolist()
        self.n = n = int(self.bounds[-1])
        lead = nets[0]
        self.dir = lead._dir
        self.arrays: dict[str, np.ndarray] = {}
        for name in (*_CHANGED, *_READ):
            self.arrays[name] = self._gather(name)
        self._load_radio()
        self.rate_mbps = _concat([net.traffic.rate_mbps for net in nets])
        self.poisson: list[tuple[np.random.Generator, np.ndarray, np.ndarray]] = []
        packet_bits = _concat([net.traffic.packet_bits for net in nets])
        for net, start in zip(nets, self.bounds, strict=False):
            idx = net.traffic._poisson_idx
            if idx.size:
                rows = idx + start
                self.poisson.append((net.traffic._rng, rows, packet_bits[rows]))
        self.tcp: TcpSenders = _stack_object([net.tcp for net in nets], lead.n, n)
        self.tcp_names = _per_user_names(lead.tcp, lead.n)
        self.acc: Accumulator = _stack_object([net.acc for net in nets], lead.n, n)
        self.acc_names = _per_user_names(lead.acc, lead.n)
        self.tcp_params = lead._tcp_params
        self.lag_tau_ms = lead.params.lag_tau_ms

    def _gather(self, name: str) -> np.ndarray:
        axis = 1 if name in _DIRECTED else 0
        return _concat([getattr(net, name) for net in self.nets], axis)

    def _load_radio(self) -> None:
        for name in (*_RADIO, "_buffer_bits"):  # the shared Wi-Fi buffer follows association
            self.arrays[name] = self._gather(name)
        flat, busy, offset = [], [], 0
        for net in self.nets:
            flat.append(np.where(net._flat_group >= 0, net._flat_group + offset, -1))
            busy.append(np.where(net._busy_group >= 0, net._busy_group + offset, -1))
            offset += net._group_count
        self.flat_group = _concat(flat)
        self.busy_group = _concat(busy)
        self.group_count = offset

    # -- time ------------------------------------------------------------------------------
    def advance_to(self, t_ms: float) -> None:
        lead = self.nets[0]
        offsets, step_ms = lead._offsets, lead._step_ms
        k, step_start, now, since = lead._k, lead._step_start_ms, lead.now_ms, lead._since_radio_ms
        steps = substeps.SubSteps()
        while step_start + offsets[k][0] <= t_ms + 1e-9:
            end_ms = step_start + offsets[k][0]
            dt_ms = end_ms - now
            if dt_ms > 0.0:
                since += dt_ms
                if since >= RADIO_PERIOD_MS - 1e-9:
                    self._run(steps)
                    for net in self.nets:
                        net._since_radio_ms = since
                    radio_update_together(self.nets)
                    since = 0.0
                    self._load_radio()
                steps.add(dt_ms, now, offsets[k][1])
            now = end_ms
            k += 1
            if k == len(offsets):
                k = 0
                step_start += step_ms
        self._run(steps)
        self._hand_back()
        for net in self.nets:
            net._k, net._step_start_ms, net.now_ms, net._since_radio_ms = k, step_start, now, since

    def _hand_back(self) -> None:
        """Every network's changed state: its slices of the stacked arrays."""
        a = self.arrays
        for i, net in enumerate(self.nets):
            lo, hi = self.bounds[i], self.bounds[i + 1]
            for name in _CHANGED:
                value = a[name][:, lo:hi] if name in _DIRECTED else a[name][lo:hi]
                setattr(net, name, value)
            tcp, acc = net.tcp, net.acc
            for name in self.tcp_names:
                setattr(tcp, name, getattr(self.tcp, name)[lo:hi])
            for name in self.acc_names:
                setattr(acc, name, getattr(self.acc, name)[lo:hi])
            acc.ms = self.acc.ms

    # -- the sub-steps ---------------------------------------------------------------------
    def _run(self, steps: substeps.SubSteps) -> None:
        """The collected sub-steps on the stacked arrays, in one compiled run, each
        network's Poisson arrivals drawn from its own stream."""
        if not steps:
            return
        arrived = substeps.arrivals(self.rate_mbps, np.asarray(steps.dts))
        for rng, rows, packet_bits in self.poisson:
            arrived[:, rows] = rng.poisson(arrived[:, rows] / packet_bits) * packet_bits
        groups = (self.flat_group, self.busy_group, self.group_count)
        substeps.run(
            steps,
            arrived,
            self.arrays,
            groups,
            tcp=self.tcp,
            acc=self.acc,
            tcp_params=self.tcp_params,
            lag_tau_ms=self.lag_tau_ms,
            d=self.dir,
        )


# -- the radio update ------------------------------------------------------------------------
#: The part of a network's layout key that never changes (its params, direction, walk and
#: shadowing), as a small number: computed once per network (the cell positions' bytes and
#: the params' hashes were a few % of a lock-step step), equal numbers for equal parts.
_STATIC_LAYOUTS: weakref.WeakKeyDictionary[MultiAccessNetwork, int] = weakref.WeakKeyDictionary()
_LAYOUT_NUMBERS: dict[tuple[Any, ...], int] = {}
#: Distinct layouts numbered before the numbering starts over (bounds the memory it holds).
_MAX_LAYOUTS = 1024


def _bound_layout_numbers() -> None:
    """Start the numbering over when it holds too many layouts; called before a pass, never
    within one (a pass compares numbers given under one numbering)."""
    if len(_LAYOUT_NUMBERS) >= _MAX_LAYOUTS:
        _LAYOUT_NUMBERS.clear()
        _STATIC_LAYOUTS.clear()


def _layout_key(net: MultiAccessNetwork) -> tuple[Any, ...]:
    number = _STATIC_LAYOUTS.get(net)
    if number is None:
        p = net.params
        static = (
            p.area,
            p.walk,
            p.profiles,
            tuple(c.positions_m.tobytes() for c in p.cells),
            p.wifi_handover,
            p.wifi_shared_band,
            p.backhaul_delay_ms,
            net._dir,
            net.walk.moving,
            tuple(shadow is None for shadow in net._shadow),
        )
        number = _STATIC_LAYOUTS[net] = _LAYOUT_NUMBERS.setdefault(static, len(_LAYOUT_NUMBERS))
    return (number, net._since_radio_ms)


class _StackedWalk(RandomWalk):
    """The walks of many networks stacked; new speeds and headings drawn by each its own."""

    def __init__(self, walks: list[RandomWalk], bounds: list[int]) -> None:
        # not RandomWalk.__init__: the state is the walks', stacked (no draws here)
        first = walks[0]
        self.area, self.params, self._walks, self._bounds = first.area, first.params, walks, bounds
        self.xy_m = _concat([w.xy_m for w in walks])
        self.speed_mps = _concat([w.speed_mps for w in walks])
        self.heading_rad = _concat([w.heading_rad for w in walks])
        self.remaining_m = _concat([w.remaining_m for w in walks])

    def _redraw(self, mask: np.ndarray) -> None:
        for i, walk in enumerate(self._walks):
            lo, hi = self._bounds[i], self._bounds[i + 1]
            mine = mask[lo:hi]
            if mine.any():  # the walk draws into its slices of the stacked arrays
                walk.speed_mps = self.speed_mps[lo:hi]
                walk.heading_rad = self.heading_rad[lo:hi]
                walk.remaining_m = self.remaining_m[lo:hi]
                walk._redraw(mine)

    def hand_back(self) -> None:
        for i, walk in enumerate(self._walks):
            lo, hi = self._bounds[i], self._bounds[i + 1]
            walk.xy_m = self.xy_m[lo:hi]
            walk.speed_mps = self.speed_mps[lo:hi]
            walk.heading_rad = self.heading_rad[lo:hi]
            walk.remaining_m = self.remaining_m[lo:hi]


def _stack_shadow(nets: list[MultiAccessNetwork], link: int) -> np.ndarray | None:
    shadows = [net._shadow[link] for net in nets]
    arrays = [shadow for shadow in shadows if shadow is not None]
    return _concat(arrays) if len(arrays) == len(shadows) else None


#: What :meth:`MultiAccessNetwork._update_radio` derives, per user (handed back).
_RADIO_OUT = ("cell_idx", "_wifi_home", "_wifi_snr_db", *_RADIO, "max_rate_mbps")
#: What its :meth:`MultiAccessNetwork._make_groups` derives, per user (handed back).
_GROUPS_OUT = ("_busy_group", "_flat_group", "last_group", "_buffer_bits")


def radio_update_together(nets: Sequence[MultiAccessNetwork]) -> None:
    """``net._move_and_update_radio()`` of every network, byte for byte.

    The networks of one layout (cells, radio, area, walk, direction) walk and update their
    radio once over their stacked users; each then numbers its own cells into sharing groups.
    """
    layouts: dict[tuple[Any, ...], list[MultiAccessNetwork]] = {}
    _bound_layout_numbers()
    for net in nets:
        layouts.setdefault(_layout_key(net), []).append(net)
    for members in layouts.values():
        if len(members) == 1:
            members[0]._move_and_update_radio()
            continue
        bounds = np.concatenate(([0], np.cumsum([net.n for net in members]))).tolist()
        lead = members[0]
        walk = _StackedWalk([net.walk for net in members], bounds)
        walk.step(lead._since_radio_ms)
        stacked = object.__new__(MultiAccessNetwork)
        stacked.__dict__.update(
            params=lead.params,
            n=int(bounds[-1]),
            walk=walk,
            traffic=SimpleNamespace(packet_bits=_concat([m.traffic.packet_bits for m in members])),
            _shadow=[_stack_shadow(members, link) for link in range(len(lead._shadow))],
            _wifi_home=_concat([m._wifi_home for m in members]),
            _wifi_snr_db=_concat([m._wifi_snr_db for m in members]),
            _full_buffer_bits=_concat([m._full_buffer_bits for m in members]),
            cell_idx=_concat([m.cell_idx for m in members]),
            max_rate_mbps=_concat([m.max_rate_mbps for m in members], axis=1),
            _mac=lead._mac,
            _fixed_ms=lead._fixed_ms,
            _access_extra_ms=lead._access_extra_ms,
            _dir=lead._dir,
            slicing=None,
            _owners=np.repeat(np.arange(len(members)), [net.n for net in members]),
        )
        stacked._update_radio()  # (a network's cells count its own users: _owners)
        walk.hand_back()
        if lead.slicing is None:  # the contention noise too, each network's own draws
            draws = _concat([net._draw() for net in members])
            ap = apart(stacked.cell_idx[:, WIFI], stacked._owners, lead.params.cells[WIFI].count)
            stacked._contention = radio.contention_factor(ap, draws)
            stacked._rate_bits_ms[:, :, WIFI] *= stacked._contention
        else:
            stacked._contention = np.ones(stacked.n)  # (each network draws its own below)
        for i, net in enumerate(members):
            lo, hi = bounds[i], bounds[i + 1]
            for name in _RADIO_OUT:
                value = getattr(stacked, name)
                setattr(net, name, value[:, lo:hi] if name in _DIRECTED_RADIO else value[lo:hi])
            net._since_radio_ms = 0.0
            if lead.slicing is None:  # the sharing groups, numbered as each network's own
                for name in _GROUPS_OUT:
                    setattr(net, name, getattr(stacked, name)[lo:hi])
                net._group_count = stacked._group_count
                net._groups = [(group[lo:hi], count) for group, count in stacked._groups]
            else:  # (LTE scheduled by slice: each network's own groups and draws)
                net._groups = net._make_groups()
                net._contend()


# -- the end of an interval ------------------------------------------------------------------
#: The per-user state :meth:`MultiAccessNetwork.end_interval` changes (handed back).
_INTERVAL_CHANGED = (
    "target",
    "_tsc_ms",
    "_tsc_bits",
    "_tsc_delay_bits_ms",
    "_bursts",
    "_tsc_run",
    "_tsc_from",
)
#: All the per-user state it reads or changes.
_INTERVAL = (
    "cell_idx",
    "_wifi_snr_db",
    "max_rate_mbps",
    "applied",
    "_usable",
    "_tx_ms",
    "_ack_base_ms",
    "builtin",
    *_INTERVAL_CHANGED,
)
_DIRECTED_INTERVAL = frozenset(
    {
        "max_rate_mbps",
        "target",
        "applied",
        "_usable",
        "_tx_ms",
        "_bursts",
        "_tsc_run",
        "_tsc_from",
        "builtin",
    }
)
#: IntervalStats fields with a leading direction axis.
_DIRECTED_STATS = frozenset({"max_rate_mbps", "split_ratio_pct", "traffic_ratio_pct"})


def end_intervals_together(nets: Sequence[MultiAccessNetwork]) -> list[IntervalStats]:
    """``net.end_interval()`` of every network, byte for byte.

    Networks of one layout whose intervals match (length measured, radio phase) end them in
    one call of :meth:`MultiAccessNetwork.interval_stats` over their stacked users (its
    arithmetic is row by row: users, their links); the others alone.
    """
    out: list[IntervalStats | None] = [None] * len(nets)
    groups: dict[tuple[Any, ...], list[int]] = {}
    _bound_layout_numbers()
    for i, net in enumerate(nets):
        key = (_layout_key(net), net.acc.ms, net._step_ms, net.params.builtin_steer)
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) == 1:
            out[members[0]] = nets[members[0]].end_interval()
            continue
        group = [nets[i] for i in members]
        if group[0]._since_radio_ms > 0.0:  # end_interval's own radio update first
            radio_update_together(group)
        for i, stats in zip(members, _end_stacked(group), strict=True):
            out[i] = stats
    return [stats for stats in out if stats is not None]


def _end_stacked(nets: list[MultiAccessNetwork]) -> list[IntervalStats]:
    lead = nets[0]
    bounds = np.concatenate(([0], np.cumsum([net.n for net in nets]))).tolist()
    n = int(bounds[-1])
    owners = np.repeat(np.arange(len(nets)), [net.n for net in nets])
    stacked = object.__new__(MultiAccessNetwork)
    users: dict[str, Any] = {
        f.name: _concat([getattr(net.users, f.name) for net in nets])
        for f in dataclasses.fields(lead.users)
        if isinstance(getattr(lead.users, f.name), np.ndarray)
    }
    stacked.__dict__.update(
        params=lead.params,
        n=n,
        users=dataclasses.replace(lead.users, **users),
        walk=SimpleNamespace(xy_m=_concat([net.walk.xy_m for net in nets])),
        acc=_stack_object([net.acc for net in nets], lead.n, n),
        _since_radio_ms=0.0,
        _dir=lead._dir,
        _mac=lead._mac,
        _fixed_ms=lead._fixed_ms,
        _access_extra_ms=lead._access_extra_ms,
        _step_ms=lead._step_ms,
        _owners=owners,
    )
    for name in _INTERVAL:
        axis = 1 if name in _DIRECTED_INTERVAL else 0
        setattr(stacked, name, _concat([getattr(net, name) for net in nets], axis))
    stats = report.apply_stacked([net.report for net in nets], stacked.interval_stats(), owners)
    acc_names = _per_user_names(stacked.acc, n)
    out = []
    for i, net in enumerate(nets):
        lo, hi = bounds[i], bounds[i + 1]
        for name in _INTERVAL_CHANGED:
            value = getattr(stacked, name)
            setattr(net, name, value[:, lo:hi] if name in _DIRECTED_INTERVAL else value[lo:hi])
        for name in acc_names:
            setattr(net.acc, name, getattr(stacked.acc, name)[lo:hi])
        net.acc.ms = stacked.acc.ms
        fields = {}
        for f in dataclasses.fields(stats):
            value = getattr(stats, f.name)
            if isinstance(value, np.ndarray):
                value = value[:, lo:hi] if f.name in _DIRECTED_STATS else value[lo:hi]
            fields[f.name] = value
        out.append(IntervalStats(**fields))
    return out
