"""The ablation registry: each ablation's settings (config overrides), seeds, tasks and paper tables.

Setting names are the row keys of the analysis tables (analysis/tables.py uses the same names).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setting:
    name: str
    overrides: dict[str, object] = field(default_factory=dict)  # dotted TrialConfig keys


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    tables: dict[str, str]  # task -> the paper table it rebuilds
    settings: tuple[Setting, ...]

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise ValueError(f"ablation {self.name} has no setting {name!r}; valid: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [s.name for s in self.settings]


def _switches(lwas: bool, resl: bool) -> dict[str, object]:
    return {"space.lwas": lwas, "space.residual": resl}


def manual_widths(task: str, multipliers_3_layers: tuple[float, ...]) -> str:
    """Per-layer width multipliers of f, cut to the task's layer count (SR searches 2 layers)."""
    layers = 2 if task == "sr" else 3
    return ",".join(str(m) for m in multipliers_3_layers[:layers])


DEFAULT_SEEDS = (0, 1, 2)  # the paper reports mean ± std over three seeds
RSWS_SAMPLES = 30  # "RSWS, N = 30"


def registry(task: str) -> dict[str, Ablation]:
    both = _switches(True, True)
    ablations = [
        Ablation("lwas", "LWAS and residual learning vs RSWS (Tables 1, 2)", {"denoise": "Table 1", "sr": "Table 2"}, (
            # RSWS searches the same space as the full HiNAS row, so the two rows differ only in the search.
            Setting("rsws", {"search.method": "rsws", "search.rsws_samples": RSWS_SAMPLES, **both}),
            Setting("basic", _switches(False, False)),
            Setting("lwas", _switches(True, False)),
            Setting("resl", _switches(False, True)),
            Setting("lwas_resl", both),
        )),
        Ablation("width", "searched widths vs fixed widths w40 / wm (Table 3)", {"denoise": "Table 3"}, (
            Setting("ws", both),
            # widths are multipliers of f: at the retrain width f=20, w40 = 40 everywhere, wm = 20, 40, 80.
            Setting("w40", {**both, "space.width_search": False,
                            "space.manual_widths": manual_widths(task, (2, 2, 2))}),
            Setting("wm", {**both, "space.width_search": False,
                           "space.manual_widths": manual_widths(task, (1, 2, 4))}),
        )),
        Ablation("ssim", "MSE alone vs MSE + SSIM loss (Tables 4, 5)", {"denoise": "Table 4", "sr": "Table 5"}, (
            Setting("mse", {**both, "search.lam": 0.0}),
            Setting("mse_ssim", {**both, "search.lam": 0.6}),
        )),
        Ablation("cellsharing", "Eq. 6 (no cell sharing) vs Eq. 5 (cell sharing) (Tables 8, 9)",
                 {"denoise": "Table 8", "sr": "Table 9"}, (
                     Setting("eq6", {**both, "space.cell_sharing": False}),
                     Setting("eq5", {**both, "space.cell_sharing": True}),
                 )),
    ]
    return {a.name: a for a in ablations}


ABLATION_NAMES = ("lwas", "width", "ssim", "cellsharing", "lambda")


def lambda_ablation(lambdas: list[float]) -> Ablation:
    """A sweep over the SSIM-loss weight; with --search optuna, Optuna picks the values instead."""
    for lam in lambdas:
        if lam < 0:
            raise ValueError(f"lambda must be >= 0, got {lam}")
    settings = tuple(Setting(lambda_setting(lam), {**_switches(True, True), "search.lam": lam}) for lam in lambdas)
    return Ablation("lambda", "sweep of the SSIM loss weight lambda", {}, settings)


def lambda_setting(lam: float) -> str:
    return f"lam{lam:g}"


def get_ablation(name: str, task: str, lambdas: list[float] | None = None) -> Ablation:
    if name == "lambda":
        return lambda_ablation(lambdas or [0.0, 0.3, 0.6, 1.0])
    ablations = registry(task)
    if name not in ablations:
        raise ValueError(f"unknown ablation {name!r}; valid: {', '.join(ABLATION_NAMES)}")
    ablation = ablations[name]
    if task not in ablation.tables:
        raise ValueError(f"ablation {name} has no {task} table in the paper; run it with --task "
                         f"{' or '.join(ablation.tables)}")
    return ablation
