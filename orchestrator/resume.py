"""``--resume`` is the same invocation: the options an ablation was started with are recorded in its Ray
experiment folder and restored from there, so the missing trials run with the same seeds, settings and every
``--set``, and the table never mixes two configurations. A resume command line may repeat an option or change
where and how fast the trials run (resources); any other difference is refused, naming it."""

import argparse
import copy
import json
from pathlib import Path

RECORD = "invocation.json"
# How and where the trials run: no number depends on them, so a resume may choose them anew.
RUNTIME = ("gpus_per_trial", "cpus_per_trial", "num_cpus", "max_concurrent", "max_failures", "address",
           "node_timeout", "out", "no_cache", "serve_ui")
NOT_RECORDED = ("func", "resume", "dry_run", "argv", "task_required")
LOCATION = ("name", "storage")  # where the record was found: the same by construction
PATHS = ("data", "test_data", "out")  # relative on the command line, absolute in the record


def recorded_options(args: argparse.Namespace, tracking_uri: str, storage_uri: str) -> dict:
    """What the record holds: every option of the ablation command, paths absolute, stores resolved."""
    options = {k: v for k, v in vars(args).items() if k not in NOT_RECORDED}
    options |= {k: _absolute(options[k]) for k in PATHS if options.get(k)}
    options["reference_network"] = [_absolute_item(item) for item in options.get("reference_network", [])]
    return options | {"tracking_uri": tracking_uri, "storage": storage_uri}


def save(experiment_path: str, options: dict) -> None:
    fs, folder = _filesystem(experiment_path)
    fs.create_dir(folder, recursive=True)
    with fs.open_output_stream(f"{folder}/{RECORD}") as out:
        out.write(json.dumps(options, indent=1, sort_keys=True).encode())


def load(experiment_path: str) -> dict | None:
    from pyarrow import fs as pafs  # deferred: only a resume reads the record

    fs, folder = _filesystem(experiment_path)
    if fs.get_file_info(f"{folder}/{RECORD}").type == pafs.FileType.NotFound:
        return None
    with fs.open_input_stream(f"{folder}/{RECORD}") as stream:
        return json.loads(stream.read())


def given_options(parser: argparse.ArgumentParser, argv: list[str]) -> dict:
    """The options ``argv`` spells out (a default typed out included), as ``parser`` reads them."""
    twin = copy.deepcopy(parser)
    for action in twin._actions:  # argparse has no public switch for "no defaults"
        action.default = argparse.SUPPRESS
    return {k: v for k, v in vars(twin.parse_args(argv)).items() if k not in NOT_RECORDED}


def restore(args: argparse.Namespace, given: dict, experiment_path: str) -> argparse.Namespace:
    """The recorded invocation with this command line's resources; ``given`` (the options the command line
    spells out) may repeat it but not differ from it."""
    recorded = load(experiment_path)
    if recorded is None:
        return args  # nothing recorded (nothing to resume, or an experiment older than the record): as given
    current = recorded_options(argparse.Namespace(**given), given.get("tracking_uri", recorded["tracking_uri"]),
                               recorded["storage"])  # the storage is where the record was found
    conflicts = [k for k in given if k not in RUNTIME + LOCATION and k in recorded and current[k] != recorded[k]]
    if conflicts:
        differences = "; ".join(f"{_flag(k)} {_shown(current[k])} (it was started with {_shown(recorded[k])})"
                                for k in conflicts)
        raise ValueError(f"--resume finishes the ablation as it was started; this command line differs: "
                         f"{differences}. Leave those options out to resume it, or start another ablation "
                         f"with --name NEW")
    # this command line's values first: an option newer than the record keeps its default
    return argparse.Namespace(**{**vars(args), **recorded, **{k: given[k] for k in RUNTIME if k in given}})


def _filesystem(experiment_path: str):
    from pyarrow import fs as pafs  # deferred: as above

    if "://" in experiment_path:
        return pafs.FileSystem.from_uri(experiment_path)
    return pafs.LocalFileSystem(), str(Path(experiment_path).resolve())


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _absolute_item(item: str) -> str:
    name, sep, path = item.partition("=")
    return f"{name}={_absolute(path)}" if sep else item


def _flag(key: str) -> str:
    return "--set" if key == "overrides" else f"--{key.replace('_', '-')}"


def _shown(value) -> str:
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    return "(default)" if value is None else str(value)
