"""The ablation command's checks, registry and grid: everything that must happen before Ray starts."""

import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import ray
from mlflow import MlflowClient
from PIL import Image

from orchestrator.arguments import default_task
from orchestrator.cli import main, make_parser
from orchestrator.commands import experiment_lock, make_plan
from orchestrator.experiments import ablation_names, find_ablation
from orchestrator.presets import preset_config, trial_config


def get_ablation(name: str, task: str):
    return find_ablation(name).ablations[name](task)


def base(preset: str = "smoke", task: str = "denoise") -> dict:
    return {"preset": preset, "task": task, "overrides": {}}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(("argv", "message"), [
    (["ablation", "nope"], "valid: autoderain, dlsr, sr-systems, lwas, width, ssim, cellsharing, lambda"),
    (["ablation", "lwas", "--settings", "lwas,foo"], "valid: rsws, basic, lwas, resl, lwas_resl"),
    (["ablation", "lwas", "--seeds", "0,x"], "--seeds must be integers"),
    (["ablation", "lwas", "--seeds", "0,0"], "--seeds must be distinct integers >= 0"),
    (["ablation", "lwas", "--seeds", "-1"], "--seeds must be distinct integers >= 0"),
    (["ablation", "lwas", "--set", "loss.lam=-0.5"], "loss.lam must be a finite number >= 0"),
    (["ablation", "lambda", "--lambdas", "0.3,-1"], "lambda must be a finite number >= 0"),
    (["ablation", "lwas", "--set", "task.sigmas=30,45"], "unknown noise level sigma=45"),
    (["ablation", "lwas", "--set", "method.a_lr=0.1"], "setting rsws: unknown config key 'method.a_lr'"),
    (["ablation", "lwas", "--set", "search.epochs=abc"], "search.epochs='abc' is not a valid int"),
    (["ablation", "lwas", "--set", "search.epoch=3"], "unknown config key 'search.epoch'"),
    (["ablation", "lwas", "--data", "/no/such/folder"], "no such folder"),
    (["ablation", "width", "--task", "sr"], "does not run on task sr"),
    (["ablation", "lwas", "--search", "optuna"], "`ablation lambda`"),
    (["table", "nope"], "unknown ablation 'nope'"),
    (["ablation", "lwas", "--set", "search.batch_size=100000"], "one search step needs about 1,"),  # issue 31
    (["ablation", "lwas", "--set", "search.crop_size=30000"], "more than 2 x this machine's"),
    (["ablation", "lwas", "--set", "space.layers=1000000"], "space.layers=1000000 is above 100"),
    (["ablation", "lwas", "--set", "space.nodes=100"], "space.nodes=100 is above 16"),
    (["ablation", "lwas", "--dry-run", "--set", "search.batch_size=100000"], "lower search.batch_size"),
])
def test_bad_input_is_one_clear_error_before_ray_starts(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not ray.is_initialized()


def test_a_relative_sqlite_store_is_refused_with_the_absolute_spelling(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "ablation", "lwas", "--tracking-uri", "sqlite:///relative.db")
    assert code == 2 and f"sqlite:///{tmp_path / 'relative.db'}" in err and err.count("\n") == 1
    assert not (tmp_path / "relative.db").exists() and not ray.is_initialized()


@pytest.mark.parametrize("command", [["table", "lwas"], ["report", "lwas", "--out", "report"],
                                     ["apply", "0123abcd", "in.png", "-o", "out.png"]])
def test_reading_commands_on_an_empty_folder_say_so_and_create_nothing(capsys, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.png").write_bytes(b"")
    code, _, err = run_cli(capsys, *command)
    assert code == 2 and "no runs yet" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_table_of_an_ablation_the_store_has_not_run_is_one_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}").search_experiments()  # an empty store
    code, _, err = run_cli(capsys, "table", "width")
    assert code == 2 and "no runs of ablation width" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_wrong_data_layout_is_reported_before_ray_starts(capsys, tmp_path):
    (tmp_path / "random.png").write_bytes(b"not an image")
    code, _, err = run_cli(capsys, "ablation", "lwas", "--data", str(tmp_path))
    assert code == 2 and str(tmp_path) in err and not ray.is_initialized()


def test_a_corrupt_image_is_named_before_ray_starts(capsys, tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8)
    for split, count in (("train", 3), ("test", 2)):
        (tmp_path / split).mkdir()
        for i in range(count):
            Image.fromarray(images).save(tmp_path / split / f"{i}.jpg")
    (tmp_path / "train" / "1.jpg").write_bytes((tmp_path / "train" / "0.jpg").read_bytes()[:200])  # truncated
    code, _, err = run_cli(capsys, "ablation", "lwas", "--data", str(tmp_path))
    assert code == 2 and "1.jpg" in err and "cannot be decoded" in err and err.count("\n") == 1, err
    assert not ray.is_initialized()


def test_search_images_smaller_than_the_crop_are_named_before_ray_starts(capsys, tmp_path):
    """Issue 28: such an ablation passed the driver's checks and failed only inside its trials."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 2)):
        (tmp_path / split).mkdir()
        for i in range(count):
            side = 40 if (split, i) == ("train", 2) else 200
            Image.fromarray(rng.integers(0, 255, (side, side), dtype=np.uint8)).save(tmp_path / split / f"{i}.png")
    code, _, err = run_cli(capsys, "ablation", "lwas", "--data", str(tmp_path), "--set", "search.crop_size=48")
    assert code == 2 and "1 search image(s) smaller than the" in err and "2.png (40x40)" in err, err
    assert not ray.is_initialized()
    assert run_cli(capsys, "ablation", "lwas", "--data", str(tmp_path), "--set", "search.crop_size=32",
                   "--set", "retrain.crop_size=32", "--dry-run")[0] == 0


@pytest.mark.parametrize("value", ["abc", "-1", "3"])
def test_the_seed_is_not_a_set_key(capsys, value):
    """Issue 28: --set seed=abc was accepted and silently replaced by --seed(s)."""
    for argv in (("ablation", "lwas", "--dry-run"), ("search",)):
        code, _, err = run_cli(capsys, *argv, "--set", f"seed={value}")
        assert code == 2 and "--seed" in err and "--set seed" in err, err


def test_unreachable_tracking_server_is_reported_at_once(capsys):
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "ablation", "lwas", "--tracking-uri", "http://127.0.0.1:9")
    assert code == 2 and "not reachable" in err and "127.0.0.1:9" in err
    assert time.perf_counter() - start < 10 and not ray.is_initialized()


def test_dry_run_prints_the_trial_grid_without_starting_anything(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "ablation", "lwas", "--dry-run")
    assert code == 0
    rows = [line for line in out.splitlines() if "setting=" in line]
    assert len(rows) == 15
    assert {line.split("setting=")[1].split()[0] for line in rows} == {"rsws", "basic", "lwas", "resl", "lwas_resl"}
    assert not ray.is_initialized() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("task", ["denoise", "sr"])
def test_every_registered_setting_builds_a_valid_trial_config(task):
    for name in ablation_names():
        ablation = get_ablation(name, task)
        if task not in ablation.tasks:  # e.g. width, which the paper ran for denoising only
            continue
        for setting in ablation.settings:
            cfg = trial_config(base("paper", task), setting, seed=1)
            assert cfg.seed == 1 and cfg.task.name == task
            assert cfg.method.name == (setting.method or "hinas")


def test_lwas_ablation_rows_switch_what_table_1_says():
    settings = {s.name: trial_config(base(), s, 0) for s in get_ablation("lwas", "denoise").settings}
    assert settings["rsws"].method.name == "rsws" and settings["rsws"].method.samples == 30
    assert [(settings[n].space.lwas, settings[n].space.residual) for n in ("basic", "lwas", "resl", "lwas_resl")] \
        == [(False, False), (True, False), (False, True), (True, True)]
    assert all(settings[n].method.name == "hinas" for n in ("basic", "lwas", "resl", "lwas_resl"))
    # the smoke preset's HiNAS keys reach HiNAS trials; RSWS trials carry none of them
    assert settings["lwas"].method.warmup_epochs == 1 and not hasattr(settings["rsws"].method, "warmup_epochs")


def test_width_settings_fix_the_paper_widths_at_retrain_width():
    ablation = get_ablation("width", "denoise")
    w40, wm = (trial_config(base("paper"), ablation.setting(n), 0) for n in ("w40", "wm"))
    assert [int(20 * m) for m in w40.space.manual_widths] == [40, 40, 40]
    assert [int(20 * m) for m in wm.space.manual_widths] == [20, 40, 80]
    assert not w40.space.width_search


def test_a_bad_deraining_folder_is_named_by_the_driver_before_ray_starts(capsys, tmp_path, monkeypatch):
    """Rain100L's layout with one rainy image lacking its clean one and a test pair of two sizes: one error
    naming both files, the task defaulting to derain, nothing started."""
    monkeypatch.chdir(tmp_path)
    train, test = tmp_path / "RainTrainL", tmp_path / "test" / "Rain100L"
    train.mkdir()
    test.mkdir(parents=True)
    pixels = np.zeros((40, 48, 3), np.uint8)
    for i in (1, 2):
        Image.fromarray(pixels).save(train / f"rain-{i}.png")
    Image.fromarray(pixels).save(train / "norain-1.png")
    Image.fromarray(pixels).save(test / "rain-001.png")
    Image.fromarray(pixels[:32]).save(test / "norain-001.png")
    code, _, err = run_cli(capsys, "ablation", "autoderain", "--data", str(train))
    assert code == 2 and "rain-2.png" in err and err.count("\n") == 1
    Image.fromarray(pixels).save(train / "norain-2.png")
    code, _, err = run_cli(capsys, "ablation", "autoderain", "--data", str(train),
                           "--test-data", str(tmp_path / "test"))
    assert code == 2 and "rain-001.png" in err and "norain-001.png" in err and err.count("\n") == 1
    assert not ray.is_initialized() and not (tmp_path / "runs" / "mlflow.db").exists()


def test_a_store_that_cannot_be_written_is_refused_before_ray_starts(capsys):
    code, _, err = run_cli(capsys, "ablation", "lwas", "--tracking-uri", "sqlite:////proc/mlflow.db")
    assert code == 2 and "not writable" in err and err.count("\n") == 1 and not ray.is_initialized()


def test_one_ablation_at_a_time_per_experiment_folder_and_a_dead_drivers_lock_is_gone(capsys, tmp_path):
    """A second driver on a held folder is refused (naming the holder); once the holder is SIGKILLed the
    folder is free again, with no stale lock to delete."""
    lock = tmp_path / "runs" / "ray_results" / "lwas-denoise-smoke.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"f = open({str(lock)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX); f.write('pid 4242 on elsewhere'); f.flush()\n"
        "print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ("ablation", "lwas", "--storage", str(tmp_path / "runs" / "ray_results"),
                "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and "in use by a running ablation (pid 4242 on elsewhere)" in err and "--name" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    plan_lock = experiment_lock_of(tmp_path)
    with plan_lock:
        assert "pid" in lock.read_text()
    assert not ray.is_initialized()


def experiment_lock_of(tmp_path):
    """The lock ``ablation lwas --storage <tmp>/runs/ray_results`` takes, built as the CLI builds it."""
    args = make_parser().parse_args(["ablation", "lwas", "--storage", str(tmp_path / "runs" / "ray_results")])
    default_task(args)
    return experiment_lock(make_plan(args))


def test_artifacts_of_an_explicit_sqlite_store_live_beside_it(tmp_path, monkeypatch):
    from orchestrator import tracking as tr

    monkeypatch.chdir(tmp_path)
    store = tmp_path / "elsewhere" / "store.db"
    store.parent.mkdir()
    uri = f"sqlite:///{store}"
    tr.check_reachable(uri)
    exp = tr.client(uri).get_experiment(tr.experiment_id(uri, "x", tr.artifact_root(uri)))
    assert exp.artifact_location == (store.parent / "mlartifacts" / "x").as_uri()
    assert not (tmp_path / "runs").exists()


def test_a_fixed_genotype_file_builds_on_any_space(tmp_path):
    """method.name=fixed with a genotype file: the method's default genotype ('hand') is not a HiNAS one, so
    the config must be checked once, after every override, not at the method's defaults."""
    from search_space import SPACES

    space_cfg = preset_config("smoke", "denoise").space
    genotype = SPACES.get("hinas").sample(space_cfg, random.Random(0))
    path = tmp_path / "genotype.json"
    path.write_text(genotype.to_json())
    cfg = preset_config("smoke", "denoise", {"method.name": "fixed", "method.genotype": str(path)})
    assert cfg.method.genotype == str(path)
    with pytest.raises(ValueError, match="neither a genotype of space hinas"):
        preset_config("smoke", "denoise", {"method.name": "fixed"})


def test_a_worker_stopped_inside_a_weakref_callback_prints_no_traceback_but_real_errors_still_show(
        capsys, monkeypatch):
    """Ray's SIGTERM handler raises SystemExit in whatever runs; inside a weakref callback Python would print
    it as an ignored exception (a traceback in a successful run's console, issue 28). Other errors stay."""
    import weakref

    from orchestrator.trainable import quiet_shutdown_hook

    class Thing:
        pass

    def raising(error):
        def callback(_ref):
            raise error
        return callback

    monkeypatch.setattr(sys, "unraisablehook", quiet_shutdown_hook)
    for error in (SystemExit(1), ValueError("a real error")):
        thing = Thing()
        ref = weakref.ref(thing, raising(error))  # noqa: F841 (kept alive so its callback runs)
        del thing
    printed = capsys.readouterr().err
    assert "SystemExit" not in printed and "ValueError: a real error" in printed


def started_ablation(tmp_path, *argv) -> list[str]:
    """Records an ablation's invocation as its start does (no trial runs); returns its command line."""
    from orchestrator import resume
    from orchestrator.commands import storage_root

    args = make_parser().parse_args(["ablation", *argv])
    default_task(args)
    resume.save(str(tmp_path / "ray" / args.name),
                resume.recorded_options(args, f"sqlite:///{tmp_path}/mlflow.db", storage_root(args)))
    return ["ablation", *argv]


def test_resume_restores_the_recorded_invocation_and_refuses_a_conflicting_command_line(capsys, tmp_path):
    """Issue 28: a resume ran the missing trials with the default config, seeds and sigmas."""
    where = ["--name", "first", "--storage", str(tmp_path / "ray")]
    started_ablation(tmp_path, "lwas", "--settings", "basic,lwas", "--seeds", "0,1", "--set", "task.sigmas=30",
                     "--set", "search.epochs=2", *where)
    assert main(["ablation", "lwas", *where, "--resume", "--dry-run"]) == 0
    grid = [line.split() for line in capsys.readouterr().out.splitlines() if "setting=" in line]
    assert [(g[1], g[2]) for g in grid] == [(f"setting={s}", f"seed={seed}") for s in ("basic", "lwas")
                                           for seed in (0, 1)]
    # repeating an option is fine; resources may change; another seed list or --set is refused, named
    assert main(["ablation", "lwas", *where, "--seeds", "0,1", "--max-concurrent", "1", "--resume",
                 "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["ablation", "lwas", *where, "--seeds", "0,1,2", "--set", "task.sigmas=50", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "--seeds 0,1,2 (it was started with 0,1)" in err and "task.sigmas=50" in err and "--name NEW" in err


def test_a_resumed_trial_is_configured_as_the_recorded_invocation(tmp_path):
    from orchestrator import resume
    from orchestrator.commands import _ABLATION_PARSER, make_plan

    where = ["--name", "first", "--storage", str(tmp_path / "ray")]
    started_ablation(tmp_path, "lwas", "--settings", "lwas", "--seeds", "1", "--set", "task.sigmas=30",
                     "--set", "retrain.iterations=40", *where)
    argv = ["lwas", *where, "--resume"]
    args = make_parser().parse_args(["ablation", *argv])
    default_task(args)
    args.argv = ["ablation", *argv]
    given = resume.given_options(_ABLATION_PARSER, argv)
    plan = make_plan(resume.restore(args, given, str(tmp_path / "ray" / "first")))
    cfg = trial_config(plan.base, plan.ablation.settings[0], plan.seeds[0])
    assert plan.seeds == (1,) and cfg.task.sigmas == (30,) and cfg.retrain.iterations == 40


def test_the_ablation_eta_counts_running_trials_so_it_does_not_jump_when_two_end_together():
    """Issue 28: 17m -> 10m -> 13m -> 11m. Two trials of 60 s at a time, 6 in all; the clock is the test's."""
    from orchestrator.progress import AblationProgress

    now = [0.0]
    ablation = AblationProgress(6, clock=lambda: now[0])
    now[0] = 60.0
    ablation.trial_finished(60.0)
    first = ablation.eta_s([59.0])  # its partner is about to end
    ablation.trial_finished(61.0)
    now[0] = 61.0
    second = ablation.eta_s([1.0])  # the third trial has just started
    assert first == pytest.approx(second, rel=0.1)  # counted alone: 300 s, then 122 s
    assert second == pytest.approx(120.0, rel=0.1)  # 4 trials left, two at a time, 60 s each


def test_hidden_and_macos_metadata_files_are_not_images(tmp_path):
    """Issue 31: '._x.png' (macOS metadata) stopped the check as undecodable; '.hidden.png' was used as data."""
    from trials.data import check_folder

    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 2)):
        (tmp_path / split).mkdir()
        for i in range(count):
            Image.fromarray(rng.integers(0, 255, (50, 60), dtype=np.uint8)).save(tmp_path / split / f"{i}.png")
    (tmp_path / "train" / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS metadata")
    Image.fromarray(rng.integers(0, 255, (50, 60), dtype=np.uint8)).save(tmp_path / "train" / ".hidden.png")
    report = check_folder(tmp_path, "bsd500")
    assert "3 images" in report and "2 images" in report, report


def test_the_table_cache_lives_beside_its_store_not_in_the_working_folder(tmp_path, monkeypatch):
    """Issue 31: `table --tracking-uri elsewhere` wrote ./runs/cache wherever it ran."""
    from orchestrator.results import cache_folder

    assert cache_folder(f"sqlite:///{tmp_path}/store/mlflow.db") == tmp_path / "store" / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    remote = cache_folder("http://10.0.0.5:5000")
    assert remote.is_relative_to(tmp_path / "xdg") and "10.0.0.5_5000" in str(remote)


def test_a_search_folder_with_fewer_images_than_the_split_needs_fails_before_ray(capsys, tmp_path):
    # issue 31: two images pass the decode and size checks, but Train W, Train A and Validation V need three
    folder = tmp_path / "Train400"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (80, 80), dtype=np.uint8)).save(folder / f"{i}.png")
    code, _, err = run_cli(capsys, "ablation", "lwas", "--set", "data.kind=train400", "--set", f"data.root={folder}",
                           "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert code == 2 and "the search needs at least 3 images (Train W, Train A, Validation V), found 2" in err, err
    assert not ray.is_initialized()
