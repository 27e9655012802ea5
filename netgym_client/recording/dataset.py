"""Offline-RL datasets in Minari's format, collected live or rebuilt from recordings.

``pip install -e '.[datasets]'`` installs Minari (with its HDF5 storage). A dataset is a
list of episodes of (observation, action, reward, terminated, truncated, info), written
with :func:`minari.create_dataset_from_buffers` and read back with
:func:`minari.load_dataset` under Minari's datasets root (``MINARI_DATASETS_PATH``, default
``~/.minari/datasets``).

Rules:
- Live collection (:func:`netgym_client.cli.collect.collect_episodes`): one session per seed,
  run as one episode of ``steps`` transitions (``steps_per_episode = steps + 1``, one episode
  per session), the last one ``truncated`` (the session's time limit). Observations and
  rewards are the env adapter's, exactly what ``NetworkGymEnv`` returns.
- Actions are stored in the action space. An empty action (``system_default``: the server's
  own algorithm decides) is stored as the action the server applied, read from the next
  measurement where the environment reports it (:func:`applied_action`): ``nqos_split``
  the per-user split ratios ``gma::{link}::dl::split_ratio`` / 100 over the config's links
  (the action's columns), for a user whose split ns-3 has not reported yet its measured
  ``traffic_ratio`` / 100 (all on the first link when it received nothing); ``rmcat`` the
  rate in use ``rmcat::srate``. Other environments do not report it: collecting their
  ``system_default`` is refused with a :class:`DatasetError`.
- ``info`` keeps a flat numeric subset per step (Minari stores arrays, not objects): the
  measurement's ``ts`` and every int, float or bool the adapter's ``info`` holds
  (``filled_values``, ``clipped_values``, ``session_end``…). ``network_stats`` itself is left
  out.
- From a recording (:func:`episodes_from_recording`): each ``env-start`` begins a session;
  its measurements are cut into episodes of ``steps_per_episode``; the actions between
  them are read from the recorded ``env-action`` records (``value`` reshaped into the action
  space, or the applied action when it was empty); network_slicing's from its
  ``prb_allocation`` record, per-cell ``{slice, value}`` objects included
  (:func:`slicing_action`). The action a new episode's ``reset()`` sends is not a transition
  and is left out.
- Writing is all or nothing: the dataset is written under a hidden directory of the datasets
  root (``.netgym-partial-*``, which Minari does not list) and renamed to its id only when
  complete, so a run killed midway leaves no dataset (and a re-run works). A disk without
  room for the episodes (estimated before HDF5 is touched: a full disk can crash the HDF5
  library) or a place that cannot be written gives a one-line :class:`DatasetError`.
- While it writes, ``MINARI_DATASETS_PATH`` points at the hidden directory (Minari takes
  its root from there): not for threads that use Minari at the same time.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from netgym_client.config import load_config
from netgym_client.errors import ConfigError, NetGymError
from netgym_client.stats import NetworkStats

__all__ = [
    "DatasetError",
    "DatasetSummary",
    "Episode",
    "adapter_ids",
    "adapter_links",
    "applied_action",
    "episodes_from_recording",
    "flat_info",
    "parse_seeds",
    "write_dataset",
]

logger = logging.getLogger(__name__)

#: nqos_split's action columns with every link, in ns-3's link order (PROTOCOL.md §9).
SPLIT_LINKS = ("wifi", "nr", "lte")


class DatasetError(NetGymError, ValueError):
    """A dataset that cannot be built as asked."""


@dataclass
class Episode:
    """One episode: ``T + 1`` observations and infos, ``T`` of the rest."""

    seed: int | None
    observations: list[np.ndarray]
    actions: list[np.ndarray]
    rewards: list[float]
    terminations: list[bool]
    truncations: list[bool]
    infos: list[dict[str, float]]
    #: The spaces of the session's adapter (None: the environment's defaults).
    spaces: tuple[gym.Space[Any], gym.Space[Any]] | None = None

    @property
    def steps(self) -> int:
        """Transitions in the episode."""
        return len(self.rewards)


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`write_dataset` wrote."""

    dataset_id: str
    episodes: int
    steps: int
    path: str
    size_bytes: int


def parse_seeds(text: str) -> list[int]:
    """``"0-63"``, ``"1,4,9"`` or ``"7"`` as a list of seeds.

    Raises:
        DatasetError: Not such a list.
    """
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, sep, last = part.strip().partition("-")
            low = int(first)
            high = int(last) if sep else low
            if high < low or low < 0:
                raise ValueError
            seeds.extend(range(low, high + 1))
    except ValueError:
        raise DatasetError(f"seeds: expected e.g. '0-63' or '1,4,9', got {text!r}") from None
    return seeds


def flat_info(stats: NetworkStats, info: Mapping[str, Any]) -> dict[str, float]:
    """The step's ``info`` as Minari stores it: ``ts`` and the numeric entries, as floats."""
    flat = {"ts": float(stats.ts)}
    for key, value in info.items():
        if isinstance(value, (bool, int, float, np.integer, np.floating)):
            flat[key] = float(value)
    return flat


def applied_action(
    env_name: str,
    stats: NetworkStats,
    ids: Sequence[int],
    links: Sequence[str] = SPLIT_LINKS,
) -> np.ndarray:
    """The action the server's own algorithm applied, as the measurement reports it.

    Args:
        env_name: The environment.
        stats: The measurement after the action.
        ids: The users, in the action's row order.
        links: nqos_split's action columns (the config's links, ``NetGymConfig.split_links``).

    Raises:
        DatasetError: The environment does not report it.
    """
    if env_name == "nqos_split":
        nan = float("nan")
        split = np.stack(
            [stats.get(f"gma::{link}::dl::split_ratio", ids=ids, fill=nan) for link in links],
            axis=1,
        )
        measured = np.stack(
            [stats.get(f"gma::{link}::dl::traffic_ratio", ids=ids) for link in links], axis=1
        )
        # ns-3 reports a user's split only once it was set: until then, what it measured.
        unset = np.isnan(split).all(axis=1)
        split[unset] = measured[unset]
        split = np.nan_to_num(split, nan=0.0)
        idle = split.sum(axis=1) <= 0
        split[idle] = 0.0
        split[idle, 0] = 1.0
        # rows as shares summing to 1 (measured ratios are whole %, 99 or 101 in all)
        shares: np.ndarray = (split / split.sum(axis=1, keepdims=True)).astype(np.float32)
        return shares
    if env_name == "rmcat":
        return stats.get("rmcat::srate", ids=ids).astype(np.float32)
    raise DatasetError(
        f"{env_name} does not report the action its built-in algorithm applied: collect "
        "with an agent that sends actions"
    )


def adapter_links(adapter: Any) -> tuple[str, ...]:
    """nqos_split's action columns for an adapter (every link when it names none)."""
    links = getattr(adapter, "links", None)
    return SPLIT_LINKS if links is None else tuple(links)


def adapter_ids(adapter: Any) -> list[int]:
    """The user ids an adapter acts for (empty when it has none)."""
    ids = getattr(adapter, "ids", None)
    return [] if ids is None else [int(i) for i in ids]


def _session_config(env_name: str, start: Mapping[str, Any]) -> Any:
    recorded = {k: v for k, v in start.items() if k not in ("type", "env")}
    try:
        return load_config(env_name, {"env_config": recorded})
    except ConfigError as exc:
        # another client's extra keys: keep those netgym knows, at the top level
        known = load_config(env_name).env_config
        kept = {k: v for k, v in recorded.items() if k in known}
        logger.info("recorded env-start not taken whole (%s); using its known keys", exc)
        return load_config(env_name, {"env_config": kept})


#: The record that carries each environment's action (``name``), when it sends several.
ACTION_RECORD = {"network_slicing": "prb_allocation"}


def _action_record(env_name: str, records: Any) -> Any:
    """The recorded ``action_list`` record that holds the agent's action."""
    listed = records if isinstance(records, list) else [records]
    wanted = ACTION_RECORD.get(env_name)
    for record in listed:
        if wanted is None or (isinstance(record, dict) and record.get("name") == wanted):
            return record
    raise DatasetError(
        f"{env_name}: the recorded action_list holds no {wanted!r} record to read the action from"
    )


def slicing_action(adapter: Any, record: Mapping[str, Any]) -> np.ndarray:
    """network_slicing's action from a recorded ``lte::prb_allocation`` record.

    The action is each slice's prioritized RBGs over ``rbg_num / S`` (the inverse of the
    adapter's scaling, so the action re-sends the same RBGs), read from the lowest cell id
    the record names (the cell the adapter observes). A cell entry is a ``{slice, value}``
    object (netgym's and the original client's) or a list of one count per slice. What ns-3
    then applies for an empty ``value`` (the whole record's, or one cell's: the original
    adapters' "no action") and for a slice the entry leaves out is the configured
    ``per_slice_config.prioritized_rbg``, the system default.
    """
    slices = int(adapter.num_slices)
    scale = float(adapter.rbg_num) / slices
    configured = adapter.config.env_config["per_slice_config"]["prioritized_rbg"]
    rbgs = np.array([float(configured[s]) for s in range(slices)])
    ids, values = record.get("id"), record.get("value")
    if isinstance(values, list) and values and isinstance(ids, list) and len(ids) == len(values):
        entry = values[min(range(len(ids)), key=lambda i: ids[i])]
        if isinstance(entry, Mapping):
            listed, counts = entry.get("slice"), entry.get("value")
        else:
            listed, counts = list(range(slices)), entry
        if not isinstance(listed, list) or not isinstance(counts, list):
            raise DatasetError(f"network_slicing: cannot read RBG counts from {entry!r:.80}")
        for sid, count in zip(listed, counts, strict=False):
            if isinstance(sid, int) and 0 <= sid < slices:
                rbgs[sid] = float(count)
    elif values != []:
        raise DatasetError(
            f"network_slicing: cannot read an action from the recorded value {values!r:.80}"
        )
    action: np.ndarray = np.clip(rbgs / scale, 0.0, 1.0).astype(adapter.action_space.dtype)
    return action


def _recorded_action(
    env_name: str, adapter: Any, action: Mapping[str, Any], after: NetworkStats
) -> np.ndarray:
    record = _action_record(env_name, action.get("action_list"))
    if env_name == "network_slicing":
        return slicing_action(adapter, record)
    value = record.get("value") if isinstance(record, dict) else None
    shape: tuple[int, ...] = tuple(adapter.action_space.shape)
    if isinstance(value, list) and not value:
        return applied_action(env_name, after, adapter_ids(adapter), adapter_links(adapter))
    try:
        array: np.ndarray = np.asarray(value, dtype=adapter.action_space.dtype)
        return array.reshape(shape)
    except (TypeError, ValueError) as exc:
        raise DatasetError(
            f"{env_name}: cannot read an action of shape {shape} from the recorded "
            f"action_list[0].value ({exc})"
        ) from exc


def episodes_from_recording(script: Sequence[tuple[str, Mapping[str, Any]]]) -> Iterator[Episode]:
    """Rebuild episodes from one identity's recorded script (see the module's Rules).

    Raises:
        DatasetError: The recording holds no session, or its actions do not fit.
    """
    from netgym_client.adapters import adapter_class  # noqa: PLC0415

    sessions: list[tuple[Mapping[str, Any], list[tuple[Mapping[str, Any] | None, Any]]]] = []
    pending: Mapping[str, Any] | None = None
    for direction, payload in script:
        kind = payload.get("type")
        if direction == "c2s" and kind == "env-start":
            sessions.append((payload, []))
            pending = None
        elif direction == "c2s" and kind == "env-action":
            pending = payload
        elif direction == "s2c" and kind == "env-measurement" and sessions:
            records = payload.get("network_stats")
            sessions[-1][1].append((pending, NetworkStats.from_records(records or [])))
            pending = None
    if not sessions:
        raise DatasetError("the recording holds no env-start: nothing to rebuild")
    for start, measurements in sessions:
        env_name = str(start.get("env"))
        config = _session_config(env_name, start)
        adapter = adapter_class(env_name)(config)
        per_episode = int(config.env_config["steps_per_episode"])
        seed = start.get("random_seed")
        for first in range(0, len(measurements) - 1, per_episode):
            chunk = measurements[first : first + per_episode]
            if len(chunk) < 2:
                break
            stats0 = chunk[0][1]
            adapter.reset_counts()
            episode = Episode(
                int(seed) if isinstance(seed, int) else None,
                [adapter.observation(stats0)],
                [],
                [],
                [],
                [],
                [flat_info(stats0, adapter.info(stats0))],
                (adapter.observation_space, adapter.action_space),
            )
            for i, (action, stats) in enumerate(chunk[1:], start=2):
                if action is None:
                    raise DatasetError("a recorded measurement answers no env-action")
                episode.observations.append(adapter.observation(stats))
                episode.actions.append(_recorded_action(env_name, adapter, action, stats))
                episode.rewards.append(float(adapter.reward(stats)))
                episode.terminations.append(False)
                episode.truncations.append(i == len(chunk))
                episode.infos.append(flat_info(stats, adapter.info(stats)))
            yield episode


def _require_minari() -> Any:
    try:
        return importlib.import_module("minari")
    except ImportError as exc:
        raise DatasetError(
            "datasets need Minari, the optional extra 'datasets': in a clone of netgym, "
            "pip install -e '.[datasets]'"
        ) from exc


def _infos(infos: list[dict[str, float]]) -> dict[str, np.ndarray]:
    keys = dict.fromkeys(k for info in infos for k in info)
    return {k: np.asarray([info.get(k, np.nan) for info in infos]) for k in keys}


def _default_spaces(env_name: str) -> tuple[gym.Space[Any], gym.Space[Any]]:
    from netgym_client.adapters import adapter_class  # noqa: PLC0415

    adapter = adapter_class(env_name)(load_config(env_name))
    return adapter.observation_space, adapter.action_space


#: Room a dataset needs on disk, as a multiple of its arrays' bytes (HDF5's overhead, and more).
SPACE_MARGIN = 2.0
#: Room a dataset needs besides its arrays (metadata, HDF5 structure), in bytes.
SPACE_BASE_BYTES = 1 << 20


@contextlib.contextmanager
def _datasets_root(path: Path) -> Iterator[None]:
    """Minari's datasets root is ``path`` inside the block (it reads the environment)."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _check_room(where: Path, buffers: list[Any]) -> None:
    need = SPACE_BASE_BYTES + SPACE_MARGIN * sum(
        np.asarray(getattr(b, name)).nbytes
        for b in buffers
        for name in ("observations", "actions", "rewards")
    )
    free = shutil.disk_usage(where).free
    if free < need:
        raise DatasetError(
            f"not enough room in {where}: about {need / 1e6:.1f} MB needed, "
            f"{free / 1e6:.1f} MB free"
        )


def write_dataset(
    dataset_id: str,
    episodes: Iterable[Episode],
    *,
    env_name: str,
    algorithm_name: str,
    description: str | None = None,
) -> DatasetSummary:
    """Write ``episodes`` as the Minari dataset ``dataset_id`` (e.g. ``"netgym/nqos_split/sd-v0"``).

    The dataset appears under its id only once it is complete (see the module's rules).

    Raises:
        DatasetError: Minari is not installed, the id exists already, no episode, not enough
            room on the disk, or the datasets root cannot be written.
    """
    minari = _require_minari()
    episode_buffer = importlib.import_module("minari.data_collector").EpisodeBuffer

    from netgym_client._version import __version__  # noqa: PLC0415

    buffers = []
    spaces = None
    for index, ep in enumerate(episodes):
        spaces = spaces or ep.spaces
        buffers.append(
            episode_buffer(
                id=index,
                seed=ep.seed,
                observations=np.stack(ep.observations),
                actions=np.stack(ep.actions),
                rewards=list(ep.rewards),
                terminations=list(ep.terminations),
                truncations=list(ep.truncations),
                infos=_infos(ep.infos),
            )
        )
    if not buffers:
        raise DatasetError("no episode to write")
    observation_space, action_space = spaces if spaces is not None else _default_spaces(env_name)
    shape = np.asarray(buffers[0].observations).shape[1:]
    if shape != observation_space.shape:
        raise DatasetError(f"observations of shape {shape} do not fit {observation_space}")
    ashape = np.asarray(buffers[0].actions).shape[1:]
    if ashape != action_space.shape:
        raise DatasetError(f"actions of shape {ashape} do not fit {action_space}")
    from netgym_client import env_id  # noqa: PLC0415

    spec = gym.spec(env_id(env_name))
    try:
        root = Path(importlib.import_module("minari.storage").get_dataset_path())
        final = root / dataset_id
        if final.exists():
            raise DatasetError(f"{dataset_id}: already exists at {final}")
        _check_room(root, buffers)
        partial = Path(tempfile.mkdtemp(prefix=".netgym-partial-", dir=root))
    except OSError as exc:
        raise DatasetError(f"{dataset_id}: cannot write the datasets root: {_reason(exc)}") from exc
    try:
        with _datasets_root(partial):
            episodes_written, steps_written = _create(
                minari,
                dataset_id,
                buffers,
                env=spec,
                eval_env=spec,
                observation_space=observation_space,
                action_space=action_space,
                algorithm_name=algorithm_name,
                description=description or f"netgym {__version__}: {env_name}, {algorithm_name}",
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(partial / dataset_id, final)  # all at once: never a half-made dataset
    except OSError as exc:
        raise DatasetError(f"{dataset_id}: cannot write: {_reason(exc)}") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    path = final / "data"
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return DatasetSummary(dataset_id, episodes_written, steps_written, str(path), size)


def _create(minari: Any, dataset_id: str, buffers: list[Any], **fields: Any) -> tuple[int, int]:
    """Write the dataset under Minari's current root; its episode and step counts."""
    try:
        dataset = minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            author="netgym",
            author_email="netgym@localhost",
            code_permalink="https://pypi.org/project/netgym/",
            data_format="hdf5",
            **fields,
        )
    except ValueError as exc:
        raise DatasetError(f"{dataset_id}: {exc}") from exc
    return int(dataset.total_episodes), int(dataset.total_steps)
