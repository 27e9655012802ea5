"""A picture of one run: reward, per-link rate and delay over time, and the users' map.

matplotlib is an optional extra (``pip install -e '.[plot]'``); it is imported only when a
plot is drawn, through its object-oriented API on the Agg canvas (no pyplot, so the caller's
backend and global state are untouched).

Panels:

1. reward per step against simulated time, with dotted lines at episode starts;
2. rates over time: per link (Wi-Fi, LTE, NR) and in total for the GMA environments, per
   slice for network_slicing, receive/sending/NADA rate for rmcat (Mbps);
3. delays over time: per link one-way delay (GMA), RTT and queuing delay (rmcat), ms;
   network_slicing shows the per-slice delay violations (%) instead;
4. where the run reports positions: the users' tracks, their last positions, the cells
   (LTE eNB, NR gNBs, Wi-Fi APs from ``env_config``) and each user's associations at the
   last step (solid to its Wi-Fi AP, dashed to its LTE cell); otherwise the remaining
   metrics over time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netgym_client.cli.results import RunRecorder, Table
from netgym_client.config import NetGymConfig
from netgym_client.errors import NetGymError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MissingExtra", "plot_run", "require_matplotlib"]

logger = logging.getLogger(__name__)

#: Figure size, inches, and resolution, dots per inch.
FIGSIZE_IN = (13.0, 9.0)
DPI = 100
#: Wi-Fi ``cell_id`` of a user with no AP (ns-3's "none").
NO_CELL = 255
_LINK_COLOURS = {"wifi": "tab:blue", "lte": "tab:orange", "nr": "tab:green"}


class MissingExtra(NetGymError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def _locations(section: Any) -> list[tuple[float, float]]:
    if isinstance(section, Mapping):
        section = [section]
    if not isinstance(section, Sequence):
        return []
    return [
        (float(loc["x"]), float(loc["y"]))
        for loc in section
        if isinstance(loc, Mapping) and "x" in loc and "y" in loc
    ]


def _time_s(steps: Table) -> np.ndarray:
    return steps.column("ts") / 1000.0


def _episode_starts(ax: Axes, steps: Table, t: np.ndarray) -> None:
    episodes = steps.column("episode")
    starts = t[np.flatnonzero(np.diff(episodes) != 0) + 1]
    for x in starts:
        ax.axvline(x, color="0.85", linestyle=":", linewidth=0.8)


def _series(ax: Axes, steps: Table, t: np.ndarray, names: Sequence[str], scale: float) -> bool:
    drawn = False
    for name in names:
        if name not in steps.columns:
            continue
        values = steps.column(name) * scale
        if np.all(np.isnan(values)):
            continue
        label = name.rsplit("_", 1)[0]
        if label in ("rate", "owd"):
            label = f"all links ({label})"
        colour = _LINK_COLOURS.get(label.split("_")[0], "black" if "all links" in label else None)
        ax.plot(t, values, marker=".", markersize=3, linewidth=1, label=label, color=colour)
        drawn = True
    if drawn:
        ax.legend(fontsize=8, loc="best")
    return drawn


def _map(ax: Axes, users: Table, config: NetGymConfig) -> None:
    env_config = config.env_config
    lte = _locations(env_config.get("lte_enb_locations"))
    nr = _locations(env_config.get("nr_gnb_locations"))
    aps = _locations(env_config.get("wifi_ap_locations"))
    user_ids = sorted({int(u) for u in users.column("user")})
    x, y = users.column("x_m"), users.column("y_m")
    uid = users.column("user")
    for u in user_ids:
        mine = uid == u
        ax.plot(x[mine], y[mine], color="0.75", linewidth=0.8, zorder=1)
    last_ts = users.column("ts").max()
    last = [row for row in users.rows if row["ts"] == last_ts]
    for row in last:
        ux, uy = row["x_m"], row["y_m"]
        if not isinstance(ux, float) or not isinstance(uy, float):
            continue
        wifi = row["wifi_cell"]
        if isinstance(wifi, int) and 1 <= wifi <= len(aps) and wifi != NO_CELL:
            ax.plot(*zip((ux, uy), aps[wifi - 1], strict=True), color="tab:blue", linewidth=1.2)
        lte_cell = row["lte_cell"]
        if isinstance(lte_cell, int) and 1 <= lte_cell <= len(lte):
            ax.plot(
                *zip((ux, uy), lte[lte_cell - 1], strict=True),
                color="tab:orange",
                linewidth=1,
                linestyle="--",
            )
    lx = [float(v) if isinstance(v := row["x_m"], float) else np.nan for row in last]
    ly = [float(v) if isinstance(v := row["y_m"], float) else np.nan for row in last]
    ax.scatter(lx, ly, s=30, color="black", zorder=3, label="users (last step)")
    for row in last:
        if isinstance(row["x_m"], float) and isinstance(row["y_m"], float):
            ax.annotate(
                str(row["user"]),
                (row["x_m"], row["y_m"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    for points, marker, colour, label in (
        (lte, "^", "tab:orange", "LTE eNB"),
        (nr, "s", "tab:green", "NR gNB"),
        (aps, "o", "tab:blue", "Wi-Fi AP"),
    ):
        if points:
            px, py = zip(*points, strict=True)
            ax.scatter(
                px, py, s=110, marker=marker, color=colour, edgecolor="black", zorder=4, label=label
            )
    area = env_config.get("user_location_range")
    if isinstance(area, Mapping) and {"min_x", "max_x", "min_y", "max_y"} <= set(area):
        ax.set_xlim(float(area["min_x"]) - 10, float(area["max_x"]) + 10)
        ax.set_ylim(float(area["min_y"]) - 10, float(area["max_y"]) + 10)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title("users, cells and associations (Wi-Fi solid, LTE dashed)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)


def require_matplotlib() -> None:
    """Check that matplotlib can be imported.

    Raises:
        MissingExtra: It cannot; the message says ``pip install -e '.[plot]'``.
    """
    try:
        import matplotlib  # noqa: PLC0415, F401 (optional extra)
    except ImportError as exc:
        raise MissingExtra(
            "plotting needs matplotlib, the optional extra 'plot': in a clone of netgym, "
            "pip install -e '.[plot]'"
        ) from exc


def plot_run(path: str | Path, recorder: RunRecorder, title: str = "") -> Path:
    """Draw the run that ``recorder`` collected into a PNG at ``path``.

    Returns:
        The path written.

    Raises:
        MissingExtra: matplotlib is not installed (``pip install -e '.[plot]'``).
        NetGymError: The recorder holds no step.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    steps, users, config = recorder.steps, recorder.users, recorder.config
    if not len(steps):
        raise NetGymError("nothing to plot: the run recorded no step")
    env = config.env
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2)
    t = _time_s(steps)
    reward_ax, rate_ax, delay_ax, map_ax = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]

    reward = steps.column("reward")
    reward_ax.plot(t, reward, marker=".", markersize=3, linewidth=1, color="tab:purple")
    _episode_starts(reward_ax, steps, t)
    reward_ax.set_title(f"reward ({config.rl_config.get('reward_type') or 'none'})")
    reward_ax.set_xlabel("simulated time (s)")

    metric_names = [
        c for c in steps.columns if c not in ("ts", "episode", "step", "reward", "action")
    ]
    if env == "rmcat":
        rates = ["rrate_bps", "srate_bps", "nada_srate_bps"]
        _series(rate_ax, steps, t, rates, 1e-6)
        delays = ["rtt_ms", "qdel_ms"]
    elif env == "network_slicing":
        rates = [c for c in metric_names if c.endswith("_rate_mbps")]
        _series(rate_ax, steps, t, rates, 1.0)
        delays = [c for c in metric_names if c.endswith("_delay_violation_pct")]
    else:
        rates = [c for c in metric_names if c.endswith("rate_mbps")]
        _series(rate_ax, steps, t, rates, 1.0)
        delays = [c for c in metric_names if c.endswith("owd_ms")]
    rate_ax.set_title("rate (Mbps)")
    rate_ax.set_xlabel("simulated time (s)")
    _series(delay_ax, steps, t, delays, 1.0)
    delay_ax.set_title("delay violation (%)" if env == "network_slicing" else "delay (ms)")
    delay_ax.set_xlabel("simulated time (s)")
    for ax in (rate_ax, delay_ax):
        _episode_starts(ax, steps, t)

    if len(users):
        _map(map_ax, users, config)
    else:
        rest = [c for c in metric_names if c not in rates and c not in delays]
        _series(map_ax, steps, t, rest, 1.0)
        map_ax.set_title("other metrics")
        map_ax.set_xlabel("simulated time (s)")
    fig.suptitle(title or f"{env}")
    out = Path(path)
    fig.savefig(out)
    logger.info("wrote %s", out)
    return out
