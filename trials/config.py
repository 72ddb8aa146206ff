"""Typed, frozen configuration of one trial: search space, data, search, retraining.

Defaults are the paper's settings (Section 4.1, hinas-spec sections 8-9). Presets (orchestrator/presets.py)
and ``--set key=value`` overrides build on these; ``flatten``/``from_flat`` give the dotted form that
MLflow params and the command line use.
"""

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field

from search_space import SpaceConfig


@dataclass(frozen=True)
class DataConfig:
    kind: str = "builtin"  # builtin | bsd500 | div2k (search/train images)
    root: str | None = None  # folder of `kind`; None for builtin
    test_sets: tuple[str, ...] = ()  # SR benchmark kinds (set5, set14, bsd100, urban100, manga109)
    test_root: str | None = None  # folder holding one sub-folder per SR test set (Set5/, Set14/, ...)
    color: bool | None = None  # None: gray for denoising, RGB for SR
    max_test_images: int | None = None  # evaluate on the first N test images only (smoke runs)


@dataclass(frozen=True)
class SearchConfig:
    method: str = "hinas"  # hinas | rsws
    epochs: int = 100
    warmup_epochs: int = 20  # weights only; alpha/beta train from epoch warmup_epochs + 1
    eval_from_epoch: int = 61  # validate every epoch from this one (1-based) and keep the best
    steps_per_epoch: int | None = None  # None: ceil(|Train W| / batch_size)
    batch_size: int = 8
    crop_size: int = 64
    lam: float = 0.6  # weight of the -log10(SSIM) term (Eq. 7)
    pixel_loss: str = "mse"  # mse | l1
    sigmas: tuple[int, ...] = (30, 50, 70)  # denoising: noise level drawn per sample
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    w_schedule: str = "cosine"  # cosine (paper) | cosine_restarts (reference: period 20 epochs x poly 0.9)
    grad_clip: float = 5.0
    a_lr: float = 1e-3
    a_weight_decay: float = 1e-3
    a_betas: tuple[float, float] = (0.5, 0.999)  # the reference's Adam betas for alpha/beta
    rsws_samples: int = 30  # N architectures scored on validation (RSWS)
    rsws_rescore_top: int = 0  # > 0: score on `rsws_score_images` first, re-score the top k on all of V
    rsws_score_images: int = 1
    val_tile: int | None = None  # evaluate validation images in tiles of this size (None: whole image)


@dataclass(frozen=True)
class RetrainConfig:
    iterations: int = 400_000  # denoising (paper); SR uses 600k
    batch_size: int = 24
    crop_size: int = 64
    base_width: int | None = None  # f of the derived net; None: 20 for denoising, 30 for SR
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 4e-5
    poly_power: float = 0.9
    grad_clip: float = 5.0  # by value, as the reference
    sigmas: tuple[int, ...] = (30, 50, 70)  # denoising: one retrain + evaluation per level
    scales: tuple[int, ...] = (4,)  # SR: one retrain + evaluation per scale
    checkpoint_every: int = 1000  # iterations
    eval_tile: int | None = None


@dataclass(frozen=True)
class TrialConfig:
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    deterministic: bool = True  # cuDNN deterministic kernels on GPU
    space: SpaceConfig = field(default_factory=SpaceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)

    def __post_init__(self) -> None:
        validate(self)

    def retrain_width(self) -> int:
        if self.retrain.base_width is not None:
            return self.retrain.base_width
        return 30 if self.space.task == "sr" else 20


METHODS = ("hinas", "rsws")
SIGMAS = (15, 25, 30, 50, 70)


def validate(cfg: TrialConfig) -> None:
    s, r = cfg.search, cfg.retrain
    checks = [
        (s.method in METHODS, f"search.method must be one of {METHODS}, got {s.method!r}"),
        (s.lam >= 0, f"search.lam must be >= 0, got {s.lam}"),
        (s.pixel_loss in ("mse", "l1"), f"search.pixel_loss must be mse or l1, got {s.pixel_loss!r}"),
        (s.w_schedule in ("cosine", "cosine_restarts"), f"unknown search.w_schedule {s.w_schedule!r}"),
        (0 <= s.warmup_epochs <= s.epochs, "search.warmup_epochs must lie in [0, search.epochs]"),
        (1 <= s.eval_from_epoch <= s.epochs, "search.eval_from_epoch must lie in [1, search.epochs]"),
        (s.batch_size > 0 and r.batch_size > 0, "batch sizes must be positive"),
        (r.iterations > 0 and r.checkpoint_every > 0, "retrain.iterations and checkpoint_every must be > 0"),
        (s.rsws_samples > 0, "search.rsws_samples must be > 0"),
        (cfg.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, got {cfg.device!r}"),
    ]
    for sigma in (*s.sigmas, *r.sigmas):
        checks.append((sigma in SIGMAS, f"unknown noise level sigma={sigma}; choose from {SIGMAS}"))
    for scale in r.scales:
        checks.append((scale in (2, 3, 4), f"SR scale must be 2, 3 or 4, got {scale}"))
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


# --- dotted keys <-> nested dataclasses ---------------------------------------------------------------
def flatten(obj, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out


def to_json(cfg: TrialConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), indent=2, sort_keys=True)


def from_dict(cls, data: dict, prefix: str = ""):
    """Rebuilds a (nested) config dataclass from ``dataclasses.asdict`` output, checking every key."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        hint, key = hints[name], prefix + name
        nested = dataclasses.is_dataclass(hint)
        kwargs[name] = from_dict(hint, value, key + ".") if nested else coerce(value, hint, key)
    return cls(**kwargs)


def with_overrides(cfg: TrialConfig, overrides: dict[str, object]) -> TrialConfig:
    """Applies dotted overrides (``{"search.lam": "0.3"}``); values may be strings, checked against the type."""
    data = dataclasses.asdict(cfg)
    valid = flatten(cfg)
    for key, value in overrides.items():
        if key not in valid:
            close = [k for k in valid if k.split(".")[-1] == key.split(".")[-1]]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"unknown config key {key!r}{hint}; see `python -m orchestrator config` for all keys")
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return from_dict(TrialConfig, data)


def coerce(value, hint, name: str):
    """Converts a value (often a command-line string) to the annotated type, or says what is wrong."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null", ""))
        if is_none and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], name)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [i for i in items if not (isinstance(i, str) and not i.strip())]
        item_types = [args[0]] * len(items) if args[-1] is Ellipsis else list(args)
        if len(item_types) != len(items):
            raise ValueError(f"{name} needs {len(args)} values, got {len(items)}")
        return tuple(coerce(i, t, name) for i, t in zip(items, item_types, strict=True))
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a valid {hint.__name__}") from None
    return value
