"""Recordings on failing disks and corrupt files: one-line typed errors, what was written kept."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from netgym_client.recording import record
from netgym_client.recording.record import RecordingError, RecordingWriter, read_recording


def test_a_full_disk_is_a_typed_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    with pytest.raises(RecordingError, match="No space left on device"):
        RecordingWriter("/dev/full", source="env", upstream="embedded")


def test_a_place_that_cannot_be_written_is_a_typed_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    with pytest.raises(RecordingError, match="cannot write: Not a directory"):
        RecordingWriter(not_a_dir / "s.jsonl", source="env", upstream="embedded")


class _FillsUp:
    """A text file that takes ``room`` more writes, then writes half a line and fails."""

    def __init__(self, inner: Any, room: int) -> None:
        self.inner, self.room = inner, room

    def write(self, text: str) -> int:
        if self.room == 0:
            self.inner.write(text[: len(text) // 2])
            self.inner.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= 1
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()


def test_a_disk_that_fills_up_keeps_every_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    writer = RecordingWriter(path, source="env", upstream="embedded")
    writer._file = _FillsUp(writer._file, room=3)
    for i in range(3):
        writer.write("c2s", "admin-0", {"type": "env-action", "n": i})
    with pytest.raises(RecordingError, match="the 3 messages before are kept") as caught:
        writer.write("c2s", "admin-0", {"type": "env-action", "n": 3})
    assert "\n" not in str(caught.value)
    recording = read_recording(path)
    assert [e.payload["n"] for e in recording.entries if e.payload] == [0, 1, 2]


def test_a_file_without_line_ends_costs_a_bounded_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "zeros.jsonl"
    path.write_bytes(b"\0" * 5000)
    with pytest.raises(RecordingError, match="longer than 1000 bytes"):
        read_recording(path)


def test_dev_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("needs /dev/zero")
    monkeypatch.setattr(record, "MAX_LINE_BYTES", 1 << 16)
    with pytest.raises(RecordingError, match="longer than"):
        read_recording("/dev/zero")


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not a JSON object line"),  # was RecursionError
        (b'{"t_s": 1e999, "dir": "c2s", "identity": "a-0", "payload": {}}', "not a JSON"),
        (b'{"t_s": 1, "dir": "c2s", "identity": "a-0", "frames_b64": ["%%"]}', "not base64"),
        (b"\xff\xfe", "not a JSON object line"),
    ],
)
def test_corrupt_lines_are_named(tmp_path: Path, line: bytes, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"format":"netgym-recording","version":1,"clock":"monotonic","source":"env"}\n'
        + line
        + b"\n"
    )
    with pytest.raises(RecordingError, match=needle) as caught:
        read_recording(path)
    assert "bad.jsonl:2" in str(caught.value)


def test_an_env_recording_onto_a_full_disk_raises_a_typed_error() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    from netgym_client.env import NetworkGymEnv

    with pytest.raises(RecordingError, match="No space left on device"):
        env = NetworkGymEnv("custom", record="/dev/full")
        try:
            env.reset(seed=0)
        finally:
            env.close()
