"""The data-set kinds registry: what each kind declares, DnCNN's flat folders end to end, named test sets."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.presets import preset_config
from trials.config import TrialConfig, from_dict, to_json
from trials.data import DATA_KINDS, DataError, check_folder, load_search_set, load_test_sets, set_labels
from trials.tasks import TASKS
from trials.workload import load_tests


def _gray_folder(folder: Path, count: int, size: tuple[int, int] = (40, 48), seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(folder / f"test{i + 1:03d}.png")
    return folder


@pytest.mark.parametrize("name", DATA_KINDS.names())
def test_every_kind_declares_what_the_loaders_checks_and_tables_use(name):
    kind = DATA_KINDS.get(name)
    assert kind.label and kind.layout and set(kind.splits) <= {"search", "test"} and kind.splits
    assert all(option.default in option.choices for option in kind.options.values())


def test_set_labels_are_unique_and_name_the_published_sets():
    labels = set_labels()
    assert len(set(labels.values())) == len(labels)
    assert labels["bsd68"] == "BSD68" and labels["set5"] == "Set5" and labels["bsd200"] == "BSD200"


def test_a_dncnn_flat_test_folder_loads_checks_and_refuses_to_train(tmp_path):
    folder = _gray_folder(tmp_path / "BSD68", 3)
    sets = load_test_sets({"bsd68": folder}, color=False)
    assert list(sets) == ["bsd68"] and sets["bsd68"].names == ("test001", "test002", "test003")
    assert sets["bsd68"].images[0].shape == (40, 48, 1)
    assert "test: 3 images (the published set has 68)" in check_folder(folder, "bsd68")
    with pytest.raises(DataError, match="bsd68 is not a search/train set; use one of .*train400"):
        load_search_set("bsd68", folder, color=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files in this folder; expected a set12 folder laid out as image"):
        load_test_sets({"set12": tmp_path / "empty"}, color=False)


def test_named_denoising_test_sets_are_found_in_the_test_root_and_named_in_metrics(tmp_path):
    _gray_folder(tmp_path / "bsd68", 2)  # any case: DnCNN ships BSD68/, a user may have bsd68/
    _gray_folder(tmp_path / "Set12", 3, seed=1)
    cfg = preset_config("smoke", "denoise", {"data.test_sets": "bsd68,set12", "data.test_root": str(tmp_path)})
    tests = load_tests(cfg)
    assert {name: len(s.images) for name, s in tests.items()} == {"bsd68": 2, "set12": 2}  # max_test_images 2
    task = TASKS.get("denoise")
    assert task.metric_condition("bsd68", 15) == "bsd68_sigma15" and task.metric_condition("builtin", 30) == "sigma30"
    assert task.parse_condition("set12_sigma25") == ("set12", 25) and task.parse_condition("sigma30") == (None, 30)
    assert task.condition_label("bsd68_sigma50", set_labels()) == "BSD68 σ=50"


def test_colour_flat_test_sets_added_as_registry_lines_load_with_their_names_and_labels(tmp_path):
    # Kodak24 and McMaster are two lines in trials/data/kinds/flat.py: nothing else changed to support them.
    for name, count in (("Kodak24", 2), ("McMaster", 1)):
        folder = tmp_path / name
        folder.mkdir()
        rng = np.random.default_rng(count)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)).save(folder / f"k{i}.png")
    cfg = preset_config("smoke", "denoise", {"data.test_sets": "kodak24,mcmaster", "data.test_root": str(tmp_path),
                                             "task.color": True})
    tests = load_tests(cfg)
    assert {name: s.images[0].shape for name, s in tests.items()} == {"kodak24": (36, 44, 3), "mcmaster": (36, 44, 3)}
    assert "test: 2 images (the published set has 24)" in check_folder(tmp_path / "Kodak24", "kodak24")
    assert TASKS.get("denoise").condition_label("mcmaster_sigma25", set_labels()) == "McMaster σ=25"


def test_a_missing_test_set_folder_names_what_was_looked_for(tmp_path):
    cfg = preset_config("smoke", "denoise", {"data.test_sets": "set12", "data.test_root": str(tmp_path)})
    with pytest.raises(DataError, match="no folder for test set set12; expected one of Set12"):
        load_tests(cfg)


def test_a_config_of_before_kind_options_reads_its_pair_order_as_the_rain800_option():
    cfg = preset_config("smoke", "denoise")
    old = json.loads(to_json(cfg))
    old["data"].pop("options")
    old["data"].pop("downsampling")
    old["data"]["pair_order"] = "lq,gt"
    read = from_dict(TrialConfig, old)
    assert read.data.options == {"pair_order": "lq,gt"} and read.data.downsampling == "matlab"
