"""`cache export`: every result the store holds as (space, genotype, task, retrain budget, seed) -> metrics,
one row per finished trial: the beginning of a lookup benchmark for restoration NAS.

The rows are the trials the result cache (trials.result_cache) reuses from; a reused trial is listed too,
with ``reused`` / ``reused_from`` saying where its numbers came from.
"""

import argparse
from pathlib import Path

from orchestrator import tracking as tr
from trials import metric_names as M

# columns first, in this order; then every metric of the run
KEYS = (M.TAG_SPACE, M.TAG_METHOD, M.TAG_GENOTYPE, M.TAG_TASK, "retrain.iterations", M.TAG_SEED, M.TAG_SETTING,
        M.TAG_ABLATION, M.TAG_PROTOCOL, M.TAG_DATA, M.TAG_HARDWARE, M.TAG_REUSED, M.TAG_REUSED_FROM)
RETRAIN_KEY = M.TAG_CACHE_KEY.format(kind="retrain")


def cache_rows(uri: str) -> list[dict]:
    """One dict per finished trial run of the store that has a retrain cache key."""
    client = tr.client(uri)
    experiments = tr.all_experiment_ids(client)
    runs = client.search_runs(experiments, f"attributes.status = 'FINISHED' and tags.`{RETRAIN_KEY}` LIKE '%'",
                              max_results=50_000) if experiments else []
    rows = []
    for run in runs:
        tags, params = run.data.tags, run.data.params
        row = {"run_id": run.info.run_id, **{k: tags.get(k) for k in KEYS if k != "retrain.iterations"},
               "retrain.iterations": params.get("retrain.iterations"), "retrain_cache_key": tags[RETRAIN_KEY]}
        rows.append(row | dict(sorted(run.data.metrics.items())))
    return rows


def export(uri: str, out: Path):
    import pandas as pd  # deferred: pandas loads only for the export

    frame = pd.DataFrame(cache_rows(uri))
    if frame.empty:
        raise ValueError(f"the store {uri} holds no finished trial with a cache key (trials logged before the cache "
                         f"existed have none); run an ablation or a study first")
    frame[M.TAG_SEED] = pd.to_numeric(frame[M.TAG_SEED]).astype("Int64")
    frame["retrain.iterations"] = pd.to_numeric(frame["retrain.iterations"]).astype("Int64")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return frame


def cmd_cache_export(args: argparse.Namespace) -> int:
    from orchestrator.results import default_uri  # deferred: as the commands, it loads what tables need

    uri = args.tracking_uri or default_uri()
    tr.check_reachable(uri, create=False)
    out = Path(args.file)
    if out.suffix != ".parquet":
        raise ValueError(f"{out}: give a .parquet file name")
    frame = export(uri, out)
    print(f"{out}: {len(frame)} results ({frame[M.TAG_SPACE].nunique()} spaces, {frame[M.TAG_TASK].nunique()} tasks, "
          f"{frame[M.TAG_GENOTYPE].nunique()} genotypes); read it with pandas.read_parquet")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="the result cache: finished trials reused by identical ones")
    cache_sub = p.add_subparsers(dest="cache_command", required=True)
    e = cache_sub.add_parser("export", help="every (space, genotype, task, retrain budget, seed) -> metrics row of "
                             "the store, as Parquet")
    e.add_argument("file", help="FILE.parquet")
    e.add_argument("--tracking-uri", help="MLflow store (default: runs/mlflow.db)")
    e.set_defaults(func=cmd_cache_export)
