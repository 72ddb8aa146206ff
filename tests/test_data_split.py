"""Train W / Train A / Validation V: random (disjoint, covering, 2% validation, deterministic per seed) and
ordered (DLSR's file-order ranges sharing one image); the config keys that choose them."""

import numpy as np
import pytest

from orchestrator.presets import preset_config
from trials.config import DataConfig, default_config, with_overrides
from trials.data import DataError, make_split, split_ordered, split_search
from trials.workload import prepare


@pytest.mark.parametrize("num, val", [(3, 1), (13, 1), (300, 6), (800, 16), (101, 2)])
def test_split_sizes_disjoint_and_covering(num, val):
    w, a, v = split_search(num, seed=0)
    assert len(v) == val and len(w) + len(a) == num - val and 0 <= len(w) - len(a) <= 1
    assert sorted(w + a + v) == list(range(num))


def test_split_deterministic_per_seed():
    assert split_search(300, seed=3) == split_search(300, seed=3)
    assert split_search(300, seed=3) != split_search(300, seed=4)


def test_split_needs_three_images():
    with pytest.raises(DataError, match="at least 3"):
        split_search(2, seed=0)


def test_random_split_is_todays():
    assert split_search(5, seed=0) == ([0, 1], [2, 4], [3])  # as recorded before the ordered split existed
    assert make_split("random", 300, 3, 0.5) == split_search(300, seed=3)


def test_ordered_split_is_dlsrs_df2k_ranges():
    w, a, v = split_ordered(3450, 3000 / 3450)
    assert w == list(range(3000)) and a == list(range(2999, 3450)) and v == a  # images 1-3000 and 3000-3450
    assert set(w) & set(a) == {2999} and len(a) == 451
    assert make_split("ordered", 3450, 0, 3000 / 3450) == (w, a, v)
    assert split_ordered(5, 3000 / 3450) == ([0, 1, 2, 3], [3, 4], [3, 4])  # the built-in colour set
    assert split_ordered(2, 0.5) == ([0], [0, 1], [0, 1])


@pytest.mark.parametrize("num, fraction", [(3, 3000 / 3450), (1, 0.5), (10, 0.04)])
def test_ordered_split_needs_an_image_in_each_part(num, fraction):
    with pytest.raises(DataError, match=f"there are {num} search images"):
        split_ordered(num, fraction)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5, float("nan")])
def test_weight_fraction_must_lie_in_0_1(fraction):
    with pytest.raises(DataError, match="strictly between 0 and 1"):
        split_ordered(100, fraction)
    with pytest.raises(ValueError, match="data.weight_fraction must lie strictly between 0 and 1"):
        DataConfig(weight_fraction=fraction)


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown data.split 'thirds'; valid: random, ordered"):
        DataConfig(split="thirds")
    with pytest.raises(DataError, match="valid: random, ordered"):
        make_split("thirds", 10, 0, 0.5)
    cfg = with_overrides(default_config(), {"data.split": "ordered", "data.weight_fraction": "0.5"})
    assert (cfg.data.split, cfg.data.weight_fraction, cfg.data.modcrop) == ("ordered", 0.5, False)


def test_prepare_uses_the_configured_split():
    cfg = preset_config("smoke", "sr", {"data.split": "ordered", "seed": 0})
    work = prepare(cfg)
    num = len(work.search_images.images)
    w, a, _ = split_ordered(num, 3000 / 3450)
    assert num == 5 and len(work.val_pairs) == len(a) == 2
    lr, hr = work.val_pairs[0]
    np.testing.assert_array_equal(hr, work.search_images.pairs(cfg.task.search_scale)[a[0]][1])
    with pytest.raises(DataError, match="built-in set: the ordered split .* there are 5 search images"):
        prepare(with_overrides(cfg, {"data.weight_fraction": "0.05"}))
