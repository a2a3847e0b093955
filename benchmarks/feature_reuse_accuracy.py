"""What cross-frame feature reuse costs in pose accuracy: estimate-mode mAP (ground-truth boxes) and the backbone
passes per person-frame achieved, per crop policy, on PoseTrack-format folders.

    python benchmarks/feature_reuse_accuracy.py --work /work/cache/starter \\
        heldout:none heldout:neighbour:0.2 heldout:window:1.25 synth_test:none synth_test:neighbour:0.2

Each run is FOLDER:POLICY[:PARAMETER] with FOLDER under --work (annotations/*.json + images), POLICY "none" (whole
triplets), "neighbour" (NeighbourCrops, PARAMETER = tolerance) or "window" (WindowBoxes, PARAMETER = margin).
The shipped starter model unless --weights; torch on the CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from stdpose_infer import NeighbourCrops, Pipeline, WindowBoxes
from stdpose_infer.evaluation.predict import _videos, predict_video, score_predictions, write_predictions

sys.path.insert(0, str(Path(__file__).parent))
from starter_model import machine


def policy(spec: str):
    name, _, value = spec.partition(":")
    if name == "none":
        return False
    if name == "neighbour":
        return NeighbourCrops(float(value)) if value else NeighbourCrops()
    if name == "window":
        return WindowBoxes(margin=float(value)) if value else WindowBoxes()
    raise SystemExit(f"unknown policy {spec!r}: none, neighbour[:TOLERANCE], window[:MARGIN]")


def run(weights, data: Path, spec: str, out: Path) -> dict:
    pipe = Pipeline(weights, device="cpu", detector=None, reuse_features=policy(spec))
    crops = triplets = 0
    for path in _videos(data, "annotations"):
        order, results, _ = predict_video(pipe, data, path, "estimate")
        write_predictions(results, order, out / path.name)
        if pipe.reuse is not None:
            crops, triplets = crops + pipe.reuse.crops_run, triplets + pipe.reuse.triplets_run
    ap = score_predictions(data, out, "estimate")
    return {"mAP": ap.groups["Total"], "passes_per_person_frame": crops / triplets if triplets else 3.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="FOLDER:POLICY[:PARAMETER]")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--weights", help="default: the shipped starter model")
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for item in args.runs:
        folder, _, spec = item.partition(":")
        result = run(args.weights, args.work / folder, spec, args.work / "reuse_eval" / item.replace(":", "_"))
        rows.append({"data": folder, "policy": spec, **result})
        print(f"| {folder} | {spec} | {result['mAP']:.2f} | {result['passes_per_person_frame']:.3f} |", flush=True)
    if args.out:
        lines = [f"Machine: {machine()}. Command: `python {' '.join(sys.argv)}`.", "",
                 "| data | policy | mAP | backbone passes per person-frame |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['data']} | {r['policy']} | {r['mAP']:.2f} | {r['passes_per_person_frame']:.3f} |" for r in rows]
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
