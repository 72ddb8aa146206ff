"""`export` (issue 30): every space's derived network as ONNX with dynamic height and width, checked by ONNX
Runtime; `apply NET.onnx` gives the PNG `apply network.pt` gives; the DLSR authors' network exports too."""

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.cli import main
from orchestrator.presets import preset_config
from search_space import SPACES
from trials.onnx_network import TOLERANCE, load_onnx
from trials.saved_network import load_network, save_network
from trials.tasks import TASKS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BETA21 = DATA / "checkpoints" / "dlsr" / "RFDN_beta21_ps128_20210128_1000.pt"


def random_network(tmp_path: Path, task: str, space: str, seed: int = 0) -> Path:
    """A network of a genotype sampled from ``space`` (its weights as initialised), saved as a trial saves one."""
    cfg = preset_config("smoke", task, {"space.name": space})
    task_impl = TASKS.get(task)
    condition = task_impl.conditions(cfg.task)[0]
    io = task_impl.io(cfg.task, condition)
    genotype = SPACES.get(space).sample(cfg.space, random.Random(seed))
    net = SPACES.get(space).network(genotype, io, 8)
    return save_network(tmp_path / f"network_{space}.pt", net, genotype, io, 8, task, condition)


def odd_image(path: Path, channels: int) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256, (45, 67, channels)[: 3 if channels == 3 else 2],
                                               dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize(("task", "space"), [("denoise", "hinas"), ("sr", "dlsr"), ("derain", "autoderain")])
def test_every_space_exports_and_apply_gives_the_same_png_from_onnx(tmp_path, capsys, task, space):
    network = random_network(tmp_path, task, space)
    onnx_file = tmp_path / "net.onnx"
    assert main(["export", str(network), "-o", str(onnx_file)]) == 0
    printed = capsys.readouterr().out
    assert "dynamic height and width" in printed and float(printed.split("max |diff| ")[1].split()[0]) <= TOLERANCE
    _, info = load_network(network)
    net, described = load_onnx(onnx_file)
    assert described["genotype"] == info["genotype"] and described["io"] == info["io"]
    assert (described["task"], described["condition"], described["width"]) == (task, info["condition"], 8)
    image = odd_image(tmp_path / "in.png", info["io"].in_channels)  # odd sides, neither of the check sizes
    for tile in ([], ["--tile", "32"]):
        assert main(["apply", str(network), str(image), "-o", str(tmp_path / "torch.png"), *tile]) == 0
        assert main(["apply", str(onnx_file), str(image), "-o", str(tmp_path / "onnx.png"), *tile]) == 0
        torch_png, onnx_png = (np.asarray(Image.open(tmp_path / f)) for f in ("torch.png", "onnx.png"))
        assert torch_png.shape == onnx_png.shape
        # float sums in another order can move a value sitting on a rounding edge by one level, no more
        assert np.abs(torch_png.astype(int) - onnx_png.astype(int)).max() <= 1
        assert (torch_png != onnx_png).mean() < 1e-3


def test_bad_export_requests_are_one_clear_error(tmp_path, capsys):
    network = random_network(tmp_path, "denoise", "hinas")  # retrained for sigma 30
    image = str(odd_image(tmp_path / "in.png", 1))
    for command in (["apply", str(network), image, "-o", str(tmp_path / "o.png")], ["export", str(network), "-o",
                                                                                    str(tmp_path / "n.onnx")]):
        assert main([*command, "--sigma", "50"]) == 2  # issue 31: silently ignored before
        assert "retrained for sigma 30, not 50" in capsys.readouterr().err
        assert main([*command, "--scale", "2"]) == 2
        assert "denoise network, which has no --scale" in capsys.readouterr().err
    assert main(["export", str(network), "-o", str(tmp_path / "net.pt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(b"not onnx")
    assert main(["apply", str(foreign), str(odd_image(tmp_path / "in.png", 1)), "-o", str(tmp_path / "o.png")]) == 2
    assert "not a readable ONNX file" in capsys.readouterr().err


@pytest.mark.skipif(not BETA21.is_file(), reason=f"the DLSR authors' checkpoint is not at {BETA21} (../shared/data)")
def test_the_dlsr_authors_network_exports_and_its_onnx_output_matches_torch(tmp_path, capsys):
    imported = tmp_path / "dlsr_authors.pt"
    assert main(["import", "dlsr", str(BETA21), "-o", str(imported)]) == 0
    assert main(["export", str(imported), "-o", str(tmp_path / "beta21.onnx")]) == 0
    printed = capsys.readouterr().out
    assert float(printed.split("max |diff| ")[1].split()[0]) <= TOLERANCE
    net, info = load_onnx(tmp_path / "beta21.onnx")
    assert info["io"].scale == 2 and info["genotype"].space == "dlsr"


def test_a_trial_with_eval_export_onnx_keeps_its_network_as_onnx_with_its_latency(tmp_path):
    """Every preset but smoke sets eval.export_onnx: the ONNX file lies beside the network file, as checked as
    `export`'s, and the trial reports its ONNX Runtime latency beside the torch one."""
    from helpers_pipeline import pipeline_config

    from orchestrator.presets import preset_config
    from trials.pipeline import run_trial

    assert preset_config("paper", "denoise").eval.export_onnx and not preset_config("smoke", "denoise").eval.export_onnx
    metrics = run_trial(pipeline_config(eval__export_onnx=True, retrain__iterations=3), tmp_path / "run")
    onnx_file = tmp_path / "run" / "network_sigma30.onnx"
    net, info = load_onnx(onnx_file)
    torch_net, saved = load_network(tmp_path / "run" / "network_sigma30.pt")
    assert info["genotype"] == saved["genotype"]
    assert metrics["onnx_latency_ms"] > 0 and metrics["onnx_latency_ms_sigma30"] == metrics["onnx_latency_ms"]
    assert metrics["latency_ms"] > 0
    image = str(odd_image(tmp_path / "in.png", 1))  # the searched, retrained network: the same PNG both ways
    assert main(["apply", str(tmp_path / "run" / "network_sigma30.pt"), image, "-o", str(tmp_path / "a.png")]) == 0
    assert main(["apply", str(onnx_file), image, "-o", str(tmp_path / "b.png")]) == 0
    a, b = (np.asarray(Image.open(tmp_path / f), dtype=int) for f in ("a.png", "b.png"))
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3


def test_apply_bounds_its_memory_and_refuses_a_decompression_bomb(tmp_path, capsys, monkeypatch):
    """Issue 31: a 6000x6000 image took 17 GB whole (--tile existed, unchosen); a 20000x20000 PNG gave a
    traceback. The limits are lowered here so that small files meet them."""
    from PIL import Image as PILImage

    from orchestrator import apply

    network = random_network(tmp_path, "denoise", "hinas")
    image = odd_image(tmp_path / "in.png", 1)  # 45 x 67
    monkeypatch.setattr(apply, "AUTO_TILE_PIXELS", 1000)
    monkeypatch.setattr(apply, "AUTO_TILE", 32)
    assert main(["apply", str(network), str(image), "-o", str(tmp_path / "auto.png")]) == 0
    out = capsys.readouterr()
    assert "run in 32 px tiles" in out.err and "tiles of 32 px" in out.out and "peak memory" in out.out
    assert main(["apply", str(network), str(image), "-o", str(tmp_path / "tiled.png"), "--tile", "32"]) == 0
    assert (tmp_path / "auto.png").read_bytes() == (tmp_path / "tiled.png").read_bytes()
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # 45 x 67 > 2 x 1000: Pillow's bomb error
    assert main(["apply", str(network), str(image), "-o", str(tmp_path / "bomb.png")]) == 2
    assert "refused, too many pixels to decode safely" in capsys.readouterr().err
