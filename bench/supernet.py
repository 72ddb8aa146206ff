"""Forward+backward time and peak memory of the supernet, with cell sharing (Eq. 5) and without (Eq. 6).

Default: the paper's denoising search configuration (f=10, L=3, B=4, 1 channel, batch 8, 64x64 crops).
Each configuration runs in a fresh subprocess so that its peak RSS is its own; the configurations take
turns for several rounds (this machine's speed drifts by 20% over minutes), and a configuration's time is
the median over all its rounds' steps, each round after one warm-up step; the fastest step is printed too
(as timeit does: slower steps are mostly other load on the machine, not the code).

Baseline, measured in the same run: the same supernet (same weights, cell sharing) computed the way
DARTS-style code does it: PyTorch's default NCHW layout, edge by edge, every op applying its own LeakyReLU,
its BN output multiplied by the softmax weight, and every activation stored for backward. Its ratios to
ours are robust to how busy this machine is; the absolute seconds are not. A fourth configuration is ours
with every depthwise conv's gradients from PyTorch (oneDNN) instead of search_space/depthwise.py.

With ``--authors PATH`` (a checkout of the authors' code, github.com/hkzhang91/HiNAS; it stays outside this
repository), a fifth configuration is their ``Dn_supernet`` built at the same search configuration (their
config keys set as their search YAML does: f=10, L=3, B=4, 3 strides, widths 1/1.5/2, LeakyReLU, no affine BN,
residual output) and its own loss (MSE + 0.5 log-SSIM, averaged, as their forward computes it). Every
configuration's step is one forward and backward with its search loss (ours: the paper preset's MSE + SSIM)
against a fixed target, weights and architecture parameters alike. Their loss calls ``.cuda()`` at build
time; on a CPU the child makes that a no-op.

On CUDA (``--device cuda``) memory is the peak allocated CUDA memory; ``--precision fp32,bf16`` runs each
configuration at both (bf16: the forward under autocast, as ``search.precision=bf16`` does).

    python bench/supernet.py [--task denoise|sr] [--device cpu|cuda] [--precision fp32,bf16] [--batch 8]
                             [--rounds 3] [--repeats 2] [--threads N] [--json results.jsonl]
                             [--authors PATH --variants sharing,authors]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]


def edge_by_edge_forward(cell, s0, s1, op_weights):
    """The baseline's searching cell: sum over edges and ops of weight * op(state), nothing shared."""
    import torch

    from search_space.hinas.cell import edge_index

    states = [s0, s1]
    for node in range(cell.nodes):
        terms = [op_weights[edge_index(node, j), k] * plain_op(op, states[j])
                 for j in range(2 + node) for k, op in enumerate(cell.edges[edge_index(node, j)])]
        states.append(sum(terms))
    return torch.cat(states[2:], dim=1)


def plain_op(op, x):
    from search_space.hinas.ops import ConvBN, SepConv, leaky_relu

    if isinstance(op, ConvBN):
        return op.bn(op.conv(leaky_relu(x)))
    if isinstance(op, SepConv):
        x = op.bn1(op.pw1(op.dw1(leaky_relu(x))))
        return op.bn2(op.pw2(op.dw2(leaky_relu(x))))
    return x  # skip_connect


def use_onednn_depthwise_gradients() -> None:
    """Our supernet with every depthwise conv's gradients from PyTorch (oneDNN), not search_space/depthwise.py."""
    import torch.nn.functional as F

    import search_space.hinas.ops as ops

    def onednn(x, weight, padding):
        return F.conv2d(x, weight, None, 1, padding, 1, x.shape[1])

    ops.depthwise_conv = ops.fanned_depthwise_conv = onednn


def authors_config(in_channels: int):
    """The keys their ``Dn_supernet`` and its search decoder read, at their denoising search YAML's values."""
    return SimpleNamespace(
        MODEL=SimpleNamespace(FILTER_MULTIPLIER=10, NUM_LAYERS=3, NUM_BLOCKS=4, NUM_STRIDES=3, WS_FACTORS=[1, 1.5, 2],
                              PRIMITIVES="NO_DEF_L", ACTIVATION_F="Leaky", USE_RES=True, AFFINE=False,
                              IN_CHANNEL=in_channels, USE_ASPP=False, ASPP_RATES=(2, 4, 6),
                              META_ARCHITECTURE="Dn_supernet"),
        SEARCH=SimpleNamespace(TIE_CELL=False, SEARCH_ON=True),
        SOLVER=SimpleNamespace(LOSS=["mse", "log_ssim"], LOSS_WEIGHT=[1.0, 0.5]),
        DATALOADER=SimpleNamespace(S_FACTOR=1), DATASET=SimpleNamespace(TASK="dn"))


def authors_step(checkout: Path, in_channels: int, device, precision: str):
    """Their supernet and its step's loss, ``(x, y) -> loss`` (their forward computes its own loss)."""
    import torch

    from trials.device import autocast

    if device.type != "cuda":  # their loss moves its window with .cuda() when it is built
        torch.Tensor.cuda = lambda self, *args, **kwargs: self
        torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    sys.path.insert(0, str(checkout))
    from one_stage_nas.modeling.dn_supernet import Dn_supernet

    torch.manual_seed(0)
    net = Dn_supernet(authors_config(in_channels)).to(device).train()

    def loss(x, y):
        with autocast(device, precision):
            return net(x, y)["decoder_loss"].float()

    return net, net.w_parameters(), loss


def our_step(variant: str, task: str, device, precision: str):
    """Our supernet at the paper's search config and its step's loss (the preset's MSE + SSIM, in fp32)."""
    import torch

    import search_space.hinas.supernet as supernet_module
    from orchestrator.presets import preset_config  # no Ray or MLflow behind it
    from search_space import SPACES
    from search_space.hinas.cell import SearchCell
    from trials.device import autocast

    if variant == "baseline":
        SearchCell.forward = edge_by_edge_forward
        supernet_module.channels_last = supernet_module.to_channels_last = lambda x: x  # PyTorch's default NCHW
    if variant == "onednn_depthwise":
        use_onednn_depthwise_gradients()
    cfg = preset_config("paper", task=task, overrides={"space.cell_sharing": variant != "no_sharing"})
    torch.manual_seed(0)
    net = SPACES.get("hinas").supernet(cfg.space, cfg.components.task.search_io()).to(device)
    loss_fn = cfg.components.build_loss()

    def loss(x, y):
        with autocast(device, precision):
            out = net(x)
        return loss_fn(out.float(), y)[0]

    return net, net.weight_parameters(), loss


def measure(variant: str, task: str, batch: int | None, crop: int | None, repeats: int, threads: int | None,
            device_name: str = "cpu", precision: str = "fp32", authors: Path | None = None) -> dict:
    import torch

    from orchestrator.presets import preset_config  # no Ray or MLflow behind it

    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device_name)
    cfg = preset_config("paper", task=task)
    batch, crop = batch or cfg.search.batch_size, crop or cfg.search.crop_size
    channels = cfg.components.task.search_io().in_channels
    if variant == "authors":
        net, weights, step_loss = authors_step(authors, channels, device, precision)
    else:
        net, weights, step_loss = our_step(variant, task, device, precision)
    inputs = torch.Generator().manual_seed(1)
    x, y = (torch.rand(batch, channels, crop, crop, generator=inputs).to(device) for _ in range(2))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        cuda_before = torch.cuda.memory_allocated(device)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        step_loss(x, y).backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
        net.zero_grad(set_to_none=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"variant": variant, "task": task, "device": device_name, "precision": precision, "batch": batch,
              "crop": crop, "step_seconds": times[1:], "peak_rss_gib": peak_kib / 2**20,
              "step_rss_gib": (peak_kib - rss_before) / 2**20, "threads": torch.get_num_threads(),
              "weights_m": sum(p.numel() for p in weights) / 1e6}
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        result |= {"peak_cuda_gib": peak / 2**30, "step_cuda_gib": (peak - cuda_before) / 2**30}
    return result


VARIANTS = {"sharing": "cell sharing (Eq. 5)", "no_sharing": "no sharing (Eq. 6)",
            "baseline": "baseline (NCHW, per edge)", "onednn_depthwise": "sharing, oneDNN depthwise",
            "authors": "the authors' Dn_supernet"}
DEFAULT_VARIANTS = ("sharing", "no_sharing", "baseline", "onednn_depthwise")  # + authors with --authors
CPU_ONLY = {"onednn_depthwise"}  # search_space/depthwise.py never runs on CUDA: nothing to compare there


def combine(results: list[dict]) -> dict:
    """One configuration over all rounds: median and fastest step time, largest memory."""
    steps = [t for r in results for t in r["step_seconds"]]
    memory = {k: max(r[k] for r in results) for k in ("peak_rss_gib", "step_rss_gib", "peak_cuda_gib",
                                                        "step_cuda_gib") if k in results[0]}
    return {**results[0], "seconds": statistics.median(steps), "best_seconds": min(steps), **memory}


def run_child(args: argparse.Namespace, variant: str, precision: str) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--task", args.task, "--batch", str(args.batch or 0),
           "--crop", str(args.crop or 0), "--repeats", str(args.repeats), "--threads", str(args.threads or 0),
           "--device", args.device, "--precision", precision]
    cmd += ["--authors", str(args.authors)] if args.authors else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    return json.loads(out.strip().splitlines()[-1])


def memory_of(r: dict) -> tuple[str, float]:
    return ("peak CUDA", r["peak_cuda_gib"]) if "peak_cuda_gib" in r else ("peak RSS", r["peak_rss_gib"])


def print_rows(rows: dict[tuple[str, str], dict]) -> None:
    for (variant, precision), r in rows.items():
        what, gib = memory_of(r)
        print(f"  {VARIANTS[variant]:26s} {precision:4s} {r['seconds']:7.4f} s/step (best {r['best_seconds']:7.4f})"
              f"   {what} {gib:6.3f} GiB   weights {r['weights_m']:.2f} M   threads {r['threads']}")
    for precision in dict.fromkeys(p for _, p in rows):
        on, off, base = (rows.get((v, precision)) for v in ("sharing", "no_sharing", "baseline"))
        if on and off:
            print(f"  {precision}: without/with sharing: time x{off['seconds'] / on['seconds']:.2f}, "
                  f"memory x{memory_of(off)[1] / memory_of(on)[1]:.2f} (paper: ~3x)")
        if on and base:
            print(f"  {precision}: baseline/ours (both with sharing): time x{base['seconds'] / on['seconds']:.2f}, "
                  f"memory x{memory_of(base)[1] / memory_of(on)[1]:.2f} (target: time >= 3, memory >= 2)")
        theirs = rows.get(("authors", precision))
        if on and theirs:
            memory = memory_of(theirs)[1] / memory_of(on)[1]
            print(f"  {precision}: the authors' supernet / ours: time x{theirs['seconds'] / on['seconds']:.2f} "
                  f"(best step x{theirs['best_seconds'] / on['best_seconds']:.2f}), memory x{memory:.2f} "
                  f"(target: time >= 2, memory >= 2)")
    if ("onednn_depthwise", "fp32") in rows and ("sharing", "fp32") in rows:
        print(f"  depthwise gradients from oneDNN instead of search_space/depthwise.py: "
              f"time x{rows['onednn_depthwise', 'fp32']['seconds'] / rows['sharing', 'fp32']['seconds']:.2f}")


def check_authors(args: argparse.Namespace) -> None:
    """--authors names a checkout of their code, and the authors variant is asked for only with it."""
    wanted = args.variants and "authors" in args.variants.split(",")
    if wanted and args.authors is None:
        raise SystemExit("variant authors needs --authors PATH, a checkout of github.com/hkzhang91/HiNAS")
    if args.authors and not (args.authors / "one_stage_nas" / "modeling" / "dn_supernet.py").is_file():
        raise SystemExit(f"{args.authors}: no one_stage_nas/modeling/dn_supernet.py there; give a checkout of "
                         f"github.com/hkzhang91/HiNAS (git clone https://github.com/hkzhang91/HiNAS)")
    if args.authors and args.task != "denoise":
        raise SystemExit("--authors compares their denoising supernet: use --task denoise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("denoise", "sr"), default="denoise", help="whose paper search config")
    parser.add_argument("--batch", type=int, default=0, help="0: the paper search's (denoise 8, SR 24)")
    parser.add_argument("--crop", type=int, default=0, help="0: the paper search's (64)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per round")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", default="fp32", help="comma-separated: fp32,bf16")
    parser.add_argument("--variants", default=None, help="comma-separated, of " + ",".join(VARIANTS))
    parser.add_argument("--authors", type=Path, default=None,
                        help="a checkout of github.com/hkzhang91/HiNAS: adds their supernet (variant authors)")
    parser.add_argument("--json", type=Path, default=None, help="append the rows to this JSON-lines file")
    parser.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.task, args.batch, args.crop, args.repeats, args.threads,
                                 args.device, args.precision, args.authors)))
        return
    check_authors(args)
    precisions = args.precision.split(",")
    chosen = args.variants.split(",") if args.variants else [*DEFAULT_VARIANTS, *(["authors"] if args.authors else [])]
    variants = [v for v in chosen if not (args.device == "cuda" and v in CPU_ONLY)]
    print(f"supernet forward+backward: {args.task} paper search config, {args.device}, {args.rounds} rounds x "
          f"{args.repeats} steps")
    runs = {(v, p): [] for p in precisions for v in variants}
    for _ in range(args.rounds):
        for variant, precision in runs:
            runs[variant, precision].append(run_child(args, variant, precision))
    rows = {key: combine(results) for key, results in runs.items()}
    print_rows(rows)
    if args.json:
        with args.json.open("a") as out:
            for r in rows.values():
                out.write(json.dumps({"bench": "supernet", **r}) + "\n")


if __name__ == "__main__":
    main()
