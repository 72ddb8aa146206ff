"""Loading runs: a real MLflow SQLite store (no mocks) and the Parquet cache."""

import shutil

import pandas as pd
import pytest
from mlflow import MlflowClient

from analysis.load import load_curves, load_runs
from trials import metric_names as mn

EXPERIMENT = "lwas-denoise"


class CountingClient(MlflowClient):
    """A real client that counts its queries, to tell cache hits from MLflow loads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.searches: list[int] = []

    def search_runs(self, *args, **kwargs):
        self.searches.append(kwargs.get("max_results", 1000))
        return super().search_runs(*args, **kwargs)


def _child(client: MlflowClient, experiment_id: str, parent: str, setting: str, seed: int) -> str:
    run = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent, mn.TAG_ABLATION: "lwas",
                                                 mn.TAG_SETTING: setting, mn.TAG_SEED: str(seed),
                                                 mn.TAG_TASK: "denoise", mn.TAG_METHOD: "hinas"})
    run_id = run.info.run_id
    for key, value in {"search.lam": "0.6", "space.lwas": "True", "search.epochs": "100",
                       "data.root": "/data/bsd"}.items():
        client.log_param(run_id, key, value)
    client.log_metric(run_id, mn.PARAMS_M, 0.25 + seed / 100)
    client.log_metric(run_id, mn.psnr("sigma30"), 29.0 + seed / 10)
    for epoch in range(3):
        client.log_metric(run_id, mn.VAL_PSNR, 25.0 + epoch, step=epoch)
    client.set_terminated(run_id)
    return run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite store with one parent and four child runs, one of them in another parent."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{(folder / 'mlflow.db').resolve()}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(EXPERIMENT)
    parent = client.create_run(experiment_id).info.run_id
    children = [_child(client, experiment_id, parent, s, seed) for s, seed in
                (("basic", 0), ("basic", 1), ("lwas", 0))]
    other_parent = client.create_run(experiment_id).info.run_id
    _child(client, experiment_id, other_parent, "lwas", 1)
    return {"uri": uri, "folder": folder, "parent": parent, "children": children,
            "experiment_id": experiment_id}


def test_mlflow_loader_gives_typed_columns_one_row_per_child(store):
    runs = load_runs(store["uri"], parent_run_id=store["parent"])
    assert sorted(runs.run_id) == sorted(store["children"])
    assert runs["param.search.lam"].dtype == "float64" and (runs["param.search.lam"] == 0.6).all()
    assert runs["param.space.lwas"].dtype == "boolean" and runs["param.space.lwas"].all()
    assert runs["param.search.epochs"].dtype == "Int64"
    assert runs["param.data.root"].iloc[0] == "/data/bsd"
    assert runs[mn.TAG_SEED].dtype == "Int64" and runs[mn.psnr("sigma30")].dtype == "float64"
    assert str(runs["start_time"].dtype).startswith("datetime64") and (runs.status == "FINISHED").all()
    assert set(runs.parent_run_id) == {store["parent"]}
    whole = load_runs(store["uri"], experiment=EXPERIMENT)
    assert len(whole) == 4  # both parents dropped, children of both kept


def test_curves_are_loaded_per_epoch(store):
    runs = load_runs(store["uri"], parent_run_id=store["parent"])
    curves = load_curves(store["uri"], runs)
    assert len(curves) == 3 * len(runs)
    assert list(curves.sort_values(["run_id", "step"]).step[:3]) == [0, 1, 2]
    assert set(curves.metric) == {mn.VAL_PSNR}


def test_second_load_comes_from_the_cache(store, tmp_path):
    client = CountingClient(tracking_uri=store["uri"])
    first = load_runs(store["uri"], EXPERIMENT, cache_dir=tmp_path, client=client)
    assert first.attrs["source"] == "mlflow" and 1000 in client.searches
    client.searches.clear()
    second = load_runs(store["uri"], EXPERIMENT, cache_dir=tmp_path, client=client)
    assert second.attrs["source"] == "cache"
    assert client.searches == [1, 1, 1]  # only the fingerprint queries, no page of runs
    pd.testing.assert_frame_equal(first, second)


def test_cache_serves_a_deleted_store_and_notices_new_runs(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store["folder"], copy)
    uri = f"sqlite:///{(copy / 'mlflow.db').resolve()}"
    cache = tmp_path / "cache"
    assert len(load_runs(uri, EXPERIMENT, cache_dir=cache)) == 4
    client = MlflowClient(tracking_uri=uri)
    _child(client, store["experiment_id"], store["parent"], "resl", 0)
    again = load_runs(uri, EXPERIMENT, cache_dir=cache)
    assert again.attrs["source"] == "mlflow" and len(again) == 5
    shutil.rmtree(copy)
    offline = load_runs(uri, EXPERIMENT, cache_dir=cache, refresh="never")
    assert offline.attrs["source"] == "cache" and len(offline) == 5
    assert not copy.exists()  # the loader did not open (and so re-create) the store


def test_a_running_trial_forces_a_reload(store, tmp_path):
    client = MlflowClient(tracking_uri=store["uri"])
    load_runs(store["uri"], parent_run_id=store["parent"], cache_dir=tmp_path)
    running = client.create_run(store["experiment_id"], tags={"mlflow.parentRunId": store["parent"],
                                                              mn.TAG_SETTING: "resl", mn.TAG_SEED: "2"})
    try:
        for _ in range(2):
            again = load_runs(store["uri"], parent_run_id=store["parent"], cache_dir=tmp_path)
            assert again.attrs["source"] == "mlflow" and "RUNNING" in set(again.status)
    finally:
        client.delete_run(running.info.run_id)
