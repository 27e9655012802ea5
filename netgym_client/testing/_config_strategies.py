"""Hypothesis strategies for configurations: valid ones, and bad input with the path to blame.

>>> from hypothesis import given
>>> @given(env_configs("nqos_split", num_users=3))
... def test_obs_shape(config):
...     assert config.num_users == 3
>>> test_obs_shape()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from netgym_client._config_schema import (
    ENV_SCHEMAS,
    GMA_ENVS,
    LEGACY_KEYS,
    LTE_RESOURCE_BLOCKS,
    MAX_CUSTOM_USERS,
    MAX_SLICE_USERS,
    MAX_SLICES,
    NS3_MAX_USERS,
    SERVER_SCHEMA,
    allowed_reward_types,
    top_level_schema,
)
from netgym_client.config import ENVIRONMENTS, NetGymConfig, default_config_dict, load_config

__all__ = ["config_overrides", "env_configs", "invalid_overrides"]

Draw = Callable[[st.SearchStrategy[Any]], Any]

#: Small episodes keep sessions built from these configs quick.
_steps = st.integers(2, 5)
_episodes = st.integers(1, 3)
_seeds = st.integers(0, 2**32 - 1)
_start_ms = st.integers(0, 5000)


def _real(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi], rounded to 3 decimals (as values in a hand-written file)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3))


def _check_env(env: str | None) -> None:
    if env is not None and env not in ENVIRONMENTS:
        raise InvalidArgument(f"env must be one of {ENVIRONMENTS} or None, got {env!r}")


@st.composite
def _split(draw: Draw, total: int) -> list[int]:
    """``total`` users over 1–8 slices (a slice may be empty)."""
    slices = draw(st.integers(1, MAX_SLICES))
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=slices - 1, max_size=slices - 1)))
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(slices)]


@st.composite
def _per_slice(draw: Draw, num_users: list[int]) -> dict[str, list[Any]]:
    n = len(num_users)

    def each(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return [draw(strategy) for _ in range(n)]

    min_rates = each(_real(0, 20))
    return {
        "num_users": num_users,
        "dedicated_rbg": each(st.integers(0, 5)),
        "prioritized_rbg": each(st.integers(0, 25)),
        "shared_rbg": each(st.integers(0, 25)),
        "packet_size_bytes": each(st.integers(64, 1500)),
        "transport_protocol": each(st.sampled_from(["udp", "tcp", "TcpBbr", "TcpCubic"])),
        "udp_poisson_arrival": each(st.booleans()),
        "min_udp_rate_per_user_mbps": min_rates,
        "max_udp_rate_per_user_mbps": [low + draw(_real(0, 20)) for low in min_rates],
        "qos_test_duration_ms": each(st.integers(100, 25000)),
        "qos_loss_target": each(_real(0, 1)),
        "qos_delay_violation_target": each(_real(0, 1)),
        "qos_delay_requirement_ms": each(st.integers(1, 1000)),
        "delay_test_1_thresh_ms": each(st.integers(1, 1000)),
        "delay_test_2_thresh_ms": each(st.integers(1, 1000)),
        "downlink_mode": each(st.sampled_from(["auto", "split", "steer"])),
        "uplink_mode": each(st.sampled_from(["auto", "split", "steer"])),
    }


def _timing(draw: Draw, step_ms: int) -> dict[str, int]:
    guard_ms = draw(st.integers(0, step_ms - 1))
    return {
        "measurement_interval_ms": step_ms - guard_ms,
        "measurement_guard_interval_ms": guard_ms,
    }


@st.composite
def config_overrides(draw: Draw, env: str, num_users: int | None = None) -> dict[str, Any]:
    """Overrides that make a valid configuration of ``env`` (the input of :func:`env_configs`)."""
    env_config: dict[str, Any] = {
        "steps_per_episode": draw(_steps),
        "episodes_per_session": draw(_episodes),
        "measurement_start_time_ms": draw(_start_ms),
    }
    if env == "custom":
        env_config["num_users"] = num_users or draw(st.integers(1, 20))
        env_config["measurement_interval_ms"] = draw(st.integers(1, 2000))
        env_config["measurement_guard_interval_ms"] = draw(st.integers(0, 100))
        if draw(st.booleans()):
            env_config["random_seed"] = draw(_seeds)
    elif env == "rmcat":
        env_config.update(
            tcp_flows=draw(st.integers(0, 2)),
            udp_flows=draw(st.integers(0, 2)),
            udp_flow_bw_kbps=draw(st.integers(1, 2000)),
            topo_default_bw_kbps=draw(st.integers(100, 5000)),
            topo_default_delay_ms=draw(st.integers(0, 100)),
        )
        if draw(st.booleans()):
            env_config["random_seed"] = draw(_seeds)
    else:
        # drawn totals stay within what ns-3 servers take; a fixed num_users may go higher
        total = num_users or draw(st.integers(1, NS3_MAX_USERS))
        step_ms = draw(st.integers(1, 1000))
        min_x, min_y = draw(st.integers(-100, 100)), draw(st.integers(-100, 100))
        min_speed = draw(_real(0, 3))
        env_config.update(
            random_seed=draw(_seeds),
            per_slice_config=draw(_per_slice(draw(_split(total)))),
            user_location_range={
                "min_x": min_x,
                "max_x": min_x + draw(st.integers(0, 300)),
                "min_y": min_y,
                "max_y": min_y + draw(st.integers(0, 300)),
                "z": draw(_real(0, 3)),
            },
            user_random_walk={
                "min_speed_m/s": min_speed,
                "max_speed_m/s": min_speed + draw(_real(0, 3)),
            },
            gma=_timing(draw, step_ms),
            wifi=_timing(draw, step_ms),
            lte={
                **_timing(draw, step_ms),
                "resource_block_num": draw(st.sampled_from(sorted(LTE_RESOURCE_BLOCKS))),
            },
        )
        if env == "nqos_split" and draw(st.booleans()):
            # without gNBs, as the ns-3 build measured in fixtures/ns3: actions (N, 2)
            env_config["nr_gnb_locations"] = []
    reward_type = draw(st.sampled_from(sorted(allowed_reward_types(env))))
    return {
        "server": {"client_id": draw(st.integers(0, 31))},
        "rl_config": {"reward_type": reward_type},
        "env_config": env_config,
    }


def env_configs(
    env: str | None = None, *, num_users: int | None = None
) -> st.SearchStrategy[NetGymConfig]:
    """Valid configurations with small episodes and varied seeds, users, rates and intervals.

    Args:
        env: One environment, or None for all of them.
        num_users: Fix the user count (custom: 1–10000; slice environments: 1–10000 in
            total, drawn ones 1–50 as ns-3 servers take; rmcat: only 1, its single NADA flow).

    Raises:
        InvalidArgument: Unknown ``env`` or a ``num_users`` the environment cannot have.
    """
    _check_env(env)
    envs = ENVIRONMENTS if env is None else (env,)
    if num_users is not None:
        for name in envs:
            high = {"custom": MAX_CUSTOM_USERS, "rmcat": 1}.get(name, MAX_SLICE_USERS)
            if not 1 <= num_users <= high:
                raise InvalidArgument(f"num_users for {name} must be in [1, {high}]")
    return st.one_of([config_overrides(name, num_users).map(_loader(name)) for name in envs])


def _loader(env: str) -> Callable[[dict[str, Any]], NetGymConfig]:
    def load(overrides: dict[str, Any]) -> NetGymConfig:
        return load_config(env, overrides)

    return load


# -- invalid input -------------------------------------------------------------------------
_Bad = st.SearchStrategy[tuple[dict[str, Any], str]]


def _nest(path: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for path ``"a.b"``."""
    head, _, rest = path.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _bad_value(path: str, values: st.SearchStrategy[Any]) -> _Bad:
    return values.map(lambda value: (_nest(path, value), path))


def _unknown_key(section: str, known: set[str]) -> _Bad:
    keys = st.text(min_size=1, max_size=12).filter(lambda k: k not in known and "." not in k)
    if section:
        return keys.map(lambda k: (_nest(section, {k: 1}), f"{section}.{k}"))
    return keys.map(lambda k: ({k: 1}, k))


_not_int = st.one_of(st.booleans(), st.text(max_size=3), _real(0.5, 9.5).filter(lambda x: x % 1))
_bad_addresses = st.sampled_from(
    ["tcp://host", "tcp://:80", "tcp://h:0", "tcp://h:70000", "http://h:80", "", "embedded "]
)


def _common_bad(env: str) -> list[_Bad]:
    top = set(top_level_schema(env))
    rewards = allowed_reward_types(env)
    return [
        _unknown_key("", top),
        _unknown_key("server", set(SERVER_SCHEMA)),
        _unknown_key("rl_config", {"agent", "reward_type"}),
        _bad_value("rl_config.reward_type", st.text(max_size=8).filter(lambda r: r not in rewards)),
        _bad_value("server.address", _bad_addresses),
        _bad_value("server.client_id", st.integers(max_value=-1)),
        _bad_value("server.step_timeout_s", _real(-10, 0)),
        _bad_value("server.connect_timeout_s", _real(-10, 0)),
        _bad_value("server.session_name", st.sampled_from(["", "a-b", "admin-0"])),
        _bad_value("session_name", st.sampled_from(["", "a-b"])),
        _bad_value("server_port", st.one_of(st.integers(max_value=0), st.integers(65536))),
        _bad_value("enable_wandb", st.sampled_from([0, 1, "yes", None])),
        _bad_value("env_config.steps_per_episode", st.one_of(st.integers(max_value=1), _not_int)),
        _bad_value(
            "env_config.episodes_per_session", st.one_of(st.integers(max_value=0), _not_int)
        ),
        _bad_value("env_config.measurement_start_time_ms", st.integers(max_value=-1)),
        _bad_value("env_config.random_seed", st.one_of(st.integers(max_value=-1), _not_int)),
        _bad_value("env_config.type", st.text(max_size=10).filter(lambda t: t != "env-start")),
        _bad_value("env_config.env", st.sampled_from([e for e in ENVIRONMENTS if e != env])),
    ]


def _slice_list_bad(env: str) -> list[_Bad]:
    per_slice: dict[str, list[Any]] = default_config_dict(env)["env_config"]["per_slice_config"]
    slices = len(per_slice["num_users"])
    base = "env_config.per_slice_config"

    def item(key: str, values: st.SearchStrategy[Any]) -> _Bad:
        @st.composite
        def build(draw: Draw) -> tuple[dict[str, Any], str]:
            i = draw(st.integers(0, slices - 1))
            entries = list(per_slice[key])
            entries[i] = draw(values)
            return _nest(f"{base}.{key}", entries), f"{base}.{key}[{i}]"

        return build()

    @st.composite
    def wrong_length(draw: Draw) -> tuple[dict[str, Any], str]:
        key = draw(st.sampled_from([k for k in per_slice if k != "num_users"]))
        size = draw(st.integers(0, MAX_SLICES).filter(lambda s: s != slices))
        return _nest(f"{base}.{key}", [per_slice[key][0]] * size), f"{base}.{key}"

    @st.composite
    def rate_order(draw: Draw) -> tuple[dict[str, Any], str]:
        i = draw(st.integers(0, slices - 1))
        low = list(per_slice["min_udp_rate_per_user_mbps"])
        low[i] = per_slice["max_udp_rate_per_user_mbps"][i] + draw(_real(0.5, 10))
        key = "max_udp_rate_per_user_mbps"
        return _nest(f"{base}.min_udp_rate_per_user_mbps", low), f"{base}.{key}[{i}]"

    # No users at all, or more than MAX_SLICE_USERS in total (each slice within its range).
    users = st.just([0] * slices)
    if slices > 1:
        each = st.integers(MAX_SLICE_USERS // slices + 1, MAX_SLICE_USERS)
        users |= st.lists(each, min_size=slices, max_size=slices)
    return [
        wrong_length(),
        rate_order(),
        _bad_value(f"{base}.num_users", users),
        item("qos_test_duration_ms", st.one_of(st.integers(max_value=99), st.integers(25001))),
        item("qos_loss_target", st.one_of(_real(-5, -0.001), _real(1.001, 5))),
        item("qos_delay_violation_target", _real(1.001, 5)),
        item("transport_protocol", st.sampled_from(["UDP", "Tcp", "quic", "tcpbbr", ""])),
        item("downlink_mode", st.sampled_from(["Auto", "mix", ""])),
        item("uplink_mode", st.sampled_from(["STEER", "none"])),
        item("prioritized_rbg", st.integers(max_value=-1)),
        item("num_users", st.integers(MAX_SLICE_USERS + 1)),
        item("min_udp_rate_per_user_mbps", _real(-10, -0.001)),
        item("udp_poisson_arrival", st.sampled_from([0, 1, "false"])),
    ]


def _gma_bad(env: str) -> list[_Bad]:
    defaults = default_config_dict(env)["env_config"]
    schema, _ = ENV_SCHEMAS[env]
    sections = [k for k, v in defaults.items() if isinstance(v, dict)]
    sums = ["gma", "wifi", "lte"]
    mismatch = st.tuples(st.sampled_from(sums), st.integers(1, 10**6)).filter(
        lambda t: t[1] != defaults[t[0]]["measurement_interval_ms"]
    )
    return [
        _unknown_key("env_config", set(schema)),
        *[_unknown_key(f"env_config.{s}", set(defaults[s])) for s in sections],
        st.sampled_from(sorted(LEGACY_KEYS)).map(
            lambda k: ({"env_config": {k: 1}}, f"env_config.{k}")
        ),
        *[
            _bad_value(f"env_config.{s}.measurement_interval_ms", st.integers(max_value=0))
            for s in sums
        ],
        *[
            _bad_value(f"env_config.{s}.measurement_guard_interval_ms", st.integers(max_value=-1))
            for s in sums
        ],
        # A gma change is reported at the first section that disagrees with gma: wifi.
        mismatch.map(
            lambda t: (
                _nest(f"env_config.{t[0]}.measurement_interval_ms", t[1]),
                f"env_config.{'wifi' if t[0] == 'gma' else t[0]}.measurement_interval_ms",
            )
        ),
        _bad_value(
            "env_config.lte.resource_block_num",
            st.one_of(
                st.integers(-5, 200).filter(lambda n: n not in LTE_RESOURCE_BLOCKS), _not_int
            ),
        ),
        _bad_value("env_config.gma.mx_algorithm", st.sampled_from(["GMA", "gma3", ""])),
        _bad_value("env_config.user_random_walk.max_speed_m/s", _real(-5, 0.999)),
        _bad_value("env_config.user_random_walk.distance_m", _real(-5, 0)),
        _bad_value("env_config.user_location_range.max_x", _real(-500, -0.001)),
        _bad_value("env_config.user_location_range.max_y", _real(-500, -0.001)),
        _bad_value("env_config.lte_enb_locations.z", _real(-50, -0.001)),
        _bad_value("env_config.wifi.ap_share_same_band", st.sampled_from([0, "no", None])),
        _bad_value(
            "env_config.num_users",
            st.integers(0, 60).filter(
                lambda n: n != sum(defaults["per_slice_config"]["num_users"])
            ),
        ),
        _bad_value(
            "env_config.measurement_interval_ms",
            st.integers(1, 10**6).filter(lambda n: n != defaults["gma"]["measurement_interval_ms"]),
        ),
        _bad_value("env_config.subscribed_network_stats", st.sampled_from(["gma::x", {}, None])),
        _bad_value(
            "env_config.subscribed_network_stats", st.sampled_from([["rate"], [1], ["a::"]])
        ).map(lambda case: (case[0], case[1] + "[0]")),
        *_slice_list_bad(env),
    ]


def _custom_bad() -> list[_Bad]:
    end_ms = load_config("custom").env_end_time_ms
    return [
        _bad_value(
            "env_config.num_users",
            st.one_of(st.integers(max_value=0), st.integers(MAX_CUSTOM_USERS + 1), _not_int),
        ),
        _bad_value("env_config.measurement_interval_ms", st.integers(max_value=0)),
        _bad_value("env_config.measurement_guard_interval_ms", st.integers(max_value=-1)),
        _bad_value(
            "env_config.env_end_time_ms", st.integers(0, 10**6).filter(lambda n: n != end_ms)
        ),
        # Free-form keys are accepted, but must be sendable as JSON.
        st.text(min_size=1, max_size=8)
        .filter(lambda k: k not in ENV_SCHEMAS["custom"][0] and "." not in k)
        .map(lambda k: ({"env_config": {k: [float("nan")]}}, f"env_config.{k}[0]")),
    ]


def _rmcat_bad() -> list[_Bad]:
    schema, _ = ENV_SCHEMAS["rmcat"]
    return [
        _unknown_key("env_config", set(schema)),
        _bad_value("env_config.nada_flows", st.integers().filter(lambda n: n != 1)),
        _bad_value("env_config.measurement_interval_ms", st.integers().filter(lambda n: n != 100)),
        _bad_value("env_config.tcp_flows", st.one_of(st.integers(max_value=-1), _not_int)),
        _bad_value("env_config.topo_default_bw_kbps", _real(-100, 0)),
        _bad_value("env_config.bw_trace_file", st.sampled_from(["no_such_trace.csv", ""])),
        _bad_value("env_config.measurement_guard_interval_ms", st.integers(0, 10)),
        st.integers(0, 3).map(
            lambda i: (
                {
                    "env_config": {
                        "bw_trace": {
                            "time_ms": [0, 1, 2, 3],
                            "bw_kbps": [1, 1, 1, 1],
                            "delay_ms": [0, 0, 0, 0],
                            "loss": [0.0] * i + [1.5] + [0.0] * (3 - i),
                        }
                    }
                },
                f"env_config.bw_trace.loss[{i}]",
            )
        ),
    ]


def invalid_overrides(env: str) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """Overrides with exactly one problem, paired with the dotted path the error must name.

    ``load_config(env, overrides)`` raises :class:`~netgym_client.errors.ConfigError` whose
    ``path`` is the paired path.
    """
    _check_env(env)
    cases = _common_bad(env)
    if env in GMA_ENVS:
        cases += _gma_bad(env)
    elif env == "custom":
        cases += _custom_bad()
    else:
        cases += _rmcat_bad()
    return st.one_of(cases)
