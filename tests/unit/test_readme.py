"""The README stays true: its two commands (CI runs the test one verbatim) and its snippets."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks[:2]:
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
        assert len(lines) == 1, f"each of the first two README blocks is one command: {lines}"
        commands.append(lines[0])
    return commands


def test_readme_opens_with_a_run_command_and_a_test_command() -> None:
    run, test = readme_commands()
    assert "netgym run" in run and "pip install" in run
    assert "pytest" in test and "pip install" in test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, test = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci_lines


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_environment_snippet_runs() -> None:
    (block,) = [b for b in python_blocks() if "gymnasium.make(" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # runs a session, then closes it
    assert namespace["info"]["network_stats"].ts > 0  # type: ignore[index]


def test_the_vector_snippet_runs() -> None:
    # the in-process one; the async one against `serve --workers` runs in test_readme_workers
    (block,) = [
        b
        for b in python_blocks()
        if "gymnasium.make_vec(" in b and 'vectorization_mode="async"' not in b
    ]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # four sessions, then closed
    obs = namespace["obs"]
    assert getattr(obs, "shape", None) == (4, 3, 5)  # 4 envs × the (3, N) observation


def test_the_strategies_snippet_runs() -> None:
    (block,) = [b for b in python_blocks() if "testing.strategies import" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    test = namespace["test_my_observation_is_in_its_space"]
    assert callable(test)
    test()  # the hypothesis test itself, over generated measurements


def test_the_strategies_snippet_carries_the_settings_a_users_project_needs() -> None:
    # Our conftest's profile suppresses the too_slow health check; a user's project has no
    # such profile, so the snippet itself must say so.
    from hypothesis import HealthCheck

    (block,) = [b for b in python_blocks() if "testing.strategies import" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    chosen = namespace["test_my_observation_is_in_its_space"]._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert HealthCheck.too_slow in chosen.suppress_health_check
    assert chosen.deadline is None


def test_install_lines_work_from_a_clone() -> None:
    """netgym is not on the package index: no text tells a user to install it from there."""
    readme = ROOT / "README.md"
    for path in [readme, *ROOT.glob("examples/*.py"), *ROOT.glob("netgym_*/**/*.py")]:
        for line in path.read_text().splitlines():
            if "install 'netgym[" in line:  # only from the repository's address
                assert "] @ git+" in line, (path, line)
    assert "pip install -e '.[datasets]'" in readme.read_text()
