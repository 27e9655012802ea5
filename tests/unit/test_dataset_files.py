"""Datasets are all or nothing: a killed run, a full disk or an unwritable root leave none."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from netgym_client.recording import dataset as dataset_module
from netgym_client.recording.dataset import DatasetError, episodes_from_recording, write_dataset
from netgym_client.recording.record import read_recording

minari = pytest.importorskip("minari")  # the [datasets] extra, part of [test]

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "recordings"
DATASET_ID = "netgym/custom/rec-v0"


@pytest.fixture(autouse=True)
def datasets_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


def episodes() -> list[dataset_module.Episode]:
    return list(episodes_from_recording(read_recording(CORPUS / "custom.jsonl").script()))


def write() -> dataset_module.DatasetSummary:
    return write_dataset(DATASET_ID, episodes(), env_name="custom", algorithm_name="recording")


KILLED_BEFORE_THE_RENAME = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from tests.unit.test_dataset_files import write
os.rename = lambda *a: os._exit(9)  # killed with every file written, before it is named
write()
"""


def test_a_run_killed_before_completion_leaves_no_dataset_and_a_rerun_works(
    datasets_root: Path,
) -> None:
    env = {**os.environ, "MINARI_DATASETS_PATH": str(datasets_root)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_RENAME], env=env, timeout=120, check=False
    )
    assert proc.returncode == 9
    assert any(datasets_root.glob(".netgym-partial-*"))  # what the killed run had written
    assert minari.list_local_datasets() == {}
    summary = write()
    assert (summary.episodes, summary.steps) == (2, 6)
    assert minari.load_dataset(DATASET_ID).total_steps == 6


def test_a_disk_without_room_is_a_typed_error_and_leaves_nothing(
    datasets_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, 1000))
    with pytest.raises(DatasetError, match="not enough room") as caught:
        write()
    assert "\n" not in str(caught.value)
    assert minari.list_local_datasets() == {}
    assert not any(datasets_root.glob(".netgym-partial-*"))


def test_a_write_error_midway_is_a_typed_error_and_leaves_nothing(
    datasets_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = minari.create_dataset_from_buffers

    def fails_after_writing(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", fails_after_writing)
    with pytest.raises(DatasetError, match="No space left on device"):
        write()
    assert minari.list_local_datasets() == {}
    assert not any(datasets_root.glob(".netgym-partial-*"))


def test_a_root_that_cannot_be_written_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(not_a_dir / "minari"))
    with pytest.raises(DatasetError, match="cannot write the datasets root"):
        write()


def test_an_existing_id_is_refused_by_name() -> None:
    write()
    with pytest.raises(DatasetError, match="already exists"):
        write()


@pytest.mark.parametrize(
    "content",
    [
        b'{"format":"netgym-recording","version":1,"clock":"monotonic","source":"env"}\n',
        b"[" * 50_000 + b"\n",
        b"\xff\xfe\x00garbage",
    ],
    ids=["no-env-start", "deep", "binary"],
)
def test_the_dataset_command_on_a_bad_recording_is_one_line(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from netgym_client import cli

    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    code = cli.main(["dataset", "--from-recording", str(path), "--out", "netgym/custom/bad-v0"])
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and "netgym: " in err, err
    assert minari.list_local_datasets() == {}
