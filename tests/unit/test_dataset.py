"""Minari datasets: collected live and rebuilt from recordings, then loaded with Minari's API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netgym_client import cli
from netgym_client.cli.collect import collect_episodes
from netgym_client.env import NetworkGymEnv
from netgym_client.recording.dataset import (
    DatasetError,
    applied_action,
    episodes_from_recording,
    parse_seeds,
    write_dataset,
)
from netgym_client.recording.record import read_recording
from netgym_client.stats import NetworkStats

minari = pytest.importorskip("minari")  # the [datasets] extra, part of [test]

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "recordings"


@pytest.fixture(autouse=True)
def datasets_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-3", [0, 1, 2, 3]), ("7", [7]), ("1,4, 9", [1, 4, 9]), ("0-1,5", [0, 1, 5])],
)
def test_seed_lists(text: str, seeds: list[int]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "3-1", "-2", "1-b"])
def test_bad_seed_lists_are_refused(text: str) -> None:
    with pytest.raises(DatasetError, match="seeds"):
        parse_seeds(text)


def test_a_collected_dataset_loads_back_with_minari() -> None:
    episodes = list(collect_episodes("nqos_split", "system_default", [0, 1], 3))
    summary = write_dataset(
        "netgym/nqos_split/sd-v0", episodes, env_name="nqos_split", algorithm_name="system_default"
    )
    assert (summary.episodes, summary.steps) == (2, 6) and summary.size_bytes > 0
    dataset = minari.load_dataset("netgym/nqos_split/sd-v0")
    assert (dataset.total_episodes, dataset.total_steps) == (2, 6)
    for ours, loaded in zip(episodes, dataset.iterate_episodes(), strict=True):
        assert loaded.observations.shape == (4, 3, 5)
        assert loaded.actions.shape == (3, 5, 3)
        np.testing.assert_array_equal(loaded.observations, np.stack(ours.observations))
        np.testing.assert_array_equal(loaded.actions, np.stack(ours.actions))
        np.testing.assert_array_equal(loaded.rewards, ours.rewards)
        assert list(loaded.truncations) == [False, False, True]
        assert not loaded.terminations.any()
        assert loaded.infos["ts"].shape == (4,) and np.all(np.diff(loaded.infos["ts"]) > 0)
    # the seeds' sessions differ, and the applied split is a split: rows sum to 1
    assert not np.array_equal(episodes[0].rewards, episodes[1].rewards)
    np.testing.assert_allclose(np.stack(episodes[0].actions).sum(axis=2), 1.0, atol=1e-6)


def test_the_applied_action_is_read_from_the_split_ratios() -> None:
    record = {"source": "gma", "ts": 1, "id": [1, 2]}
    stats = NetworkStats.from_records(
        [
            {**record, "name": "wifi::dl::split_ratio", "value": [100, 25]},
            {**record, "name": "lte::dl::split_ratio", "value": [0, 75]},
        ]
    )
    np.testing.assert_allclose(
        applied_action("nqos_split", stats, [1, 2]), [[1.0, 0.0, 0.0], [0.25, 0.0, 0.75]]
    )
    np.testing.assert_allclose(
        applied_action("nqos_split", stats, [1, 2], ("wifi", "lte")), [[1.0, 0.0], [0.25, 0.75]]
    )
    # a user whose split ns-3 has not reported yet: its measured traffic ratio instead
    measured = NetworkStats.from_records(
        [
            {**record, "id": [2], "name": "wifi::dl::split_ratio", "value": [25.0]},
            {**record, "id": [2], "name": "lte::dl::split_ratio", "value": [75.0]},
            {**record, "name": "wifi::dl::traffic_ratio", "value": [61.0, 30.0]},
            {**record, "name": "lte::dl::traffic_ratio", "value": [40.0, 70.0]},
        ]
    )
    np.testing.assert_allclose(
        applied_action("nqos_split", measured, [1, 2], ("wifi", "lte")),
        [[61 / 101, 40 / 101], [0.25, 0.75]],
        rtol=1e-6,
    )
    with pytest.raises(DatasetError, match="qos_steer"):
        applied_action("qos_steer", stats, [1, 2])


def test_system_default_is_refused_where_the_applied_action_is_unknown() -> None:
    with pytest.raises(DatasetError, match="network_slicing"):
        list(collect_episodes("network_slicing", "system_default", [0], 2))


@pytest.mark.parametrize("env_name", ["nqos_split", "rmcat", "custom", "qos_steer"])
def test_a_dataset_rebuilt_from_a_recording(env_name: str) -> None:
    script = read_recording(CORPUS / f"{env_name}.jsonl").script()
    episodes = list(episodes_from_recording(script))
    assert [ep.steps for ep in episodes] == [3, 3]  # 2 episodes of 4 measurements
    recorded = [p for d, p in script if p["type"] == "env-measurement"]
    sent = [p for d, p in script if p["type"] == "env-action"]
    adapter = NetworkGymEnv(
        env_name, config={"env_config": {"steps_per_episode": 4, "episodes_per_session": 2}}
    ).adapter
    first = NetworkStats.from_records(recorded[0]["network_stats"])
    np.testing.assert_array_equal(episodes[0].observations[0], adapter.observation(first))
    value = np.asarray(sent[0]["action_list"]["value"], dtype=adapter.action_space.dtype)
    np.testing.assert_array_equal(episodes[0].actions[0], value.reshape(adapter.action_space.shape))
    # the second episode starts at the 5th measurement: the reset's action is no transition
    fifth = NetworkStats.from_records(recorded[4]["network_stats"])
    np.testing.assert_array_equal(episodes[1].observations[0], adapter.observation(fifth))
    summary = write_dataset(
        f"netgym/{env_name}/rec-v0", episodes, env_name=env_name, algorithm_name="recording"
    )
    assert minari.load_dataset(summary.dataset_id).total_steps == 6


def test_network_slicing_actions_are_read_back_from_netgyms_recording() -> None:
    script = read_recording(CORPUS / "network_slicing.jsonl").script()
    episodes = list(episodes_from_recording(script))
    assert [ep.steps for ep in episodes] == [3, 3]
    sent = [p for d, p in script if p["type"] == "env-action"]
    (prb,) = [r for r in sent[0]["action_list"] if r["name"] == "prb_allocation"]
    (cell,) = prb["value"]
    expected = np.zeros(2, np.float32)
    expected[cell["slice"]] = np.asarray(cell["value"]) / 12.5  # RBGs over rbg_num / S
    np.testing.assert_allclose(episodes[0].actions[0], expected, rtol=1e-6)
    summary = write_dataset(
        "netgym/network_slicing/rec-v0", episodes, env_name="network_slicing", algorithm_name="r"
    )
    assert minari.load_dataset(summary.dataset_id).total_steps == 6


def test_the_original_clients_network_slicing_no_action_reads_as_the_system_default() -> None:
    """The original adapter's get_policy([]): per cell ``{"slice": [0, 1], "value": []}``."""
    script = read_recording(CORPUS / "network_slicing.jsonl").script()
    for _, payload in script:
        if payload["type"] == "env-action":
            for record in payload["action_list"]:
                record["value"] = [{"slice": [0, 1], "value": []}]
    episodes = list(episodes_from_recording(script))
    # per_slice_config.prioritized_rbg [13, 12] over 12.5 RBGs a slice, in the action space
    for episode in episodes:
        for action in episode.actions:
            np.testing.assert_allclose(action, [1.0, 0.96], rtol=1e-6)


def test_a_dataset_id_is_never_overwritten() -> None:
    episodes = list(collect_episodes("custom", "random", [0], 2))
    write_dataset("netgym/custom/r-v0", episodes, env_name="custom", algorithm_name="random")
    with pytest.raises(DatasetError, match="already exists"):
        write_dataset("netgym/custom/r-v0", episodes, env_name="custom", algorithm_name="random")


def test_the_dataset_command(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["dataset", "--env", "rmcat", "--agent", "system_default", "--seeds", "0-2"]
    assert cli.main([*argv, "--steps", "4", "--out", "netgym/rmcat/sd-v0", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["episodes"], figures["steps"]) == (3, 12)
    assert minari.load_dataset("netgym/rmcat/sd-v0").total_episodes == 3
    recording = str(CORPUS / "original_custom.jsonl")
    argv = ["dataset", "--from-recording", recording, "--out", "netgym/custom/orig-v0", "--json"]
    assert cli.main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["episodes"], figures["steps"]) == (2, 4)


def test_the_readme_dataset_snippet_runs() -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (block,) = [b for b in blocks if "minari.load_dataset" in b]
    dataset_id = re.findall(r'load_dataset\("([^"]+)"\)', block)[0]
    episodes = collect_episodes("nqos_split", "system_default", [0], 2)
    write_dataset(dataset_id, episodes, env_name="nqos_split", algorithm_name="system_default")
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["dataset"].total_steps == 2  # type: ignore[attr-defined]
