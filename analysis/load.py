"""Runs -> one tidy DataFrame (conventions in ``analysis.schema``): from MLflow, with a Parquet cache.

Cache: ``<cache_dir>/<key>.parquet`` plus ``<key>.json`` holding a fingerprint, key = hash of (tracking URI,
experiment, parent run). ``refresh='auto'`` compares the stored fingerprint with a fresh one taken by three
``max_results=1`` queries (newest start time, latest end time, whether any trial run is RUNNING) and reloads
only when it differs or a trial is still running; ``'always'`` reloads; ``'never'`` reads the cache without
touching MLflow (offline use). A run deleted, or a metric logged to an already finished run, does not change
the fingerprint: ask for ``refresh='always'`` then.
"""

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from analysis.schema import CURVE_COLUMNS, PARAM_PREFIX, RUN_COLUMNS, cast_params
from analysis.tables import TableLayout, best_seeds
from trials import metric_names as mn

if TYPE_CHECKING:
    from search_space import Genotype

Refresh = Literal["auto", "always", "never"]
GENOTYPE_ARTIFACT = "genotype.json"  # logged by orchestrator/trainable.py at the artifact root
WIDTH_PARAM = PARAM_PREFIX + "retrain.base_width"  # f of the retrained network the figure shows
PAGE_SIZE = 1000
_PARENT_TAG = "mlflow.parentRunId"
# Trial runs carry the setting tag; a parent run stays RUNNING for a whole ablation and must not count.
_RUNNING_TRIAL = f"attributes.status = 'RUNNING' and tags.`{mn.TAG_SETTING}` LIKE '%'"


# --- MLflow -------------------------------------------------------------------------------------------------
def load_runs(tracking_uri: str, experiment: str | None = None, parent_run_id: str | None = None,
              cache_dir: str | Path | None = None, refresh: Refresh = "auto", client=None) -> pd.DataFrame:
    """Child runs of ``parent_run_id``, or all trial runs of ``experiment`` (parents dropped), one row each.

    ``client`` is an ``MlflowClient``; made from ``tracking_uri`` only when MLflow must be queried.
    ``df.attrs['source']`` says whether the frame came from 'mlflow' or the 'cache'.
    """
    if experiment is None and parent_run_id is None:
        raise ValueError("give an experiment name or a parent run id")
    get_client = _lazy_client(tracking_uri, client)
    query = _Query(get_client, experiment, parent_run_id)
    if cache_dir is None:
        return _with_source(query.runs(), "mlflow")
    key = _cache_key(tracking_uri, experiment, parent_run_id)
    return _cached(Path(cache_dir), key, refresh, query.fingerprint, query.runs)


def load_curves(tracking_uri: str, runs: pd.DataFrame, metrics: Iterable[str] = (mn.VAL_PSNR,),
                client=None) -> pd.DataFrame:
    """Per-epoch history (MLflow step = epoch) of each run in ``runs``: the long curves frame."""
    mlflow_client = _lazy_client(tracking_uri, client)()
    records = [
        (run_id, setting, seed, metric, m.step, m.value)
        for run_id, setting, seed in runs.reindex(columns=["run_id", mn.TAG_SETTING, mn.TAG_SEED]).itertuples(
            index=False)
        for metric in metrics
        for m in mlflow_client.get_metric_history(run_id, metric)
    ]
    curves = pd.DataFrame.from_records(records, columns=list(CURVE_COLUMNS))
    return curves.astype({"step": "int64", "value": "float64"})


def best_seed_genotypes(tracking_uri: str, runs: pd.DataFrame, layout: TableLayout,
                        client=None) -> dict[str, tuple["Genotype", int]]:
    """Each row's best seed (``tables.best_seeds``: highest mean PSNR over the layout's conditions) as
    {'<row name> (seed <s>)': (its genotype.json artifact, its retrain width)}, what ``build_report`` draws.
    Rows whose run has no genotype artifact or no width param are left out; references have neither."""
    from search_space import genotype_from_json  # deferred: torch loads only when figures are wanted

    mlflow_client = _lazy_client(tracking_uri, client)()
    genotypes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for best in best_seeds(runs, layout).to_dict("records"):
            if pd.isna(best.get(WIDTH_PARAM)) or not _has_artifact(mlflow_client, best["run_id"]):
                continue
            folder = Path(tmp, best["run_id"])
            folder.mkdir()
            path = mlflow_client.download_artifacts(best["run_id"], GENOTYPE_ARTIFACT, str(folder))
            genotype = genotype_from_json(Path(path).read_text())
            genotypes[f"{best['name']} (seed {best[mn.TAG_SEED]})"] = (genotype, int(best[WIDTH_PARAM]))
    return genotypes


def _has_artifact(client, run_id: str) -> bool:
    return any(info.path == GENOTYPE_ARTIFACT for info in client.list_artifacts(run_id))


class _Query:
    """The MLflow side of a load: the runs themselves and the cheap fingerprint of their state."""

    def __init__(self, get_client: Callable, experiment: str | None, parent_run_id: str | None):
        self._get_client, self._experiment, self._parent = get_client, experiment, parent_run_id
        self._scope_found: tuple[list[str], str] | None = None

    def _scope(self) -> tuple[list[str], str]:
        if self._scope_found is None:
            self._scope_found = self._find_scope()
        return self._scope_found

    def _find_scope(self) -> tuple[list[str], str]:
        client = self._get_client()
        if self._parent is not None:
            experiment_id = client.get_run(self._parent).info.experiment_id
            return [experiment_id], f"tags.`{_PARENT_TAG}` = '{self._parent}'"
        found = client.get_experiment_by_name(self._experiment)
        if found is None:
            raise KeyError(f"no MLflow experiment named {self._experiment!r}")
        return [found.experiment_id], ""

    def _search(self, max_results: int, order_by: list[str] | None = None, extra: str = "") -> Iterable:
        ids, scope = self._scope()
        filter_string = " and ".join(f for f in (scope, extra) if f)
        token = None
        while True:
            page = self._get_client().search_runs(ids, filter_string, max_results=max_results,
                                                  order_by=order_by, page_token=token)
            yield from page
            token = page.token
            if not token or max_results == 1:
                return

    def runs(self) -> pd.DataFrame:
        runs = list(self._search(PAGE_SIZE))
        parents = {r.data.tags.get(_PARENT_TAG) for r in runs}
        return tidy([_record(r) for r in runs if r.info.run_id not in parents])

    def fingerprint(self) -> dict:
        newest = next(iter(self._search(1, ["attributes.start_time DESC"])), None)
        latest_end = next(iter(self._search(1, ["attributes.end_time DESC"])), None)
        running = next(iter(self._search(1, extra=_RUNNING_TRIAL)), None)
        return {
            "newest_run": newest.info.run_id if newest else None,
            "newest_start": newest.info.start_time if newest else None,
            "latest_end": latest_end.info.end_time if latest_end else None,
            "running": running is not None,
        }


def _record(run) -> dict:
    info, data = run.info, run.data
    record = {
        "run_id": info.run_id, "parent_run_id": data.tags.get(_PARENT_TAG), "run_name": info.run_name,
        "status": info.status, "start_time": info.start_time, "end_time": info.end_time,
    }
    record.update({k: v for k, v in data.tags.items() if not k.startswith("mlflow.")})
    record.update(data.metrics)
    record.update({PARAM_PREFIX + k: v for k, v in data.params.items()})
    return record


def tidy(records: list[dict]) -> pd.DataFrame:
    """Records (times in ms since the epoch, params and tags as strings) -> the typed runs frame."""
    frame = pd.DataFrame.from_records(records)
    for column in RUN_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(pd.to_numeric(frame[column], errors="coerce"), unit="ms", utc=True)
    return cast_params(frame)


def _lazy_client(tracking_uri: str, client) -> Callable:
    """A getter that builds the MlflowClient on first use, so cache-only loads never open the store."""
    made = [client]

    def get():
        if made[0] is None:
            from mlflow import MlflowClient  # deferred: cache-only loads never import MLflow

            made[0] = MlflowClient(tracking_uri=tracking_uri)
        return made[0]

    return get


# --- cache --------------------------------------------------------------------------------------------------
def _cache_key(tracking_uri: str, experiment: str | None, parent_run_id: str | None) -> str:
    digest = hashlib.sha1(json.dumps([tracking_uri, experiment, parent_run_id]).encode()).hexdigest()[:16]
    return f"runs-{digest}"


def _cached(cache_dir: Path, key: str, refresh: Refresh, fingerprint: Callable[[], dict],
            compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    data, meta = cache_dir / f"{key}.parquet", cache_dir / f"{key}.json"
    have = data.exists() and meta.exists()
    if have and refresh == "never":
        return _with_source(pd.read_parquet(data), "cache")
    current = fingerprint() if refresh != "never" else None
    if have and refresh == "auto" and not current["running"] and json.loads(meta.read_text()) == current:
        return _with_source(pd.read_parquet(data), "cache")
    frame = compute()
    cache_dir.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(data, index=False)
    meta.write_text(json.dumps(current if current is not None else fingerprint()))
    return _with_source(frame, "mlflow")


def _with_source(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    frame.attrs["source"] = source
    return frame
