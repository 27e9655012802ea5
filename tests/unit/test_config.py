"""Configuration: shipped defaults (PROTOCOL.md §7–§14), layering, derivation, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netgym_client import config as config_module
from netgym_client.config import (
    ENVIRONMENTS,
    EXTRA_REWARD_TYPES,
    ServerConfig,
    default_config_dict,
    load_config,
)
from netgym_client.errors import ConfigError

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
CONFIGS = Path(config_module.__file__).parent / "configs"


def error_of(env: str, overrides: Any = None, path: Any = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(env, overrides, path)
    return info.value


# fmt: off
# -- expected values, written from PROTOCOL.md ---------------------------------------------
def gma_subscriptions(links: tuple[str, ...]) -> set[str]:
    """§9's subscription grammar for the given links (nqos_split: wifi, lte, nr)."""
    names = {"wifi::dl::max_rate", "wifi::ul::max_rate", "wifi::cell_id"}
    names |= {f"lte::{n}" for n in ("dl::max_rate", "cell_id", "slice_id", "dl::rb_usage")}
    names |= {"lte::dl::cell::max_rate", "lte::dl::cell::rb_usage", "gma::x_loc", "gma::y_loc"}
    if "nr" in links:
        names.add("nr::cell_id")
    for d in ("dl", "ul"):
        for n in ("missed_action", "measurement_ok", "tx_rate", "delay_violation"):
            names.add(f"gma::{d}::{n}")
        names |= {f"gma::{d}::delay_test_1_violation", f"gma::{d}::delay_test_2_violation"}
        for metric in ("rate", "qos_rate", "owd", "max_owd"):
            names.add(f"gma::{d}::{metric}")
            names |= {f"gma::{link}::{d}::{metric}" for link in links}
        for link in links:
            names |= {
                f"gma::{link}::{d}::{m}" for m in ("priority", "traffic_ratio", "split_ratio")
            }
    return names


def slicing_subscriptions() -> set[str]:
    """§11's list."""
    names = {"lte::dl::max_rate", "lte::cell_id", "lte::slice_id", "lte::dl::rb_usage"}
    names |= {"lte::dl::cell::max_rate", "lte::dl::cell::rb_usage", "gma::x_loc", "gma::y_loc"}
    per_d = [
        "missed_action", "measurement_ok", "tx_rate", "cell::tx_rate", "delay_violation",
        "delay_test_1_violation", "delay_test_2_violation", "cell::delay_violation", "rate",
        "lte::D::rate", "cell::rate", "qos_rate", "lte::D::qos_rate", "cell::qos_rate", "owd",
        "lte::D::owd", "max_owd", "lte::D::max_owd", "lte::D::priority",
        "lte::D::traffic_ratio", "lte::D::split_ratio",
    ]
    for d in ("dl", "ul"):
        for name in per_d:
            names.add("gma::" + (name.replace("D", d) if "::D::" in name else f"{d}::{name}"))
    return names


RANDOM_WALK = {"min_speed_m/s": 1, "max_speed_m/s": 2, "min_direction_gradients": 0.0,
               "max_direction_gradients": 6.283184, "distance_m": 3}


# -- shipped defaults ----------------------------------------------------------------------
def test_environment_names() -> None:
    assert ENVIRONMENTS == ("custom", "nqos_split", "qos_steer", "network_slicing", "rmcat")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_common_keys_mirror_the_original(env: str) -> None:
    config = load_config(env)
    assert config.extra == {
        "connect_via_server_ip_and_server_port": False, "server_ip": "gmasim-v01.jf.intel.com",
        "server_port": 8092, "local_fowarded_port": 8092, "session_name": "admin",
        "session_key": "admin", "enable_wandb": False, "enable_terminal_redering": True,
    }
    assert config.server == ServerConfig()
    assert (config.server.address, config.server.identity) == ("embedded", "admin-0")
    assert (config.server.step_timeout_s, config.server.embedded_step_timeout_s) == (60.0, 10.0)
    assert config.server.connect_timeout_s == 5.0


@pytest.mark.parametrize(("env", "reward_type"), [
    ("custom", "measurement_mean"), ("nqos_split", "utility"),
    ("qos_steer", "wifi_qos_user_num"), ("network_slicing", "slice_utility"),
    ("rmcat", "delay_aware_throughput"),
])
def test_rl_config(env: str, reward_type: str) -> None:
    assert load_config(env).rl_config == {"agent": "", "reward_type": reward_type}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_wire_form_starts_with_type_and_names_env(env: str) -> None:
    env_config = load_config(env).env_config
    assert next(iter(env_config)) == "type"
    assert env_config["type"] == "env-start"
    assert env_config["env"] == env
    json.dumps(env_config, allow_nan=False)  # sendable as strict JSON


def test_custom_defaults_and_derived_keys() -> None:
    assert load_config("custom").env_config == {
        "type": "env-start", "steps_per_episode": 10, "episodes_per_session": 2, "num_users": 5,
        "measurement_start_time_ms": 1000, "measurement_interval_ms": 1000,
        "measurement_guard_interval_ms": 0, "env": "custom",
        "env_end_time_ms": 1000 + 1000 * (10 * 2 + 1),
    }


def test_custom_env_start_matches_the_real_capture() -> None:
    capture = json.loads((CAPTURES / "02_client-to-server_env-start.json").read_text())
    overrides = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 2, "num_users": 3}}
    env_config = load_config("custom", overrides).env_config
    assert env_config == capture["payload"]
    assert list(env_config) == list(json.loads(capture["payload_raw"]))  # same key order


def test_nqos_split_defaults() -> None:
    config = load_config("nqos_split")
    ec = config.env_config
    assert len(ec["subscribed_network_stats"]) == 74
    assert set(ec["subscribed_network_stats"]) == gma_subscriptions(("wifi", "lte", "nr"))
    scalars = {"steps_per_episode": 10, "episodes_per_session": 100, "random_seed": 30,
               "downlink_traffic": True, "max_wait_time_for_action_ms": 100000,
               "measurement_start_time_ms": 1000}
    assert {k: ec[k] for k in scalars} == scalars
    assert ec["lte_enb_locations"] == {"x": 150, "y": 50, "z": 15}
    assert ec["nr_gnb_locations"] == [{"x": 50, "y": 50, "z": 15}, {"x": 250, "y": 50, "z": 15}]
    aps = {(ap["x"], ap["y"], ap["z"]) for ap in ec["wifi_ap_locations"]}
    assert len(ec["wifi_ap_locations"]) == 8
    assert aps == {(x, y, 3) for x in (0, 100, 200, 300) for y in (25, 75)}
    assert ec["per_slice_config"] == {
        "num_users": [1, 4], "dedicated_rbg": [0, 0], "prioritized_rbg": [0, 0],
        "shared_rbg": [25, 25], "packet_size_bytes": [1400, 1400],
        "transport_protocol": ["udp", "TcpBbr"], "udp_poisson_arrival": [False, False],
        "min_udp_rate_per_user_mbps": [2, 2], "max_udp_rate_per_user_mbps": [2, 2],
        "qos_test_duration_ms": [500, 500], "qos_loss_target": [0.01, 1.0],
        "qos_delay_violation_target": [0.01, 0.01], "qos_delay_requirement_ms": [10, 1000000],
        "delay_test_1_thresh_ms": [1000000, 1000000],
        "delay_test_2_thresh_ms": [1000000, 1000000],
        "downlink_mode": ["auto", "auto"], "uplink_mode": ["auto", "auto"],
    }
    assert ec["user_random_walk"] == RANDOM_WALK
    assert ec["user_location_range"] == {"min_x": 0, "max_x": 300, "min_y": 0, "max_y": 100,
                                         "z": 1.5}
    timing = {"measurement_interval_ms": 100, "measurement_guard_interval_ms": 0}
    assert ec["gma"] == {"mx_algorithm": "gma", "enable_dynamic_flow_prioritization": False,
                         **timing}
    assert ec["wifi"] == {"backhaul_delay_ms": 0, "ap_share_same_band": False,
                          "enable_rx_signal_based_handover": True, **timing}
    assert ec["nr"] == {"backhaul_delay_ms": 0}
    assert ec["lte"] == {"backhaul_delay_ms": 0, "resource_block_num": 50, **timing}
    # Derived (§9): 1 + 4 users, the gma interval on top, 1000 + 100 * (10 * 100 + 1).
    assert ec["num_users"] == 5
    assert (ec["measurement_interval_ms"], ec["measurement_guard_interval_ms"]) == (100, 0)
    assert ec["env_end_time_ms"] == 101100
    assert (config.num_users, config.step_ms, config.seed) == (5, 100, 30)


def test_qos_steer_defaults_in_current_layout() -> None:
    ec = load_config("qos_steer").env_config
    assert len(ec["subscribed_network_stats"]) == 59
    assert set(ec["subscribed_network_stats"]) == gma_subscriptions(("wifi", "lte"))
    assert not any("nr::" in name for name in ec["subscribed_network_stats"])
    assert (ec["steps_per_episode"], ec["episodes_per_session"], ec["random_seed"]) == (10, 1, 2)
    assert (ec["downlink_traffic"], ec["max_wait_time_for_action_ms"]) == (True, -1)
    assert ec["lte_enb_locations"] == {"x": 40, "y": 0, "z": 3}
    assert ec["wifi_ap_locations"] == [{"x": 40, "y": 0, "z": 3}]
    assert ec["nr_gnb_locations"] == []
    assert ec["user_random_walk"] == RANDOM_WALK
    assert ec["user_location_range"] == {"min_x": 0, "max_x": 80, "min_y": 0, "max_y": 10, "z": 1.5}
    psc = ec["per_slice_config"]
    assert (psc["num_users"], psc["transport_protocol"], psc["udp_poisson_arrival"]) == (
        [8], ["udp"], [False])
    assert (psc["min_udp_rate_per_user_mbps"], psc["max_udp_rate_per_user_mbps"]) == ([2], [3])
    # The old qos_requirement: duration 500, bound 100, tests 200/400, targets 0.02 / 0.001.
    assert (psc["qos_test_duration_ms"], psc["qos_delay_requirement_ms"]) == ([500], [100])
    assert (psc["delay_test_1_thresh_ms"], psc["delay_test_2_thresh_ms"]) == ([200], [400])
    assert (psc["qos_delay_violation_target"], psc["qos_loss_target"]) == ([0.02], [0.001])
    assert (psc["downlink_mode"], psc["uplink_mode"]) == (["auto"], ["auto"])
    assert all(len(v) == 1 for v in psc.values())
    assert ec["gma"]["enable_dynamic_flow_prioritization"] is False
    assert ec["wifi"]["ap_share_same_band"] is False
    assert ec["wifi"]["enable_rx_signal_based_handover"] is False
    assert ec["lte"]["resource_block_num"] == 25
    for section in ("gma", "wifi", "lte"):
        assert ec[section]["measurement_interval_ms"] == 1000
        assert ec[section]["measurement_guard_interval_ms"] == 0
    # Derived: 8 users, 1 s steps, 1000 + 1000 * (10 * 1 + 1) = 12000 (§7.2).
    assert (ec["num_users"], ec["measurement_interval_ms"], ec["env_end_time_ms"]) == (
        8, 1000, 12000)
    assert ec["measurement_guard_interval_ms"] == 0


def test_network_slicing_defaults_in_current_layout() -> None:
    ec = load_config("network_slicing").env_config
    assert len(ec["subscribed_network_stats"]) == 50
    assert set(ec["subscribed_network_stats"]) == slicing_subscriptions()
    assert (ec["steps_per_episode"], ec["episodes_per_session"], ec["random_seed"]) == (10, 5, 2)
    assert (ec["downlink_traffic"], ec["max_wait_time_for_action_ms"]) == (True, -1)
    assert ec["lte_enb_locations"] == {"x": 40, "y": 0, "z": 3}
    assert ec["wifi_ap_locations"] == []
    assert ec["user_random_walk"] == RANDOM_WALK
    assert ec["user_location_range"] == {"min_x": 0, "max_x": 80, "min_y": 0, "max_y": 10, "z": 1.5}
    psc = ec["per_slice_config"]
    assert psc["num_users"] == [2, 3]
    assert (psc["dedicated_rbg"], psc["prioritized_rbg"], psc["shared_rbg"]) == (
        [0, 0], [13, 12], [25, 25])
    assert psc["transport_protocol"] == ["udp", "udp"]
    assert (psc["min_udp_rate_per_user_mbps"], psc["max_udp_rate_per_user_mbps"]) == (
        [2, 2], [2, 2])
    assert psc["qos_delay_requirement_ms"] == [100, 100]
    assert (psc["delay_test_1_thresh_ms"], psc["delay_test_2_thresh_ms"]) == (
        [200, 200], [400, 400])
    assert all(len(v) == 2 for v in psc.values())
    assert ec["lte"]["resource_block_num"] == 100
    for section in ("gma", "wifi", "lte"):
        assert ec[section]["measurement_interval_ms"] == 100
    # Derived: 2 + 3 users, 1000 + 100 * (10 * 5 + 1) = 6100 (§7.2).
    assert (ec["num_users"], ec["measurement_interval_ms"], ec["env_end_time_ms"]) == (5, 100, 6100)


def test_rmcat_defaults_and_bw_trace() -> None:
    config = load_config("rmcat")
    ec = config.env_config
    names = ("loglen", "qdel", "rtt", "ploss", "plr", "xcurr", "rrate", "srate", "nada_srate")
    assert ec["subscribed_network_stats"] == [f"rmcat::{n}" for n in (*names, "avgint", "curint")]
    expected = {
        "steps_per_episode": 100, "episodes_per_session": 10, "nada_flows": 1,
        "nada_flow_start_time_diff_ms": 1, "tcp_flows": 0, "tcp_flow_start_time_diff_ms": 50000,
        "udp_flows": 0, "udp_flow_bw_kbps": 100, "upd_flow_start_time_diff_ms": 50000,
        "measurement_start_time_ms": 1000, "measurement_interval_ms": 100,
        "topo_default_bw_kbps": 1000, "topo_default_delay_ms": 10, "bw_trace_file": "bw_trace.csv",
    }
    assert {k: ec[k] for k in expected} == expected
    assert not {"num_users", "measurement_guard_interval_ms", "random_seed"} & set(ec)
    assert ec["env_end_time_ms"] == 101100
    assert ec["bw_trace"] == {
        "time_ms": [0.0, 10000.0, 50000.0, 70000.0], "bw_kbps": [1000.0, 2000.0, 500.0, 1000.0],
        "delay_ms": [10.0, 10.0, 10.0, 10.0], "loss": [0.0, 0.0, 0.0, 0.0],
    }
    assert all(isinstance(v, float) for column in ec["bw_trace"].values() for v in column)
    assert (config.num_users, config.step_ms, config.seed) == (1, 100, None)


def test_bw_trace_file_is_the_documented_one() -> None:
    data = (CONFIGS / "bw_trace.csv").read_bytes()
    assert len(data) == 96
    assert data == (b"time_ms,bw_kbps,delay_ms,loss\n0,1000,10,0.0\n10000,2000,10,0.0\n"
                    b"50000,500,10,0.0\n70000,1000,10,0.0")


@pytest.mark.parametrize(("env", "count"), [
    ("nqos_split", 74), ("qos_steer", 59), ("network_slicing", 50), ("rmcat", 11),
])
def test_subscription_counts(env: str, count: int) -> None:
    names = load_config(env).env_config["subscribed_network_stats"]
    assert len(names) == len(set(names)) == count


@pytest.mark.parametrize(("env", "end_ms", "users"), [
    ("custom", 22000, 5), ("nqos_split", 101100, 5), ("qos_steer", 12000, 8),
    ("network_slicing", 6100, 5), ("rmcat", 101100, 1),
])
def test_convenience_properties(env: str, end_ms: int, users: int) -> None:
    config = load_config(env)
    assert (config.env_end_time_ms, config.num_users) == (end_ms, users)
    assert config.measurement_start_time_ms == 1000
    assert config.env_end_time_ms == config.measurement_start_time_ms + config.step_ms * (
        config.steps_per_episode * config.episodes_per_session + 1)


def _psc(env: str) -> dict[str, list[Any]]:
    per_slice: dict[str, list[Any]] = default_config_dict(env)["env_config"]["per_slice_config"]
    return per_slice


def test_derivation_follows_changes() -> None:
    config = load_config("nqos_split", {"env_config": {
        "steps_per_episode": 4, "episodes_per_session": 3, "measurement_start_time_ms": 500,
        "gma": {"measurement_interval_ms": 40, "measurement_guard_interval_ms": 10},
        "wifi": {"measurement_interval_ms": 50, "measurement_guard_interval_ms": 0},
        "lte": {"measurement_interval_ms": 30, "measurement_guard_interval_ms": 20},
        "per_slice_config": {k: [v[0]] * 3 for k, v in _psc("nqos_split").items()},
    }})
    ec = config.env_config
    assert (ec["measurement_interval_ms"], ec["measurement_guard_interval_ms"]) == (40, 10)
    assert ec["env_end_time_ms"] == 500 + 50 * (4 * 3 + 1)
    assert (ec["num_users"], config.step_ms) == (3, 50)


def test_custom_guard_is_optional_in_the_step() -> None:
    config = load_config("custom", {"env_config": {"measurement_guard_interval_ms": 250}})
    assert (config.step_ms, config.env_end_time_ms) == (1250, 1000 + 1250 * (10 * 2 + 1))


# -- merge and layering --------------------------------------------------------------------
def test_default_config_dict_is_a_fresh_copy() -> None:
    first = default_config_dict("nqos_split")
    first["env_config"]["per_slice_config"]["num_users"].append(7)
    first["server"]["address"] = "tcp://x:1"
    second = default_config_dict("nqos_split")
    assert second["env_config"]["per_slice_config"]["num_users"] == [1, 4]
    assert second["server"]["address"] == "embedded"
    assert load_config("nqos_split").num_users == 5


def test_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"env_config": {"num_users": 7, "steps_per_episode": 4}}))
    config = load_config("custom", {"env_config": {"steps_per_episode": 3}}, path)
    assert (config.num_users, config.steps_per_episode, config.episodes_per_session) == (7, 3, 2)


def test_original_common_config_drops_in(tmp_path: Path) -> None:
    original = {
        "connect_via_server_ip_and_server_port": False, "server_ip": "10.0.0.5",
        "server_port": 8088, "local_fowarded_port": 8092, "session_name": "test",
        "session_key": "secret", "enable_wandb": True, "enable_terminal_redering": False,
    }
    path = tmp_path / "common_config.json"
    path.write_text(json.dumps(original))
    config = load_config("custom", path=path)
    assert config.extra == original
    assert (config.server.session_name, config.server.session_key) == ("test", "secret")
    assert config.server.identity == "test-0"
    assert config.server.address == "embedded"  # not asked to dial


def test_connect_via_server_ip_sets_the_address() -> None:
    on = {"connect_via_server_ip_and_server_port": True, "server_ip": "10.1.2.3"}
    assert load_config("custom", on).server.address == "tcp://10.1.2.3:8092"
    v6 = {**on, "server_ip": "::1", "server_port": 9000}
    assert load_config("custom", v6).server.address == "tcp://[::1]:9000"
    given = {**on, "server": "tcp://other:1234"}
    assert load_config("custom", given).server.address == "tcp://other:1234"


def test_server_shorthand_and_credentials() -> None:
    config = load_config("custom", {"server": "tcp://127.0.0.1:8088"})
    assert config.server.address == "tcp://127.0.0.1:8088"
    assert config.server.session_name == "admin"  # the rest of the section is kept
    config = load_config("custom", {"server": {"session_name": "alice", "client_id": 3},
                                    "session_key": "pw"})
    assert config.server.identity == "alice-3"
    assert config.server.session_key == "pw"
    assert (config.extra["session_name"], config.extra["session_key"]) == ("alice", "pw")
    both = {"server": {"session_name": "alice"}, "session_name": "bob"}
    assert load_config("custom", both).server.session_name == "bob"  # top level wins


def test_server_string_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"server": "ipc:///tmp/netgym.sock"}')
    assert load_config("custom", path=path).server.address == "ipc:///tmp/netgym.sock"


def test_to_dict_round_trip_and_copies() -> None:
    for env in ENVIRONMENTS:
        config = load_config(env)
        nested = config.to_dict()
        assert set(nested) >= {"server", "rl_config", "env_config", "enable_wandb"}
        assert load_config(env, overrides=nested) == config
        nested["env_config"]["steps_per_episode"] = 99
        assert config.env_config["steps_per_episode"] != 99


def test_custom_env_config_is_free_form() -> None:
    extra = {"my_knob": {"a": [1, 2.5, None, "x"]}, "flag": True}
    env_config = load_config("custom", {"env_config": extra}).env_config
    assert env_config["my_knob"] == extra["my_knob"]
    assert env_config["flag"] is True


# -- rmcat bandwidth traces ----------------------------------------------------------------
def test_bw_trace_next_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "bw_trace.csv").write_text("time_ms,bw_kbps,delay_ms,loss\n0,300,5,0.01\n")
    (tmp_path / "mine.json").write_text("{}")
    trace = load_config("rmcat", path=tmp_path / "mine.json").env_config["bw_trace"]
    assert trace == {"time_ms": [0.0], "bw_kbps": [300.0], "delay_ms": [5.0], "loss": [0.01]}
    # Without a config file the package's own trace is used.
    assert load_config("rmcat").env_config["bw_trace"]["bw_kbps"] == [1000.0, 2000.0, 500.0, 1000.0]


def test_bw_trace_absolute_path(tmp_path: Path) -> None:
    trace_path = tmp_path / "t.csv"
    trace_path.write_text("\ufeffloss,time_ms,bw_kbps,delay_ms\r\n0.5,0,10,1\r\n0,20,30,2\r\n")
    ec = load_config("rmcat", {"env_config": {"bw_trace_file": str(trace_path)}}).env_config
    assert ec["bw_trace"] == {"loss": [0.5, 0.0], "time_ms": [0.0, 20.0],
                              "bw_kbps": [10.0, 30.0], "delay_ms": [1.0, 2.0]}
    assert ec["bw_trace_file"] == str(trace_path)


HEADER = "time_ms,bw_kbps,delay_ms,loss\n"


@pytest.mark.parametrize("content", [
    "", "time_ms,bw_kbps,delay_ms\n0,1,1\n", HEADER, HEADER + "0,1,1\n", HEADER + "0,1,x,0\n",
    HEADER + "0,1,1,0\n0,1,1,0\n", HEADER + "0,0,1,0\n", HEADER + "0,1,1,nan\n",
    "time_ms,time_ms,delay_ms,loss\n0,1,1,0\n",
])
def test_bad_bw_trace_files(tmp_path: Path, content: str) -> None:
    (tmp_path / "t.csv").write_text(content)
    (tmp_path / "c.json").write_text('{"env_config": {"bw_trace_file": "t.csv"}}')
    error = error_of("rmcat", path=tmp_path / "c.json")
    assert error.path == "env_config.bw_trace_file"
    assert "t.csv" in error.problem


def test_missing_bw_trace_file() -> None:
    error = error_of("rmcat", {"env_config": {"bw_trace_file": "absent.csv"}})
    assert error.path == "env_config.bw_trace_file"
    assert "not found" in error.problem


def test_explicit_bw_trace_is_sent_as_floats() -> None:
    trace: dict[str, list[float]] = {
        "time_ms": [0, 5], "bw_kbps": [100, 200], "delay_ms": [1, 2], "loss": [0, 0.5]}
    ec = load_config("rmcat", {"env_config": {"bw_trace": trace}}).env_config
    assert ec["bw_trace"] == {k: [float(v) for v in vs] for k, vs in trace.items()}
    assert all(isinstance(v, float) for column in ec["bw_trace"].values() for v in column)


# -- errors --------------------------------------------------------------------------------
def test_error_message_format() -> None:
    error = error_of("nqos_split", {"env_config": {"steps_per_episode": 1}})
    assert str(error) == "env_config.steps_per_episode: must be >= 2, got 1"
    assert (error.path, error.problem) == ("env_config.steps_per_episode", "must be >= 2, got 1")
    assert isinstance(error, ValueError)


E, P = "env_config", "env_config.per_slice_config"
W, A = "env_config.user_random_walk", "env_config.user_location_range"


def nest(path: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for the dotted path ``"a.b"``."""
    head, _, rest = path.partition(".")
    return {head: nest(rest, value) if rest else value}


@pytest.mark.parametrize(("env", "key", "suggestion"), [
        ("nqos_split", f"{E}.num_user", "num_users"),
        ("custom", "rl_config.reward_typ", "reward_type"),
        ("custom", "env_conifg", "env_config"),
        ("custom", "server.adress", "address"),
        ("custom", "enable_terminal_rendering", "enable_terminal_redering"),
        ("rmcat", f"{E}.udp_flow_start_time_diff_ms", "upd_flow_start_time_diff_ms"),
        ("qos_steer", f"{E}.gma.measurement_intervall_ms", "measurement_interval_ms"),
        ("qos_steer", f"{P}.Num_Users", "num_users"),
])
def test_unknown_keys_suggest_the_closest(env: str, key: str, suggestion: str) -> None:
    error = error_of(env, nest(key, 1))
    assert error.path == key
    assert f"did you mean {suggestion!r}?" in error.problem


def test_unknown_key_without_a_close_match_lists_the_known_keys() -> None:
    error = error_of("custom", {"rl_config": {"zzzzzz": 1}})
    assert error.path == "rl_config.zzzzzz"
    assert "agent" in error.problem and "reward_type" in error.problem


@pytest.mark.parametrize(("key", "current"), [
    ("GMA", "gma"), ("Wi-Fi", "wifi"), ("LTE", "lte"), ("enb_locations", "lte_enb_locations"),
    ("ap_locations", "wifi_ap_locations"), ("slice_list", "per_slice_config"),
    ("qos_requirement", "per_slice_config"),
    ("transport_protocol", "per_slice_config.transport_protocol"),
])
@pytest.mark.parametrize("env", ["nqos_split", "qos_steer", "network_slicing"])
def test_old_layout_keys_are_rejected(env: str, key: str, current: str) -> None:
    error = error_of(env, {"env_config": {key: {}}})
    assert error.path == f"env_config.{key}"
    assert f"did you mean {current!r}?" in error.problem


def test_the_old_qos_steer_file_is_rejected() -> None:
    old = {"env_config": {"enb_locations": {"x": 40, "y": 0, "z": 3},
                          "GMA": {"downlink_mode": "auto", "measurement_interval_ms": 1000}}}
    assert error_of("qos_steer", old).path == "env_config.enb_locations"  # the first one


def test_per_slice_lists_of_unequal_length() -> None:
    error = error_of("nqos_split", {"env_config": {"per_slice_config": {"shared_rbg": [25]}}})
    assert error.path == "env_config.per_slice_config.shared_rbg"
    assert "1 entries" in error.problem and "num_users has 2" in error.problem


def test_interval_sums_must_agree() -> None:
    overrides = {"env_config": {"lte": {"measurement_guard_interval_ms": 5}}}
    error = error_of("network_slicing", overrides)
    assert error.path == "env_config.lte.measurement_interval_ms"
    for section, ms in (("gma", 100), ("wifi", 100), ("lte", 105)):
        assert f"env_config.{section}: {ms} ms" in error.problem
    # Different split, same sum: accepted.
    same = {
        "env_config": {"lte": {"measurement_interval_ms": 60, "measurement_guard_interval_ms": 40}}
    }
    assert load_config("network_slicing", same).step_ms == 100


def psc_of(env: str, slices: int) -> dict[str, list[Any]]:
    """A per_slice_config of ``slices`` copies of the default's first slice."""
    return {key: [values[0]] * slices for key, values in _psc(env).items()}


TRACE = {"time_ms": [0, 0], "bw_kbps": [1, 1], "delay_ms": [0, 0], "loss": [0, 0]}


@pytest.mark.parametrize(
    ("env", "key", "value", "path"),
    [  # path None: the error names the key itself; "[...": the key plus this suffix
        ("custom", f"{E}.steps_per_episode", True, None),
        ("custom", f"{E}.steps_per_episode", 2.0, None),
        ("custom", f"{E}.episodes_per_session", 0, None),
        ("custom", f"{E}.measurement_interval_ms", 0, None),
        ("custom", f"{E}.measurement_guard_interval_ms", -1, None),
        ("custom", f"{E}.num_users", 0, None),
        ("custom", f"{E}.type", "env-action", None),
        ("custom", f"{E}.env", "rmcat", None),
        ("custom", f"{E}.env_end_time_ms", 5, None),
        ("custom", E, "x", None),
        ("custom", "rl_config.agent", 3, None),
        ("nqos_split", f"{E}.gma.measurement_interval_ms", 0, None),
        ("nqos_split", f"{E}.wifi.measurement_guard_interval_ms", -2, None),
        ("nqos_split", f"{W}.min_speed_m/s", -1, None),
        ("nqos_split", f"{W}.min_speed_m/s", 3, f"{W}.max_speed_m/s"),
        ("nqos_split", f"{W}.max_direction_gradients", -1, None),
        ("nqos_split", f"{A}.min_x", 301, f"{A}.max_x"),
        ("nqos_split", f"{A}.max_y", -1, None),
        ("nqos_split", f"{E}.lte.resource_block_num", 40, None),
        ("nqos_split", f"{E}.gma.mx_algorithm", "gma3", None),
        ("nqos_split", f"{E}.wifi_ap_locations", [{"x": 0, "y": 0}], "[0].z"),
        ("nqos_split", f"{E}.lte_enb_locations", [{"x": 0, "y": 0, "z": 1}], None),
        ("nqos_split", f"{E}.num_users", 4, None),
        ("nqos_split", f"{E}.measurement_interval_ms", 200, None),
        ("nqos_split", f"{E}.random_seed", -1, None),
        ("nqos_split", f"{E}.downlink_traffic", 1, None),
        ("nqos_split", f"{E}.subscribed_network_stats", ["rate"], "[0]"),
        ("nqos_split", f"{P}.min_udp_rate_per_user_mbps", [-1, 2], "[0]"),
        ("nqos_split", f"{P}.min_udp_rate_per_user_mbps", [2, 3],
         f"{P}.max_udp_rate_per_user_mbps[1]"),
        ("nqos_split", f"{P}.qos_test_duration_ms", [99, 500], "[0]"),
        ("nqos_split", f"{P}.qos_test_duration_ms", [500, 25001], "[1]"),
        ("nqos_split", f"{P}.qos_loss_target", [0.5, 1.5], "[1]"),
        ("nqos_split", f"{P}.qos_delay_violation_target", [-0.1, 0], "[0]"),
        ("nqos_split", f"{P}.prioritized_rbg", [0, -1], f"{P}.prioritized_rbg[1]"),
        ("nqos_split", f"{P}.transport_protocol", ["udp", "quic"], f"{P}.transport_protocol[1]"),
        ("nqos_split", f"{P}.transport_protocol", ["UDP", "tcp"], f"{P}.transport_protocol[0]"),
        ("nqos_split", f"{P}.downlink_mode", ["auto", "mix"], f"{P}.downlink_mode[1]"),
        ("nqos_split", f"{P}.uplink_mode", ["Auto", "auto"], f"{P}.uplink_mode[0]"),
        ("nqos_split", f"{P}.num_users", [0, 0], None),
        ("nqos_split", f"{P}.num_users", [5000, 5001], None),
        ("nqos_split", P, psc_of("nqos_split", 9), f"{P}.num_users"),
        ("nqos_split", P, psc_of("nqos_split", 0), f"{P}.num_users"),
        ("nqos_split", "rl_config.reward_type", "", None),
        ("qos_steer", "rl_config.reward_type", "utility", None),
        ("network_slicing", "rl_config.reward_type", "utility", None),
        ("rmcat", "rl_config.reward_type", "slice_utility", None),
        ("custom", "rl_config.reward_type", "utility", None),
        ("rmcat", f"{E}.nada_flows", 2, None),
        ("rmcat", f"{E}.measurement_interval_ms", 50, None),
        ("rmcat", f"{E}.measurement_guard_interval_ms", 0, None),
        ("rmcat", f"{E}.num_users", 1, None),
        ("rmcat", f"{E}.bw_trace", TRACE, f"{E}.bw_trace.time_ms[1]"),
        ("rmcat", f"{E}.bw_trace", {**TRACE, "loss": [0]}, f"{E}.bw_trace.loss"),
        ("custom", "server.client_id", -1, None),
        ("custom", "server.step_timeout_s", 0, None),
        ("custom", "server.connect_timeout_s", float("inf"), None),
        ("custom", "server.session_name", "a-b", None),
        ("custom", "server", 5, None),
        ("custom", "session_name", "", None),
        ("custom", "server_port", 70000, None),
        ("custom", "enable_wandb", "no", None),
    ],
)
def test_bad_values_name_their_path(env: str, key: str, value: Any, path: str | None) -> None:
    expected = key if path is None else key + path if path.startswith("[") else path
    assert error_of(env, nest(key, value)).path == expected


def test_connect_via_with_a_bad_server_ip() -> None:
    bad = {"connect_via_server_ip_and_server_port": True, "server_ip": "a b"}
    assert error_of("custom", bad).path == "server_ip"


@pytest.mark.parametrize(
    ("env", "key", "value"),
    [
        ("nqos_split", f"{P}.min_udp_rate_per_user_mbps", [1.5, 2]),
        ("nqos_split", f"{P}.transport_protocol", ["tcp", "TcpNewReno"]),
        ("nqos_split", f"{P}.downlink_mode", ["split", "steer"]),
        ("nqos_split", E, {"num_users": 5, "measurement_interval_ms": 100}),
        ("nqos_split", f"{E}.lte.resource_block_num", 6),
        ("nqos_split", f"{E}.user_random_walk", {"min_speed_m/s": 0, "max_speed_m/s": 0}),
        ("custom", E, {"env": "custom", "env_end_time_ms": 22000}),
        ("custom", "server.step_timeout_s", 1),
        ("network_slicing", "rl_config.reward_type", "slice_utility"),
        ("rmcat", "rl_config.reward_type", "delay_aware_throughput"),
        ("rmcat", f"{E}.random_seed", 4),
    ],
)
def test_valid_variations_are_accepted(env: str, key: str, value: Any) -> None:
    config = load_config(env, nest(key, value))
    section: Any = config.to_dict()
    for part in key.split("."):
        section = section[part]
    assert section == value or all(section[k] == v for k, v in value.items())


def test_extra_reward_types_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_module.EXTRA_REWARD_TYPES is EXTRA_REWARD_TYPES
    assert EXTRA_REWARD_TYPES["network_slicing"] >= {"slice_utility"}
    assert EXTRA_REWARD_TYPES["rmcat"] >= {"delay_aware_throughput"}
    overrides = {"rl_config": {"reward_type": "fairness"}}
    assert error_of("nqos_split", overrides).path == "rl_config.reward_type"
    monkeypatch.setitem(EXTRA_REWARD_TYPES, "nqos_split", {"fairness"})
    assert load_config("nqos_split", overrides).rl_config["reward_type"] == "fairness"


@pytest.mark.parametrize("env", ["nqos", "NQOS_SPLIT", "", 3, None])
def test_unknown_environment(env: Any) -> None:
    error = error_of(env)
    assert error.path == "env"
    with pytest.raises(ConfigError):
        default_config_dict(env)
    if env == "nqos":
        assert "did you mean 'nqos_split'?" in error.problem


@pytest.mark.parametrize("overrides", [[1], "x", 3])
def test_overrides_must_be_a_mapping(overrides: Any) -> None:
    assert error_of("custom", overrides).path == "overrides"


def test_non_string_keys() -> None:
    assert error_of("custom", {1: 2}).path == "overrides"
    assert error_of("nqos_split", {"env_config": {"gma": {3: 1}}}).path == "env_config.gma"


@pytest.mark.parametrize(
    "text", ['{"env_config": ', "[1, 2]", '{"enable_wandb": NaN}', "\ufeff{}", '{"a": Infinity}']
)
def test_bad_config_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert error_of("custom", path=path).path == str(path)


def test_unreadable_config_files(tmp_path: Path) -> None:
    assert error_of("custom", path=tmp_path / "missing.json").path == str(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    assert error_of("custom", path=binary).path == str(binary)


# -- ServerConfig --------------------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "embedded", "tcp://127.0.0.1:8088", "tcp://gmasim-v01.jf.intel.com:8092", "tcp://[::1]:1",
    "tcp://h:65535", "ipc:///tmp/x", "inproc://netgym",
])
def test_valid_addresses(address: str) -> None:
    assert ServerConfig(address=address).address == address


@pytest.mark.parametrize("address", [
    "", "tcp://h", "tcp://h:0", "tcp://h:65536", "tcp://:80", "udp://h:80", "tcp://h :8", "ipc://",
])
def test_invalid_addresses(address: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerConfig(address=address)
    assert info.value.path == "server.address"


def test_server_config_identity_and_checks() -> None:
    assert ServerConfig(session_name="lab", client_id=7).identity == "lab-7"
    with pytest.raises(ConfigError, match=r"server\.client_id"):
        ServerConfig(client_id=True)
    with pytest.raises(ConfigError, match=r"server\.embedded_step_timeout_s"):
        ServerConfig(embedded_step_timeout_s=-1.0)
    with pytest.raises(ConfigError, match=r"server\.session_key"):
        ServerConfig(session_key="k" * 256)


def test_net_gym_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        load_config("custom").env = "rmcat"  # type: ignore[misc]


# fmt: on


def test_slice_environments_take_the_simulators_user_limit() -> None:
    config = load_config(
        "nqos_split", {"env_config": {"per_slice_config": {"num_users": [600, 400]}}}
    )
    assert config.num_users == 1000
    error = error_of(
        "nqos_split", {"env_config": {"per_slice_config": {"num_users": [5001, 5000]}}}
    )
    assert error.path == "env_config.per_slice_config.num_users" and "10000" in error.problem


def test_terminate_on_session_end_is_an_optional_validated_flag() -> None:
    assert "terminate_on_session_end" not in load_config("custom").rl_config
    config = load_config("custom", {"rl_config": {"terminate_on_session_end": True}})
    assert config.rl_config["terminate_on_session_end"] is True
    error = error_of("custom", {"rl_config": {"terminate_on_session_end": "yes"}})
    assert error.path == "rl_config.terminate_on_session_end"


def test_embedded_tcp_is_an_address() -> None:
    assert load_config("custom", {"server": "embedded+tcp"}).server.address == "embedded+tcp"
    assert error_of("custom", {"server": "embedded+udp"}).path == "server.address"
