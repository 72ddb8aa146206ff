"""Readers on tiny folders in the real layouts, the built-in set, folder checks, one DataError per problem."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trials.data import DATA_KINDS, DataError, check_folder, downsample, load_search_set, load_test_sets
from trials.data.builtin import BUILTIN_MAX_SIDE, COLOR_SEARCH, COLOR_TEST, GRAY_SEARCH, GRAY_TEST


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
    images = load_search_set("bsd500", _bsd_original(tmp_path), color=False).images
    assert len(images) == 5 and all(img.shape == (40, 48, 1) and img.dtype == np.float32 for img in images)
    test = load_test_sets({"bsd500": tmp_path}, color=False)["bsd200"]
    assert test.names == ("2018", "3063") and test.images[0].shape == (40, 48, 1)


def test_bsd500_flat_layout(tmp_path):
    _write(tmp_path / "train", [f"{i}.jpg" for i in range(3)])
    _write(tmp_path / "test", ["a.jpg"])
    assert len(load_search_set("bsd500", tmp_path, color=True).images) == 3
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
    np.testing.assert_array_equal(without.lr[2][0], downsample(without.images[0], 2))
    _write(
        tmp_path / "DIV2K_train_LR_bicubic" / "X2", ["0001x2.png", "0002x2.png", "0003x2.png"], size=(24, 20)
    )
    with_lr = load_search_set("div2k", tmp_path, color=True, scales=(2,))
    assert sorted(with_lr.lr) == [2] and with_lr.lr[2][2].shape == (24, 20, 3)
    assert not np.array_equal(with_lr.lr[2][0], without.lr[2][0])  # the file's pixels, not bicubic
    lr, hr = with_lr.pairs(2)[0]
    assert lr.shape == (24, 20, 3) and hr.shape == (48, 40, 3)


@pytest.mark.parametrize("lr_scales", [(), (2, 3)])
def test_benchmark_with_and_without_lr_bicubic(tmp_path, lr_scales):
    test = load_test_sets({"set5": _benchmark(tmp_path, lr_scales)}, color=True, scales=(2, 3))["set5"]
    assert test.names == ("baby", "bird") and test.images[1].shape == (48, 36, 3)
    assert sorted(test.lr) == [2, 3]  # from LR_bicubic/ when there, else bicubic downsampling at load
    assert test.lr[3][0].shape == (16, 12, 3)
    made = np.array_equal(test.lr[2][1], downsample(test.images[1], 2))
    assert made == (not lr_scales)


def test_builtin_split_fixed_disjoint_and_small():
    assert not set(COLOR_SEARCH) & set(COLOR_TEST) and not set(GRAY_SEARCH) & set(GRAY_TEST)
    gray, color = load_search_set(color=False).images, load_search_set(color=True).images
    assert len(gray) == len(GRAY_SEARCH) and all(img.shape[2] == 1 for img in gray)
    assert len(color) == len(COLOR_SEARCH) and all(img.shape[2] == 3 for img in color)
    assert all(max(img.shape[:2]) <= BUILTIN_MAX_SIDE and 0 <= img.min() <= img.max() <= 1 for img in gray)
    assert list(load_test_sets(color=True)) == ["builtin"]


def test_check_folder_reports_counts_sizes_and_lr(tmp_path):
    report = check_folder(_benchmark(tmp_path, (2,)), "set5")
    assert "test: 2 images (the published set has 5)" in report and "height 48-48, width 36-36" in report
    assert "LR x2: 2 files" in report
    assert "search (gray): 13 images" in check_folder(None, "builtin")


def _assert_names_path_and_layout(err: pytest.ExceptionInfo, path: Path, kind: str) -> None:
    assert str(path) in str(err.value) and DATA_KINDS.get(kind).layout in str(err.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="folder not found") as err:
        load_search_set("div2k", tmp_path / "nowhere", color=True)
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
        load_search_set("bsd500", tmp_path, color=False, min_size=64)
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


# --- df2k, missing X{s} folders, HR sizes that are not multiples of the scale ------------------------------
def _df2k(root: Path, lr_scales: tuple[int, ...] = (), nested: bool = True) -> Path:
    """DIV2K 0002, 0001 and Flickr2K 000002, 000001 (written out of order); LR pixels = the image's index."""
    flickr = root / "Flickr2K" if nested else root
    parts = [(root / "DIV2K_train_HR", root / "DIV2K_train_LR_bicubic", ["0002", "0001"]),
             (flickr / "Flickr2K_HR", flickr / "Flickr2K_LR_bicubic", ["000002", "000001"])]
    for hr_folder, lr_folder, stems in parts:
        _write(hr_folder, [f"{stem}.png" for stem in stems], size=(48, 40))
        for s in lr_scales:
            (lr_folder / f"X{s}").mkdir(parents=True, exist_ok=True)
            for stem in stems:
                value = np.full((48 // s, 40 // s, 3), int(stem), dtype=np.uint8)
                Image.fromarray(value).save(lr_folder / f"X{s}" / f"{stem}x{s}.png")
    return root


@pytest.mark.parametrize("nested", [True, False])
def test_df2k_is_div2k_then_flickr2k_each_sorted(tmp_path, nested):
    images = load_search_set("df2k", _df2k(tmp_path, nested=nested), color=True, scales=(2,))
    assert images.names == ("0001", "0002", "000001", "000002")
    np.testing.assert_array_equal(images.lr[2][3], downsample(images.images[3], 2))  # no LR folders
    assert "search: 4 images (the published set has 3450)" in check_folder(tmp_path, "df2k")


def test_df2k_lr_files_paired_with_their_hr_image(tmp_path):
    images = load_search_set("df2k", _df2k(tmp_path, lr_scales=(2, 4)), color=True, scales=(2, 4))
    for scale in (2, 4):
        assert [round(float(lr.mean()) * 255) for lr in images.lr[scale]] == [1, 2, 1, 2]
        assert images.pairs(scale)[2][0].shape == (48 // scale, 40 // scale, 3)


def test_df2k_lr_scale_in_one_part_only(tmp_path):
    shutil.rmtree(_df2k(tmp_path, lr_scales=(2,)) / "Flickr2K" / "Flickr2K_LR_bicubic" / "X2")
    with pytest.raises(DataError, match="must be there for every part of the set or for none") as err:
        load_search_set("df2k", tmp_path, color=True, scales=(2,))
    assert "DIV2K_train_LR_bicubic/X2 holds x2 LR files but Flickr2K/Flickr2K_LR_bicubic/X2 does not exist" in str(
        err.value)


def test_df2k_without_flickr2k(tmp_path):
    _write(tmp_path / "DIV2K_train_HR", ["0001.png"])
    with pytest.raises(DataError, match="no Flickr2K_HR/ or Flickr2K/Flickr2K_HR/ folder") as err:
        load_search_set("df2k", tmp_path, color=True)
    _assert_names_path_and_layout(err, tmp_path, "df2k")


def test_lr_folder_without_the_scale_needed_is_an_error_not_bicubic(tmp_path):
    _benchmark(tmp_path, (2, 3))
    with pytest.raises(DataError, match=r"LR_bicubic/X4 not found \(LR scales present: x2, x3\), so there are no "
                                        r"x4 inputs") as err:
        load_test_sets({"set5": tmp_path}, color=True, scales=(2, 4))
    assert str(tmp_path) in str(err.value) and DATA_KINDS.get("set5").layout in str(err.value)
    assert sorted(load_test_sets({"set5": tmp_path}, color=True, scales=(2, 3))["set5"].lr) == [2, 3]
    with pytest.raises(DataError, match="LR_bicubic/X4 not found"):
        check_folder(tmp_path, "set5", scales=(4,))
    assert "x4 not usable as is: LR_bicubic/X4 not found" in check_folder(tmp_path, "set5")
    (tmp_path / "LR_bicubic" / "X2").rename(tmp_path / "LR_bicubic" / "old")  # an LR folder without any X{s}
    with pytest.raises(DataError, match=r"present: x3\)"):
        load_test_sets({"set5": tmp_path}, color=True, scales=(2,))


def test_builtin_set_keeps_making_bicubic_inputs_at_every_scale():
    images = load_search_set(color=True, scales=(2, 3, 4))
    assert any(side % 3 for img in images.images for side in img.shape[:2])  # not multiples, yet no error
    for scale in (2, 3, 4):
        lr, hr = images.pairs(scale)[0]
        np.testing.assert_array_equal(lr, downsample(images.images[0], scale))
        assert hr.shape == (lr.shape[0] * scale, lr.shape[1] * scale, 3)


def _odd_div2k(root: Path) -> Path:
    _write(root / "DIV2K_train_HR", ["0001.png"], size=(48, 40))
    _write(root / "DIV2K_train_HR", ["0002.png"], size=(50, 40))
    _write(root / "DIV2K_train_HR", ["0003.png"], size=(48, 42))
    return root


def test_hr_not_divisible_without_lr_files_names_every_file(tmp_path):
    _odd_div2k(tmp_path)
    assert len(load_search_set("div2k", tmp_path, color=True, scales=(2,)).images) == 3  # 2 divides all
    with pytest.raises(DataError, match="2 HR image") as err:
        load_search_set("div2k", tmp_path, color=True, scales=(2, 4))
    message = str(err.value)
    assert "DIV2K_train_HR/0002.png (50x40), DIV2K_train_HR/0003.png (48x42)" in message
    assert "0001.png" not in message and "x2" not in message
    assert "supply x4 LR files (DIV2K_train_LR_bicubic/X4)" in message and "data.modcrop=true" in message
    with pytest.raises(DataError, match=r"0002.png \(50x40\), DIV2K_train_HR/0003.png"):
        check_folder(tmp_path, "div2k", scales=(4,))
    report = check_folder(tmp_path, "div2k")
    assert "x4 not usable as is: 2 HR image(s)" in report and "x3 not usable as is: 2 HR image(s)" in report
    assert "x2 not usable" not in report and "LR: none on disk" in report
    check_folder(tmp_path, "div2k", scales=(4,), modcrop=True)


def test_modcrop_crops_hr_to_a_multiple_of_the_scale(tmp_path):
    images = load_search_set("div2k", _odd_div2k(tmp_path), color=True, scales=(4,), modcrop=True)
    lr, hr = images.pairs(4)[1]
    assert hr.shape == (48, 40, 3) and lr.shape == (12, 10, 3)
    np.testing.assert_array_equal(hr, images.images[1][:48, :40])
    np.testing.assert_array_equal(lr, downsample(images.images[1][:48, :40], 4))


def test_hr_not_divisible_with_lr_files_is_cropped_to_them(tmp_path):
    _odd_div2k(tmp_path)
    _write(tmp_path / "DIV2K_train_LR_bicubic" / "X4", ["0001x4.png", "0002x4.png"], size=(12, 10))
    _write(tmp_path / "DIV2K_train_LR_bicubic" / "X4", ["0003x4.png"], size=(12, 10))
    lr, hr = load_search_set("div2k", tmp_path, color=True, scales=(4,)).pairs(4)[2]
    assert lr.shape == (12, 10, 3) and hr.shape == (48, 40, 3)
