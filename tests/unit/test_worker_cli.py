"""``python -m netgym_sim worker``: its flags, and the refusals that name the bad flag."""

from __future__ import annotations

import pytest

from netgym_sim.__main__ import build_parser, run_worker


def test_the_issue_flags_parse_with_their_defaults() -> None:
    args = build_parser().parse_args(["worker", "--server", "tcp://h:8087"])
    assert (args.session_name, args.session_key, args.id, args.slots) == ("admin", "admin", 0, 1)
    assert args.envs.split(",") == sorted(args.envs.split(","))
    assert "nqos_split" in args.envs.split(",")
    flags = ["--session-name", "test", "--session-key", "k", "--id", "3"]
    args = build_parser().parse_args(
        ["worker", "--server", "tcp://h:1", *flags, "--envs", "nqos_split,qos_steer"]
    )
    assert (args.session_name, args.session_key, args.id, args.envs) == (
        "test",
        "k",
        3,
        "nqos_split,qos_steer",
    )


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (["--id", "-1"], "--id: must be >= 0"),
        (["--envs", "nqos_split,foo"], "--envs: unknown ['foo']"),
        (["--envs", ","], "--envs: unknown []"),
        (["--slots", "0"], "slots: must be >= 1"),
        (["--max-users", "0"], "max_users"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(
    flags: list[str], text: str, caplog: pytest.LogCaptureFixture
) -> None:
    args = build_parser().parse_args(["worker", "--server", "tcp://127.0.0.1:1", *flags])
    assert run_worker(args) == 2
    assert text in caplog.text


def test_the_password_comes_from_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETGYM_SESSION_KEY", "from-env")
    args = build_parser().parse_args(["worker", "--server", "tcp://h:8087"])
    assert args.session_key == "from-env"
    args = build_parser().parse_args(["worker", "--server", "tcp://h:1", "--session-key", "k"])
    assert args.session_key == "k"
