"""AutoDerain's claim (autoderain-spec 9): an MDARTS search step costs the memory of training one derainer.

Peak memory and time of one step, each variant in its own subprocess (peak RSS is per process):
- derived: training the derived network (MDARTS's genotype at the start, at the search width): forward,
  backward, Adam step;
- mdarts: one MDARTS search step through trials/methods/mdarts.py: the architecture step on a Train A batch
  (one-path forward, the other ops' gradients in backward) and the weight step on a Train W batch;
- darts: one softmax DARTS step (trials/methods/darts.py) on the same space and batches: every op runs.
Reported: peak RSS (CPU) or peak CUDA memory allocated (GPU); the same minus the process's peak before the
first step (libraries, model, batches), i.e. what the steps add (activations, gradients, optimiser state); the
bytes autograd keeps for backward (deterministic); the median step time. Defaults: the paper preset's search
(C=32, U3-N2, batch 16 of 64x64 RGB patches).

    python bench/autoderain_memory.py [--batch 16] [--crop 64] [--width 32] [--steps 3] [--device cpu|cuda]
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = {"derived": "derived net, training step", "mdarts": "MDARTS search step", "darts": "DARTS search step"}


def trial_config(method: str, args):
    from trials.config import default_config, with_overrides

    return with_overrides(default_config(task="derain", space="autoderain", method=method if method != "derived"
                                         else "mdarts"), {
        "space.width": args.width, "search.batch_size": args.batch, "search.crop_size": args.crop,
        "search.w_optimizer": "adam", "search.w_lr": 1e-3, "search.clip_mode": "norm", "loss.name": "pixel",
    })


def peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(variant: str, args) -> dict:
    import torch

    from trials.pipeline import make_method
    from trials.saved_memory import saved_tensor_bytes

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = trial_config(variant, args)
    method = make_method(cfg, device)
    torch.manual_seed(1)
    batches = [(torch.rand(args.batch, 3, args.crop, args.crop, device=device),
                torch.rand(args.batch, 3, args.crop, args.crop, device=device)) for _ in range(2)]
    if variant == "derived":
        net = method.supernet.derived_network(method.supernet.derive())
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step(i):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.l1_loss(net(batches[0][0]), batches[0][1]).backward()
            optimizer.step()

        forward = lambda: net(batches[0][0])  # noqa: E731
    else:
        def step(i):
            method.arch_step(batches[1], "bench", batches[0])
            method.weight_step(batches[0], i, "bench")

        forward = lambda: method.supernet(batches[1][0])  # noqa: E731 - the architecture step's forward
    before = peak_mb(device)  # libraries, model and batches: what the process holds before any step
    step(0)  # warm-up: optimiser state exists from here on, as in a running search
    times = []
    for i in range(args.steps):
        start = time.perf_counter()
        step(i + 1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = peak_mb(device)
    from trials.methods.base import frozen
    with frozen(method.supernet.weight_parameters()) if variant != "derived" else torch.enable_grad():
        saved = saved_tensor_bytes(forward) / 2**20
    return {"variant": variant, "seconds": statistics.median(times), "peak_mb": peak, "before_mb": before,
            "saved_mb": saved, "threads": torch.get_num_threads(), "device": str(device)}


def run_child(args, variant: str) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--batch", str(args.batch), "--crop", str(args.crop),
           "--width", str(args.width), "--steps", str(args.steps), "--threads", str(args.threads),
           "--device", args.device]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", choices=VARIANTS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    memory = "peak CUDA allocated" if args.device == "cuda" else "peak RSS"
    print(f"AutoDerain search step vs training one derainer: C={args.width}, U3-N2, batch {args.batch} x 3 x "
          f"{args.crop} x {args.crop}, {args.device}, median of {args.steps} steps; memory = {memory}")
    rows = {variant: run_child(args, variant) for variant in VARIANTS}
    for variant, r in rows.items():
        print(f"  {VARIANTS[variant]:28s} {r['seconds']:7.3f} s/step  {memory} {r['peak_mb']:8.1f} MB "
              f"(steps add {r['peak_mb'] - r['before_mb']:7.1f} MB)  saved for backward {r['saved_mb']:7.1f} MB")
    d, m, s = rows["derived"], rows["mdarts"], rows["darts"]
    ratios = {"mdarts_over_derived_peak": m["peak_mb"] / d["peak_mb"],
              "darts_over_mdarts_peak": s["peak_mb"] / m["peak_mb"],
              "mdarts_over_derived_step": (m["peak_mb"] - m["before_mb"]) / (d["peak_mb"] - d["before_mb"]),
              "darts_over_mdarts_step": (s["peak_mb"] - s["before_mb"]) / (m["peak_mb"] - m["before_mb"]),
              "mdarts_over_derived_saved": m["saved_mb"] / d["saved_mb"],
              "darts_over_mdarts_saved": s["saved_mb"] / m["saved_mb"],
              "darts_over_mdarts_time": s["seconds"] / m["seconds"]}
    print(f"  MDARTS / derived: {memory} x{ratios['mdarts_over_derived_peak']:.2f} (target <= 1.2), added by the steps "
          f"x{ratios['mdarts_over_derived_step']:.2f}, saved x{ratios['mdarts_over_derived_saved']:.2f}")
    print(f"  DARTS / MDARTS:   {memory} x{ratios['darts_over_mdarts_peak']:.2f} (target >= 3), added by the steps "
          f"x{ratios['darts_over_mdarts_step']:.2f}, saved x{ratios['darts_over_mdarts_saved']:.2f}, "
          f"time x{ratios['darts_over_mdarts_time']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    main()
