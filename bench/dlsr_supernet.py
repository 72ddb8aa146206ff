"""DLSR's supernet: forward+backward time and memory at the authors' search configuration, against (a) the
derived network's training step at the same batch and (b) a plain DARTS-style supernet of the same cell.

Default: nf=48, 6 cells, batch 64 of 32x32 LR patches (64 px HR at x2), 3 RGB channels (dlsr-spec 2).
- ours: search_space/dlsr's supernet (the plain convs of a mixed layer as one conv with the weighted sum of
  their kernels, one ReLU shared by the sep/dil ops); with ``space.recompute`` mixed layers keep only their
  input for backward and run again there;
- darts: the same supernet and weights, every mixed layer computing sum_k w_k op_k(x) with all nine ops run
  on their own (each with its own ReLU), as DARTS-style code does;
- derived: the authors' second network (conv_1x1, sep_conv_7x7, sep_conv_5x5; B3<-{1,2} ...) at nf=48.
Memory: the bytes of the tensors autograd saves for backward (distinct storages; deterministic, what the
activations of a step cost on any device) and the process's peak RSS (each variant in its own subprocess).
Time: median over rounds x repeats steps after one warm-up step; variants take turns each round.

    python bench/dlsr_supernet.py [--batch 64] [--crop 32] [--rounds 2] [--repeats 2] [--threads N]
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

DERIVED = {"cell": ["conv_1x1", "sep_conv_7x7", "sep_conv_5x5"],
           "inputs": {"B3": [1, 2], "B4": [2, 3], "B5": [2, 4], "B6": [4, 5]}}


def darts_mixed_forward(layer, x, weights):
    """Every op on its own, weighted and summed: nothing merged or shared."""
    return sum(w * op(x) for w, op in zip(weights, layer.ops.values(), strict=True))


def build(variant: str, batch: int):
    import torch

    from search_space import NetworkIO
    from search_space.dlsr import DLSRConfig, Genotype, Supernet
    from search_space.dlsr.supernet import MixedLayer

    torch.manual_seed(0)
    io = NetworkIO(3, 3, 2)
    if variant == "derived":
        net = Supernet(DLSRConfig(), io).derived_network(Genotype.from_dict(DERIVED))
        return net, list(net.parameters())
    if variant == "darts":
        MixedLayer.forward = darts_mixed_forward
    net = Supernet(DLSRConfig(recompute=variant == "recompute"), io)
    return net, list(net.parameters())  # weights and alpha/beta both get gradients, as in an arch step


def measure(variant: str, batch: int, crop: int, repeats: int, threads: int | None) -> dict:
    import torch

    from trials.saved_memory import saved_tensor_bytes

    if threads:
        torch.set_num_threads(threads)
    net, params = build(variant, batch)
    x = torch.rand(batch, 3, crop, crop)

    def forward():
        return net(x).abs().mean()

    activations = saved_tensor_bytes(forward)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        torch.autograd.grad(forward(), params)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"variant": variant, "step_seconds": times[1:], "saved_gib": activations / 2**30,
            "peak_rss_gib": peak / 2**20, "step_rss_gib": (peak - rss_before) / 2**20,
            "weights": sum(p.numel() for p in params), "threads": torch.get_num_threads()}


VARIANTS = {"ours": "DLSR supernet (ours)", "recompute": "ours, space.recompute", "darts": "DARTS-style supernet",
            "derived": "derived net"}


def run_child(args, variant: str) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--batch", str(args.batch), "--crop", str(args.crop),
           "--repeats", str(args.repeats), "--threads", str(args.threads or 0)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--crop", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.batch, args.crop, args.repeats, args.threads)))
        return
    print(f"DLSR forward+backward: nf=48, 6 cells, batch {args.batch} x 3 x {args.crop} x {args.crop} LR (x2), "
          f"{args.rounds} rounds x {args.repeats} steps")
    runs = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            runs[variant].append(run_child(args, variant))
    rows = {}
    for variant, results in runs.items():
        steps = [t for r in results for t in r["step_seconds"]]
        rows[variant] = {**results[0], "seconds": statistics.median(steps), "best": min(steps),
                         "peak_rss_gib": max(r["peak_rss_gib"] for r in results)}
        r = rows[variant]
        print(f"  {VARIANTS[variant]:22s} {r['seconds']:7.2f} s/step (best {r['best']:6.2f})  saved activations "
              f"{r['saved_gib']:6.2f} GiB  peak RSS {r['peak_rss_gib']:6.2f} GiB  weights {r['weights']:,}  "
              f"threads {r['threads']}")
    for name, slow, fast in (("DARTS-style / ours", rows["darts"], rows["ours"]),
                             ("ours / ours with recompute", rows["ours"], rows["recompute"]),
                             ("ours / derived net", rows["ours"], rows["derived"])):
        ratio = {key: slow[key] / fast[key] for key in ("seconds", "saved_gib", "peak_rss_gib")}
        print(f"  {name}: time x{ratio['seconds']:.2f}, saved activations x{ratio['saved_gib']:.2f}, "
              f"peak RSS x{ratio['peak_rss_gib']:.2f}")

if __name__ == "__main__":
    main()
