"""Runs the original NetworkGym code from a checkout (``NETGYM_ORIGINAL=DIR``), never copied
into netgym: its client scripts in a scratch copy of its client package, and its server.

``NETGYM_ORIGINAL_PYTHON`` names an interpreter with the original's requirements (pandas,
rich, plotext, wandb, gymnasium, pyzmq); default this one. Every process is bounded in time
and ended by the fixture that started it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netgym_client.config import load_config

#: The original client scripts and the environments the original ships (its envs/ folders).
SCRIPTS = ("start_client.py", "start_client_demo.py", "start_client_sequential_training.py")
ENVS = ("custom", "nqos_split", "qos_steer", "network_slicing", "rmcat")
#: Short sessions: the scripts run until their session terminates.
SESSION = {"steps_per_episode": 3, "episodes_per_session": 2}
#: Longest run of one script, in seconds.
RUN_TIMEOUT_S = 240.0


def checkout() -> Path:
    return Path(os.environ["NETGYM_ORIGINAL"]).resolve()


def python() -> str:
    return os.environ.get("NETGYM_ORIGINAL_PYTHON") or sys.executable


def env_config_file(original: Path, env: str) -> dict[str, Any]:
    """The original's ``envs/<env>/config.json`` with netgym's current-layout ``env_config``.

    ``rl_config`` stays the original's (its adapters' reward types); network_slicing also
    carries the two old-layout keys the original adapter reads (``slice_list``, ``LTE``),
    derived from the current layout.
    """
    shipped_file = original / "network_gym_client" / "envs" / env / "config.json"
    shipped = json.loads(shipped_file.read_text())
    config = load_config(env, {"env_config": SESSION}).env_config
    env_config = {k: v for k, v in config.items() if k != "env"}  # the client adds it
    if env == "network_slicing":
        per = env_config["per_slice_config"]
        keys = ("num_users", "dedicated_rbg", "prioritized_rbg", "shared_rbg")
        env_config["slice_list"] = [
            {key: per[key][s] for key in keys} for s in range(len(per["num_users"]))
        ]
        env_config["LTE"] = {"resource_block_num": env_config["lte"]["resource_block_num"]}
    return {"rl_config": shipped["rl_config"], "env_config": env_config}


@dataclass
class Run:
    """One finished run of an original client script."""

    script: str
    env: str
    returncode: int
    output: str

    @property
    def env_errors(self) -> list[str]:
        """The env-errors the client printed (``<identity> Receive: {...env-error...}``)."""
        return re.findall(r"Receive: (\{.*?\"env-error\".*?\})\s*$", self.output, flags=re.M | re.S)


def client_tree(workdir: Path, port: int) -> Path:
    """A scratch copy of the original client package, pointed at ``127.0.0.1:port``."""
    original = checkout()
    tree = workdir / "client"
    shutil.copytree(original / "network_gym_client", tree / "network_gym_client")
    common = json.loads((original / "network_gym_client" / "common_config.json").read_text())
    common.update(
        connect_via_server_ip_and_server_port=True,
        server_ip="127.0.0.1",
        server_port=port,
        enable_wandb=False,
        enable_terminal_redering=False,
    )
    (tree / "network_gym_client" / "common_config.json").write_text(json.dumps(common, indent=2))
    for env in ENVS:
        path = tree / "network_gym_client" / "envs" / env / "config.json"
        path.write_text(json.dumps(env_config_file(original, env), indent=2))
    return tree


def run_script(tree: Path, script: str, env: str) -> Run:
    """Run the original ``script`` unchanged but for its ``env_name`` line."""
    text = (checkout() / script).read_text()
    changed = re.sub(r'^env_name = "nqos_split"$', f'env_name = "{env}"', text, count=1, flags=re.M)
    assert changed != text or env == "nqos_split", f"{script} names no env_name line"
    path = tree / f"{Path(script).stem}_{env}.py"
    path.write_text(changed)
    proc = subprocess.run(
        [python(), str(path)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "WANDB_MODE": "disabled", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return Run(script, env, proc.returncode, proc.stdout + proc.stderr)


def server_tree(workdir: Path, client_port: int, env_port: int) -> Path:
    """A scratch copy of the original server with its ports set (both config files)."""
    tree = workdir / "server"
    shutil.copytree(checkout() / "network_gym_server", tree / "network_gym_server")
    shutil.copy(checkout() / "start_server.py", tree / "start_server.py")
    for name in ("network_gym_server_config.json", "network_gym_server_dev_config.json"):
        path = tree / "network_gym_server" / name
        config = json.loads(path.read_text())
        config.update(network_gym_client_port=client_port, network_gym_sim_port=env_port)
        path.write_text(json.dumps(config, indent=2))
    return tree


def start_original_server(tree: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [python(), "start_server.py"],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
