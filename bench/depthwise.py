"""Per call: the depthwise gradients of search_space/depthwise.py against PyTorch's own (oneDNN), at the supernet's
shapes (batch 8, 64x64, channels_last). Both run in turns in one process; each figure is the median call.

    python bench/depthwise.py [--repeats 15]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from search_space.depthwise import depthwise_conv, fanned_depthwise_conv, kernel_available


def gradient_seconds(conv, x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int],
                     grad_out: torch.Tensor, wrt: str) -> float:
    out = conv(x, weight, padding)  # the forward is not timed: both sides run the same convolution
    inputs = (x, weight) if wrt == "both" else (weight,)
    start = time.perf_counter()
    torch.autograd.grad(out, inputs, grad_out)
    return time.perf_counter() - start


def onednn(x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]) -> torch.Tensor:
    return F.conv2d(x, weight, None, 1, padding, 1, x.shape[1])


def compare(label: str, ours, x, weight, padding, wrt: str, repeats: int) -> None:
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(wrt == "both")
    weight = weight.requires_grad_()
    grad_out = torch.randn(x.shape[0], weight.shape[0], *x.shape[2:]).contiguous(memory_format=torch.channels_last)
    times = {"ours": [], "oneDNN": []}
    for _ in range(repeats):
        for name, conv in (("ours", ours), ("oneDNN", onednn)):
            times[name].append(gradient_seconds(conv, x, weight, padding, grad_out, wrt))
    ours_ms, onednn_ms = (1e3 * statistics.median(times[k][1:]) for k in ("ours", "oneDNN"))
    print(f"  {label:44s} oneDNN {onednn_ms:6.2f} ms   ours {ours_ms:6.2f} ms   x{onednn_ms / ours_ms:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"C weight-gradient kernel built: {kernel_available()}; torch threads {torch.get_num_threads()}")
    print("5x5 weight gradient, one filter per channel (sep conv's second depthwise conv):")
    for channels in (20, 40, 60, 80):
        compare(f"{channels} channels", depthwise_conv, torch.randn(8, channels, 64, 64),
                torch.randn(channels, 1, 5, 5), (2, 2), "weight", args.repeats)
    print("input and weight gradients, n filters per channel (grouped sep convs' first depthwise conv; "
          "ours changes the input gradient):")
    for channels, fan, kernel in ((10, 4, 3), (10, 4, 5), (20, 4, 3), (20, 4, 5), (20, 2, 5)):
        compare(f"{channels} channels x {fan} filters, {kernel}x{kernel}", fanned_depthwise_conv,
                torch.randn(8, channels, 64, 64), torch.randn(channels * fan, 1, kernel, kernel),
                (kernel // 2, kernel // 2), "both", args.repeats)


if __name__ == "__main__":
    main()
