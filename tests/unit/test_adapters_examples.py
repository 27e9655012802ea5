"""The ``examples/`` folder runs as a test suite of its own (a user's adapter and its tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_adapter_example_passes(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        str(EXAMPLES / "test_my_adapter.py"), "-p", "no:cacheprovider", f"--rootdir={EXAMPLES}"
    )
    result.assert_outcomes(passed=2)


def test_the_readme_section_shows_the_example_test() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text("utf-8")
    section = readme.split("## Testing your own adapter", 1)[1].split("\n## ", 1)[0]
    example = (EXAMPLES / "test_my_adapter.py").read_text("utf-8")
    start = example.index("def test_my_adapter_keeps_the_contract")
    body = example[start:].split("\n\n\n", 1)[0]
    assert body in section
    assert "from netgym_client.testing.checks import check_adapter" in section
