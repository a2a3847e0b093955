"""Jitter of the shipped model on a real clip: estimate raw, estimate smoothed (One-Euro), and propagation; and the
accuracy cost of smoothing on the synthetic test set.

    python benchmarks/jitter.py --work W --out benchmarks/results/DATE_jitter

W/heldout is the starter model's held-out real clip (sports2d frames 120-229, MoveNet teacher labels as pseudo
ground truth; `starter_model.py data` makes it); W/synth_200 is Table 4's synthetic test set (made if absent).
Jitter: the mean norm of each joint's second difference over consecutive frames (px); error: the norm of its
difference from the ground truth's second difference. Ground-truth boxes throughout (pose quality apart from
detection). The filter runs at its defaults (min_cutoff 1 Hz, beta 1, 25 fps).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from stdpose_infer.data import write_benchmark
from stdpose_infer.defaults import default_weights
from stdpose_infer.evaluation import jitter, score_dataset

sys.path.insert(0, str(Path(__file__).parent))
from starter_model import machine


def run(work: Path) -> dict:
    weights = default_weights()
    held, synth = work / "heldout", work / "synth_200"
    if not (synth / "annotations").is_dir():
        write_benchmark(synth, videos=4, frames=29, width=384, height=288, people=3, seed=200)
    out: dict = {"real": {}, "synthetic": {}}
    runs = {
        "estimate, raw": ("estimate", {}),
        "estimate, One-Euro": ("estimate", {"smooth": True}),
        "propagate T=7 (default fallback)": ("propagate", {}),
        "propagate T=7 (no fallback)": ("propagate", {"fallback": "none"}),
    }
    for name, (mode, options) in runs.items():
        pred = work / f"jitter/real_{len(out['real'])}"
        ap = score_dataset(weights, held, pred, mode, 7, progress=False, **options)
        out["real"][name] = {"mAP": ap.total, **jitter(pred, held / "annotations")}
        print(name, out["real"][name], flush=True)
    for name, (mode, options) in list(runs.items())[:2]:
        pred = work / f"jitter/synth_{len(out['synthetic'])}"
        ap = score_dataset(weights, synth, pred, mode, 7, progress=False, **options)
        out["synthetic"][name] = {"mAP": ap.total, **jitter(pred, synth / "annotations")}
        print(name, out["synthetic"][name], flush=True)
    return out


def report(results: dict, command: str) -> str:
    lines = [f"# Jitter and smoothing ({date.today()})", "", f"Machine: {machine()}. Command: `{command}`. Model: the "
             "shipped starter (STDPose-S14), ground-truth boxes; PoseTrack mAP (propagate: propagated frames only).",
             ""]  # fmt: skip
    for name, rows in (("Real held-out clip (sports2d 120-229, teacher labels)", results["real"]),
                       ("Synthetic test set (seed 200)", results["synthetic"])):  # fmt: skip
        lines += [f"## {name}", "", "| run | mAP | jitter px | ground truth's jitter px | error vs ground truth px |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for run_name, r in rows.items():
            lines.append(f"| {run_name} | {r['mAP']:.1f} | {r['jitter_px']:.2f} | {r['gt_jitter_px']:.2f} | "
                         f"{r['error_vs_gt_px']:.2f} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (outside git)")
    parser.add_argument("--out", type=Path, required=True, help="results path without extension")
    args = parser.parse_args()
    results = run(args.work)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    args.out.with_suffix(".md").write_text(report(results, " ".join(["python", *sys.argv])))
    print(report(results, ""))


if __name__ == "__main__":
    main()
