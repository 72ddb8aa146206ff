"""The trial pipeline end to end (issue 4): reproducible, resumable after SIGKILL, searches like a search,
stops on a non-finite loss, refuses bad config before training, and runs from the command line.

Real components throughout (no mocks of torch): tiny configs on the built-in images, CPU, one torch thread.
"""

import collections
import itertools
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_pipeline import (
    PIPELINE,
    SUMMARY_TIMING_KEYS,
    THREADS,
    cli,
    cli_overrides,
    comparable,
    pipeline_config,
    position,
    read_checkpoint,
    read_json,
    sigkill,
    start_cli,
    torch_threads,
    watch,
)
from PIL import Image
from scipy.stats import chisquare
from skimage.metrics import peak_signal_noise_ratio

from search_space import SPACES, Genotype, NetworkIO, load_genotype
from search_space.hinas import DERIVABLE
from trials.config import default_config, to_json, with_overrides
from trials.data import DataError
from trials.losses import NonFiniteLossError
from trials.pipeline import TrialHooks, make_method, run_trial
from trials.saved_network import load_network
from trials.search import SearchState, run_search
from trials.workload import prepare

KILL_SEED = 4  # seeds where (and how late) the resume test kills its trials
RESULT_FILES = ("config.json", "genotype.json", "search.json", "metrics.json", "arch_weights.npz",
                "network_sigma30.pt")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Same thread count as the CLI subprocesses (helpers_pipeline.child_env), so results compare bitwise."""
    with torch_threads(THREADS):
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted trial of the PIPELINE config, seed 0, run by the `search` command in a subprocess."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = cli("search", "--preset", "smoke", "--out", str(run_dir), *cli_overrides({}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(run_dir / "genotype.json") in result.stdout and str(run_dir / "metrics.json") in result.stdout
    return run_dir


class SearchDone(Exception):
    """Raised by a hook to end a trial once its genotype is chosen (the tests below need no retraining)."""


class AlphaRecorder(TrialHooks):
    """Records alpha after every search epoch, read back from the checkpoint the pipeline has just written."""

    def __init__(self, stop_after_search: bool = False):
        self.alphas: list[torch.Tensor] = []
        self.stop_after_search = stop_after_search

    def search_epoch(self, metrics: dict, run_dir: Path) -> None:
        self.alphas.append(read_checkpoint(run_dir)["search"]["model"]["alpha"])

    def searched(self, genotype, summary: dict, run_dir: Path) -> None:
        if self.stop_after_search:
            raise SearchDone


def assert_same_result(run_dir: Path, reference: Path) -> None:
    """Same genotype, same metrics and search summary to the last digit (timing aside), same alpha/beta."""
    for name in RESULT_FILES:
        assert (run_dir / name).exists(), f"{run_dir} lacks {name}"
    assert (run_dir / "genotype.json").read_text() == (reference / "genotype.json").read_text()
    metrics, expected = read_json(run_dir / "metrics.json"), read_json(reference / "metrics.json")
    assert "psnr_sigma30" in metrics and "ssim_sigma30" in metrics
    assert comparable(metrics) == comparable(expected)
    summary, expected = read_json(run_dir / "search.json"), read_json(reference / "search.json")
    assert comparable(summary, SUMMARY_TIMING_KEYS) == comparable(expected, SUMMARY_TIMING_KEYS)
    with np.load(run_dir / "arch_weights.npz") as ours, np.load(reference / "arch_weights.npz") as theirs:
        assert sorted(ours) == sorted(theirs) == ["alpha", "beta"]
        for name in ours:
            np.testing.assert_array_equal(ours[name], theirs[name])
    ours, theirs = load_network(run_dir / "network_sigma30.pt")[0], load_network(reference / "network_sigma30.pt")[0]
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


# --- 1. reproducible --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed0_run(tmp_path_factory) -> tuple[Path, list[torch.Tensor]]:
    """A second seed-0 trial, in this process, with its alpha trajectory."""
    run_dir = tmp_path_factory.mktemp("seed0") / "run"
    hooks = AlphaRecorder()
    run_trial(pipeline_config(), run_dir, hooks)
    return run_dir, hooks.alphas


def test_same_seed_and_config_give_the_same_genotype_and_metrics(seed0_run, reference):
    # in this process vs the CLI's subprocess: the same seed and config must give the same trial, bit for bit
    assert_same_result(seed0_run[0], reference)


def test_different_seeds_give_different_alpha_trajectories(tmp_path, seed0_run):
    seed0_alphas = seed0_run[1]
    hooks = AlphaRecorder(stop_after_search=True)
    with pytest.raises(SearchDone):
        run_trial(pipeline_config(seed=1), tmp_path, hooks)
    warmup = pipeline_config().method.warmup_epochs
    assert len(hooks.alphas) == len(seed0_alphas)
    for epoch, (a0, a1) in enumerate(zip(seed0_alphas, hooks.alphas, strict=True), start=1):
        if epoch <= warmup:  # nothing has moved alpha yet, whatever the seed
            assert torch.equal(a0, a1), f"epoch {epoch}"
        else:
            assert not torch.equal(a0, a1), f"seeds 0 and 1 gave the same alpha after epoch {epoch}"


# --- 2. resume after SIGKILL ------------------------------------------------------------------------------
def test_resume_after_sigkill_in_search_and_in_retraining_equals_an_uninterrupted_run(tmp_path, reference):
    rng = random.Random(KILL_SEED)
    run_dir, log = tmp_path / "run", tmp_path / "trial.log"
    args = ("search", "--preset", "smoke", "--out", str(run_dir), *cli_overrides({}))
    epochs, iterations = PIPELINE["search.epochs"], PIPELINE["retrain.iterations"]

    # Kill inside the search: once epoch k's checkpoint is on disk, a random time into the next epoch.
    k = rng.randint(1, epochs - 2)
    proc = start_cli(log, *args)
    watch(proc, run_dir, lambda state: position(state) >= (0, k))
    time.sleep(rng.uniform(0.0, 1.0))  # an epoch takes well over a second here
    sigkill(proc)
    in_search = read_checkpoint(run_dir)
    assert in_search["phase"] == "search", "the kill came too late: the search had ended"
    assert k <= in_search["search"]["progress"]["epoch"] < epochs
    assert not (run_dir / "genotype.json").exists()

    # Restart; kill inside retraining: after a checkpoint at iteration >= j, a random fraction of an iteration
    # or three later. The resumed search must go on from its checkpoint, never back to an earlier epoch.
    j = rng.choice(range(6, iterations // 2 + 1, PIPELINE["retrain.checkpoint_every"]))
    proc = start_cli(log, *args)
    seen = watch(proc, run_dir, lambda state: position(state) >= (1, 0, j))
    time.sleep(rng.uniform(0.0, 0.3))
    sigkill(proc)
    assert seen[0] == position(in_search) and seen == sorted(seen), f"search did not resume: {seen}"
    in_retrain = read_checkpoint(run_dir)
    assert in_retrain["phase"] == "retrain", f"the kill missed retraining: {position(in_retrain)}"
    assert in_retrain["retrain"]["index"] == 0 and j <= in_retrain["retrain"]["iteration"] < iterations
    assert (run_dir / "genotype.json").exists() and not (run_dir / "metrics.json").exists()

    # Restart to the end; retraining resumes from its last checkpoint.
    proc = start_cli(log, *args)
    seen = watch(proc, run_dir, lambda state: False)
    assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert seen[0] == position(in_retrain) and seen == sorted(seen), f"retraining did not resume: {seen}"
    assert_same_result(run_dir, reference)


# --- 3. the search behaves like a search ------------------------------------------------------------------
def search_with_snapshots(cfg) -> tuple[SearchState, list[tuple[torch.Tensor, torch.Tensor]], torch.nn.Module,
                                        dict]:
    """run_search as the pipeline runs it, keeping alpha and beta after every epoch and the initial weights."""
    work = prepare(cfg)
    method = make_method(cfg, torch.device("cpu"))
    net = method.supernet
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    snapshots = []

    def on_epoch(state: SearchState) -> None:
        snapshots.append((net.alpha.detach().clone(), net.beta.detach().clone()))

    state = run_search(method, work, SearchState(), torch.device("cpu"), on_epoch)
    return state, snapshots, net, initial


def noisy_input_psnr(cfg) -> float:
    """Validation PSNR of doing nothing (returning the noisy input): what a denoiser must beat."""
    pairs = prepare(cfg).val_pairs
    return float(np.mean([peak_signal_noise_ratio(t, s.clip(0, 1), data_range=1) for s, t in pairs]))


def test_hinas_validation_psnr_rises_and_alpha_moves_only_after_warmup():
    warmup = 3
    cfg = pipeline_config(search__epochs=4, method__warmup_epochs=warmup, search__eval_from_epoch=1,
                          search__steps_per_epoch=8)
    state, snapshots, _, _ = search_with_snapshots(cfg)
    psnrs = [h["val_psnr"] for h in state.history]
    assert len(psnrs) == 4
    assert psnrs[-1] > psnrs[0] and max(psnrs[1:]) == max(psnrs), psnrs
    assert psnrs[-1] > noisy_input_psnr(cfg), f"the supernet does not denoise: {psnrs}"
    ones = torch.ones_like(snapshots[0][0]), torch.ones_like(snapshots[0][1])
    for epoch, (alpha, beta) in enumerate(snapshots, start=1):
        frozen = torch.equal(alpha, ones[0]) and torch.equal(beta, ones[1])
        assert frozen == (epoch <= warmup), f"epoch {epoch}: alpha/beta frozen={frozen}, warm-up ends at {warmup}"
    assert not torch.equal(snapshots[-1][0], ones[0]) and not torch.equal(snapshots[-1][1], ones[1])


def test_hinas_architecture_step_moves_only_alpha_beta_and_leaves_weights_trainable():
    cfg = pipeline_config()
    method = make_method(cfg, torch.device("cpu"))
    net = method.supernet
    before = {k: v.clone() for k, v in net.named_parameters()}
    x = torch.rand(2, cfg.task.channels, 16, 16)
    method.arch_step((x, x), "test", (x, x))
    moved = {k for k, v in net.named_parameters() if not torch.equal(v, before[k])}
    assert moved == {"alpha", "beta"}, moved
    assert all(p.grad is None for p in net.weight_parameters()), "weight gradients were computed"
    assert all(p.requires_grad for p in net.parameters()), "weights were left frozen after the step"


def test_rsws_trains_the_weights_but_never_alpha_or_beta():
    # from the first step, where HiNAS (warm-up 0) would update alpha and beta
    cfg = pipeline_config(method__name="rsws", search__epochs=2, search__eval_from_epoch=2,
                          search__steps_per_epoch=3)
    state, snapshots, net, initial = search_with_snapshots(cfg)
    for alpha, beta in snapshots:
        assert torch.equal(alpha, initial["alpha"]) and torch.equal(beta, initial["beta"])
    assert net.alpha.grad is None and net.beta.grad is None
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, initial[k])]
    assert any(k.startswith("cells.") and k.endswith("weight") for k in changed), "RSWS trained no cell weight"
    assert "val_psnr" in state.history[-1]


def rsws_method(seed: int, **space):
    """RSWS on the paper's denoising space (L=3, B=4) with these space switches."""
    cfg = with_overrides(default_config(method="rsws"), {"seed": seed, **{f"space.{k}": v for k, v in space.items()}})
    return make_method(cfg, torch.device("cpu"))


def draws(seed: int, n: int, **space) -> list[Genotype]:
    rsws = rsws_method(seed, **space)
    return [rsws.draw("train", step) for step in range(n)]


def assert_uniform(counts: collections.Counter, categories: list, what: str) -> None:
    observed = [counts[c] for c in categories]
    assert sum(observed) == sum(counts.values()), f"{what}: draws outside {categories}: {counts}"
    p = chisquare(observed).pvalue
    assert p > 1e-3, f"{what} not uniform (chi-square p={p:.2g}): {dict(zip(categories, observed, strict=True))}"


@pytest.mark.parametrize("lwas", [True, False])
def test_rsws_draws_are_uniform_over_the_discrete_space(lwas):
    sample = draws(seed=0, n=3000, lwas=lwas)
    space = rsws_method(0, lwas=lwas).ctx.space_config
    ops, paths = collections.Counter(), collections.Counter(g.path for g in sample)
    pairs = [collections.Counter() for _ in range(space.nodes)]
    for genotype in sample:
        assert len(genotype.cells) == (space.layers if lwas else 1)
        assert genotype.path in space.legal_paths
        for cell in genotype.cells:
            for node, chosen in enumerate(cell):
                inputs = tuple(sorted(j for _, j in chosen))
                assert len(set(inputs)) == 2, f"node {node} takes one input twice: {chosen}"
                pairs[node][inputs] += 1
                ops.update(op for op, _ in chosen)
    assert_uniform(ops, list(DERIVABLE), "ops")  # six ops, never `none`
    assert pairs[0] == {(0, 1): len(sample) * len(genotype.cells)}  # node 0 has only the two cell inputs
    for node, counts in enumerate(pairs[1:], start=1):
        assert_uniform(counts, list(itertools.combinations(range(2 + node), 2)), f"input pairs of node {node}")
    assert_uniform(paths, list(space.legal_paths), "width paths")


def test_rsws_draws_are_seeded():
    assert draws(seed=3, n=20) == draws(seed=3, n=20)
    assert draws(seed=3, n=20) != draws(seed=4, n=20)


# --- 4. a non-finite loss stops the trial -----------------------------------------------------------------
def test_diverging_search_stops_with_nonfinite_loss_error_and_keeps_earlier_files(tmp_path):
    # A real divergence at a known time: the cosine schedule runs from w_lr to w_lr_min, so with w_lr=0 epoch 1
    # trains nothing (and is checkpointed), and epoch 2 steps with lr ~1e29: its second step's loss is NaN.
    cfg = pipeline_config(search__w_lr=0.0, search__w_lr_min=1e30)
    with pytest.raises(NonFiniteLossError) as caught:
        run_trial(cfg, tmp_path)
    message = str(caught.value)
    found = re.search(r"search epoch (\d+), step (\d+)", message)
    assert found, message
    assert re.search(r"pixel=\S+, ssim=\S+", message) and re.search(r"\b(nan|inf)\b", message), message
    epoch = int(found.group(1))
    assert epoch == 2, message
    state = read_checkpoint(tmp_path)
    assert state["phase"] == "search" and state["search"]["progress"]["epoch"] == epoch - 1
    assert (tmp_path / "config.json").read_text() == to_json(cfg)
    assert not (tmp_path / "genotype.json").exists() and not (tmp_path / "metrics.json").exists()


def test_diverging_retraining_stops_with_nonfinite_loss_error_and_keeps_the_genotype(tmp_path):
    cfg = pipeline_config(search__epochs=1, method__warmup_epochs=0, search__eval_from_epoch=1,
                          retrain__lr=1e30)  # the first step throws the weights to ~1e30
    with pytest.raises(NonFiniteLossError) as caught:
        run_trial(cfg, tmp_path)
    message = str(caught.value)
    assert re.search(r"retraining for condition 30, iteration \d+ \(pixel=\S+, ssim=\S+\)", message), message
    assert read_checkpoint(tmp_path)["phase"] == "retrain"
    assert (tmp_path / "genotype.json").exists() and not (tmp_path / "metrics.json").exists()


# --- 5. bad config input: a clear ValueError before any training --------------------------------------
@pytest.mark.parametrize(("overrides", "message"), [
    ({"search.bogus": 1}, "unknown config key 'search.bogus'"),
    ({"epochs": 3}, "did you mean search.epochs?"),
    ({"search.epochs": "abc"}, "epochs='abc' is not a valid int"),
    ({"loss.lam": "-0.5"}, "loss.lam must be a finite number >= 0"),
    ({"loss.lam": "inf"}, "loss.lam must be a finite number >= 0"),
    ({"search.w_lr": "nan"}, "learning rates and gradient clips must be finite"),
    ({"search.crop_size": 0}, "crop sizes must be positive"),
    ({"seed": -1}, "seed must be >= 0"),
    ({"task.search_sigmas": "30,40"}, "unknown noise level sigma=40"),
    ({"task.sigmas": "45"}, "unknown noise level sigma=45"),
    ({"search.eval_from_epoch": 5}, "search.eval_from_epoch must lie in [1, search.epochs]"),
    ({"method.name": "enas"},
     "unknown search method 'enas'; valid: darts, dlsr, fixed, hinas, mdarts, random_arch, rsws"),
    ({"space.name": "nasnet"}, "unknown search space 'nasnet'; valid: autoderain, dlsr, hinas"),
    ({"task.name": "deblur"}, "unknown task 'deblur'; valid: denoise, derain, sr"),
    ({"method.warmup_epochs": 9}, "method.warmup_epochs=9 exceeds search.epochs=3"),
    ({"method.samples": 5}, "section method is 'hinas', whose keys are"),
    ({"search.epoch": 5}, "did you mean search.epochs?"),
])
def test_bad_config_raises_value_error(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        with_overrides(pipeline_config(), overrides)


def test_bad_data_fails_before_any_training(tmp_path):
    cfg = pipeline_config(data__kind="bsd500", data__root=str(tmp_path / "missing"))
    with pytest.raises(DataError, match="missing"):
        run_trial(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_an_unreadable_checkpoint_is_one_clear_error_and_stays_as_it_was(tmp_path):
    from orchestrator.trainable import DETERMINISTIC_ERRORS
    from trials.checkpoint import CheckpointError

    assert issubclass(CheckpointError, DETERMINISTIC_ERRORS)
    cfg = pipeline_config()
    (tmp_path / "config.json").write_text(to_json(cfg))
    (tmp_path / "checkpoint.pt").write_bytes(b"torn write")
    with pytest.raises(CheckpointError, match="cannot be read as this project's checkpoint") as caught:
        run_trial(cfg, tmp_path)  # a deterministic error: the trial ends once, not retried (issue 31)
    assert "weights_only=False" not in str(caught.value)  # torch's own text advises the unsafe load
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"torn write"


def test_a_checkpoint_without_its_config_is_not_resumed(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"anything")
    with pytest.raises(ValueError, match="no config.json, so it cannot be resumed safely"):
        run_trial(pipeline_config(), tmp_path)
    assert not (tmp_path / "config.json").exists()


@pytest.mark.parametrize("bad", [["--set", "search.epochs=abc"], ["--set", "loss.lam=-1"],
                                 ["--set", "method.name=darts"]])
def test_cli_rejects_bad_config_in_one_line_before_creating_the_run_folder(tmp_path, bad):
    run_dir = tmp_path / "run"
    result = cli("search", "--preset", "smoke", "--out", str(run_dir), *bad)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not run_dir.exists()


# --- 6. the command line ----------------------------------------------------------------------------------
def test_cli_search_writes_the_run_folder(reference):
    for name in RESULT_FILES:
        assert (reference / name).exists(), name
    # the --set arguments built exactly the config the in-process tests use
    assert (reference / "config.json").read_text() == to_json(pipeline_config())
    genotype = load_genotype(reference / "genotype.json")
    derived = SPACES.get(genotype.space).network(genotype, NetworkIO(1, 1, 1), 8)
    assert derived(torch.rand(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    assert read_checkpoint(reference)["phase"] == "done"


def test_cli_data_check_of_a_missing_folder_exits_2_with_one_line():
    result = cli("data", "check", "/nonexistent", "--kind", "bsd500")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "/nonexistent" in result.stderr


def test_cli_data_check_with_a_preset_names_what_its_trials_would_meet(tmp_path):
    """Issue 31: images smaller than the crop, or too few for the split, passed `data check` and failed only
    inside trials. With --preset it checks what that preset's trials need, as the ablation's driver does."""
    folder = tmp_path / "train"
    folder.mkdir()
    for i, side in enumerate((40, 40, 20)):
        Image.fromarray(np.full((side, side), 128, np.uint8)).save(folder / f"{i}.png")
    plain = cli("data", "check", str(folder), "--kind", "train400")
    assert plain.returncode == 0 and "3 images" in plain.stdout  # what the folder holds: no crop to test against
    small = cli("data", "check", str(folder), "--kind", "train400", "--preset", "smoke")
    assert small.returncode == 2 and "2.png (20x20)" in small.stderr and "32px crop" in small.stderr
    (folder / "2.png").unlink()
    few = cli("data", "check", str(folder), "--kind", "train400", "--preset", "smoke")
    assert few.returncode == 2 and "needs at least 3 images" in few.stderr and "found 2" in few.stderr
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(folder / "2.png")
    fine = cli("data", "check", str(folder), "--kind", "train400", "--preset", "smoke", "--set", "data.split=random")
    assert fine.returncode == 0, fine.stderr
    assert "at least 32 px a side" in fine.stdout and "1 images to train the weights" in fine.stdout
