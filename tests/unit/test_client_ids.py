"""``client_id: "auto"``: leased ids are distinct, reused after release, and per machine."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netgym_client import NetworkGymEnv
from netgym_client.client_ids import lease_client_id
from netgym_client.config import load_config
from netgym_client.errors import ConfigError

ADDRESS = "tcp://127.0.0.1:8088"


def test_leases_are_the_lowest_free_ids_and_come_back(tmp_path: Path) -> None:
    leases = [lease_client_id(ADDRESS, "admin", root=tmp_path) for _ in range(3)]
    assert [lease.client_id for lease in leases] == [0, 1, 2]
    leases[1].release()
    assert not leases[1].held
    again = lease_client_id(ADDRESS, "admin", root=tmp_path)
    assert again.client_id == 1
    leases[1].release()  # idempotent
    for lease in [*leases, again]:
        lease.release()
    assert lease_client_id(ADDRESS, "admin", root=tmp_path).client_id == 0


def test_ids_are_per_server_and_account(tmp_path: Path) -> None:
    held = lease_client_id(ADDRESS, "admin", root=tmp_path)
    assert lease_client_id(ADDRESS, "test", root=tmp_path).client_id == 0
    assert lease_client_id("tcp://127.0.0.1:9000", "admin", root=tmp_path).client_id == 0
    assert lease_client_id(ADDRESS, "admin", root=tmp_path).client_id == 1
    held.release()


def test_all_ids_held_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    held = [lease_client_id(ADDRESS, "admin", limit=2, root=tmp_path) for _ in range(2)]
    with pytest.raises(ConfigError, match=r"server\.client_id.*all 2 client ids"):
        lease_client_id(ADDRESS, "admin", limit=2, root=tmp_path)
    for lease in held:
        lease.release()


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from netgym_client.client_ids import lease_client_id
    lease = lease_client_id(sys.argv[1], "admin", root=Path(sys.argv[2]))
    print(lease.client_id, flush=True)
    sys.stdin.read()  # hold the lease until the parent closes stdin or kills us
    """
)


def test_another_process_holds_its_id_until_it_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, ADDRESS, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"
        mine = lease_client_id(ADDRESS, "admin", root=tmp_path)
        assert mine.client_id == 1  # 0 is the other process's
        mine.release()
    finally:
        holder.kill()  # a process that dies without closing anything
        holder.wait(10)
        if holder.stdin is not None:
            holder.stdin.close()
        if holder.stdout is not None:
            holder.stdout.close()
    after = lease_client_id(ADDRESS, "admin", root=tmp_path)
    assert after.client_id == 0  # the operating system dropped the dead process's lock
    after.release()


@given(st.one_of(st.integers(max_value=-1), st.text(max_size=8), st.floats(), st.booleans()))
def test_client_id_is_an_int_or_auto(value: object) -> None:
    if value == "auto":
        assert load_config("custom", {"server": {"client_id": value}}).server.client_id == "auto"
        return
    with pytest.raises(ConfigError, match=r"server\.client_id"):
        load_config("custom", {"server": {"client_id": value}})


def test_envs_with_auto_get_distinct_identities_and_give_them_back() -> None:
    config = {
        "server": {"client_id": "auto"},
        "env_config": {"steps_per_episode": 2, "episodes_per_session": 1},
    }
    first = NetworkGymEnv("custom", config=config, server="embedded+tcp")
    second = NetworkGymEnv("custom", config=config, server="embedded+tcp")
    try:
        assert (first.identity, second.identity) == ("admin-0", "admin-1")
        assert first.config.server.client_id == "auto"  # the config stays as given
        obs, _ = second.reset(seed=1)
        assert second.observation_space.contains(obs)
        first.close()
        third = NetworkGymEnv("custom", config=config, server="embedded+tcp")
        assert third.identity == "admin-0"
        third.close()
    finally:
        first.close()
        second.close()


def test_auto_in_process_needs_no_lease() -> None:
    env = NetworkGymEnv("custom", config={"server": {"client_id": "auto"}})
    assert env.identity == "admin-0"
    env.close()
