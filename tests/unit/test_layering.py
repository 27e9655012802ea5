"""The house rules of DESIGN.md §3 and docs/architecture.md, read from the source's imports.

Layers, lowest first: a module may import its own layer and the layers below, never one above;
no import circles; the client enters the simulator through ``netgym_sim.embedded`` alone, and only
lazily; the simulator takes only the wire schema (``protocol``, ``errors``) from the client.
"""

from __future__ import annotations

import ast
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("netgym_client", "netgym_sim")
DOOR = "netgym_sim.embedded"
MAX_LINES = 700

#: Each package's layers, lowest first: (name, module patterns).
LAYERS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "netgym_client": [
        ("wire", ("netgym_client.errors", "netgym_client._version", "netgym_client.protocol*")),
        (
            "data",
            (
                "netgym_client._config_schema",
                "netgym_client.config",
                "netgym_client.keys",
                "netgym_client.stats",
                "netgym_client.client_ids",
            ),
        ),
        (
            "transport, adapters",
            ("netgym_client.northbound", "netgym_client.adapters*", "netgym_client.policy_arrays"),
        ),
        ("recording format", ("netgym_client.recording", "netgym_client.recording.record")),
        (
            "env",
            (
                "netgym_client",
                "netgym_client.env",
                "netgym_client.vector",
                "netgym_client.scenarios",
            ),
        ),
        (
            "tools",
            (
                "netgym_client.testing*",
                "netgym_client.recording.proxy",
                "netgym_client.recording.dataset",
                "netgym_client.recording.compare",
                "netgym_client.integrations*",
            ),
        ),
        ("commands", ("netgym_client.cli*", "netgym_client.__main__")),
    ],
    "netgym_sim": [
        ("base", ("netgym_sim", "netgym_sim.errors", "netgym_sim.limits")),
        ("model", ("netgym_sim.model*",)),
        ("scenarios", ("netgym_sim.scenarios*",)),
        ("session core", ("netgym_sim.core*",)),
        ("serving, replay", ("netgym_sim.serving*", "netgym_sim.replay*")),
        ("door, command", (DOOR, "netgym_sim.__main__")),
    ],
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


MODULES = {module_name(p): p for package in PACKAGES for p in source_files(package)}


def resolve(module: str, name: str | None = None) -> str:
    """``from module import name`` names a submodule when one exists, else ``module``."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    if node.level == 0:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_nodes(path: Path) -> list[tuple[str, bool]]:
    """(imported module, imported at module level outside TYPE_CHECKING) for every import."""
    tree = ast.parse(path.read_text(), str(path))
    top_level: set[int] = set()
    for node in tree.body:
        top_level.add(id(node))
        if isinstance(node, ast.Try):
            top_level.update(id(n) for n in node.body)
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        eager = id(node) in top_level
        if isinstance(node, ast.Import):
            found.extend((alias.name, eager) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            found.extend((resolve(module, alias.name), eager) for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    return {name for name, _ in import_nodes(path)}


def layer_of(module: str) -> tuple[str, int]:
    package = module.split(".", maxsplit=1)[0]
    for rank, (_, patterns) in enumerate(LAYERS[package]):
        if any(fnmatch(module, p) for p in patterns):
            return package, rank
    raise AssertionError(f"{module} is in no layer of {package}: add it to LAYERS")


def test_the_packages_have_sources() -> None:
    for package in PACKAGES:
        assert len(source_files(package)) > 3, package


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    package, rank = layer_of(module)
    for name in imports_of(MODULES[module]):
        if name.split(".")[0] != package:
            continue
        other_package, other_rank = layer_of(name)
        assert other_rank <= rank, (
            f"{module} ({LAYERS[package][rank][0]}) imports {name} "
            f"({LAYERS[other_package][other_rank][0]}), a layer above it"
        )


def test_no_import_circles() -> None:
    graph = {m: {n for n in imports_of(p) if n in MODULES and n != m} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


def test_the_client_enters_the_simulator_through_one_door_lazily() -> None:
    for path in source_files("netgym_client"):
        for name, eager in import_nodes(path):
            if name.split(".")[0] != "netgym_sim":
                continue
            assert name == DOOR, f"{path}: imports {name}; the client's one door is {DOOR}"
            assert not eager, f"{path}: imports {DOOR} at module level (load it when used)"


def test_the_door_is_what_the_client_uses() -> None:
    # every name the client takes from the door is one the door exports
    import netgym_sim.embedded as door

    for path in source_files("netgym_client"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == DOOR:
                for alias in node.names:
                    assert alias.name in door.__all__, (path, alias.name)


def test_protocol_imports_only_the_standard_library() -> None:
    # "and the JSON codec" (DESIGN.md §3): orjson, optional, with json as the fallback
    for path in (ROOT / "netgym_client" / "protocol").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            allowed = name in {"netgym_client.errors", "orjson"}
            own = name.startswith("netgym_client.protocol")
            assert top in sys.stdlib_module_names or allowed or own, (path, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_zmq_only_in_the_socket_modules(package: str) -> None:
    allowed = {
        ROOT / "netgym_client" / "northbound.py",
        # netgym keys / CURVE: writes and loads key pairs, derives a client's keys with zmq
        ROOT / "netgym_client" / "keys.py",
        ROOT / "netgym_sim" / "serving" / "server.py",
        # the server's ZAP handler: PLAIN with logged refusals, CURVE with derived keys
        ROOT / "netgym_sim" / "serving" / "auth.py",
        # the benchmark measures the bare DEALER/ROUTER round trip, without our layers, as
        # the limit every other path is compared to: it must open sockets itself
        ROOT / "netgym_client" / "cli" / "bench.py",
        # netgym record: a recording proxy opens sockets on both sides of the wire
        ROOT / "netgym_client" / "recording" / "proxy.py",
        # netgym replay: a server playing a recording back (the replay logic is sans-IO)
        ROOT / "netgym_sim" / "replay" / "server.py",
        # the env worker's DEALER and the broker's two ROUTERs (the southbound interface)
        ROOT / "netgym_sim" / "serving" / "worker.py",
        ROOT / "netgym_sim" / "serving" / "broker_server.py",
    }
    for path in source_files(package):
        if path in allowed:
            continue
        assert not any(n.split(".")[0] == "zmq" for n in imports_of(path)), path


def test_sim_uses_only_the_clients_wire_schema() -> None:
    for path in source_files("netgym_sim"):
        for name in imports_of(path):
            if name.split(".")[0] == "netgym_client":
                wire = name.startswith("netgym_client.protocol")
                assert wire or name == "netgym_client.errors", (path, name)


def test_model_knows_nothing_of_messages() -> None:
    for path in (ROOT / "netgym_sim" / "model").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in {"json", "zmq", "netgym_client"}, (path, name)
            assert not name.startswith("netgym_sim.scenarios"), (path, name)


def test_no_file_is_past_the_ceiling() -> None:
    for package in PACKAGES:
        for path in source_files(package):
            lines = len(path.read_text().splitlines())
            assert lines <= MAX_LINES, f"{path}: {lines} lines (DESIGN.md: never past {MAX_LINES})"


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
        ROOT / "netgym_client" / "cli" / "commands.py",
        ROOT / "netgym_client" / "cli" / "recording.py",
        ROOT / "netgym_client" / "cli" / "console.py",
        ROOT / "netgym_client" / "cli" / "scenario_table.py",
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
