"""The ``network_slicing`` adapter (PROTOCOL.md §11, §14): slices, RBGs, three records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from netgym_client.adapters.network_slicing import NetworkSlicingAdapter, rbg_size
from netgym_client.config import load_config
from netgym_client.errors import ActionError
from netgym_client.protocol import EnvAction, decode, encode
from netgym_client.stats import NetworkStats


def adapter(reward_type: str = "", resource_blocks: int = 100) -> NetworkSlicingAdapter:
    overrides = {
        "rl_config": {"reward_type": reward_type},
        "env_config": {"lte": {"resource_block_num": resource_blocks}},
    }
    return NetworkSlicingAdapter(load_config("network_slicing", overrides))  # 2 slices


def cells(key: str, per_cell: dict[int, tuple[list[int], list[float]]], ts: int = 1100) -> Any:
    source, name = key.split("::", 1)
    ids = sorted(per_cell)
    values = [{"slice": per_cell[c][0], "value": per_cell[c][1]} for c in ids]
    return {"source": source, "name": name, "ts": ts, "id": ids, "value": values}


def one_cell(key: str, values: list[float], ts: int = 1100) -> Any:
    return cells(key, {1: (list(range(len(values))), values)}, ts)


@pytest.mark.parametrize(
    ("resource_blocks", "size"),
    [
        (6, 1),
        (9, 1),
        (10, 2),
        (15, 2),
        (25, 2),
        (26, 3),
        (50, 3),
        (62, 3),
        (63, 4),
        (75, 4),
        (100, 4),
        (109, 4),
        (110, -1),
    ],
)
def test_rbg_size_table(resource_blocks: int, size: int) -> None:
    assert rbg_size(resource_blocks) == size


@pytest.mark.parametrize(
    ("resource_blocks", "rbg_num"),
    [(100, 25.0), (75, 18.75), (50, 50 / 3), (25, 12.5), (15, 7.5), (6, 6.0)],
)
def test_rbg_num_is_a_float(resource_blocks: int, rbg_num: float) -> None:
    assert adapter(resource_blocks=resource_blocks).rbg_num == rbg_num


def test_spaces_have_one_column_per_slice() -> None:
    a = adapter()
    assert a.observation_space.shape == (3, 2)
    assert a.action_space.shape == (2,)
    per_slice = load_config("network_slicing").env_config["per_slice_config"]
    three = {key: values[:1] * 3 for key, values in per_slice.items()}
    config = load_config("network_slicing", {"env_config": {"per_slice_config": three}})
    assert NetworkSlicingAdapter(config).observation_space.shape == (3, 3)
    assert NetworkSlicingAdapter(config).action_space.shape == (3,)


def test_observation_rows_place_values_by_slice_id() -> None:
    stats = NetworkStats.from_records(
        [
            cells("gma::dl::cell::rate", {1: ([1, 0], [3.0, 4.0])}),  # slices out of order
            one_cell("lte::dl::cell::rb_usage", [60.0, 40.0]),
            one_cell("gma::dl::cell::delay_violation", [0.0, 12.5]),
        ]
    )
    a = adapter()
    assert a.observation(stats).tolist() == [[4, 3], [60, 40], [0, 12.5]]
    assert a.filled_values == 0


def test_missing_records_and_slices_read_zero_and_extra_cells_are_ignored() -> None:
    stats = NetworkStats.from_records(
        [
            cells("gma::dl::cell::rate", {1: ([1], [3.0]), 2: ([0, 1], [70.0, 80.0])}),
            one_cell("lte::dl::cell::rb_usage", [1e300, 40.0]),
        ]
    )
    a = adapter()
    obs = a.observation(stats)
    assert obs.tolist() == [[0, 3], [1000, 40], [0, 0]]
    assert a.filled_values == 1 + 2
    assert a.clipped_values == 1


# -- policy -----------------------------------------------------------------------------------
def test_policy_is_three_records_copied_from_the_cell_capacity_row() -> None:
    stats = NetworkStats.from_records([one_cell("lte::dl::cell::max_rate", [9.0, 9.0], ts=7100)])
    # 100 RBs → 25 RBGs, 12.5 per slice: 0.5 → 6.25 → 6; 1.0 → 12.5 → 12 (half to even).
    policy = adapter().policy(np.array([0.5, 1.0], dtype=np.float32), stats)
    assert policy == [
        {"name": "drb_allocation", "ts": 7100, "source": "lte", "id": [1],
         "value": [{"slice": [0, 1], "value": [0.0, 0.0]}]},
        {"name": "prb_allocation", "ts": 7100, "source": "lte", "id": [1],
         "value": [{"slice": [0, 1], "value": [6, 12]}]},
        {"name": "srb_allocation", "ts": 7100, "source": "lte", "id": [1],
         "value": [{"slice": [0, 1], "value": [25.0, 25.0]}]},
    ]  # fmt: skip
    assert isinstance(policy, list)
    assert [type(v) for r in policy for v in r["value"][0]["value"]] == [float] * 2 + [int] * 2 + [
        float
    ] * 2


@pytest.mark.parametrize(
    ("share", "rbgs"),
    # 12.5 RBGs per slice at share 1 (100 RBs, 2 slices): 1.0 → 12.5 → 12 (half to even, not
    # 13); 0.875 → 10.9375 → 11; 0.75 → 9.375 → 9; 0.5 → 6.25 → 6; 0.25 → 3.125 → 3.
    # Actions are float32 (the space's dtype), as in the original: 0.12 is stored as
    # 0.1199999973…, so 1.4999999… → 1, not 2.
    [(0.0, 0), (0.25, 3), (0.5, 6), (0.75, 9), (0.875, 11), (1.0, 12), (0.12, 1)],
)
def test_prioritized_rbgs_round_half_to_even(share: float, rbgs: int) -> None:
    stats = NetworkStats.from_records([one_cell("lte::dl::cell::max_rate", [1.0, 1.0])])
    policy = adapter().policy(np.array([share, 0.0]), stats)
    assert isinstance(policy, list)
    assert policy[1]["value"][0]["value"] == [rbgs, 0]


def test_policy_keeps_the_templates_slice_list_and_cells() -> None:
    template = cells("lte::dl::cell::max_rate", {1: ([1, 0], [1.0, 2.0]), 3: ([1], [5.0])})
    stats = NetworkStats.from_records([template])
    policy = adapter(resource_blocks=50).policy(np.array([1.0, 0.0]), stats)
    assert isinstance(policy, list)
    prb = policy[1]
    assert prb["id"] == [1, 3]
    # 50 RBs → 16.67 RBGs, 8.33 per slice: share 1 → 8; values follow the slice ids.
    assert prb["value"] == [{"slice": [1, 0], "value": [0, 8]}, {"slice": [1], "value": [0]}]
    decode(encode(EnvAction(policy)))


def test_policy_without_a_template_names_cell_1_and_all_slices() -> None:
    stats = NetworkStats.from_records([one_cell("gma::dl::cell::rate", [1.0, 1.0], ts=900)])
    policy = adapter().policy(np.array([0.0, 0.0]), stats)
    assert isinstance(policy, list)
    assert [(r["source"], r["ts"], r["id"]) for r in policy] == [("lte", 900, [1])] * 3
    assert policy[2]["value"] == [{"slice": [0, 1], "value": [25.0, 25.0]}]


def test_none_sends_the_three_knobs_with_empty_values() -> None:
    stats = NetworkStats.from_records([one_cell("lte::dl::cell::max_rate", [1.0, 1.0])])
    policy = adapter().policy(None, stats)
    assert isinstance(policy, list)
    assert [(r["name"], r["value"]) for r in policy] == [
        ("drb_allocation", []),
        ("prb_allocation", []),
        ("srb_allocation", []),
    ]


def test_wrong_shape_is_refused() -> None:
    stats = NetworkStats.from_records([one_cell("lte::dl::cell::max_rate", [1.0, 1.0])])
    with pytest.raises(ActionError):
        adapter().policy(np.array([0.1, 0.2, 0.3]), stats)


# -- rewards: expected values worked out by hand ---------------------------------------------
def _reward_stats(rate: list[float], load: list[float], viol: list[float], rb: list[float]) -> Any:
    return NetworkStats.from_records(
        [
            one_cell("gma::dl::cell::rate", rate),
            one_cell("gma::dl::cell::tx_rate", load),
            one_cell("gma::dl::cell::delay_violation", viol),
            one_cell("lte::dl::cell::rb_usage", rb),
        ]
    )


def test_default_reward_is_zero() -> None:
    assert adapter().reward(_reward_stats([4, 1], [8, 2], [10, 50], [20, 100])) == 0.0


@pytest.mark.parametrize(
    ("rate", "load", "viol", "rb", "expected"),
    [
        # slice 0: 4/8 − 1.5·0.10 − 0.5·0.20 = 0.5 − 0.15 − 0.1 = 0.25
        # slice 1: 0 load → 0 − 1.5·0.50 − 0.5·1.00 = −1.25;  total −1.0
        ([4, 1], [8, 0], [10, 50], [20, 100], -1.0),
        # delivery above the offered load is capped at 1: 1 + 1 − 0 − 0 = 2 (the maximum S)
        ([10, 3], [5, 3], [0, 0], [0, 0], 2.0),
        # fractions above 100 % are capped at 1: 2 · (0 − 1.5 − 0.5) = −4 (the minimum −2S)
        ([0, 0], [1, 1], [250, 100], [400, 100], -4.0),
        # 2/4 − 1.5·0.02 − 0.5·0.5 = 0.5 − 0.03 − 0.25 = 0.22; 1 − 0 − 0.5·0.1 = 0.95
        ([2, 6], [4, 6], [2, 0], [50, 10], 1.17),
    ],
)
def test_slice_utility_known_values(
    rate: list[float], load: list[float], viol: list[float], rb: list[float], expected: float
) -> None:
    reward = adapter("slice_utility").reward(_reward_stats(rate, load, viol, rb))
    assert reward == pytest.approx(expected, abs=1e-12)


def test_slice_utility_of_an_empty_measurement_is_zero() -> None:
    stats = NetworkStats.from_records([one_cell("lte::dl::cell::max_rate", [1.0, 1.0])])
    assert adapter("slice_utility").reward(stats) == 0.0


def test_default_reward_type_is_slice_utility() -> None:
    config = load_config("network_slicing")
    assert config.rl_config["reward_type"] == "slice_utility"
    assert NetworkSlicingAdapter(config).reward_type == "slice_utility"
