"""Typed, frozen configuration of one trial, one section per component.

Sections ``task``, ``space``, ``method`` and ``loss`` are chosen by name from their registries: each is the
registered component's own dataclass, so per-component keys never mix (``--set method.name=rsws`` swaps the
whole section for RSWS's, at its defaults, before the other overrides apply). ``data``, ``search`` (the
shared search loop), and ``retrain`` are the same for every component. Defaults are the paper's settings;
presets (orchestrator/presets.py) and ``--set key=value`` overrides build on them; ``flatten``/``from_dict``
give the dotted form that MLflow params and the command line use.
"""

import copy
import dataclasses
import difflib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property

from search_space import SKIP_START, SPACES, SearchSpace, SpaceConfig
from search_space.registry import Registry
from trials.device import PRECISIONS
from trials.losses import LOSSES, Loss, LossConfig, LossFunction
from trials.methods import METHODS, MethodConfig, SearchMethod
from trials.metric_names import TAG_BASELINE, flatten_dict
from trials.optim import CLIP_MODES, OPTIMIZERS
from trials.sections import (
    RETRAIN_SCHEDULES,
    W_SCHEDULES,
    DataConfig,
    EvalConfig,
    RetrainConfig,
    SearchConfig,
    default_kind_options,
)
from trials.tasks import TASKS, BoundTask, TaskConfig

# The sections chosen by name, and where their names are looked up.
NAMED_SECTIONS: dict[str, Registry] = {"task": TASKS, "space": SPACES, "method": METHODS, "loss": LOSSES}


@dataclass(frozen=True)
class Components:
    """A trial's named sections resolved once: the task bound to its section, the space, the method's class
    and the loss (``build_loss`` makes its function from the loss section)."""

    task: BoundTask
    space: SearchSpace
    method: type[SearchMethod]
    loss: Loss
    loss_section: LossConfig

    def build_loss(self) -> LossFunction:
        return self.loss.build(self.loss_section)


@dataclass(frozen=True)
class TrialConfig:
    task: TaskConfig
    space: SpaceConfig
    method: MethodConfig
    loss: LossConfig
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    deterministic: bool = True  # cuDNN deterministic kernels on GPU
    data: DataConfig = field(default_factory=DataConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        validate(self)

    @cached_property
    def components(self) -> Components:
        """The components its sections name, looked up once and travelling with the config (a frozen
        dataclass keeps ``cached_property``'s value in the instance, outside the compared fields)."""
        return Components(TASKS.get(self.task.name).bind(self.task), SPACES.get(self.space.name),
                          METHODS.get(self.method.name), LOSSES.get(self.loss.name), self.loss)


def section_config(section: str, name: str):
    """The default config section of component ``name`` (e.g. ``section_config("method", "rsws")``)."""
    return NAMED_SECTIONS[section].get(name).config_class()


def default_config(task: str | None = None, space: str | None = None, method: str | None = None,
                   loss: str | None = None) -> TrialConfig:
    """Every section at its defaults; components by name, else each registry's default."""
    return from_dict(TrialConfig, default_sections(task, space, method, loss))


def default_sections(task: str | None = None, space: str | None = None, method: str | None = None,
                     loss: str | None = None) -> dict:
    """``default_config`` as plain data, not yet checked as a whole: a component's defaults may be invalid
    until overrides complete them (``method.name=fixed`` needs its ``method.genotype``)."""
    names = {"task": task, "space": space, "method": method, "loss": loss}
    sections = {s: section_config(s, names[s] or NAMED_SECTIONS[s].default) for s in NAMED_SECTIONS}
    data = {}
    for f in dataclasses.fields(TrialConfig):
        if f.name in sections:
            data[f.name] = dataclasses.asdict(sections[f.name])
        elif f.default_factory is not dataclasses.MISSING:
            data[f.name] = dataclasses.asdict(f.default_factory())
        else:
            data[f.name] = f.default
    return data


def validate(cfg: TrialConfig) -> None:
    s, r = cfg.search, cfg.retrain
    clips = [c for c in (s.grad_clip, r.grad_clip) if c is not None]
    finite = all(math.isfinite(v) for v in (s.w_lr, s.w_lr_min, r.lr, *clips)) and min(clips, default=1) > 0
    checks = [
        (s.w_schedule in W_SCHEDULES, f"unknown search.w_schedule {s.w_schedule!r}; valid: {', '.join(W_SCHEDULES)}"),
        (r.schedule in RETRAIN_SCHEDULES,
         f"unknown retrain.schedule {r.schedule!r}; valid: {', '.join(RETRAIN_SCHEDULES)}"),
        (s.w_optimizer in OPTIMIZERS and r.optimizer in OPTIMIZERS,
         f"search.w_optimizer and retrain.optimizer must be one of {', '.join(OPTIMIZERS)}"),
        (r.clip_mode in CLIP_MODES and s.clip_mode in CLIP_MODES,
         f"search.clip_mode and retrain.clip_mode must be one of {', '.join(CLIP_MODES)}"),
        (all(0 < m <= 1 for m in (*s.w_milestones, *r.milestones)) and 0 < s.w_gamma <= 1 and 0 < r.gamma <= 1,
         "milestones are fractions of the run in (0, 1] and gammas lie in (0, 1]"),
        (1 <= s.eval_from_epoch <= s.epochs, "search.eval_from_epoch must lie in [1, search.epochs]"),
        (s.batch_size > 0 and r.batch_size > 0, "batch sizes must be positive"),
        (s.crop_size > 0 and r.crop_size > 0, "crop sizes must be positive"),
        (r.base_width > 0, "retrain.base_width must be positive"),
        (finite and min(s.w_lr, s.w_lr_min, r.lr) >= 0,
         "learning rates and gradient clips must be finite, rates >= 0 and clips > 0 (or none)"),
        (r.iterations > 0 and r.checkpoint_every > 0 and (r.log_every is None or r.log_every > 0),
         "retrain.iterations, checkpoint_every and log_every must be > 0"),
        (cfg.seed >= 0, f"seed must be >= 0, got {cfg.seed}"),
        (r.warm_start_from is None or r.warm_start_from in cfg.components.task.conditions(),
         f"retrain.warm_start_from={r.warm_start_from} is not one of the task's conditions "
         f"{cfg.components.task.conditions()}"),
        (cfg.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, got {cfg.device!r}"),
        (s.precision in PRECISIONS, f"search.precision must be one of {', '.join(PRECISIONS)}, got {s.precision!r}"),
        (r.precision in PRECISIONS, f"retrain.precision must be one of {', '.join(PRECISIONS)}, got {r.precision!r}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    check_components(cfg)


def retrain_input_crop(cfg: TrialConfig, condition: int) -> int:
    """The retraining crop in input pixels for one condition (``retrain.hr_crop_size`` counts output pixels)."""
    r = cfg.retrain
    if r.hr_crop_size is None:
        return r.crop_size
    return r.hr_crop_size // cfg.components.task.io(condition).scale


def check_crops(cfg: TrialConfig) -> None:
    """Every training crop is at least what the space's networks accept (DLSR's attention: 15 px)."""
    task, space = cfg.components.task, cfg.components.space
    crops = {"search.crop_size": cfg.search.crop_size}
    for condition in task.conditions():
        crops[f"the retraining crop of {task.condition_column} {condition}"] = retrain_input_crop(cfg, condition)
    for what, size in crops.items():
        if size < space.min_input_size:
            raise ValueError(f"{what} is {size} input px, below the {space.min_input_size} px the {space.name} "
                             f"space's networks need; raise it (SR crops count input (LR) pixels, "
                             f"retrain.hr_crop_size output pixels)")


def check_components(cfg: TrialConfig) -> None:
    """The chosen method, space and task fit together (e.g. RSWS needs a single-path forward)."""
    check_size_limits(cfg.space)
    space, method = cfg.components.space, cfg.components.method
    if cfg.retrain.start_at_skip and SKIP_START not in space.capabilities:
        raise ValueError(f"retrain.start_at_skip needs networks with a skip path, which space {space.name}'s lack; "
                         f"set it false, or use a space that has one: {spaces_having({SKIP_START})}")
    missing = method.requires - space.capabilities
    if missing:
        raise ValueError(f"method {method.name} needs {', '.join(sorted(missing))} from the search space, which "
                         f"space {space.name} lacks; spaces that have it: {spaces_having(method.requires)}")
    space.check(cfg.space, cfg.components.task.search_io())
    method.check(cfg.method, cfg.search, cfg.space)
    check_crops(cfg)


def check_size_limits(section: SpaceConfig) -> None:
    for key, limit in type(section).size_limits.items():
        value = getattr(section, key)
        if value > limit:
            raise ValueError(f"space.{key}={value} is above {limit}, the most the {section.name} space builds (its "
                             f"supernet is built module by module: far beyond a paper's size it takes hours before "
                             f"the first step); the default is {getattr(type(section)(), key)}")


def spaces_having(capabilities: set[str] | frozenset[str]) -> str:
    """The names of the spaces with every one of ``capabilities``, for an error message ('none' if none)."""
    return ", ".join(SPACES.filter(lambda s: capabilities <= s.capabilities)) or "none"


def baseline_tags(cfg: TrialConfig) -> dict[str, str]:
    """``baseline=<role>`` on the runs of a baseline method (random architectures, random search), which
    tables and the checklist find by role, not by a method's name."""
    role = cfg.components.method.baseline
    return {TAG_BASELINE: role} if role else {}


def inferred_tags(cfg: TrialConfig) -> dict[str, str]:
    """Tags marking our own design choices: a component whose paper does not give its settings names a tag
    (``inferred_tag``, e.g. autoderain_inferred); its runs get ``<tag>=1`` and ``<tag>_defaults``, the keys of
    its sections left at our defaults, so that nobody mistakes them for the paper's."""
    tags: dict[str, set[str]] = {}
    for section, registry in NAMED_SECTIONS.items():
        value = getattr(cfg, section)
        tag = getattr(registry.get(value.name), "inferred_tag", None)
        if tag:
            defaults = type(value)()
            tags.setdefault(tag, set()).update(
                f"{section}.{f.name}" for f in dataclasses.fields(value)
                if f.name != "name" and getattr(value, f.name) == getattr(defaults, f.name))
    return {k: v for tag, keys in tags.items() for k, v in ((tag, "1"), (f"{tag}_defaults", ",".join(sorted(keys))))}


# --- dotted keys <-> nested dataclasses ---------------------------------------------------------------
def flatten(obj, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, key + "."))
        elif isinstance(value, dict):
            out.update(flatten_dict(value, key + "."))
        else:
            out[key] = value
    return out


def to_json(cfg: TrialConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), indent=2, sort_keys=True)


def config_differences(stored: str, cfg: TrialConfig) -> list[str]:
    """How ``cfg`` differs from a stored config.json, key by key. Keys the file lacks take their defaults: a
    key is added with the behaviour before it as its default, so a run folder older than the key resumes."""
    try:
        old = from_dict(TrialConfig, json.loads(stored))
    except (ValueError, TypeError, KeyError) as error:
        return [f"its config.json does not read as this version's: {error}"]
    before, now = flatten_dict(dataclasses.asdict(old)), flatten_dict(dataclasses.asdict(cfg))
    return [f"{key} is {before.get(key)!r} there, {now.get(key)!r} now"
            for key in sorted(before.keys() | now.keys()) if before.get(key) != now.get(key)]


def from_dict(cls, data: dict, prefix: str = ""):
    """Rebuilds a (nested) config dataclass from ``dataclasses.asdict`` output, checking every key."""
    hints = typing.get_type_hints(cls)
    data = _renamed_keys(data) if cls is TrialConfig else data
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {prefix.rstrip('.') or cls.__name__} keys: {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        hint, key = _section_class(cls, name, value, hints[name]), prefix + name
        nested = dataclasses.is_dataclass(hint)
        kwargs[name] = from_dict(hint, value, key + ".") if nested else coerce(value, hint, key)
    return cls(**kwargs)


def _renamed_keys(data: dict) -> dict:
    """A config.json of an earlier version read as this one's: keys since moved are moved."""
    section = data.get("data")
    if not isinstance(section, dict) or "pair_order" not in section:
        return data
    moved = {k: v for k, v in section.items() if k != "pair_order"}
    moved["options"] = {**moved.get("options", default_kind_options()), "pair_order": section["pair_order"]}
    return {**data, "data": moved}


def _section_class(cls, name: str, value, hint):
    """A named section's class comes from its registry, by the name the data carries."""
    if cls is not TrialConfig or name not in NAMED_SECTIONS:
        return hint
    if not isinstance(value, dict) or "name" not in value:
        raise ValueError(f"config section {name} needs a name ({name}.name); valid: "
                         f"{', '.join(NAMED_SECTIONS[name].names())}")
    return NAMED_SECTIONS[name].get(value["name"]).config_class


def with_overrides(cfg: TrialConfig | dict, overrides: dict[str, object]) -> TrialConfig:
    """Applies dotted overrides (``{"loss.lam": "0.3"}``); values may be strings, checked against the type.
    ``cfg`` may be a config or its plain data (``default_sections``); the result is checked as a whole.

    ``<section>.name`` overrides come first and reset that section to the named component's defaults.
    """
    data = copy.deepcopy(cfg) if isinstance(cfg, dict) else dataclasses.asdict(cfg)
    for section in NAMED_SECTIONS:
        name = overrides.get(f"{section}.name")
        if name is not None and str(name) != data[section]["name"]:
            data[section] = dataclasses.asdict(section_config(section, str(name)))
    valid = flatten_dict(data)
    for key, value in overrides.items():
        if key not in valid:
            raise ValueError(unknown_key_message(key, valid))
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return from_dict(TrialConfig, data)


def unknown_key_message(key: str, valid: dict[str, object]) -> str:
    section, _, leaf = key.rpartition(".")
    same_leaf = [k for k in valid if k.rpartition(".")[2] == leaf]
    near = [k for k in valid if k.rpartition(".")[0] == section and _close(k.rpartition(".")[2], leaf)]
    hint = f" (did you mean {(same_leaf or near)[0]}?)" if same_leaf or near else ""
    where = ""
    if section in NAMED_SECTIONS:
        where = f"; section {section} is {valid[section + '.name']!r}, whose keys are " + ", ".join(
            k for k in valid if k.startswith(section + "."))
    return f"unknown config key {key!r}{hint}{where}; see `python -m orchestrator config` for all keys"


def _close(a: str, b: str) -> bool:
    """Nearly the same, or one a prefix of the other (epoch / epochs)."""
    return a.startswith(b) or b.startswith(a) or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


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
        items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, list | tuple) \
            else [value]  # one value of a tuple key: (value,)
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
