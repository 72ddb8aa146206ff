"""Deraining data: every layout on tiny folders, pairs at scale 1, synthetic rain, one DataError per bad file."""

import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import trials.data.derain as derain
from trials.data import (
    DATA_KINDS,
    DataError,
    ImageSet,
    LoadOptions,
    add_rain,
    check_folder,
    detect_derain_kind,
    load_search_set,
    load_test_sets,
    rain_rng,
    with_synthetic_rain,
)
from trials.data.builtin import builtin_set
from trials.data.derain import DERAIN_LAYOUTS
from trials.data.images import read_image
from trials.data.rain import line_kernel


def load_derain_set(kind: str, root: Path, *, color: bool, order: str = "gt,lq") -> ImageSet:
    """Every pair of a deraining folder (its kind's reader, any split sub-folder)."""
    return DATA_KINDS.get(kind).read(Path(root), None, LoadOptions(color, options={"pair_order": order}))


def derain_test_folder(test_root, name: str) -> Path:
    return DATA_KINDS.get(name).folder_in(test_root)


RAIN_OFFSET = 7  # a rainy file's pixels are its clean file's plus this, so a test sees which files were paired


def _save(path: Path, value: int, size: tuple[int, int] = (20, 24)) -> None:
    """A constant RGB image, so its pixels say which file it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)


def _value(image: np.ndarray) -> int:
    return round(float(image.mean()) * 255)


def _prefix(root: Path, numbers: list[str], rainy: str = ".", clean: str = ".") -> Path:
    """rain-N in ``rainy`` and norain-N in ``clean`` (sub-folders of root); N's pixels are 10 * int(N)."""
    for n in numbers:
        _save(root / clean / f"norain-{n}.png", 10 * int(n))
        _save(root / rainy / f"rain-{n}.png", 10 * int(n) + RAIN_OFFSET)
    return root


def _ddn(root: Path, cleans: int = 2, per_clean: int = 3) -> Path:
    for n in range(1, cleans + 1):
        _save(root / "ground_truth" / f"{n}.png", 10 * n)
        for m in range(1, per_clean + 1):
            _save(root / "rainy_image" / f"{n}_{m}.png", 10 * n + m)
    return root


def _side_by_side(root: Path, stems: list[str], size: tuple[int, int] = (16, 32)) -> Path:
    """Left half 100 + i, right half 200 + i for the i-th stem."""
    root.mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(stems):
        pixels = np.zeros((*size, 3), dtype=np.uint8)
        pixels[:, : size[1] // 2], pixels[:, size[1] // 2 :] = 100 + i, 200 + i
        Image.fromarray(pixels).save(root / f"{stem}.png")
    return root


def _assert_paired(image_set: ImageSet) -> None:
    """Each rainy image is its own clean one plus RAIN_OFFSET, and pairs(1) gives (rainy, clean)."""
    for (rainy, clean), image, lr in zip(image_set.pairs(1), image_set.images, image_set.lr[1], strict=True):
        assert rainy is lr and clean is image
        assert _value(rainy) - _value(clean) == RAIN_OFFSET


# --- layouts ----------------------------------------------------------------------------------------------
def test_prefix_flat_layout_of_raintrainh_in_numeric_order(tmp_path):
    root = _prefix(tmp_path / "RainTrainH", ["10", "2", "1"])
    _save(root / "norain-4.png", 40)  # a clean image whose rainy one PReNet deleted: allowed, not used
    images = load_derain_set("rain100h", root, color=True)
    assert images.name == "rain100h" and images.names == ("rain-1", "rain-2", "rain-10")
    assert [_value(c) for c in images.images] == [10, 20, 100]
    assert images.images[0].shape == (20, 24, 3) and images.lr[1][0].dtype == np.float32
    _assert_paired(images)


def test_prefix_test_layout_rainy_subfolder_zero_padded(tmp_path):
    root = _prefix(tmp_path / "Rain100L", ["001", "002", "012"], rainy="rainy")
    _save(root / "rainy" / "rain-3.png", 30 + RAIN_OFFSET)  # unpadded rainy N pairs with a padded clean N
    _save(root / "norain-003.png", 30)
    images = load_derain_set("rain100l", root, color=False)
    assert images.names == ("rain-001", "rain-002", "rain-3", "rain-012")
    assert images.images[0].shape == (20, 24, 1)
    _assert_paired(images)


def test_prefix_split_into_rain_and_norain_subfolders(tmp_path):
    images = load_derain_set("rain100h", _prefix(tmp_path, ["1", "2"], rainy="rain", clean="norain"), color=True)
    assert images.names == ("rain-1", "rain-2")
    _assert_paired(images)


def test_rain12_as_prenet_ships_it(tmp_path):
    for n in (1, 2, 12):
        _save(tmp_path / "groundtruth" / f"{n}.png", 10 * n)
        _save(tmp_path / "rainy" / f"{n}.png", 10 * n + RAIN_OFFSET)
    images = load_derain_set("rain12", tmp_path, color=True)
    assert images.names == ("1", "2", "12")
    _assert_paired(images)


def test_ddn_layout_shares_each_clean_image(tmp_path, monkeypatch):
    _ddn(tmp_path, cleans=2, per_clean=3)
    _save(tmp_path / "ground_truth" / "3.png", 30)  # no rainy image: allowed
    _save(tmp_path / "rainy_image" / "1_10.png", 20)  # numeric order: after 1_3
    decoded = []
    monkeypatch.setattr(derain, "read_image", lambda path, color: decoded.append(path) or read_image(path, color))
    images = load_derain_set("rain1400", tmp_path, color=True)
    assert len(decoded) == 7 + 2 and len(set(decoded)) == 9  # each clean image decoded once, 3.png never
    assert images.names == ("1_1", "1_2", "1_3", "1_10", "2_1", "2_2", "2_3")
    assert images.images[0] is images.images[1] is images.images[3] and images.images[4] is images.images[6]
    assert images.images[0] is not images.images[4]
    assert [_value(c) for c in images.images] == [10, 10, 10, 10, 20, 20, 20]
    assert [_value(r) for r in images.lr[1]] == [11, 12, 13, 20, 21, 22, 23]


def test_side_by_side_order_swaps_the_halves(tmp_path):
    _side_by_side(tmp_path, ["10", "2", "1"])
    gt_left = load_derain_set("rain800", tmp_path, color=True)
    assert gt_left.names == ("1", "2", "10")
    assert gt_left.images[0].shape == gt_left.lr[1][0].shape == (16, 16, 3)
    assert [_value(c) for c in gt_left.images] == [102, 101, 100] and _value(gt_left.lr[1][0]) == 202
    lq_left = load_derain_set("rain800", tmp_path, color=True, order="lq,gt")
    assert [_value(c) for c in lq_left.images] == [202, 201, 200] and _value(lq_left.lr[1][0]) == 102
    rainy, clean = lq_left.pairs(1)[0]
    np.testing.assert_array_equal(rainy, gt_left.images[0])
    np.testing.assert_array_equal(clean, gt_left.lr[1][0])


def test_side_by_side_split_subfolders(tmp_path):
    _side_by_side(tmp_path / "training", ["1", "2", "3"])
    _side_by_side(tmp_path / "test_syn", ["1"])
    assert len(load_search_set("rain800", tmp_path, color=True).images) == 3
    assert len(load_test_sets({"rain800": tmp_path}, color=True)["rain800"].images) == 1
    with pytest.raises(DataError, match=r"holds several splits \(test_syn/, training/\)"):
        load_derain_set("rain800", tmp_path, color=True)


def test_ddn_in_a_split_subfolder(tmp_path):
    _ddn(tmp_path / "train", cleans=1, per_clean=2)
    assert load_search_set("rain1400", tmp_path, color=True).names == ("1_1", "1_2")
    with pytest.raises(DataError, match="no rain1400 images in the folder nor in a test/"):
        load_test_sets({"rain1400": tmp_path}, color=True)


def test_pairs_at_scale_one_without_inputs_is_image_twice():
    image = np.zeros((4, 4, 1), np.float32)
    (source, target), = ImageSet("x", [image], ("a",)).pairs(1)
    assert source is image and target is image
    rainy = np.ones((4, 4, 1), np.float32)
    (source, target), = ImageSet("x", [image], ("a",), {1: [rainy]}).pairs()
    assert source is rainy and target is image


# --- synthetic rain ---------------------------------------------------------------------------------------
def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_rain_rng_is_the_documented_stream():
    expected = np.random.Generator(np.random.PCG64([3, zlib.crc32(b"synthetic-rain"), 5])).random(4)
    np.testing.assert_array_equal(rain_rng(5, 3).random(4), expected)


def test_synthetic_rain_reproducible_and_seeded():
    clean = builtin_set("search", True).images[0]
    first = add_rain(clean, rain_rng(0, 0))
    np.testing.assert_array_equal(first, add_rain(clean, rain_rng(0, 0)))
    assert not np.array_equal(first, add_rain(clean, rain_rng(0, 1)))
    assert not np.array_equal(first, add_rain(clean, rain_rng(1, 0)))
    assert not np.array_equal(first, add_rain(clean, rain_rng(0, 0, stream="synthetic-rain-test")))


@pytest.mark.parametrize(("split", "color"), [("search", True), ("search", False), ("test", True)])
def test_synthetic_rain_visible_bright_and_aligned(split, color):
    clean = builtin_set(split, color)
    rainy = with_synthetic_rain(clean, seed=0)
    assert rainy.images is clean.images and rainy.names == clean.names
    for (source, target), image in zip(rainy.pairs(1), clean.images, strict=True):
        assert source.shape == image.shape and source.dtype == np.float32 and target is image
        assert 10 < _psnr(source, image) < 35
        assert (source >= image - 1e-6).all() and source.max() <= 1  # streaks only brighten, clipped at 1
        streaked = (source - image).max(axis=2) > 0.05
        assert 0.002 < streaked.mean() < 0.3  # sparse streaks, not a haze


def test_streaks_follow_the_angle():
    vertical = line_kernel(20, 0.0, 1.0)
    centre = vertical.shape[1] // 2
    assert vertical[:, centre].sum() > 19 and vertical[:, centre + 3].max() < 1e-3
    tilted = line_kernel(20, np.deg2rad(30), 1.0)  # top leans right: the top row's bright pixel right of centre
    top = np.flatnonzero(tilted.max(axis=1) > 0.5)[0]
    assert tilted[top].argmax() > centre and tilted[-top - 1].argmax() < centre


# --- bad folders: every DataError names the file(s) -------------------------------------------------------
def test_rainy_images_without_clean_every_one_named(tmp_path):
    _prefix(tmp_path, ["1", "2", "3"], rainy="rainy")
    (tmp_path / "norain-1.png").unlink()
    (tmp_path / "norain-3.png").unlink()
    with pytest.raises(DataError, match=r"2 rainy image\(s\) without their clean image") as err:
        load_derain_set("rain100h", tmp_path, color=True)
    assert "rainy/rain-1.png" in str(err.value) and "rainy/rain-3.png" in str(err.value)
    assert "rain-2.png" not in str(err.value)


def test_ddn_rainy_without_clean(tmp_path):
    _ddn(tmp_path)
    (tmp_path / "ground_truth" / "2.png").unlink()
    with pytest.raises(DataError, match="without their clean image") as err:
        load_derain_set("rain1400", tmp_path, color=True)
    assert all(f"rainy_image/2_{m}.png" in str(err.value) for m in (1, 2, 3))


def test_size_mismatch_names_both_files_before_decoding(tmp_path, monkeypatch):
    _prefix(tmp_path, ["1", "2"])
    _save(tmp_path / "norain-2.png", 20, size=(20, 26))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the pairs were checked")

    monkeypatch.setattr(derain, "read_image", no_decoding)
    with pytest.raises(DataError, match="rainy rain-2.png is 20x24 but clean norain-2.png is 20x26"):
        load_derain_set("rain100l", tmp_path, color=True)


@pytest.mark.parametrize("kind", ["rain100h", "rain1400", "rain800"])
def test_empty_folder_says_the_layout(tmp_path, kind):
    with pytest.raises(DataError) as err:
        load_derain_set(kind, tmp_path, color=True)
    assert str(tmp_path) in str(err.value) and DERAIN_LAYOUTS[kind] in str(err.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="folder not found") as err:
        load_derain_set("rain1400", tmp_path / "nowhere", color=True)
    assert str(tmp_path / "nowhere") in str(err.value)


def test_garbage_file_named(tmp_path):
    _prefix(tmp_path, ["1", "2"])
    (tmp_path / "norain-2.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match="norain-2.png cannot be decoded"):
        load_derain_set("rain100h", tmp_path, color=True)


def test_truncated_file_named_with_its_path(tmp_path):
    _ddn(tmp_path, cleans=1, per_clean=2)
    path = tmp_path / "rainy_image" / "1_2.png"
    path.write_bytes(path.read_bytes()[:60])  # header intact, pixels cut
    with pytest.raises(DataError, match="cannot decode") as err:
        load_derain_set("rain1400", tmp_path, color=True)
    assert str(path) in str(err.value) and DERAIN_LAYOUTS["rain1400"] in str(err.value)


def test_odd_width_side_by_side_named(tmp_path):
    _side_by_side(tmp_path, ["1"])
    _side_by_side(tmp_path / "x", ["2"], size=(16, 33))
    (tmp_path / "x" / "2.png").rename(tmp_path / "2.png")
    with pytest.raises(DataError, match="2.png is 16x33: an odd width"):
        load_derain_set("rain800", tmp_path, color=True)


def test_bad_pair_order(tmp_path):
    with pytest.raises(DataError, match="pair order 'gt-lq'"):
        load_derain_set("rain800", _side_by_side(tmp_path, ["1"]), color=True, order="gt-lq")


def test_duplicate_numbers_and_misnamed_images(tmp_path):
    _prefix(tmp_path, ["1", "2"])
    _save(tmp_path / "rain-001.png", 10)
    _save(tmp_path / "photo.png", 10)
    with pytest.raises(DataError) as err:
        load_derain_set("rain100l", tmp_path, color=True)
    assert "rainy images rain-001.png and rain-1.png have the same number" in str(err.value)
    assert "1 image(s) not named rain-N / norain-N (or N)" in str(err.value) and "photo.png" in str(err.value)


# --- detect, check, loaders -------------------------------------------------------------------------------
def test_detect_derain_kind_on_each_layout(tmp_path):
    assert detect_derain_kind(_prefix(tmp_path / "RainTrainH", ["1"])) == "rain100h"
    assert detect_derain_kind(_prefix(tmp_path / "RainTrainL", ["1"])) == "rain100l"
    assert detect_derain_kind(_prefix(tmp_path / "rain100h_test", ["001"], rainy="rainy")) == "rain100h"
    assert detect_derain_kind(_prefix(tmp_path / "mine", ["1"])) == "rain100l"
    _save(tmp_path / "r12" / "rainy" / "1.png", 10)
    _save(tmp_path / "r12" / "groundtruth" / "1.png", 10)
    assert detect_derain_kind(tmp_path / "r12") == "rain12"
    assert detect_derain_kind(_ddn(tmp_path / "Rain12600")) == "rain1400"
    assert detect_derain_kind(_ddn(tmp_path / "nested" / "train").parent) == "rain1400"
    assert detect_derain_kind(_side_by_side(tmp_path / "Rain800", ["1"])) == "rain800"
    assert detect_derain_kind(_side_by_side(tmp_path / "id_cgan" / "training", ["1"]).parent) == "rain800"
    _save(tmp_path / "square" / "a.png", 1, size=(20, 20))
    with pytest.raises(DataError, match="not a deraining folder in a known layout") as err:
        detect_derain_kind(tmp_path / "square")
    assert all(DERAIN_LAYOUTS[kind] in str(err.value) for kind in ("rain100l", "rain1400", "rain800"))


def test_check_folder_reports_pairs_and_unpaired_clean(tmp_path):
    _ddn(tmp_path)
    _save(tmp_path / "ground_truth" / "3.png", 30)
    report = check_folder(tmp_path, "rain1400")
    assert "6 rainy image(s) (the published sets have 12600 or 1400) of 2 clean images" in report
    assert "height 20-20, width 24-24, RGB files" in report
    assert "1 clean image(s) without a rainy one, not used: 3.png" in report
    _side_by_side(tmp_path / "r800" / "training", ["1", "2"])
    report = check_folder(tmp_path / "r800", "rain800")
    assert "search (training/): 2 side-by-side pairs" in report and "each half height 16-16, width 16-16" in report


def test_check_folder_lists_every_bad_file(tmp_path):
    _prefix(tmp_path, ["1", "2", "3", "4"], rainy="rainy")
    (tmp_path / "norain-1.png").write_bytes(b"\x89PNG garbage")
    path = tmp_path / "rainy" / "rain-2.png"
    path.write_bytes(path.read_bytes()[:60])  # truncated: only a full decode finds it
    (tmp_path / "norain-3.png").unlink()
    _save(tmp_path / "norain-4.png", 40, size=(22, 24))
    with pytest.raises(DataError, match=r"4 problem\(s\)") as err:
        check_folder(tmp_path, "rain100h")
    message = str(err.value)
    assert "norain-1.png cannot be decoded" in message and "rainy/rain-2.png cannot be decoded" in message
    assert "without their clean image (the one with the same N); add the clean images or remove these: " \
           "rainy/rain-3.png" in message
    assert "rainy rainy/rain-4.png is 20x24 but clean norain-4.png is 22x24" in message


def test_loaders_dispatch_derain_kinds(tmp_path):
    _ddn(tmp_path / "Rain12600")
    search = load_search_set("rain1400", tmp_path / "Rain12600", color=False, scales=(1,), min_size=16)
    assert search.name == "rain1400" and len(search.images) == 6 and search.lr[1][0].shape == (20, 24, 1)
    _prefix(tmp_path / "Rain100H", ["001", "002"], rainy="rainy")
    _side_by_side(tmp_path / "Rain800", ["1"])
    tests = load_test_sets({"rain100h": tmp_path / "Rain100H", "rain800": tmp_path / "Rain800", "builtin": None},
                           color=True, options={"pair_order": "lq,gt"})
    assert list(tests) == ["rain100h", "rain800", "builtin"]
    _assert_paired(tests["rain100h"])
    assert _value(tests["rain800"].images[0]) == 200 and 1 not in tests["builtin"].lr


def test_loaders_refuse_sr_scales_small_images_and_test_only_sets(tmp_path):
    _prefix(tmp_path, ["1", "2"])
    with pytest.raises(DataError, match="scale 1 only"):
        load_search_set("rain100l", tmp_path, color=True, scales=(2,))
    with pytest.raises(DataError, match="smaller than the 24px crop") as err:
        load_search_set("rain100l", tmp_path, color=True, min_size=24)
    assert str(tmp_path / "rain-1.png") in str(err.value) and DERAIN_LAYOUTS["rain100l"] in str(err.value)
    with pytest.raises(DataError, match="rain12 is not a search/train set"):
        load_search_set("rain12", tmp_path, color=True)
    with pytest.raises(DataError, match="scale 1 only"):
        check_folder(tmp_path, "rain100l", scales=(4,))


def test_derain_test_folder_case_insensitive(tmp_path):
    (tmp_path / "RAIN100H").mkdir()
    (tmp_path / "test12").mkdir()
    assert derain_test_folder(tmp_path, "rain100h") == tmp_path / "RAIN100H"
    assert derain_test_folder(str(tmp_path), "rain12") == tmp_path / "test12"
    with pytest.raises(DataError, match="no folder for test set rain1400; expected one of Rain1400"):
        derain_test_folder(tmp_path, "rain1400")
    with pytest.raises(DataError, match="data.test_root is not set"):
        derain_test_folder(None, "rain800")
