"""The study (issue 29): is each search better than random architectures of its own space?

For one task, every system whose ablations serve it runs its own method(s) on its own space, and RSWS and the
random-architecture baseline run on the same space; one preset, seeds, data and protocol for all (each space
keeps its own preset values, as in ``sr-systems``). Every row is tested against its space's random row, so
the table gives Yang et al.'s improvement over random with seed noise. Rows come from the registries: a new
system (an ``Experiments`` with ``study_methods``) or a new method that a space can run joins the study
without an edit here.
"""

from analysis.tables import Row, TableLayout
from orchestrator.experiments.base import EXPERIMENTS, Ablation, Experiments, Setting, task_layout
from search_space import SPACES
from trials import metric_names as M
from trials.methods import METHODS

STUDY = "study"
BASELINES = ("rsws", "random_arch")  # on every space of the study, after the system's own methods
RANDOM = "random_arch"
# The task config every row shares where the systems' presets differ (as the sr-systems ablation does).
SHARED_TASK = {"sr": {"task.search_scale": 2, "task.scales": "2,3,4"}}
COST = (*M.COST, M.MULT_ADDS_G, M.LATENCY_MS)


def serving(task: str) -> list[Experiments]:
    """The systems (not the study) with an ablation that runs on ``task``."""
    found = []
    for _, experiments in EXPERIMENTS.items():
        if experiments.name != STUDY and any(task in build(None).tasks for build in experiments.ablations.values()):
            found.append(experiments)
    return found


def study_rows(task: str) -> list[tuple[str, str]]:
    """(space, method) of the study of ``task``: each system's own methods, then the baselines, on its space;
    only methods whose needs the space meets."""
    rows: dict[tuple[str, str], None] = {}
    for experiments in serving(task):
        space = SPACES.get(experiments.space)
        for method in (*experiments.study_methods, *BASELINES):
            if METHODS.get(method).requires <= space.capabilities:
                rows[(space.name, method)] = None
    return list(rows)


def setting_name(space: str, method: str) -> str:
    return f"{space}-{method}"


def all_tasks() -> tuple[str, ...]:
    tasks: dict[str, None] = {}
    for _, experiments in EXPERIMENTS.items():
        if experiments.name != STUDY:
            for build in experiments.ablations.values():
                tasks.update(dict.fromkeys(build(None).tasks))
    return tuple(tasks)


def study(task: str | None, **_) -> Ablation:
    tasks = all_tasks()
    settings = tuple(Setting(setting_name(space, method),
                             {"space.name": space, "method.name": method, **SHARED_TASK.get(task, {})})
                     for space, method in study_rows(task)) if task else ()
    return Ablation(STUDY, "every system that serves the task, RSWS and random architectures of each space, "
                    "under one protocol", tasks, settings)


def _label(component) -> str:
    return component.label or component.name


def layout(ablation: str, task: str) -> TableLayout:
    rows = tuple(Row(setting_name(space, method), f"{_label(METHODS.get(method))} ({_label(SPACES.get(space))} space)",
                     compare_with=None if method == RANDOM else setting_name(space, RANDOM))
                 for space, method in study_rows(task))
    return task_layout(task, table_id=f"study_{task}", ablation=STUDY, rows=rows, extras=COST,
                       title=f"Study, {task}: each search against random architectures of its own space")


EXPERIMENTS.register(Experiments(name=STUDY, space="", method="", presets={}, ablations={STUDY: study},
                                 layout=layout))
