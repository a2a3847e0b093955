"""How much cross-frame feature reuse can save: the per-frame half of the model (backbone + head) against the
per-triplet half (TFF, TKS, DAM, STDA), timed in one run with torch FP32 on the CPU.

    python benchmarks/feature_reuse_bound.py --out benchmarks/results/DATE_feature_reuse_bound.md

Without reuse a triplet runs the per-frame half on 3 crops (F each) plus the temporal half once (T): 3F + T. With
every crop computed once and read by the 3 triplets that need it, a person-frame costs F + T: the upper bound of
the estimate-mode speedup is (3F + T) / (F + T). It ignores what reuse costs (window crops, the cache) and holds
only if each frame's crop is shared, which needs the window boxes of the issue; random weights (timing only).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import torch

from stdpose_infer import build_model
from stdpose_infer.bench import time_calls

sys.path.insert(0, str(Path(__file__).parent))
from common import machine


def measure(variant: str, batch: int) -> dict:
    torch.manual_seed(0)
    model = build_model(variant)
    w, h = model.config.input_wh
    frames = torch.randn(batch, 3, 3, h, w)
    cpu = torch.device("cpu")
    with torch.inference_mode():
        feats, heatmaps = model.frame_features(frames.flatten(0, 1))
        feats, heatmaps = feats.unflatten(0, (batch, 3)), heatmaps.unflatten(0, (batch, 3))
        whole = np.median(time_calls(lambda: model(frames), cpu, 1, 3))
        per_frame = np.median(time_calls(lambda: model.frame_features(frames[:, 1]), cpu, 1, 3))
        temporal = np.median(time_calls(lambda: model.temporal(feats, heatmaps), cpu, 1, 3))
    return {"whole": whole, "F": per_frame, "T": temporal, "bound": (3 * per_frame + temporal) / (per_frame + temporal)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    lines = [f"# Cross-frame feature reuse: the upper bound ({date.today()})", "", f"Machine: {machine()}. Command: "
             f"`python {' '.join(sys.argv)}`. torch FP32, batch 8 triplets, random weights, median of 3.", "",
             "| variant | triplet ms | per-frame half F ms (8 crops) | temporal half T ms | 3F + T ms | bound (3F+T)/(F+T) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for variant in ("s14", "s", "b"):
        r = {k: v * 1e3 if k != "bound" else v for k, v in measure(variant, 8).items()}
        lines.append(f"| {variant} | {r['whole']:.0f} | {r['F']:.0f} | {r['T']:.0f} | {3 * r['F'] + r['T']:.0f} | "
                     f"{r['bound']:.2f}x |")  # fmt: skip
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
