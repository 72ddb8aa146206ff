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

    python bench/supernet.py [--batch 8] [--rounds 3] [--repeats 2] [--threads N]
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


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


def measure(variant: str, batch: int, crop: int, repeats: int, threads: int | None) -> dict:
    import torch

    import search_space.hinas.supernet as supernet_module
    from search_space import NetworkIO
    from search_space.hinas import HinasConfig, Supernet
    from search_space.hinas.cell import SearchCell

    cell_sharing = variant != "no_sharing"
    if variant == "baseline":
        SearchCell.forward = edge_by_edge_forward
        supernet_module.channels_last = supernet_module.to_channels_last = lambda x: x  # PyTorch's default NCHW
    if variant == "onednn_depthwise":
        use_onednn_depthwise_gradients()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Supernet(HinasConfig(layers=3, nodes=4, base_width=10, cell_sharing=cell_sharing),
                   NetworkIO(in_channels=1, out_channels=1, scale=1))
    x = torch.rand(batch, 1, crop, crop)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        net(x).square().mean().backward()
        times.append(time.perf_counter() - start)
        net.zero_grad(set_to_none=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"variant": variant, "step_seconds": times[1:],
            "peak_rss_gib": peak_kib / 2**20, "step_rss_gib": (peak_kib - rss_before) / 2**20,
            "threads": torch.get_num_threads(),
            "weights_m": sum(p.numel() for p in net.weight_parameters()) / 1e6}


VARIANTS = {"sharing": "cell sharing (Eq. 5)", "no_sharing": "no sharing (Eq. 6)",
            "baseline": "baseline (NCHW, per edge)", "onednn_depthwise": "sharing, oneDNN depthwise"}


def combine(results: list[dict]) -> dict:
    """One configuration over all rounds: median and fastest step time, largest memory."""
    steps = [t for r in results for t in r["step_seconds"]]
    return {**results[0], "seconds": statistics.median(steps), "best_seconds": min(steps),
            "peak_rss_gib": max(r["peak_rss_gib"] for r in results),
            "step_rss_gib": max(r["step_rss_gib"] for r in results)}


def run_child(args: argparse.Namespace, variant: str) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--batch", str(args.batch),
           "--crop", str(args.crop), "--repeats", str(args.repeats), "--threads", str(args.threads or 0)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per round")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.batch, args.crop, args.repeats, args.threads)))
        return
    print(f"supernet forward+backward: denoise f=10 L=3 B=4, batch {args.batch}, {args.crop}x{args.crop}, "
          f"{args.rounds} rounds x {args.repeats} steps")
    runs = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            runs[variant].append(run_child(args, variant))
    rows = {variant: combine(results) for variant, results in runs.items()}
    for variant, r in rows.items():
        print(f"  {VARIANTS[variant]:24s} {r['seconds']:6.2f} s/step (best {r['best_seconds']:5.2f})   "
              f"peak RSS {r['peak_rss_gib']:5.2f} GiB (step adds {r['step_rss_gib']:5.2f} GiB)   "
              f"weights {r['weights_m']:.2f} M   threads {r['threads']}")
    on, off, base = rows["sharing"], rows["no_sharing"], rows["baseline"]
    print(f"  without/with sharing: time x{off['seconds'] / on['seconds']:.2f}, "
          f"peak RSS x{off['peak_rss_gib'] / on['peak_rss_gib']:.2f}, "
          f"step memory x{off['step_rss_gib'] / on['step_rss_gib']:.2f}")
    print(f"  baseline/ours (both with sharing): time x{base['seconds'] / on['seconds']:.2f}, "
          f"peak RSS x{base['peak_rss_gib'] / on['peak_rss_gib']:.2f}")
    print(f"  depthwise gradients from oneDNN instead of search_space/depthwise.py: "
          f"time x{rows['onednn_depthwise']['seconds'] / on['seconds']:.2f}")
    print("  targets (issue 2): with sharing < 6 s and < 3 GiB; the authors' code: ~13 s, ~8 GiB")


if __name__ == "__main__":
    main()
