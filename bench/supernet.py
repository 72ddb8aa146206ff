"""Forward+backward time and peak memory of the supernet, with cell sharing (Eq. 5) and without (Eq. 6).

Default: the paper's denoising search configuration (f=10, L=3, B=4, 1 channel, batch 8, 64x64 crops).
Each configuration runs in a fresh subprocess so that its peak RSS is its own; time is the median of
several steps after one warm-up step.

    python bench/supernet.py [--batch 8] [--repeats 3] [--threads N]
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def measure(cell_sharing: bool, batch: int, crop: int, repeats: int, threads: int | None) -> dict:
    import torch

    from search_space import SpaceConfig, Supernet

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Supernet(SpaceConfig(task="denoise", in_channels=1, layers=3, nodes=4, base_width=10,
                               cell_sharing=cell_sharing))
    x = torch.rand(batch, 1, crop, crop)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        net(x).square().mean().backward()
        times.append(time.perf_counter() - start)
        net.zero_grad(set_to_none=True)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"cell_sharing": cell_sharing, "seconds": statistics.median(times[1:]),
            "peak_rss_gib": peak_kib / 2**20, "step_rss_gib": (peak_kib - rss_before) / 2**20,
            "threads": torch.get_num_threads(),
            "weights_m": sum(p.numel() for p in net.weight_parameters()) / 1e6}


def run_child(args: argparse.Namespace, cell_sharing: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", str(int(cell_sharing)), "--batch", str(args.batch),
           "--crop", str(args.crop), "--repeats", str(args.repeats), "--threads", str(args.threads or 0)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(bool(args.child), args.batch, args.crop, args.repeats, args.threads)))
        return
    print(f"supernet forward+backward: denoise f=10 L=3 B=4, batch {args.batch}, {args.crop}x{args.crop}")
    rows = {sharing: run_child(args, sharing) for sharing in (True, False)}
    for sharing, r in rows.items():
        label = "cell sharing (Eq. 5)" if sharing else "no sharing (Eq. 6)"
        print(f"  {label:22s} {r['seconds']:6.2f} s/step   peak RSS {r['peak_rss_gib']:5.2f} GiB "
              f"(step adds {r['step_rss_gib']:5.2f} GiB)   weights {r['weights_m']:.2f} M   "
              f"threads {r['threads']}")
    on, off = rows[True], rows[False]
    print(f"  ratio without/with sharing: time x{off['seconds'] / on['seconds']:.2f}, "
          f"peak RSS x{off['peak_rss_gib'] / on['peak_rss_gib']:.2f}, "
          f"step memory x{off['step_rss_gib'] / on['step_rss_gib']:.2f}")
    print("  targets (issue 2): with sharing < 6 s and < 3 GiB; the authors' code: ~13 s, ~8 GiB")


if __name__ == "__main__":
    main()
