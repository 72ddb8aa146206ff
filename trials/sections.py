"""The config sections every trial has whatever its components (``data``, ``search``, ``retrain``, ``eval``):
typed, frozen, checked on construction. A leaf below the component registries, so that components may use
them (a method's checks read ``search``) without an import circle; ``trials.config`` assembles a trial's
config from these and the components' own sections."""

from dataclasses import dataclass, field

from trials.data.degrade import DEFAULT_DOWNSAMPLING, DOWNSAMPLINGS
from trials.data.kinds import DATA_KINDS
from trials.data.split import SPLITS


def default_kind_options() -> dict[str, str]:
    """Every data-set kind's own options at their defaults (``data.options.<key>``)."""
    return {key: option.default for _, kind in DATA_KINDS.items() for key, option in kind.options.items()}


@dataclass(frozen=True)
class DataConfig:
    kind: str = "builtin"  # the search/train images: a kind of trials.data.kinds (builtin, bsd500, train400, ...)
    root: str | None = None  # folder of `kind`; None for builtin
    test_sets: tuple[str, ...] = ()  # test-set kinds (set5, set14, bsd68, rain100l, ...) found in test_root
    test_root: str | None = None  # folder holding one sub-folder per test set (Set5/, BSD68/, Rain100L/, ...)
    max_test_images: int | None = None  # evaluate on the first N test images only (smoke runs)
    # Train W / Train A / Validation V: random (HiNAS: shuffled, V 2%) | ordered (DLSR: file order, W = the first
    # round(n * weight_fraction), A = V = from the last W image to the end: DF2K 1-3000 / 3000-3450).
    split: str = "random"
    weight_fraction: float = 3000 / 3450  # ordered split only
    # HR sides not a multiple of a scale that has no LR files: cropped to one at load (benchmark modcrop)
    # if true, else an error naming the files.
    modcrop: bool = False
    # LR inputs made from HR where a folder has no LR files: matlab (imresize's antialiased bicubic, rounded
    # to 8 bits: the published tables' LR) | torch (F.interpolate's antialiased bicubic, float; before 2026-12)
    downsampling: str = DEFAULT_DOWNSAMPLING
    options: dict[str, str] = field(default_factory=default_kind_options)  # the kinds' own options

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"unknown data.split {self.split!r}; valid: {', '.join(SPLITS)}")
        if not 0 < self.weight_fraction < 1:
            raise ValueError(f"data.weight_fraction must lie strictly between 0 and 1, got {self.weight_fraction}")
        if self.downsampling not in DOWNSAMPLINGS:
            raise ValueError(f"data.downsampling must be one of {', '.join(DOWNSAMPLINGS)}, got {self.downsampling!r}")
        check_kind_options(self.options)


def check_kind_options(options: dict[str, str]) -> None:
    declared = {key: option for _, kind in DATA_KINDS.items() for key, option in kind.options.items()}
    for key, value in options.items():
        if key not in declared:
            raise ValueError(f"unknown data.options.{key}; the data-set kinds declare: {', '.join(declared) or 'none'}")
        if value not in declared[key].choices:
            raise ValueError(f"data.options.{key} must be one of {', '.join(declared[key].choices)} "
                             f"({declared[key].help}), got {value!r}")


GRAY_IMAGES = ("gray", "rgb")


@dataclass(frozen=True)
class EvalConfig:
    """How test outputs are scored (the published protocol by default; trials/metrics.py)."""

    quantize: bool = True  # round outputs to 8 bits before PSNR/SSIM, as the literature's test code
    # A gray image in a colour test set (Set14's bridge): scored on its gray values (gray: the MATLAB scripts) or
    # as the Y channel of the replicated RGB image (rgb: some authors' scripts, e.g. DLSR's)
    gray_images: str = "gray"
    # Y rounded to 8 bits before scoring, as MATLAB's rgb2ycbcr does on uint8 images (the scripts behind the
    # literature's bicubic rows: Set5 x2 33.65 rounded, 33.68 not); false: float Y (BasicSR, DLSR's authors)
    round_y: bool = False
    # Each retrained network also as ONNX (trials/onnx_network.py: checked by ONNX Runtime, its latency measured),
    # kept beside the network file and logged with it; seconds a network, on for every preset but smoke
    export_onnx: bool = False

    def __post_init__(self) -> None:
        if self.gray_images not in GRAY_IMAGES:
            raise ValueError(f"eval.gray_images must be one of {', '.join(GRAY_IMAGES)}, got {self.gray_images!r}")


@dataclass(frozen=True)
class SearchConfig:
    """The shared search loop: epochs, batches, the weights' optimiser and schedule, validation."""

    epochs: int = 100
    eval_from_epoch: int = 61  # validate every epoch from this one (1-based) and keep the best
    steps_per_epoch: int | None = None  # None: ceil(|Train W| / batch_size)
    batch_size: int = 8
    crop_size: int = 64
    w_optimizer: str = "sgd"  # sgd | adam
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9  # sgd
    w_betas: tuple[float, float] = (0.9, 0.999)  # adam
    w_weight_decay: float = 3e-4
    # cosine (HiNAS paper) | cosine_restarts (its reference: period 20 epochs x poly 0.9) | multistep (DLSR)
    w_schedule: str = "cosine"
    w_milestones: tuple[float, ...] = ()  # multistep: fractions of the epochs where the rate drops
    w_gamma: float = 0.5  # multistep: the factor at each milestone
    grad_clip: float | None = 5.0  # None: no clipping
    clip_mode: str = "value"  # value (HiNAS's reference) | norm (NASP/MDARTS)
    val_tile: int | None = None  # evaluate validation images in tiles of this size (None: whole image)
    # fp32 | bf16: the steps' forward passes under bf16 autocast (losses, BatchNorm statistics, weights and
    # optimiser state stay fp32; validation runs in fp32). trials/device.py
    precision: str = "fp32"


@dataclass(frozen=True)
class RetrainConfig:
    iterations: int = 400_000  # denoising (paper); SR uses 600k
    batch_size: int = 24
    crop_size: int = 64  # input pixels
    # SR: crops of this many output (HR) pixels at every scale (the input crop is hr_crop_size // scale, DLSR:
    # 128) instead of crop_size input pixels; None: crop_size
    hr_crop_size: int | None = None
    base_width: int = 20  # f of the derived net (paper: 20 for denoising, 30 for SR)
    optimizer: str = "sgd"  # sgd | adam
    lr: float = 0.05
    momentum: float = 0.9  # sgd
    betas: tuple[float, float] = (0.9, 0.999)  # adam
    weight_decay: float = 4e-5
    schedule: str = "poly"  # poly | multistep
    poly_power: float = 0.9
    milestones: tuple[float, ...] = ()  # multistep: fractions of the iterations where the rate drops
    gamma: float = 0.5
    grad_clip: float | None = 5.0  # None: no clipping
    clip_mode: str = "value"  # value (HiNAS's reference) | norm (DLSR)
    # A condition whose retrained network initialises the others (every weight of the same shape: all but
    # the upsampler between scales); it is retrained first. None: every condition from scratch.
    warm_start_from: int | None = None
    checkpoint_every: int = 1000  # iterations
    log_every: int | None = None  # iterations between progress reports (loss, eta); None: about 20 per condition
    eval_tile: int | None = None
    precision: str = "fp32"  # fp32 | bf16, as search.precision (evaluation runs in fp32)
    # Zero the layer added to the skip path (HiNAS's head, AutoDerain's tail), so that a residual network
    # starts as its skip (the input; bicubic for SR), not skip + the head's random output. Networks without
    # residual learning have no skip and are unaffected. Our addition, off in the papers' settings.
    start_at_skip: bool = False


W_SCHEDULES = ("cosine", "cosine_restarts", "multistep")
RETRAIN_SCHEDULES = ("poly", "multistep")
