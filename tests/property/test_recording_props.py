"""Recording round trips: any message written is read back as it was; actions match themselves."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netgym_client import protocol
from netgym_client.recording.record import (
    RecordingError,
    RecordingWriter,
    read_recording,
    redact,
)
from netgym_client.testing.strategies import action_lists, messages
from netgym_sim.replay.script import ATOL, RTOL, ReplaySession, first_difference

payloads = messages().map(lambda m: json.loads(protocol.encode(m)))
entries = st.lists(
    st.tuples(st.sampled_from(["c2s", "s2c"]), st.sampled_from(["admin-0", "test-0"]), payloads),
    max_size=6,
)
raw_frames = st.lists(st.binary(max_size=40), min_size=1, max_size=3)


@given(entries, raw_frames)
def test_written_entries_read_back_equal(
    tmp_path_factory: Any, items: list[tuple[str, str, dict[str, Any]]], frames: list[bytes]
) -> None:
    path: Path = tmp_path_factory.mktemp("rec") / "s.jsonl"
    writer = RecordingWriter(path, source="env", upstream="embedded")
    for direction, identity, payload in items:
        writer.write(direction, identity, payload)  # type: ignore[arg-type]
    writer.write_frames("c2s", "admin-0", [*frames, b"x"])  # two+ frames: kept raw
    writer.close()
    recording = read_recording(path)
    # as written: a key the recorder never keeps (SECRET_KEYS) comes back redacted
    expected = [(direction, identity, redact(payload)) for direction, identity, payload in items]
    assert [(e.direction, e.identity, e.payload) for e in recording.entries[:-1]] == expected
    assert recording.entries[-1].payload is None
    assert recording.entries[-1].frames == (*frames, b"x")
    times = [e.t_s for e in recording.entries]
    assert times == sorted(times)


@given(action_lists(), st.floats(-1.0, 1.0))
def test_an_action_matches_itself_and_a_changed_value_is_named(
    action_list: Any, delta: float
) -> None:
    action = {"type": "env-action", "action_list": action_list}
    script = [("c2s", {"type": "env-start", "env": "custom"}), ("c2s", action)]
    session = ReplaySession(script)
    session.handle({"type": "env-start", "env": "custom"})
    assert session.handle(json.loads(json.dumps(action))) == []
    assert session.report.ok
    assert first_difference(action_list, action_list, "action_list") is None
    records = action_list if isinstance(action_list, list) else [action_list]
    value = records[0]["value"]
    numeric = (
        [i for i, v in enumerate(value) if isinstance(v, (int, float))]
        if isinstance(value, list)
        else []
    )
    if numeric:
        v = value[numeric[0]]
        beyond = abs(delta) + 2 * (ATOL + RTOL * abs(v))  # always outside the tolerance
        changed = json.loads(json.dumps(records))
        changed[0]["value"][numeric[0]] = v + (beyond if delta >= 0 else -beyond)
        found = first_difference(records, changed, "action_list")
        assert found is not None and found[0] == f"action_list[0].value[{numeric[0]}]"


HEADER = b'{"format":"netgym-recording","version":1,"clock":"monotonic","source":"env"}\n'
LINE_BITS = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"t_s":',
        b'"dir":"c2s",',
        b'"identity":"a-0",',
        b'"payload":',
        b'"frames_b64":["',
        b"1e999",
        b"NaN",
        b"-1",
        b"\xff",
        b"\\ud800",
        b"\n",
        b",",
        b'"',
    ],
)
corrupt_lines = st.lists(LINE_BITS, max_size=30).map(b"".join)


def _read_or_typed_error(path: Path) -> None:
    try:
        read_recording(path)
    except RecordingError as exc:
        assert "\n" not in str(exc), str(exc)  # one line


@given(st.binary(max_size=300))
def test_any_bytes_read_as_a_recording_or_a_typed_error(tmp_path_factory: Any, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("rec") / "any.jsonl"
    path.write_bytes(data)
    _read_or_typed_error(path)


@given(st.one_of(st.binary(max_size=300), corrupt_lines))
def test_any_bytes_after_a_header_read_or_a_typed_error(tmp_path_factory: Any, data: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("rec") / "after.jsonl"
    path.write_bytes(HEADER + data)
    _read_or_typed_error(path)


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=400))
def test_any_gzip_bytes_or_a_cut_gzip_read_or_a_typed_error(
    tmp_path_factory: Any, data: bytes, cut: int
) -> None:
    path: Path = tmp_path_factory.mktemp("rec") / "any.jsonl.gz"
    path.write_bytes(data)
    _read_or_typed_error(path)
    path.write_bytes(gzip.compress(HEADER + data)[:cut])
    _read_or_typed_error(path)
