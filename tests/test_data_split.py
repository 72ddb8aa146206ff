"""Train W / Train A / Validation V: disjoint, covering, 2% validation, deterministic per seed."""

import pytest

from trials.data import DataError, split_search


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
