"""Forward latency of the STDPose triplet model vs its single-frame baseline, torch eager on CPU.

A first, narrow measurement until `stdpose-bench` exists: random (untrained) weights, which do
not change the timing. Prints a Markdown table; run from the repository root:

    python benchmarks/forward_latency.py --variants t s b --batch 1 8 --repeats 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

import torch
from torch.utils.flop_counter import FlopCounterMode

from stdpose_infer import STDPose, build_model
from stdpose_infer.model import baseline_config


def time_forward(model: torch.nn.Module, batch: int, repeats: int, warmup: int = 2) -> list[float]:
    frames = torch.randn(batch, 3, 3, 256, 192)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            model(frames)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def gflops_per_sample(model: torch.nn.Module) -> float:
    """FLOPs (2 per multiply-add) of one triplet, counted by torch's FlopCounterMode."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.randn(1, 3, 3, 256, 192))
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["t", "s", "b"])
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"- command: python {' '.join(sys.argv)}")
    print("- weights: random (untrained); timing does not depend on them\n")
    print(
        "| variant | GFLOP/triplet | FLOP ratio to baseline | batch | STDPose median ms | p90 ms "
        "| baseline (ViTPose) median ms | time ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for variant in args.variants:
        model = build_model(variant)
        base = STDPose(baseline_config(model.config)).eval()
        flops, base_flops = gflops_per_sample(model), gflops_per_sample(base)
        for batch in args.batch:
            full = sorted(time_forward(model, batch, args.repeats))
            single = sorted(time_forward(base, batch, args.repeats))
            p90 = full[min(len(full) - 1, int(0.9 * len(full)))]
            med, bmed = statistics.median(full), statistics.median(single)
            print(
                f"| {variant} | {flops:.1f} | {flops / base_flops:.2f} | {batch} | {med * 1e3:.1f} | {p90 * 1e3:.1f} "
                f"| {bmed * 1e3:.1f} | {med / bmed:.2f} |"
            )


if __name__ == "__main__":
    main()
