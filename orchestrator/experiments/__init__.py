"""Each paper's experiments in one module (presets, ablations, tables, the paper's numbers); importing this
fills ``EXPERIMENTS``."""

from orchestrator.experiments import autoderain, dlsr, hinas, study  # noqa: F401 - registers the experiments
from orchestrator.experiments.base import (
    EXPERIMENTS,
    TUNED_PARAM,
    Ablation,
    Experiments,
    Setting,
    Tuned,
    ablation_names,
    bench_data,
    experiments_for_space,
    find_ablation,
    task_layout,
)

__all__ = ["EXPERIMENTS", "TUNED_PARAM", "Ablation", "Experiments", "Setting", "Tuned", "ablation_names",
           "bench_data", "find_ablation", "experiments_for_space", "task_layout"]
