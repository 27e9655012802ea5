"""The layering rules of DESIGN.md §3, read from the source's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("netgym_client", "netgym_sim")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in PACKAGES:  # `from netgym_client import protocol`
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_packages_have_sources() -> None:
    for package in PACKAGES:
        assert len(source_files(package)) > 3, package


def test_protocol_imports_only_the_standard_library() -> None:
    # "and the JSON codec" (DESIGN.md §3): orjson, optional, with json as the fallback
    for name in imports_of(ROOT / "netgym_client" / "protocol.py"):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name in {"netgym_client.errors", "orjson"}, name


@pytest.mark.parametrize("package", PACKAGES)
def test_zmq_only_in_the_socket_modules(package: str) -> None:
    allowed = {
        ROOT / "netgym_client" / "northbound.py",
        # netgym keys / CURVE: writes and loads key pairs, derives a client's keys with zmq
        ROOT / "netgym_client" / "keys.py",
        ROOT / "netgym_sim" / "server.py",
        # the server's ZAP handler: PLAIN with logged refusals, CURVE with derived keys
        ROOT / "netgym_sim" / "auth.py",
        # the benchmark measures the bare DEALER/ROUTER round trip, without our layers, as
        # the limit every other path is compared to: it must open sockets itself
        ROOT / "netgym_client" / "bench.py",
        # netgym record: a recording proxy opens sockets on both sides of the wire
        ROOT / "netgym_client" / "proxy.py",
        # netgym replay: a server playing a recording back (the replay logic is sans-IO)
        ROOT / "netgym_sim" / "replay_server.py",
        # the env worker's DEALER and the broker's two ROUTERs (the southbound interface)
        ROOT / "netgym_sim" / "worker.py",
        ROOT / "netgym_sim" / "broker_server.py",
    }
    for path in source_files(package):
        if path in allowed:
            continue
        assert not any(n.split(".")[0] == "zmq" for n in imports_of(path)), path


def test_sim_uses_only_the_clients_wire_schema() -> None:
    for path in source_files("netgym_sim"):
        for name in imports_of(path):
            if name.split(".")[0] == "netgym_client":
                assert name in {"netgym_client.protocol", "netgym_client.errors"}, (path, name)


def test_model_knows_nothing_of_messages() -> None:
    for path in (ROOT / "netgym_sim" / "model").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in {"json", "zmq", "netgym_client"}, (path, name)
            assert not name.startswith("netgym_sim.scenarios"), (path, name)


def test_pandas_is_never_imported_at_module_level() -> None:
    for package in PACKAGES:
        for path in source_files(package):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                if isinstance(node, ast.Import):
                    assert all(a.name.split(".")[0] != "pandas" for a in node.names), path
                if isinstance(node, ast.ImportFrom):
                    assert (node.module or "").split(".")[0] != "pandas", path


def test_library_code_neither_prints_nor_exits() -> None:
    presenters = {
        ROOT / "netgym_client" / "cli.py",
        ROOT / "netgym_client" / "cli_recording.py",
        ROOT / "netgym_client" / "__main__.py",
        ROOT / "netgym_sim" / "__main__.py",
    }
    for package in PACKAGES:
        for path in source_files(package):
            if path in presenters:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                    owner = getattr(getattr(func, "value", None), "id", "")
                    assert name != "print", f"{path}:{node.lineno} prints"
                    assert not (owner == "sys" and name == "exit"), f"{path}:{node.lineno} exits"
