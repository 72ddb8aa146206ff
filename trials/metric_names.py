"""Names of everything a trial reports (MLflow metrics and tags, metrics.json keys), defined once.

Trials write these; analysis reads them. Per-condition names: ``psnr_<condition>``, where each task names
its conditions (``Task.metric_condition``): ``psnr_sigma30`` for denoising at sigma 30, ``psnr_set5_x4`` for
SR on Set5 at scale 4 (same for ssim).
"""

# final metrics of a trial
PARAMS_M = "params_m"  # derived network parameters, millions (first condition; per condition below)
MULT_ADDS_G = "mult_adds_g"  # multiply-adds (1e9) of one forward pass (1280x720 output; deraining 256x256 in)
SEARCH_TIME_S = "search_time_s"  # wall time of the search
SEARCH_GPU_HOURS = "search_gpu_hours"  # search wall time x GPUs used (0 on CPU-only runs)
RETRAIN_TIME_S = "retrain_time_s"
# The checklist's cost (Lindauer & Hutter 2020): wall time x devices, GPU-hours on a GPU, CPU-core-hours (wall
# time x torch threads) on a CPU; the run's DEVICE_HOURS_UNIT tag says which.
SEARCH_DEVICE_HOURS = "search_device_hours"
RETRAIN_DEVICE_HOURS = "retrain_device_hours"
COST = (SEARCH_DEVICE_HOURS, RETRAIN_DEVICE_HOURS)  # the cost columns a table can add (`table --cost`)
PEAK_MEMORY_MB = "peak_memory_mb"  # the tables' search memory: PEAK_CUDA_MB on a GPU, PEAK_RSS_MB on a CPU
PEAK_RSS_MB = "peak_rss_mb"  # peak resident memory of the trial's process during the search
PEAK_CUDA_MB = "peak_cuda_mb"  # peak CUDA memory allocated by PyTorch during the search (GPU trials only)
INFERENCE_MS = "inference_ms_per_image"
LATENCY_MS = "latency_ms"  # median ms of LATENCY_REPEATS forward passes of a LATENCY_INPUT input (measured)
ONNX_LATENCY_MS = "onnx_latency_ms"  # the same, for the exported network in ONNX Runtime (eval.export_onnx)
LATENCY_INPUT = (256, 256)  # (height, width) of the input latency is measured at, every task (SR: x s out)
LATENCY_REPEATS = 5  # timed forward passes after one warm-up

# per-epoch search metrics (MLflow step = epoch)
TRAIN_LOSS = "train_loss"
VAL_PSNR = "val_psnr"
VAL_SSIM = "val_ssim"
VAL_SCORE = "val_score"  # SSIM + PSNR/100, the criterion that picks the best supernet
SELECTION_SCORE = "best_val_score"  # the validation score that chose the genotype: what a searcher maximises

# progress, in every report of a running trial (Tune's results, the console's status line)
PROGRESS_CONDITION = "condition"  # the condition being retrained (``sigma30``, ``scale4``); empty in the search
# epochs (search) or iterations of this condition (retraining) done; not "done", which stops a Tune trial
PROGRESS_DONE = "steps_done"
PROGRESS_TOTAL = "steps_total"  # ... of how many
PROGRESS_ETA_S = "eta_s"  # seconds the current phase has left, at the pace so far
RETRAIN_LOSS = "retrain_loss"  # mean training loss since the last report (MLflow: retrain_loss_<condition>)

# tags
TAG_ABLATION = "ablation"
TAG_SETTING = "setting"
TAG_SEED = "seed"
TAG_METHOD = "method"
TAG_TASK = "task"
TAG_SPACE = "space"
TAG_COMMIT = "mlflow.source.git.commit"  # MLflow's own source tags (also on the parent run)
TAG_PRESET = "preset"  # smoke | paper: on every child and on the parent run
TAG_INVOCATION = "invocation"  # the parent run's id on its children: one ablation invocation
TAG_TRIAL_ID = "trial_id"
TAG_NODE_ID = "ray_node_id"
TAG_REFERENCE = "reference"  # on a reference row's runs (trials/references.py): the row's label
TAG_PROTOCOL = "protocol"  # how test outputs were scored and inputs made (trials.retrain.protocol_summary)
TAG_REFERENCE_ROLE = "reference_role"  # ROLE_INPUT | ROLE_METHOD (trials/references.py)
ROLE_INPUT, ROLE_METHOD = "input", "method"  # the degraded input itself | a classical method
REFERENCE_PREFIX = "reference-"  # the setting tag of a reference row's runs: reference-<name>
# the environment a trial ran in (trials.device.environment_tags): what its cost and numbers were measured on
TAG_HARDWARE = "hardware"  # the GPU's name, else the CPU's model
TAG_DEVICE_HOURS_UNIT = "device_hours_unit"  # gpu | cpu-core
TAG_TORCH_VERSION = "torch_version"
TAG_CUDA_VERSION = "cuda_version"  # 'none' for a CPU build of torch
TAG_DETERMINISM = "determinism"  # the flags that decide whether a rerun repeats the numbers
TAG_BASELINE = "baseline"  # on a baseline method's runs: what it is (a BASELINE_* role), for tables and checklists
BASELINE_RANDOM_ARCHITECTURE = "random-architecture"  # a uniform draw, retrained: rows compared with it get RI
BASELINE_RANDOM_SEARCH = "random-search-weight-sharing"
TAG_CACHE_KEY = "{kind}_cache_key"  # trial_cache_key, retrain_cache_key: trials.result_cache's keys of the run
TAG_REUSED = "reused"  # trial | retrain: what this run took from a finished twin instead of computing it
TAG_REUSED_FROM = "reused_from"  # the twin's run id
TAG_GENOTYPE = "genotype"  # the derived genotype as compact JSON (sha256:<hex> when longer than a tag holds)
TAG_DATA = "data_digests"  # each data set a trial read: context, name, images, pixel digest (Workload.datasets)


def psnr(condition: str) -> str:
    return f"psnr_{condition}"


def ssim(condition: str) -> str:
    return f"ssim_{condition}"


def per_condition(metric: str, task_condition: str) -> str:
    """A metric of one condition's network: ``params_m_scale4``, ``mult_adds_g_sigma30``."""
    return f"{metric}_{task_condition}"


def flatten_dict(data: dict, prefix: str = "") -> dict[str, object]:
    """Nested dicts -> one level of dotted keys: {"search": {"epochs": 4}} -> {"search.epochs": 4}, the form
    config keys take in MLflow params, Tune's params.json and ``--set``."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten_dict(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out

# the phase a trial is in (its checkpoint's, and the last one it reported): search, retrain, done; failed: it
# met a deterministic error (bad data, a non-finite loss), reported once instead of being retried
PHASE_SEARCH, PHASE_RETRAIN, PHASE_DONE = "search", "retrain", "done"
PHASE_FAILED = "failed"
