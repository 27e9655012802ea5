"""The netgym-recording format: header, lines, errors by line, no credentials, the env tap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netgym_client.env import NetworkGymEnv
from netgym_client.recording.record import (
    FORMAT_NAME,
    FORMAT_VERSION,
    RecordingError,
    RecordingWriter,
    read_recording,
)


def test_header_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    writer = RecordingWriter(path, source="proxy", upstream="tcp://127.0.0.1:1")
    writer.write("c2s", "admin-0", {"type": "env-start", "env": "custom", "session_key": "pw"})
    writer.write_frames("s2c", "admin-0", [b'{"type": "env-error", "error_msg": "x"}'])
    writer.write_frames("s2c", "admin-0", [b"\xff not json"])
    writer.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == FORMAT_NAME and lines[0]["version"] == FORMAT_VERSION
    assert lines[1]["payload"]["session_key"] == "<redacted>"
    assert "pw" not in path.read_text()
    assert lines[2]["payload"] == {"type": "env-error", "error_msg": "x"}
    assert "frames_b64" in lines[3]
    recording = read_recording(path)
    assert recording.entries[2].frames == (b"\xff not json",)
    assert recording.identities() == ["admin-0"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "empty"),
        ('{"format": "other", "version": 1}\n', "s.jsonl:1"),
        ('{"format": "netgym-recording", "version": 99}\n', "s.jsonl:1.version"),
        (
            '{"format": "netgym-recording", "version": 1}\n{"t_s": 0, "dir": "up"}\n',
            "s.jsonl:2.dir",
        ),
        ('{"format": "netgym-recording", "version": 1}\nnot json\n', "s.jsonl:2"),
        (
            '{"format": "netgym-recording", "version": 1}\n'
            '{"t_s": 1, "dir": "c2s", "identity": "a-0", "payload": {}}\n'
            '{"t_s": 0.5, "dir": "c2s", "identity": "a-0", "payload": {}}\n',
            "s.jsonl:3.t_s",
        ),
        (
            '{"format": "netgym-recording", "version": 1}\n'
            '{"t_s": 0, "dir": "c2s", "identity": "a-0"}\n',
            "s.jsonl:2",
        ),
    ],
)
def test_bad_files_are_refused_naming_the_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(text)
    with pytest.raises(RecordingError) as info:
        read_recording(path)
    assert where in str(info.value)


def test_script_of_an_unknown_identity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    RecordingWriter(path, source="env", upstream="embedded").close()
    with pytest.raises(RecordingError, match="nobody-0"):
        read_recording(path).script("nobody-0")


def test_the_env_tap_records_what_the_env_exchanged(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    config = {"env_config": {"steps_per_episode": 3, "episodes_per_session": 1}}
    env = NetworkGymEnv("custom", config=config, record=path)
    env.reset(seed=2)
    _, _, _, _, info2 = env.step(np.full(env.action_space.shape, 3.0, dtype=np.float32))
    env.close()
    recording = read_recording(path)
    assert recording.header["source"] == "env"
    kinds = [(e.direction, e.type) for e in recording.entries]
    assert kinds == [
        ("c2s", "env-start"),
        ("s2c", "env-measurement"),
        ("c2s", "env-action"),
        ("s2c", "env-measurement"),
        ("c2s", "env-end"),  # the session was still running at close()
    ]
    start = recording.entries[0].payload
    assert start is not None and start["random_seed"] == 2
    measured = recording.entries[3].payload
    assert measured is not None
    assert measured["network_stats"] == info2["network_stats"].to_records()


def test_the_readme_recording_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (block,) = [b for b in blocks if "record=" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    recording = read_recording(tmp_path / "rmcat-session.jsonl")
    assert [e.type for e in recording.entries][:2] == ["env-start", "env-measurement"]
