"""Recorded sessions: the ``netgym-recording`` JSONL format, its writer, reader and env tap.

A recording is a UTF-8 text file of JSON lines. Line 1 is the header; every later line is
one message that crossed the wire, in the order it was seen.

Header (format version 1)::

    {"format": "netgym-recording", "version": 1, "clock": "monotonic",
     "source": "proxy" | "env", "upstream": "tcp://host:port", "netgym_version": "0.1.0"}

``source`` says who wrote it (``netgym record``'s proxy or ``NetworkGymEnv(record=...)``),
``upstream`` the server recorded (``"embedded"`` for the in-process simulator). Extra header
keys are allowed and kept.

Message line::

    {"t_s": 0.0153, "dir": "c2s", "identity": "admin-0", "payload": {"type": "env-start", ...}}

- ``t_s``: seconds since the recording started, from a monotonic clock (never decreasing).
- ``dir``: ``"c2s"`` (client to server) or ``"s2c"`` (server to client).
- ``identity``: the client's DEALER identity (``"<session_name>-<client_id>"``).
- ``payload``: the message's JSON object as sent. A frame that is not a JSON object (or a
  message of several frames) is kept byte for byte instead under ``"frames_b64"``: a list
  of base64 strings, one per frame.

Rules:
- Credentials are never written: PLAIN usernames and passwords travel in the ZeroMQ
  handshake, not in messages, and the recorder keeps none of them; a payload key named in
  :data:`SECRET_KEYS` (at any depth) is written as ``"<redacted>"`` should a client put one
  in a message.
- The reader refuses a file that is not this format, a newer version, or a malformed line
  with :class:`RecordingError` naming the line number and the field.
- The env tap (:class:`RecordingLink`) writes what the env exchanged with the server as the
  wire messages it stands for: the embedded path has no bytes, so measurements are written
  in the flat record shape (:meth:`~netgym_client.stats.NetworkStats.to_records`).
- A file whose name ends in ``.gz`` is read through gzip (the measured fixtures are kept so).
- Lines are flushed as they are written, so a recording cut short by a crash is readable up
  to its last complete line. A write that fails (disk full, file gone read-only) raises
  :class:`RecordingError` in one line, after cutting the file back to its last complete
  line: what was recorded before stays readable.
- The reader reads at most :data:`MAX_LINE_BYTES` per line (so ``/dev/zero`` or a file with
  no line ends costs a bounded buffer) and parses each line with the wire's JSON rules
  (depth, size, finite numbers): any bytes give a :class:`RecordingError` naming the line,
  never another exception.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import math
import os
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from netgym_client import protocol
from netgym_client._version import __version__
from netgym_client.errors import EnvError, NetGymError, NoAvailableWorker

if TYPE_CHECKING:
    from netgym_client.adapters.base import PolicyRecords
    from netgym_client.stats import NetworkStats

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SECRET_KEYS",
    "Entry",
    "Recording",
    "RecordingError",
    "RecordingLink",
    "RecordingWriter",
    "read_recording",
    "redact",
]

#: The header's ``format``.
FORMAT_NAME = "netgym-recording"
#: The version this module writes and the newest it reads.
FORMAT_VERSION = 1
#: Longest line the reader takes, in bytes: a largest message's frames in base64, and more.
MAX_LINE_BYTES = 2 * protocol.MAX_MESSAGE_BYTES
#: Payload keys whose values are never written (credentials).
SECRET_KEYS = frozenset({"session_key", "password", "plain_password", "secret"})
REDACTED = "<redacted>"

Direction = Literal["c2s", "s2c"]
DIRECTIONS: tuple[Direction, ...] = ("c2s", "s2c")


class RecordingError(NetGymError, ValueError):
    """A recording file that is not a valid ``netgym-recording``."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Entry:
    """One recorded message.

    Attributes:
        t_s: Seconds since the recording started (monotonic clock).
        direction: ``"c2s"`` or ``"s2c"``.
        identity: The client's identity.
        payload: The JSON object, or None when the message is kept as raw ``frames``.
        frames: The raw frames of a message that is not one JSON object (else empty).
    """

    t_s: float
    direction: Direction
    identity: str
    payload: dict[str, Any] | None
    frames: tuple[bytes, ...] = ()

    @property
    def type(self) -> str | None:
        """The payload's ``type``, if it has one."""
        kind = None if self.payload is None else self.payload.get("type")
        return kind if isinstance(kind, str) else None

    def to_json(self) -> dict[str, Any]:
        """The entry as its JSON line's object."""
        line: dict[str, Any] = {
            "t_s": round(self.t_s, 6),
            "dir": self.direction,
            "identity": self.identity,
        }
        if self.payload is not None:
            line["payload"] = self.payload
        else:
            line["frames_b64"] = [base64.b64encode(f).decode("ascii") for f in self.frames]
        return line


@dataclass(frozen=True)
class Recording:
    """A whole recording: its header and entries in order."""

    header: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)

    def identities(self) -> list[str]:
        """The client identities, in order of first appearance."""
        return list(dict.fromkeys(e.identity for e in self.entries))

    def script(self, identity: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The ``(dir, payload)`` pairs of one identity (default: the first), JSON ones only."""
        ids = self.identities()
        if identity is None:
            if not ids:
                return []
            identity = ids[0]
        if identity not in ids:
            raise RecordingError("identity", f"{identity!r} is not in the recording: {ids}")
        return [
            (e.direction, e.payload)
            for e in self.entries
            if e.identity == identity and e.payload is not None
        ]


def redact(value: Any) -> Any:
    """``value`` with every :data:`SECRET_KEYS` entry's value replaced (a copy if changed)."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def payload_of(frames: Sequence[bytes]) -> dict[str, Any] | None:
    """The JSON object a one-frame message holds, or None (it is then kept raw)."""
    if len(frames) != 1:
        return None
    try:
        obj = json.loads(frames[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return redact(obj) if isinstance(obj, dict) else None


class RecordingWriter:
    """Appends entries to a recording file; thread-safe, flushed line by line.

    Args:
        path: The file to write (replaced if it exists).
        source: ``"proxy"`` or ``"env"`` (the header's ``source``).
        upstream: The server being recorded.
        extra: More header keys.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        source: str,
        upstream: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        try:
            self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise RecordingError(str(self.path), f"cannot write: {_reason(exc)}") from exc
        self._good_bytes = 0  # the file's length up to its last complete line
        self.count = 0
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "clock": "monotonic",
            "source": source,
            "upstream": upstream,
            "netgym_version": __version__,
            **dict(extra or {}),
        }
        self._write(header)

    def _write(self, obj: Mapping[str, Any]) -> None:
        if self._file is None:
            raise NetGymError(f"recording {self.path} is closed")
        line = json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n"
        try:
            self._file.write(line)
            self._file.flush()
        except OSError as exc:
            self._abandon()
            raise RecordingError(
                str(self.path),
                f"cannot write: {_reason(exc)}; the {self.count} messages before are kept",
            ) from exc
        self._good_bytes += len(line.encode("utf-8"))

    def _abandon(self) -> None:
        """After a failed write: cut the file back to its last complete line and close it."""
        file, self._file = self._file, None
        if file is None:
            return
        with contextlib.suppress(OSError):  # its buffer could not be written either: cut below
            file.close()
        with contextlib.suppress(OSError):  # a device (/dev/full) or a path gone: nothing to cut
            os.truncate(self.path, self._good_bytes)

    def write_frames(self, direction: Direction, identity: str, frames: Sequence[bytes]) -> None:
        """Record one message as seen on the wire (its payload frames)."""
        payload = payload_of(frames)
        self.write(direction, identity, payload, () if payload is not None else tuple(frames))

    def write(
        self,
        direction: Direction,
        identity: str,
        payload: Mapping[str, Any] | None,
        frames: Sequence[bytes] = (),
    ) -> None:
        """Record one message (``payload`` is redacted before it is written)."""
        with self._lock:
            entry = Entry(
                time.monotonic() - self._started,
                direction,
                identity,
                None if payload is None else redact(dict(payload)),
                tuple(frames),
            )
            self._write(entry.to_json())
            self.count += 1

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _entry(obj: Any, where: str) -> Entry:
    if not isinstance(obj, dict):
        raise RecordingError(where, f"a message line is a JSON object, got {type(obj).__name__}")
    t_s = obj.get("t_s")
    if not isinstance(t_s, (int, float)) or isinstance(t_s, bool) or not 0 <= t_s < math.inf:
        raise RecordingError(f"{where}.t_s", f"must be a number of seconds ≥ 0, got {t_s!r:.40}")
    direction = obj.get("dir")
    if direction not in DIRECTIONS:
        raise RecordingError(f"{where}.dir", f"must be 'c2s' or 's2c', got {direction!r:.40}")
    identity = obj.get("identity")
    if not isinstance(identity, str):
        raise RecordingError(f"{where}.identity", f"must be a string, got {identity!r:.40}")
    payload = obj.get("payload")
    if payload is not None:
        if not isinstance(payload, dict):
            raise RecordingError(f"{where}.payload", "must be a JSON object")
        return Entry(float(t_s), direction, identity, payload)
    raw = obj.get("frames_b64")
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise RecordingError(where, "needs 'payload' (object) or 'frames_b64' (strings)")
    try:
        frames = tuple(base64.b64decode(f, validate=True) for f in raw)
    except ValueError as exc:
        raise RecordingError(f"{where}.frames_b64", f"not base64: {exc}") from exc
    return Entry(float(t_s), direction, identity, None, frames)


def _reason(exc: OSError) -> str:
    """An OSError in a few words (its strerror, else its text)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _lines(path: Path, where: str) -> Iterator[tuple[int, bytes]]:
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
        number = 0
        while True:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_BYTES:
                raise RecordingError(
                    f"{where}:{number}", f"line longer than {MAX_LINE_BYTES} bytes"
                )
            if line.strip():
                yield number, line


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording file.

    Raises:
        RecordingError: The file is not a ``netgym-recording`` of a version we read, or a
            line is malformed (named as ``file:line.field``).
    """
    path = Path(path)
    entries: list[Entry] = []
    header: dict[str, Any] | None = None
    last_t = 0.0
    try:
        for number, line in _lines(path, path.name):
            where = f"{path.name}:{number}"
            try:
                obj = protocol.decode_json(line, max_bytes=MAX_LINE_BYTES)
            except NetGymError as exc:
                raise RecordingError(where, f"not a JSON object line: {exc}") from exc
            if header is None:
                header = _header(obj, where)
                continue
            entry = _entry(obj, where)
            if entry.t_s < last_t:
                raise RecordingError(f"{where}.t_s", f"goes back in time ({entry.t_s} < {last_t})")
            last_t = entry.t_s
            entries.append(entry)
    except OSError as exc:
        raise RecordingError(str(path), f"cannot read: {_reason(exc)}") from exc
    except (EOFError, zlib.error) as exc:  # a .gz cut short or corrupted
        raise RecordingError(str(path), f"cannot read: bad gzip data ({exc})") from exc
    if header is None:
        raise RecordingError(str(path), "empty: no header line")
    return Recording(header, entries)


def _header(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise RecordingError(where, f"not a {FORMAT_NAME} file (the header's 'format')")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordingError(f"{where}.version", f"must be an integer ≥ 1, got {version!r:.20}")
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"{where}.version",
            f"version {version} is newer than this netgym reads ({FORMAT_VERSION})",
        )
    return obj


class RecordingLink:
    """The env's tap: passes every call to ``inner`` and records what crossed the link.

    Args:
        inner: The env's link (embedded or wire).
        writer: Where to record.
        identity: The client identity written with each entry.
    """

    def __init__(self, inner: Any, writer: RecordingWriter, identity: str) -> None:
        self._inner = inner
        self._writer = writer
        self._identity = identity

    def _answer(self, call: Any, *args: Any) -> NetworkStats:
        try:
            stats: NetworkStats = call(*args)
        except EnvError as exc:
            self._writer.write(
                "s2c", self._identity, {"type": "env-error", "error_msg": exc.message}
            )
            raise
        except NoAvailableWorker as exc:
            self._writer.write(
                "s2c", self._identity, {"type": "no-available-worker", "msg": exc.message}
            )
            raise
        payload = {"type": "env-measurement", "network_stats": stats.to_records()}
        self._writer.write("s2c", self._identity, payload)
        return stats

    def start(self, env_config: Mapping[str, Any], running: bool) -> NetworkStats:
        """Record ``env-start`` and the first measurement."""
        if running:
            self._writer.write("c2s", self._identity, {"type": "env-end"})
        config = {k: v for k, v in env_config.items() if k != "type"}
        self._writer.write("c2s", self._identity, {"type": "env-start", **config})
        return self._answer(self._inner.start, env_config, running)

    def act(self, action_list: PolicyRecords) -> NetworkStats:
        """Record ``env-action`` and the measurement answering it."""
        # refused before it leaves (as the link would refuse it): nothing to record
        protocol.check_message(protocol.EnvAction(action_list=action_list))
        self._writer.write(
            "c2s", self._identity, {"type": "env-action", "action_list": action_list}
        )
        return self._answer(self._inner.act, action_list)

    def end(self, running: bool) -> None:
        """Record netgym's ``env-end`` when a running session is ended early."""
        if running:
            self._writer.write("c2s", self._identity, {"type": "env-end"})
        self._inner.end(running)
