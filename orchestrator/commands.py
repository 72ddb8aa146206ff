"""`ablation`, `table` and `report`: the commands that need Ray, MLflow or the analysis code.

`ablation` checks everything it can (names, values, data folder, tracking store) before Ray starts. Ablations,
presets and table layouts come from the experiments registry (orchestrator/experiments/).
"""

import argparse
import contextlib
import dataclasses
import fcntl
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from orchestrator import diskspace, invocation, memory, resume, ui
from orchestrator import tracking as tr
from orchestrator.arguments import add_config_arguments, user_overrides
from orchestrator.experiments import TUNED_PARAM, ablation_names, find_ablation
from orchestrator.presets import trial_config
from orchestrator.results import RUNS, layout, mlflow_experiment
from orchestrator.shell import orchestrator, tool
from orchestrator.tuning import Plan, build_tuner, check_resources, start_ray
from trials import metric_names as M
from trials.config import baseline_tags
from trials.data import DATA_KINDS, SEARCH, check_folder
from trials.references import network_reference
from trials.retrain import protocol_summary, reference_metrics
from trials.saved_network import load_network
from trials.workload import largest_crop, load_tests, search_split

_ABLATION_PARSER: argparse.ArgumentParser  # set by ``register``: it tells what a command line spelled out


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{what} must be integers separated by commas, e.g. 0,1,2; got {text!r}") from None
    if not values:
        raise ValueError(f"{what} is empty")
    if len(set(values)) != len(values) or min(values) < 0:
        raise ValueError(f"{what} must be distinct integers >= 0, got {text!r}")
    return values


def parse_float_list(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by commas, e.g. 0,0.3,0.6; got {text!r}") from None


def experiment_name(args: argparse.Namespace) -> str:
    return args.name or f"{args.ablation}-{args.task}-{args.preset}"


def storage_root(args: argparse.Namespace) -> str:
    """The Ray results root: ``--storage`` (a folder, made absolute, or a cloud URI), default runs/ray_results."""
    root = args.storage or str((RUNS / "ray_results").resolve())
    return root if "://" in root else str(Path(root).expanduser().resolve())


def make_plan(args: argparse.Namespace) -> Plan:
    experiments = find_ablation(args.ablation)
    seeds = parse_int_list(args.seeds, "--seeds")
    ablation = experiments.ablations[args.ablation](args.task, lambdas=parse_float_list(args.lambdas, "--lambdas"))
    if args.task not in ablation.tasks:
        raise ValueError(f"ablation {ablation.name} does not run on task {args.task}; run it with --task "
                         f"{' or '.join(ablation.tasks)}")
    if args.settings:
        ablation = dataclasses.replace(ablation, settings=tuple(ablation.setting(n) for n in args.settings.split(",")))
    optuna_samples = 0
    if args.search == "optuna":
        if ablation.tuned is None:
            tunable = [name for name in ablation_names() if experiments_tuned(name)]
            raise ValueError(f"--search optuna chooses a config value that an ablation declares as tuned; "
                             f"ablation {ablation.name} declares none (use it with "
                             f"{', '.join(f'`ablation {n}`' for n in tunable)})")
        optuna_samples = args.num_samples
    base = {"preset": args.preset, "task": args.task, "overrides": user_overrides(args)}
    configs = [setting_config(base, setting, seeds[0]) for setting in ablation.settings]  # all valid before Ray
    memory.check({setting.name: cfg for setting, cfg in zip(ablation.settings, configs, strict=True)})
    check_data(configs[0])  # after the cheap checks: it decodes every image
    if args.gpus_per_trial < 0 or args.cpus_per_trial <= 0:
        raise ValueError("--gpus-per-trial must be >= 0 and --cpus-per-trial > 0")
    return Plan(ablation=ablation, task=args.task, seeds=seeds, base=base, storage_uri=storage_root(args),
                experiment=experiment_name(args), cpus_per_trial=args.cpus_per_trial,
                gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
                max_failures=args.max_failures, optuna_samples=optuna_samples,
                progress_columns=progress_columns(configs[0]),
                reference_networks=reference_networks(args.reference_network, args.task))


def experiments_tuned(ablation: str) -> bool:
    """Whether the ablation declares a key a searcher may tune."""
    build = find_ablation(ablation).ablations[ablation]
    return any(build(task).tuned is not None for task in build(None).tasks)


def reference_networks(items: list[str], task: str) -> tuple[tuple[str, str], ...]:
    """``--reference-network NAME=FILE``: saved networks of the ablation's task, each read once now."""
    found = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"--reference-network expects NAME=FILE with NAME of letters, digits, _ . -; got {item!r}")
        _, info = load_network(Path(path).expanduser())
        if info["task"] != task:
            raise ValueError(f"--reference-network {name}: {path} is a {info['task']} network, the ablation's task is "
                             f"{task}")
        found.append((name, str(Path(path).expanduser().resolve())))
    return tuple(found)


def setting_config(base: dict, setting, seed: int):
    try:
        return trial_config(base, setting, seed)
    except ValueError as err:
        raise ValueError(f"setting {setting.name}: {err} (--settings runs a subset)") from None


def progress_columns(cfg) -> tuple[str, ...]:
    """The headline test metrics of a trial, for Tune's table: PSNR per condition on the first test set."""
    task = cfg.components.task
    test_set = cfg.data.test_sets[0] if cfg.data.test_sets else "builtin"
    return tuple(dict.fromkeys(M.psnr(task.metric_condition(test_set, c)) for c in task.conditions()))


def results_columns(plan: Plan) -> list[str]:
    """The runs table's metric columns: PSNR and SSIM per condition, then size and speed."""
    pairs = [(name, M.ssim(name.removeprefix(M.psnr("")))) for name in plan.progress_columns]
    return [*(name for pair in pairs for name in pair), M.PARAMS_M, M.LATENCY_MS]


def check_data(cfg) -> None:
    """Every image of the data folders decoded once in the driver (one at a time, nothing kept), so that a
    bad file is named before Ray starts rather than failing every trial and its retries."""
    task = cfg.components.task
    folders = [] if cfg.data.kind == "builtin" else [(cfg.data.kind, cfg.data.root)]
    folders += [(kind, root) for kind, root in (task.test_sources(cfg.data) or {}).items() if root]
    for kind, root in dict.fromkeys((kind, str(root)) for kind, root in folders):  # BSD500: one folder, once
        crop = largest_crop(cfg) if (kind, root) == (cfg.data.kind, str(cfg.data.root)) else 0  # search images
        check_folder(root, kind, scales=task.scales(), modcrop=cfg.data.modcrop, options=cfg.data.options,
                     min_size=crop)
    search_split(cfg, DATA_KINDS.get(cfg.data.kind).count(cfg.data.root, SEARCH))  # enough images for the split


def print_grid(plan: Plan) -> None:
    print(f"ablation {plan.ablation.name} ({plan.ablation.description}), task {plan.task}: "
          f"{len(plan.grid())} trials, {plan.cpus_per_trial:g} CPU + {plan.gpus_per_trial:g} GPU each")
    overrides = {s.name: s.overrides for s in plan.ablation.settings}
    width = max([10, *map(len, overrides)])
    for i, point in enumerate(plan.grid()):
        detail = ", ".join(f"{k}={v}" for k, v in overrides.get(point["setting"], {}).items())
        tuned = f" {plan.ablation.tuned.key}={point[TUNED_PARAM]}" if TUNED_PARAM in point else ""
        print(f"  {i + 1:3d}. setting={point['setting']:<{width}s} seed={point['seed']}{tuned}  {detail}")
    print(f"Ray results: {plan.experiment_path}")


def cmd_ablation(args: argparse.Namespace) -> int:
    if args.resume:
        given = resume.given_options(_ABLATION_PARSER, args.argv[1:])  # argv[0] is "ablation"
        args = resume.restore(args, given, f"{storage_root(args).rstrip('/')}/{experiment_name(args)}")
    plan = make_plan(args)
    if args.dry_run:
        print_grid(plan)
        return 0
    uri = args.tracking_uri or tr.default_uri(RUNS.resolve())
    tr.check_reachable(uri)
    check_disk_space(plan, uri)
    with experiment_lock(plan):
        check_experiment_folder(plan, args.resume)
        if not args.resume:
            resume.save(plan.experiment_path, resume.recorded_options(args, uri, plan.storage_uri))
        return run_ablation(plan, uri, args, recovered_checkpoints(plan) if args.resume else None)


def check_disk_space(plan: Plan, uri: str) -> None:
    """Room for the ablation where its Ray results and its MLflow store (and artifacts) go: local folders."""
    folders = [Path(folder) for folder in disk_folders(plan, uri)]
    configs = [trial_config(plan.base, s, plan.seeds[0]) for s in plan.ablation.settings]
    trials = plan.optuna_samples or len(plan.seeds)
    diskspace.check(folders, diskspace.needed_mb(configs[:1] if plan.optuna_samples else configs, trials))


def disk_folders(plan: Plan, uri: str) -> list[str]:
    """The local folders an ablation writes to: its Ray results and its SQLite MLflow store (with artifacts)."""
    folders = [plan.storage_uri] if "://" not in plan.storage_uri else []
    return folders + ([str(Path(uri.removeprefix("sqlite:///")).parent)] if uri.startswith("sqlite:///") else [])


def resume_command(plan: Plan, args: argparse.Namespace) -> str:
    """What finishes this ablation, as typed: the rest is in the record beside its Ray results."""
    storage = f" --storage {plan.storage_uri}" if args.storage else ""
    return f"{orchestrator()} ablation {plan.ablation.name} --name {plan.experiment}{storage} --resume"


@contextlib.contextmanager
def experiment_lock(plan: Plan):
    """One ablation at a time per Ray experiment folder: a second one (or a --resume beside a live run) would
    overwrite its tuner state and duplicate its trials. The kernel drops a dead driver's lock with it."""
    if "://" in plan.storage_uri:  # cloud storage: no shared file system to lock on
        yield
        return
    folder = Path(plan.experiment_path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ValueError(f"{folder} is in use by a running ablation ({holder}); wait for it to end, or "
                             f"start another one with --name NEW") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_experiment_folder(plan: Plan, resume: bool) -> None:
    if "://" in plan.storage_uri:
        return  # cloud storage: Tuner.can_restore decides after Ray starts
    exists = (Path(plan.experiment_path) / "tuner.pkl").exists()
    if resume and not exists:
        raise ValueError(f"nothing to resume at {plan.experiment_path}; run without --resume to start it")
    if exists and not resume:
        raise ValueError(f"{plan.experiment_path} already holds this ablation; pass --resume to finish it, "
                         f"or --name NEW to start another")


def recovered_checkpoints(plan: Plan) -> dict[str, str] | None:
    """None where Tune's state reads (Tune restores it); else a new Tune state is started, and {trial key: the
    run folder each trial continues from}: its last whole checkpoint (orchestrator/recovery.py)."""
    from orchestrator import recovery  # deferred: imports Ray Tune

    if "://" in plan.storage_uri or recovery.state_is_whole(plan.experiment_path):
        return None
    if plan.optuna_samples:
        raise ValueError(f"Ray's state in {plan.experiment_path} does not read (cut short by a full disk?), and an "
                         f"Optuna search cannot go on without it; start another with --name NEW (the result cache "
                         f"reuses what finished)")
    found = recovery.last_whole_checkpoints(plan.experiment_path)
    recovery.set_cut_short_aside(plan.experiment_path)
    print(f"Ray's state in {plan.experiment_path} does not read (cut short by a full disk?): a new one starts, and "
          f"{len(found)} of {len(plan.grid())} trials continue from their last whole checkpoint", flush=True)
    return found


TERMINATED = threading.Event()  # set by SIGTERM: the run stops as on Ctrl-C and exits 143


def stop_on_sigterm() -> None:
    """SIGTERM (Slurm, Kubernetes, `ray job stop`) stops the ablation as Ctrl-C does: Tune stops the trials and
    keeps their checkpoints, runs end KILLED, the resume command is printed. Installed after Ray starts, whose
    own handler would abort the driver (exit 134) with nothing said."""
    def on_sigterm(signum, frame) -> None:
        TERMINATED.set()
        os.kill(os.getpid(), signal.SIGINT)  # Tune's own Ctrl-C handling, a second signal included

    signal.signal(signal.SIGTERM, on_sigterm)


def run_ablation(plan: Plan, uri: str, args: argparse.Namespace, recovered: dict[str, str] | None = None) -> int:
    from orchestrator import recovery  # deferred: imports Ray Tune

    if args.serve_ui:
        print(ui.serve(uri, invocation.UI_PORT, RUNS.resolve() / "mlflow-ui.log"), flush=True)
    started = time.perf_counter()
    dashboard = start_ray(args.address, num_cpus=args.num_cpus)
    stop_on_sigterm()
    recovery.DISK_FULL.watch(disk_folders(plan, uri))
    print(f"Ray dashboard: {dashboard or '(not running)'}{dashboard_token_hint(dashboard)} "
          f"[Ray up in {time.perf_counter() - started:.1f} s]", flush=True)
    check_resources(plan, wait_s=args.node_timeout if args.address else 0.0)
    exp_id = tr.experiment_id(uri, mlflow_experiment(plan.ablation.name, plan.task), tr.artifact_root(uri))
    parent = tr.parent_run(uri, exp_id, plan.experiment,
                           {"ablation": plan.ablation.name, "task": plan.task, tr.TUNE_EXPERIMENT: plan.experiment},
                           resume=args.resume)
    commit = tr.git_commit(Path(__file__).resolve().parent)  # the code that runs, wherever it runs from
    invocation.record(uri, parent, plan, plan.base["overrides"], commit)
    invocation.share_runs_view(uri, exp_id, results_columns(plan))
    tracking = tr.Tracking(uri, exp_id, parent, commit, plan.base["preset"], reuse_results=not args.no_cache)
    hint = "" if args.serve_ui else serve_hint(uri)
    print(f"MLflow run of this ablation: {invocation.ui_link(uri, exp_id, parent)}{hint}", flush=True)
    status, results = "FAILED", None
    try:
        results = build_tuner(plan, tracking, restore=args.resume and recovered is None, recovered=recovered).fit()
        status = "KILLED" if recovery.DISK_FULL.stopped else outcome(results)
        finish_results(plan, tracking, results, status, args.out)
    except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM) while Tune was stopping: still an interruption
        status = "KILLED"
        raise
    except Exception as err:
        if not (recovery.DISK_FULL.stopped or recovery.is_disk_full(err)):
            raise
        recovery.DISK_FULL.stop(interrupt=False)  # a write of the driver's own: say which disk
        status = "KILLED"
    finally:
        end_parent(uri, parent, status)
    print_links(plan, uri, exp_id, parent)
    return exit_code(plan, args, status, results)


def end_parent(uri: str, parent: str, status: str) -> None:
    """The parent run's status; on a store whose disk is full it stays as it is (--resume sets it anew)."""
    from orchestrator import recovery  # deferred: imports Ray Tune

    try:
        tr.finish_parent(uri, parent, status)
    except Exception as err:
        if not recovery.is_disk_full(err):
            raise
        recovery.DISK_FULL.stop(interrupt=False)  # Tune has ended: only the line that says so


def finish_results(plan: Plan, tracking: tr.Tracking, results, status: str, out: str | None) -> None:
    """The reference rows (once the ablation is whole), the table, and the report."""
    from orchestrator import recovery  # deferred: imports Ray Tune

    uri, parent = tracking.uri, tracking.parent_run_id
    if status != "KILLED":  # an interrupted ablation logs them when it is resumed
        log_references(plan, tracking)
    runs = print_summary(plan, uri, parent, results)
    if recovery.DISK_FULL.stopped:
        return  # the report would not fit either; the resumed ablation writes it
    publish_report(plan, uri, parent, runs)
    write_local_report(plan, uri, parent, runs, out)


def exit_code(plan: Plan, args: argparse.Namespace, status: str, results) -> int:
    """0 finished, 1 failed or stopped by a full disk, 130 interrupted, 143 terminated; how to go on."""
    from orchestrator import recovery  # deferred: imports Ray Tune

    sys.stdout.flush()  # the line that says how to go on comes last, also in a log file
    if recovery.DISK_FULL.stopped:
        print(f"error: {recovery.DISK_FULL.message}. Free space, then finish with: {resume_command(plan, args)}",
              file=sys.stderr)
        return 1
    if status == "KILLED":
        cause = "terminated (SIGTERM)" if TERMINATED.is_set() else "interrupted"
        print(f"{cause}: {len(unfinished(results))} trial(s) did not finish; finished trials are kept. "
              f"Finish with: {resume_command(plan, args)}", file=sys.stderr)
        return 143 if TERMINATED.is_set() else 130
    return 1 if status == "FAILED" else 0


def failures(results) -> list[tuple[str, str]]:
    """(trial folder, error) of trials that crashed past their retries or met a deterministic error once."""
    crashed = [(str(r.path), str(r.error).strip().splitlines()[-1]) for r in results if r.error]
    return crashed + [(str(r.path), r.metrics.get("error", "")) for r in results
                      if not r.error and r.metrics.get("phase") == M.PHASE_FAILED]


def log_references(plan: Plan, tracking: tr.Tracking) -> None:
    """The task's reference rows (degraded input, classical method) per seed, scored on the trials' test pairs
    and logged as child runs of the parent, so tables show them; a resumed ablation keeps those it has."""
    done = tr.finished_trial_keys(tracking)
    for seed in plan.seeds:
        cfg = trial_config(plan.base, plan.ablation.settings[0], seed)  # the test data of every setting
        tests = None
        for reference in (*cfg.components.task.references(), *saved_network_references(plan)):
            key = f"{plan.ablation.name}/{reference.setting}/seed{seed}"
            if key in done:
                continue
            tests = tests if tests is not None else load_tests(cfg)
            run = tr.TrialRun(tracking, key, f"{reference.setting}-seed{seed}", {
                M.TAG_ABLATION: plan.ablation.name, M.TAG_SETTING: reference.setting, M.TAG_SEED: str(seed),
                M.TAG_TASK: cfg.task.name, M.TAG_REFERENCE: reference.label,
                M.TAG_REFERENCE_ROLE: reference.role, M.TAG_PROTOCOL: protocol_summary(cfg)})
            run.log_params({M.TAG_SETTING: reference.setting, "seed": seed})  # the runs table groups by them
            run.log_metrics(reference_metrics(cfg, reference, tests))
            run.finish()


def saved_network_references(plan: Plan) -> list:
    """The ``--reference-network`` rows, each at the condition its network was retrained for."""
    references = []
    for name, path in plan.reference_networks:
        net, info = load_network(path)
        references.append(network_reference(name, net, info["condition"]))
    return references


def unfinished(results) -> list:
    """Trials that neither finished nor failed: Tune stopped them (Ctrl-C), and it reports no error for them."""
    return [r for r in results if not r.error and r.metrics.get("phase") not in (M.PHASE_DONE, M.PHASE_FAILED)]


def outcome(results) -> str:
    """The parent run's MLflow status: FAILED if a trial failed, KILLED if any was interrupted, else FINISHED."""
    if failures(results):
        return "FAILED"
    return "KILLED" if unfinished(results) else "FINISHED"


def plan_layout(plan: Plan):
    """The table of this invocation: rows of the settings it runs (``--settings``), not of the whole ablation."""
    return layout(plan.ablation.name, plan.task).only(None if plan.optuna_samples else plan.ablation.names())


def print_summary(plan: Plan, uri: str, parent: str, results) -> None:
    from analysis.api import table_text  # deferred (here and below): pandas and matplotlib load only for tables
    from analysis.load import load_runs  # deferred

    errors, stopped = failures(results), unfinished(results)
    print(f"\n{len(results) - len(errors) - len(stopped)} of {len(results)} trials finished"
          + (f"; {len(errors)} failed" if errors else "") + (f"; {len(stopped)} interrupted" if stopped else ""))
    for path, error in errors:
        print(f"  failed: {path}: {error}")
    runs = load_runs(uri, parent_run_id=parent, refresh="always")
    if runs.empty:
        print("no finished trials, so no table")
    else:
        print(table_text(runs, plan_layout(plan), "md", expected_seeds=len(plan.seeds)))
    return runs


def publish_report(plan: Plan, uri: str, parent: str, runs) -> None:
    """The report on the parent run; the trials' results are in MLflow already, so a failure here only warns."""
    if runs.empty:
        return
    try:
        invocation.publish(uri, parent, runs, plan_layout(plan), len(plan.seeds))
    except Exception as err:  # noqa: BLE001 - any failure of the report leaves the results as they are
        print(f"warning: the report could not be logged to the parent run ({type(err).__name__}: {err}); "
              f"`{orchestrator()} report {plan.ablation.name} --out DIR` writes it", file=sys.stderr)


def write_local_report(plan: Plan, uri: str, parent: str, runs, out: str | None) -> None:
    """``--out DIR``: the report (tables, plots, checklist) as files, beside the copy on the parent run."""
    if not out or runs.empty:
        return
    from analysis.api import build_report  # deferred
    from analysis.load import best_seed_genotypes, load_curves  # deferred

    table_layout = plan_layout(plan)
    path = build_report(runs, table_layout, out, curves=load_curves(uri, runs),
                        genotypes=best_seed_genotypes(uri, runs, table_layout), expected_seeds=len(plan.seeds),
                        provenance=invocation.provenance(uri, parent))
    print(f"Report:      {path.with_suffix('.html')}")


def print_links(plan: Plan, uri: str, exp_id: str, parent: str) -> None:
    if uri.startswith("sqlite"):
        print(f"MLflow UI:   {serve_command(uri)}   then open {invocation.ui_link(uri, exp_id, parent)}  "
              f"(table and report: its artifacts, {invocation.REPORT_FOLDER}/)")
    else:
        print(f"MLflow:      {invocation.ui_link(uri, exp_id, parent)}")
    print(f"Networks:    artifacts networks/ of each trial's run; on your image: {orchestrator()} apply {parent} "
          f"IMAGE -o OUT --setting {searched_setting(plan)} (its best trial)")
    print(f"Runs table:  {invocation.runs_table_link(uri, exp_id)}  (trials grouped by setting, the seeds' means; "
          f"its chart view: a bar per setting)")
    print(f"Ray results: {plan.experiment_path}")
    print(f"Table again: {orchestrator()} table {plan.ablation.name} --task {plan.task} --tracking-uri {uri}")


def searched_setting(plan: Plan) -> str:
    """The last setting that searches (not a baseline): the one a user most likely wants to apply."""
    searched = [s.name for s in plan.ablation.settings if not baseline_tags(trial_config(plan.base, s, plan.seeds[0]))]
    return (searched or [plan.ablation.settings[-1].name])[-1]


def serve_command(uri: str) -> str:
    """What serves a SQLite store's UI at ``invocation.ui_link``'s address."""
    return f"{tool('mlflow')} ui --backend-store-uri {uri} --port {invocation.UI_PORT}"


def serve_hint(uri: str) -> str:
    return f"  (serve it first: {serve_command(uri)})" if uri.startswith("sqlite") else ""


def dashboard_token_hint(dashboard: str) -> str:
    """Ray's dashboard asks for a token when token authentication is on; say where to get it."""
    token_on = os.environ.get("RAY_AUTH_MODE", "").lower() == "token" or (Path.home() / ".ray" / "auth_token").exists()
    return f"  (it asks for a token: `{tool('ray')} get-auth-token` prints it)" if dashboard and token_on else ""


STUDY = "study"  # the command and the ablation it runs (orchestrator/experiments/study.py)


def study_tasks() -> tuple[str, ...]:
    return find_ablation(STUDY).ablations[STUDY](None).tasks


def cmd_study(args: argparse.Namespace) -> int:
    """``study --task T ...`` runs ``ablation study --task T ...`` (the same options, resume included)."""
    if args.task is None:
        raise ValueError(f"study needs --task: one of {', '.join(study_tasks())}")
    args.ablation = STUDY
    args.argv = ["ablation", STUDY, *args.argv[1:]]
    return cmd_ablation(args)


DEFAULT_SEEDS = "0,1,2"  # an ablation's seeds unless --seeds says otherwise


def add_run_arguments(p: argparse.ArgumentParser, study: bool = False) -> None:
    """The options of a run of trials (``ablation`` and ``study``: one parser shape, so a study resumes as the
    ablation it is)."""
    add_config_arguments(p)
    p.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"comma-separated (default {DEFAULT_SEEDS})")
    p.add_argument("--settings", help="run only these settings (comma-separated)")
    p.add_argument("--lambdas", help="lambda ablation: values to sweep (default 0,0.3,0.6,1.0)")
    p.add_argument("--search", choices=("grid", "optuna"), default="grid", help="lambda: let Optuna choose")
    p.add_argument("--num-samples", type=int, default=8, help="trials Optuna runs (with --search optuna)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0, help="GPUs per trial (fractions allowed)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0)
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--max-concurrent", type=int, default=None, help="trials at once (default: as resources allow)")
    p.add_argument("--max-failures", type=int, default=2, help="retries of a failed trial from its checkpoint")
    p.add_argument("--tracking-uri", help="MLflow store (default sqlite:///<abs>/runs/mlflow.db) or http://HOST:PORT")
    p.add_argument("--storage", help="Ray results folder or cloud URI (default runs/ray_results)")
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                   help="Ray cluster address (default: RAY_ADDRESS, else a local Ray instance)")
    p.add_argument("--node-timeout", type=float, default=900,
                   help="on a cluster: seconds to wait for the autoscaler to add a node that fits one trial")
    p.add_argument("--name", help="experiment name (default NAME-TASK-PRESET)")
    p.add_argument("--reference-network", action="append", default=[], metavar="NAME=FILE",
                   help="a saved network (e.g. made by `import`) as one more reference row, scored on the trials' "
                   "test pairs at its own condition (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the trial grid and exit")
    p.add_argument("--resume", action="store_true", help="finish an interrupted ablation (only missing trials)")
    p.add_argument("--out", help="also write the report (tables, plots, checklist) to this folder")
    p.add_argument("--serve-ui", action="store_true", help=f"start the MLflow UI for the store on 127.0.0.1:"
                   f"{invocation.UI_PORT} first (SQLite stores), so the printed link opens during the run")
    p.add_argument("--no-cache", action="store_true", help="compute every trial, even where a finished trial of "
                   "the store had the same config, data, code and seed (default: reuse its results)")
    if study:  # the study's task is its subject: no default (``cmd_study``)
        p.set_defaults(task_required=True)


def register(sub: argparse._SubParsersAction) -> None:
    names = ablation_names()
    p = sub.add_parser("ablation", help="run an ablation of a paper as Ray Tune trials tracked in MLflow")
    p.add_argument("ablation", metavar="NAME", help=f"one of {', '.join(names)}")
    add_run_arguments(p)
    p.set_defaults(func=cmd_ablation)
    global _ABLATION_PARSER
    _ABLATION_PARSER = p

    p = sub.add_parser("study", help="is each search better than random architectures of its space? every "
                       "system serving a task, RSWS and the random baseline, one protocol, one report")
    add_run_arguments(p, study=True)
    p.set_defaults(func=cmd_study)
