"""Configuration: defaults for every environment, deep merge, validation, derived keys.

A configuration is built in layers, each deep-merged over the previous one (later wins):

1. ``configs/common.json`` — the original client's ``common_config.json`` keys plus our
   ``server`` section (PROTOCOL.md §7.1);
2. ``configs/<env>.json`` — the environment's ``rl_config`` and ``env_config`` (§8–§12, §14);
3. the user's JSON file (``path``), e.g. an original ``common_config.json`` or env config;
4. ``overrides``, a nested mapping of the same form.

Then everything is validated (:mod:`netgym_client._config_schema`) and the keys the original
client derives before it sends ``env-start`` are added (§7.2): ``env``; for the GMA-based
environments the top-level ``measurement_interval_ms``/``measurement_guard_interval_ms``
(copied from ``gma``; ``gma``, ``wifi`` and ``lte`` must have equal interval + guard sums);
``env_end_time_ms = int(start + step_ms * (steps_per_episode * episodes_per_session + 1))``;
``num_users`` = the sum of ``per_slice_config.num_users`` (nqos_split, qos_steer,
network_slicing); and for rmcat ``bw_trace``, read from ``bw_trace_file``.

>>> config = load_config("nqos_split")
>>> config.num_users, config.step_ms, config.env_end_time_ms
(5, 100, 101100)

Choices made where PROTOCOL.md is silent:

- qos_steer and network_slicing defaults use the current layout (§14). Values the old files
  do not give are nqos_split's: ``gma.mx_algorithm`` "gma", every ``backhaul_delay_ms`` 0,
  ``nr`` section kept (``nr_gnb_locations`` empty: no NR cell), per slice ``dedicated_rbg`` 0,
  ``shared_rbg`` 25, ``packet_size_bytes`` 1400, ``qos_test_duration_ms`` 500 (network
  slicing; qos_steer's old ``test_duration_ms`` is 500 too), ``downlink_mode``/``uplink_mode``
  "auto"; network_slicing's ``qos_loss_target`` [0.01, 1.0] and
  ``qos_delay_violation_target`` [0.01, 0.01] are nqos_split's per slice index.
- nqos_split's eight Wi-Fi APs are listed row by row: y = 25 for x = 0, 100, 200, 300, then
  y = 75.
- ``lte.resource_block_num`` accepts the LTE channel sizes {6, 15, 25, 50, 75, 100}
  (1.4–20 MHz, 3GPP TS 36.101 Table 5.6-1); ``lte_enb_locations`` is one object.
- rmcat: ``nada_flows`` must be 1 and ``measurement_interval_ms`` 100 (fixed by ns-3);
  there is no ``num_users`` and no guard key. ``NetGymConfig.num_users`` is then the number
  of NADA flows (the observed entities).
- Derived keys may be given (a config's :meth:`NetGymConfig.to_dict` contains them) but must
  equal the derived value, so that e.g. a ``num_users`` that per_slice_config would silently
  overwrite is reported instead. An explicit ``bw_trace`` is sent as given and
  ``bw_trace_file`` is then not read.
- A relative ``bw_trace_file`` is looked up next to the user's config file, then in the
  package data — never in the working directory, so a stray file cannot change a default.
- ``session_name`` must not contain ``-`` (the server splits the identity on it, §4);
  user names and passwords are at most 255 bytes (ZMTP PLAIN).
- ``connect_via_server_ip_and_server_port: true`` given by the user (file or overrides) sets
  ``server.address`` to ``tcp://<server_ip>:<server_port>`` unless the user also gives
  ``server.address``; otherwise the original's connection keys are only kept in ``extra``.
- ``random_seed`` (an integer >= 0) is accepted in every environment.
- The GMA-based environments take up to 10,000 users over all slices, the simulator's limit.
  ns-3 NetworkGym servers stop at 50: a config with more is accepted and the env logs a
  warning when it connects to a server other than the embedded one.
- ``rl_config.terminate_on_session_end`` (bool, default false) restores the original's
  ``terminated=True`` at the end of a session (§14).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from netgym_client._config_schema import (
    BW_TRACE_COLUMNS,
    COMMON_KEYS,
    EXTRA_REWARD_TYPES,
    GMA_ENVS,
    INT64_MAX,
    SERVER_SCHEMA,
    check_bw_trace,
    check_object,
    show,
    top_level_schema,
)
from netgym_client.errors import ConfigError

__all__ = [
    "ENVIRONMENTS",
    "EXTRA_REWARD_TYPES",
    "LINK_ORDER",
    "NetGymConfig",
    "ServerConfig",
    "deep_merge",
    "default_config_dict",
    "load_config",
    "read_bw_trace",
    "split_links",
]

logger = logging.getLogger(__name__)

#: The environments netgym knows, in PROTOCOL.md order.
ENVIRONMENTS: tuple[str, ...] = ("custom", "nqos_split", "qos_steer", "network_slicing", "rmcat")

_PACKAGE_CONFIGS = resources.files("netgym_client").joinpath("configs")


@dataclass(frozen=True)
class ServerConfig:
    """Where the client connects, as whom, and how long it waits.

    Attributes:
        address: ``"embedded"`` (the simulated server's sessions run in this process, no
            sockets), ``"embedded+tcp"`` (the simulated server in this process, reached over
            loopback ZeroMQ like a remote one: for protocol tests) or a ZeroMQ endpoint
            ``tcp://host:port``, ``ipc://path`` or ``inproc://name``.
        session_name: ZMQ PLAIN user name (the server account).
        session_key: ZMQ PLAIN password.
        client_id: Instance number; the DEALER identity is ``f"{session_name}-{client_id}"``.
            ``"auto"``: the lowest id that no other netgym environment on this machine
            holds for the same server and account (:mod:`netgym_client.client_ids`), so
            that ``gymnasium.make_vec(..., vectorization_mode="async")`` sub-environments,
            built from one config, get distinct identities.
        connect_timeout_s: Longest wait for the connection and PLAIN handshake, seconds.
        step_timeout_s: Longest wait for one reply from a real server, seconds (the
            original client waits 60 s).
        embedded_step_timeout_s: Longest wait for one reply from the ``"embedded+tcp"``
            server, seconds.
        heartbeat_timeout_s: While a reply is awaited, a lost connection that is not back
            within this ends the wait (a server that is gone is told in seconds, a slow one
            still gets ``step_timeout_s``), seconds.
        server_public_key: The server's CURVE public key (40-character Z85 text or a ``.key``
            file written by ``netgym keys``) to encrypt with CURVE instead of PLAIN; ``""``
            (default) is PLAIN, as the original NetworkGym.

    Raises:
        ConfigError: A field is out of range (path ``server.<field>``).
    """

    address: str = "embedded"
    session_name: str = "admin"
    session_key: str = "admin"
    client_id: int | str = 0
    connect_timeout_s: float = 5.0
    step_timeout_s: float = 60.0
    embedded_step_timeout_s: float = 10.0
    heartbeat_timeout_s: float = 5.0
    server_public_key: str = ""

    def __post_init__(self) -> None:
        check_object(dataclasses.asdict(self), "server", SERVER_SCHEMA)

    @property
    def identity(self) -> str:
        """The ZeroMQ routing identity: ``"<session_name>-<client_id>"`` (§1)."""
        return f"{self.session_name}-{self.client_id}"


@dataclass(frozen=True)
class NetGymConfig:
    """A validated configuration; build it with :func:`load_config`.

    Attributes:
        env: The environment name, one of :data:`ENVIRONMENTS`.
        env_config: Exactly what goes on the wire in ``env-start``: ``"type": "env-start"``
            first, ``env`` and the derived keys included.
        rl_config: ``agent``, ``reward_type``.
        server: Connection settings.
        extra: The original client's common keys (``enable_wandb``, ``server_ip``, ...).
    """

    env: str
    env_config: dict[str, Any]
    rl_config: dict[str, Any]
    server: ServerConfig = field(default_factory=ServerConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The nested form :func:`load_config` accepts back (a fresh deep copy).

        ``load_config(c.env, overrides=c.to_dict()) == c`` for every loaded config ``c``.
        """
        return {
            "server": dataclasses.asdict(self.server),
            **copy.deepcopy(self.extra),
            "rl_config": copy.deepcopy(self.rl_config),
            "env_config": copy.deepcopy(self.env_config),
        }

    @property
    def num_users(self) -> int:
        """Users in the session (rmcat: NADA flows, the entities it observes)."""
        if "num_users" in self.env_config:
            return int(self.env_config["num_users"])
        return int(self.env_config["nada_flows"])

    @property
    def split_links(self) -> tuple[str, ...]:
        """The links the config has, in ns-3's link order: the split weights' columns.

        ``"wifi"`` with Wi-Fi APs, ``"nr"`` with NR gNBs, ``"lte"`` (always: an eNB is
        required); ``("wifi", "lte")`` without gNBs, as ns-3 takes the action then. Empty for
        environments without these keys (rmcat, custom).
        """
        return split_links(self.env_config)

    @property
    def steps_per_episode(self) -> int:
        """Measurements per episode (one from ``reset()``, the rest from ``step()``)."""
        return int(self.env_config["steps_per_episode"])

    @property
    def episodes_per_session(self) -> int:
        """Episodes in one session (one ``env-start``)."""
        return int(self.env_config["episodes_per_session"])

    @property
    def step_ms(self) -> int:
        """Simulated time between measurements: interval + guard (if given), in ms."""
        return int(self.env_config["measurement_interval_ms"]) + int(
            self.env_config.get("measurement_guard_interval_ms", 0)
        )

    @property
    def measurement_start_time_ms(self) -> int:
        """Simulated time the first measurement interval starts, in ms."""
        return int(self.env_config["measurement_start_time_ms"])

    @property
    def env_end_time_ms(self) -> int:
        """Simulated time the session ends, in ms (derived, §7.2)."""
        return int(self.env_config["env_end_time_ms"])

    @property
    def seed(self) -> int | None:
        """``env_config.random_seed``, or None when the environment has none."""
        seed = self.env_config.get("random_seed")
        return None if seed is None else int(seed)


#: ns-3's GMA link order (ascending link id): the column order of the split weights.
LINK_ORDER = ("wifi", "nr", "lte")
_CELL_KEYS = {"wifi": "wifi_ap_locations", "nr": "nr_gnb_locations", "lte": "lte_enb_locations"}


def split_links(env_config: Mapping[str, Any]) -> tuple[str, ...]:
    """The links an ``env_config`` has (see :attr:`NetGymConfig.split_links`).

    >>> split_links({"wifi_ap_locations": [{"x": 0, "y": 0, "z": 3}], "nr_gnb_locations": [],
    ...              "lte_enb_locations": {"x": 0, "y": 0, "z": 3}})
    ('wifi', 'lte')
    """
    links = []
    for link in LINK_ORDER:
        cells = env_config.get(_CELL_KEYS[link])
        if isinstance(cells, Mapping) or (isinstance(cells, list) and cells):
            links.append(link)
    return tuple(links)


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``update`` over ``base`` into a new dict.

    Nested mappings are merged key by key; any other value of ``update`` (lists included)
    replaces the one in ``base``. Neither input is modified and the result shares no
    mutable value with them.
    """
    merged: dict[str, Any] = {key: _copy(value) for key, value in base.items()}
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return deep_merge(value, {})
    return copy.deepcopy(value)


def _check_env_name(env: Any) -> str:
    if isinstance(env, str) and env in ENVIRONMENTS:
        return env
    # A low cutoff: environment names are few and a prefix such as 'nqos' should still match.
    close = (
        difflib.get_close_matches(env.lower(), ENVIRONMENTS, n=1, cutoff=0.5)
        if isinstance(env, str)
        else []
    )
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError("env", f"unknown environment {show(env)}; {hint}known: {list(ENVIRONMENTS)}")


def _read_package_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_PACKAGE_CONFIGS.joinpath(name).read_text("utf-8"))
    return data


def default_config_dict(env: str) -> dict[str, Any]:
    """The defaults of ``env`` (common + environment file), before overrides and derivation.

    Returns:
        A fresh nested dict each call, safe to modify.

    Raises:
        ConfigError: ``env`` is not one of :data:`ENVIRONMENTS`.
    """
    env = _check_env_name(env)
    return deep_merge(_read_package_json("common.json"), _read_package_json(f"{env}.json"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _read_user_file(path: str | os.PathLike[str]) -> Any:
    where = os.fspath(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(where, f"cannot read config file: {exc}") from exc
    except ValueError as exc:  # undecodable bytes
        raise ConfigError(where, f"config file is not UTF-8: {exc}") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(where, f"not valid JSON: {exc}") from exc


def _user_layer(layer: Any, where: str) -> dict[str, Any]:
    """A user layer as a dict, ``"server": "<address>"`` expanded to ``{"address": ...}``."""
    if not isinstance(layer, Mapping):
        raise ConfigError(where, f"must be a JSON object, got {show(layer)}")
    for key in layer:
        if not isinstance(key, str):
            raise ConfigError(where, f"keys must be strings, got {show(key)}")
    result = dict(layer)
    if isinstance(result.get("server"), str):
        result["server"] = {"address": result["server"]}
    return result


def load_config(
    env: str,
    overrides: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> NetGymConfig:
    """Build the validated configuration of ``env``.

    Args:
        env: One of :data:`ENVIRONMENTS`.
        overrides: Nested overrides, merged last, e.g.
            ``{"env_config": {"steps_per_episode": 5}, "server": "tcp://host:8088"}``.
        path: A JSON config file merged between the defaults and ``overrides``; relative
            ``bw_trace_file`` names are looked up next to it first.

    Returns:
        The configuration, with the derived ``env_config`` keys added.

    Raises:
        ConfigError: Unknown environment or key, wrong type, value out of range,
            inconsistent values, or an unreadable file. ``.path`` names the offending key.
    """
    env = _check_env_name(env)
    try:
        user: dict[str, Any] = {}
        base_dir: Path | None = None
        if path is not None:
            user = _user_layer(_read_user_file(path), os.fspath(path))
            base_dir = Path(path).parent
        if overrides is not None:
            user = deep_merge(user, _user_layer(overrides, "overrides"))
        merged = deep_merge(default_config_dict(env), user)
        return _build(env, merged, user, base_dir)
    except RecursionError as exc:
        raise ConfigError("", "configuration is nested too deeply") from exc


def _build(
    env: str, merged: Mapping[str, Any], user: Mapping[str, Any], base_dir: Path | None
) -> NetGymConfig:
    check_object(merged, "", top_level_schema(env))
    server = _server_config(merged, user)
    extra = {key: copy.deepcopy(merged[key]) for key in COMMON_KEYS}
    extra["session_name"] = server.session_name
    extra["session_key"] = server.session_key
    env_config = _derive(env, merged["env_config"], base_dir)
    logger.debug("config for %s: %d env_config keys", env, len(env_config))
    return NetGymConfig(
        env=env,
        env_config=env_config,
        rl_config=copy.deepcopy(dict(merged["rl_config"])),
        server=server,
        extra=extra,
    )


def _server_config(merged: Mapping[str, Any], user: Mapping[str, Any]) -> ServerConfig:
    values = dict(merged["server"])
    # The original's top-level credentials, when the user gives them, name the account.
    for key in ("session_name", "session_key"):
        if key in user:
            values[key] = merged[key]
    user_server = user.get("server")
    address_given = isinstance(user_server, Mapping) and "address" in user_server
    if user.get("connect_via_server_ip_and_server_port") is True and not address_given:
        host = str(merged["server_ip"])
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 literal
        values["address"] = f"tcp://{host}:{merged['server_port']}"
        try:
            return ServerConfig(**values)
        except ConfigError as exc:
            raise ConfigError("server_ip", f"gives no valid address: {exc.problem}") from exc
    return ServerConfig(**values)


def _agree(config: dict[str, Any], key: str, derived: Any, source: str) -> None:
    """Set a derived key; a value the user gave must already equal it."""
    if key in config and config[key] != derived:
        raise ConfigError(
            f"env_config.{key}",
            f"is derived from {source} (= {derived!r}); remove it or make it match, "
            f"got {show(config[key])}",
        )
    config[key] = derived


def _derive(env: str, source: Mapping[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """The wire ``env_config``: ``type`` first, then the keys the original client adds (§7.2)."""
    config: dict[str, Any] = {"type": source["type"]}
    config.update(copy.deepcopy(dict(source)))
    _agree(config, "env", env, "the environment name")
    if env in GMA_ENVS:
        gma = config["gma"]
        _agree(config, "measurement_interval_ms", gma["measurement_interval_ms"], "gma")
        guard_ms = gma["measurement_guard_interval_ms"]
        _agree(config, "measurement_guard_interval_ms", guard_ms, "gma")
    # For the GMA environments the top level now holds gma's pair, whose sum check_env_config
    # made equal to wifi's and lte's.
    step_ms = config["measurement_interval_ms"] + config.get("measurement_guard_interval_ms", 0)
    end_ms = int(
        config["measurement_start_time_ms"]
        + step_ms * (config["steps_per_episode"] * config["episodes_per_session"] + 1)
    )
    if end_ms > INT64_MAX:
        raise ConfigError(
            "env_config.env_end_time_ms",
            f"derived value {end_ms} does not fit in a 64-bit integer; use fewer or shorter steps",
        )
    _agree(config, "env_end_time_ms", end_ms, "measurement_start_time_ms, the step and the counts")
    if env in GMA_ENVS:
        users = sum(config["per_slice_config"]["num_users"])
        _agree(config, "num_users", users, "per_slice_config.num_users")
    if env == "rmcat":
        if "bw_trace" in config:
            config["bw_trace"] = {
                name: [float(v) for v in values] for name, values in config["bw_trace"].items()
            }
        else:
            config["bw_trace"] = read_bw_trace(config["bw_trace_file"], base_dir)
    return config


def read_bw_trace(name: str, base_dir: Path | None = None) -> dict[str, list[float]]:
    """Read an rmcat bandwidth trace CSV into columns of floats (§12).

    Args:
        name: The file name; a relative one is looked up in ``base_dir``, then in the
            package's ``configs`` data.
        base_dir: The directory of the user's config file, if any.

    Returns:
        ``{"time_ms": [...], "bw_kbps": [...], "delay_ms": [...], "loss": [...]}``.

    Raises:
        ConfigError: The file is missing, unreadable or malformed
            (path ``env_config.bw_trace_file``).
    """
    where = "env_config.bw_trace_file"
    text = _find_bw_trace(name, base_dir)
    rows = [row for row in csv.reader(text.splitlines()) if row]
    if not rows or sorted(rows[0]) != sorted(BW_TRACE_COLUMNS) or len(set(rows[0])) != 4:
        header = rows[0] if rows else []
        raise ConfigError(
            where, f"{name}: header must be {','.join(BW_TRACE_COLUMNS)}, got {show(header)}"
        )
    columns: dict[str, list[float]] = {column: [] for column in rows[0]}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise ConfigError(where, f"{name}: line {line} has {len(row)} fields, expected 4")
        try:
            for column, cell in zip(rows[0], row, strict=True):
                columns[column].append(float(cell))
        except ValueError as exc:
            raise ConfigError(where, f"{name}: line {line}: {exc}") from exc
    try:
        check_bw_trace(columns, "bw_trace")
    except ConfigError as exc:
        raise ConfigError(where, f"{name}: {exc}") from exc
    return columns


def _find_bw_trace(name: str, base_dir: Path | None) -> str:
    candidates: list[Any] = []
    if Path(name).is_absolute():
        candidates.append(Path(name))
    else:
        if base_dir is not None:
            candidates.append(base_dir / name)
        candidates.append(_PACKAGE_CONFIGS.joinpath(name))
    for candidate in candidates:
        try:
            if candidate.is_file():
                # utf-8-sig: spreadsheet programs often start a CSV with a byte-order mark.
                text: str = candidate.read_text("utf-8-sig")
                return text
        except (OSError, ValueError) as exc:
            raise ConfigError("env_config.bw_trace_file", f"cannot read {name!r}: {exc}") from exc
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError("env_config.bw_trace_file", f"file {name!r} not found (looked in {looked})")
