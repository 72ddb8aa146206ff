"""Readers on tiny folders in the real layouts, the built-in set, folder checks, one DataError per problem."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trials.data import DataError, bicubic_downsample, check_folder, load_search_images, load_search_set, load_test_sets
from trials.data.builtin import BUILTIN_MAX_SIDE, COLOR_SEARCH, COLOR_TEST, GRAY_SEARCH, GRAY_TEST
from trials.data.readers import LAYOUTS


def _write(folder: Path, names: list[str], size: tuple[int, int] = (40, 48), seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / name)


def _bsd_original(root: Path) -> Path:
    images = root / "BSR" / "BSDS500" / "data" / "images"
    _write(images / "train", ["2092.jpg", "8049.jpg", "8143.jpg"])
    _write(images / "val", ["3096.jpg", "5096.jpg"])
    _write(images / "test", ["2018.jpg", "3063.jpg"])
    (images / "train" / "Thumbs.db").write_bytes(b"not an image")
    return root


def _benchmark(root: Path, lr_scales: tuple[int, ...] = ()) -> Path:
    _write(root / "HR", ["baby.png", "bird.png"], size=(48, 36))
    for s in lr_scales:
        _write(root / "LR_bicubic" / f"X{s}", [f"babyx{s}.png", f"birdx{s}.png"], size=(48 // s, 36 // s))
    return root


def test_bsd500_original_layout_found_under_bsr(tmp_path):
    images = load_search_images("bsd500", _bsd_original(tmp_path), color=False)
    assert len(images) == 5 and all(img.shape == (40, 48, 1) and img.dtype == np.float32 for img in images)
    test = load_test_sets({"bsd500": tmp_path}, color=False)["bsd200"]
    assert test.names == ("2018", "3063") and test.images[0].shape == (40, 48, 1)


def test_bsd500_flat_layout(tmp_path):
    _write(tmp_path / "train", [f"{i}.jpg" for i in range(3)])
    _write(tmp_path / "test", ["a.jpg"])
    assert len(load_search_images("bsd500", tmp_path, color=True)) == 3
    assert load_test_sets({"bsd500": tmp_path}, color=True)["bsd200"].images[0].shape[2] == 3


def test_gray_is_bt601_luma(tmp_path):
    _write(tmp_path / "HR", ["a.png"])
    rgb = np.asarray(Image.open(tmp_path / "HR" / "a.png"), dtype=np.float32) / 255
    gray = load_test_sets({"set5": tmp_path}, color=False)["set5"].images[0]
    np.testing.assert_allclose(gray[..., 0], rgb @ np.array([0.299, 0.587, 0.114]), atol=1e-6)


def test_div2k_with_and_without_lr(tmp_path):
    _write(tmp_path / "DIV2K_train_HR", ["0001.png", "0002.png", "0003.png"], size=(48, 40))
    without = load_search_set("div2k", tmp_path, color=True, scales=(2,))
    assert len(without.images) == 3 and without.images[0].shape == (48, 40, 3)
    # no LR files: inputs made once at load by bicubic downsampling
    np.testing.assert_array_equal(without.lr[2][0], bicubic_downsample(without.images[0], 2))
    _write(
        tmp_path / "DIV2K_train_LR_bicubic" / "X2", ["0001x2.png", "0002x2.png", "0003x2.png"], size=(24, 20)
    )
    with_lr = load_search_set("div2k", tmp_path, color=True, scales=(2, 4))
    assert sorted(with_lr.lr) == [2, 4] and with_lr.lr[2][2].shape == (24, 20, 3)
    assert not np.array_equal(with_lr.lr[2][0], without.lr[2][0])  # the file's pixels, not bicubic
    lr, hr = with_lr.pairs(4)[0]
    assert lr.shape == (12, 10, 3) and hr.shape == (48, 40, 3)


@pytest.mark.parametrize("lr_scales", [(), (2, 3)])
def test_benchmark_with_and_without_lr_bicubic(tmp_path, lr_scales):
    test = load_test_sets({"set5": _benchmark(tmp_path, lr_scales)}, color=True, scales=(2, 3))["set5"]
    assert test.names == ("baby", "bird") and test.images[1].shape == (48, 36, 3)
    assert sorted(test.lr) == [2, 3]  # from LR_bicubic/ when there, else bicubic downsampling at load
    assert test.lr[3][0].shape == (16, 12, 3)
    made = np.array_equal(test.lr[2][1], bicubic_downsample(test.images[1], 2))
    assert made == (not lr_scales)


def test_builtin_split_fixed_disjoint_and_small():
    assert not set(COLOR_SEARCH) & set(COLOR_TEST) and not set(GRAY_SEARCH) & set(GRAY_TEST)
    gray, color = load_search_images(color=False), load_search_images(color=True)
    assert len(gray) == len(GRAY_SEARCH) and all(img.shape[2] == 1 for img in gray)
    assert len(color) == len(COLOR_SEARCH) and all(img.shape[2] == 3 for img in color)
    assert all(max(img.shape[:2]) <= BUILTIN_MAX_SIDE and 0 <= img.min() <= img.max() <= 1 for img in gray)
    assert list(load_test_sets(color=True)) == ["builtin"]


def test_check_folder_reports_counts_sizes_and_lr(tmp_path):
    report = check_folder(_benchmark(tmp_path, (2,)), "set5")
    assert "test: 2 images (the paper's set has 5)" in report and "height 48-48, width 36-36" in report
    assert "LR x2: 2 files" in report
    assert "search (gray): 13 images" in check_folder(None, "builtin")


def _assert_names_path_and_layout(err: pytest.ExceptionInfo, path: Path, kind: str) -> None:
    assert str(path) in str(err.value) and LAYOUTS[kind] in str(err.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="folder not found") as err:
        load_search_images("div2k", tmp_path / "nowhere", color=True)
    _assert_names_path_and_layout(err, tmp_path / "nowhere", "div2k")


def test_empty_folder(tmp_path):
    (tmp_path / "HR").mkdir()
    with pytest.raises(DataError, match="no image files") as err:
        load_test_sets({"set14": tmp_path}, color=True)
    _assert_names_path_and_layout(err, tmp_path / "HR", "set14")


def test_corrupt_image(tmp_path):
    _benchmark(tmp_path)
    (tmp_path / "HR" / "bird.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match="cannot decode") as err:
        load_test_sets({"set5": tmp_path}, color=True)
    _assert_names_path_and_layout(err, tmp_path / "HR" / "bird.png", "set5")


def test_data_check_names_every_bad_file(tmp_path):
    _benchmark(tmp_path, (2,))
    (tmp_path / "HR" / "bird.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "LR_bicubic" / "X2" / "babyx2.png").write_bytes(b"truncated")
    with pytest.raises(DataError, match=r"2 image\(s\) cannot be decoded") as err:
        check_folder(tmp_path, "set5")
    assert "bird.png" in str(err.value) and "babyx2.png" in str(err.value)


def test_image_smaller_than_crop(tmp_path):
    _bsd_original(tmp_path)
    with pytest.raises(DataError, match="smaller than the 64px crop") as err:
        load_search_images("bsd500", tmp_path, color=False, min_size=64)
    _assert_names_path_and_layout(err, tmp_path / "BSR/BSDS500/data/images/train/2092.jpg", "bsd500")


def test_wrong_layout_images_in_root(tmp_path):
    _write(tmp_path, ["1.jpg", "2.jpg"])
    with pytest.raises(DataError, match="2 images directly in the folder") as err:
        check_folder(tmp_path, "bsd500")
    _assert_names_path_and_layout(err, tmp_path, "bsd500")


def test_lr_file_missing_for_an_hr_image(tmp_path):
    _benchmark(tmp_path, (4,))
    (tmp_path / "LR_bicubic" / "X4" / "birdx4.png").unlink()
    with pytest.raises(DataError, match="no LR file for 1 HR images, e.g. bird.png"):
        load_test_sets({"urban100": tmp_path}, color=True, scales=(4,))


def test_lr_file_of_wrong_size(tmp_path):
    _write(tmp_path / "HR", ["baby.png"], size=(48, 36))
    _write(tmp_path / "LR_bicubic" / "X2", ["babyx2.png"], size=(20, 18))
    with pytest.raises(DataError, match="does not match HR") as err:
        load_test_sets({"manga109": tmp_path}, color=True, scales=(2,))
    assert str(tmp_path / "LR_bicubic" / "X2" / "babyx2.png") in str(err.value)
