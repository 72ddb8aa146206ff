"""The parent run as an ablation's home: what was run (command, preset, grid, commit) and what came out of it
(the table files, the report and its pictures), and how ``table``/``report`` find one invocation's runs.

One invocation is one parent run; ``--resume`` continues it, so its children never mix presets or grids.
"""

import json
import shlex
import sys
import tempfile
import time

from orchestrator import tracking as tr
from trials import metric_names as M

REPORT_FOLDER = "report"  # the parent run's artifact folder of table.md/.tex/.csv, report.md/.html, plots
DESCRIPTION_TAG = "mlflow.note.content"  # what the MLflow UI shows as a run's description
COMMAND = "command"  # parent-run param: the command line that started the invocation
LAST_COMMAND_TAG = "last_command"  # the command line that last ran it (a --resume)
UI_PORT = 5000  # where `mlflow ui` serves a SQLite store
# An experiment tag the UI (3.x) reads as a shared view of its runs table (viewStateShareKey=<key> in the link).
SHARED_VIEW_TAG, RUNS_VIEW = "mlflow.sharedViewState.", "results"


def command_line() -> str:
    return shlex.join(["python", "-m", "orchestrator", *sys.argv[1:]])


def parent_params(plan, overrides: dict) -> dict[str, str]:
    """What the parent run records as params: enough to tell two invocations apart and to repeat one."""
    grid = plan.grid()
    return {COMMAND: command_line(), M.TAG_PRESET: plan.base["preset"], "ablation": plan.ablation.name,
            "task": plan.task, "seeds": ",".join(map(str, plan.seeds)), "settings": ",".join(plan.ablation.names()),
            "trials": str(len(grid)), "overrides": " ".join(f"{k}={v}" for k, v in overrides.items()) or "(none)"}


def description(plan) -> str:
    lines = [f"**{plan.ablation.name}**: {plan.ablation.description}, task `{plan.task}`, preset "
             f"`{plan.base['preset']}`, seeds {', '.join(map(str, plan.seeds))}.", "",
             f"`{command_line()}`", "", f"Table, report and pictures: artifacts `{REPORT_FOLDER}/` of this run."]
    if plan.base["preset"] == "smoke":
        lines += ["", "Smoke preset: tiny widths and few iterations on the built-in images. Its numbers show the "
                  "pipeline works end to end; they rank nothing and are not comparable with the paper's."]
    return "\n".join(lines)


def record(uri: str, parent: str, plan, overrides: dict, commit: str) -> None:
    """Params (once: a resumed invocation keeps its first command), description, source and preset tags."""
    c = tr.client(uri)
    logged = c.get_run(parent).data
    tr.log_params(c, parent, parent_params(plan, overrides), logged.params)
    tags = {M.TAG_PRESET: plan.base["preset"], M.TAG_COMMIT: commit, LAST_COMMAND_TAG: command_line(),
            **tr.source_tags()}
    if DESCRIPTION_TAG not in logged.tags:
        tags[DESCRIPTION_TAG] = description(plan)
    for key, value in tags.items():
        c.set_tag(parent, key, value)


def provenance(uri: str, parent: str) -> dict[str, str]:
    """The report's header: command, preset, commit, date and id of the invocation."""
    run = tr.client(uri).get_run(parent)
    params, tags = run.data.params, run.data.tags
    return {"command": params.get(COMMAND, "(not recorded)"), "preset": params.get(M.TAG_PRESET, "(not recorded)"),
            "commit": tags.get(M.TAG_COMMIT, tags.get("git_commit", "(not recorded)")), "date": started(run),
            "invocation": parent}


def publish(uri: str, parent: str, runs, layout, expected_seeds: int) -> None:
    """Writes the report of the invocation's runs and logs it, tables and pictures included, to the parent."""
    from analysis.api import build_report, summary_metrics, table_text  # deferred: pandas and matplotlib load only
    from analysis.load import best_seed_genotypes, load_curves  # deferred

    with tempfile.TemporaryDirectory() as folder:
        build_report(runs, layout, folder, curves=load_curves(uri, runs),
                     genotypes=best_seed_genotypes(uri, runs, layout), expected_seeds=expected_seeds,
                     provenance=provenance(uri, parent))
        tr.client(uri).log_artifacts(parent, folder, artifact_path=REPORT_FOLDER)
    tr.log_final_metrics(uri, parent, summary_metrics(runs, layout, expected_seeds))
    show_table(uri, parent, table_text(runs, layout, "md", expected_seeds=expected_seeds))


def show_table(uri: str, parent: str, table: str) -> None:
    """The table in the parent's description, under what the invocation was, where a tag holds it."""
    c = tr.client(uri)
    head = c.get_run(parent).data.tags.get(DESCRIPTION_TAG, "").split("\n\n---\n")[0]  # a resume's table replaces
    text = f"{head}\n\n---\n{table}"
    if len(text) <= tr.TAG_VALUE_CHARS:
        c.set_tag(parent, DESCRIPTION_TAG, text)


def invocations(uri: str, experiment: str) -> list:
    """The experiment's parent runs, newest first."""
    c = tr.client(uri)
    found = c.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = c.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"], max_results=10_000)
    return [r for r in runs if tr.PARENT_TAG not in r.data.tags]


def started(run) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(run.info.start_time / 1000))


def describe_invocation(run) -> str:
    preset = run.data.params.get(M.TAG_PRESET, run.data.tags.get(M.TAG_PRESET, "preset not recorded"))
    return f"{run.info.run_id} ({preset}, started {started(run)}, {run.info.status.lower()})"


def share_runs_view(uri: str, experiment_id: str, metric_columns: list[str]) -> None:
    """The runs table as a results table: runs grouped by setting (the groups show the seeds' means), the test
    metrics as columns, and the chart view's first section a bar chart of each, a bar per setting. The UI
    opens on an empty column set and charts of every metric otherwise (system and search ones first)."""
    columns = ["params.`setting`", "params.`seed`", *(f"metrics.`{m}`" for m in metric_columns)]
    section = "test-results"
    charts = [{"deleted": False, "type": "BAR", "uuid": f"{section}-{m}", "metricSectionId": section,
               "isGenerated": True, "metricKey": m, "displayName": m} for m in metric_columns]
    state = {"selectedColumns": columns, "orderByKey": "attributes.start_time", "orderByAsc": False,
             "groupBy": {"aggregateFunction": "average",
                         "groupByKeys": [{"mode": "param", "groupByData": M.TAG_SETTING}]},
             "compareRunSections": [{"uuid": section, "name": "Test results", "display": True, "isReordered": False}],
             "compareRunCharts": charts}
    tr.client(uri).set_experiment_tag(experiment_id, SHARED_VIEW_TAG + RUNS_VIEW, json.dumps(state))


def runs_table_link(uri: str, experiment_id: str) -> str:
    view = f"viewStateShareKey={RUNS_VIEW}&workflowType=machine_learning"
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs?{view}"


def ui_base(uri: str) -> str:
    return uri.rstrip("/") if uri.startswith("http") else f"http://127.0.0.1:{UI_PORT}"


def ui_link(uri: str, experiment_id: str, parent: str) -> str:
    """Where the parent run opens in the MLflow UI (``mlflow ui`` serves a SQLite store on port 5000): its page
    lists the table's means first; the UI's model-training view (3.x opens the GenAI one unless told)."""
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs/{parent}?workflowType=machine_learning"

