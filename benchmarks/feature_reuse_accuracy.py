"""What cross-frame feature reuse costs in pose accuracy: mAP (estimate mode at ground-truth boxes, or propagate mode
from every T-th frame's labels, scored on the propagated frames) and the backbone passes per person-frame achieved,
per crop policy, on PoseTrack-format folders.

    python benchmarks/feature_reuse_accuracy.py --work /work/cache/starter \\
        heldout:none heldout:neighbour:0.2 heldout:window:1.25 synth_test:none synth_test:neighbour:0.2

Where a FOLDER:none run comes first, each later run of that folder also reports how far reuse moved the keypoints
(image pixels, joints predicted in both runs): the model's reading of its aux frames is what reuse can change.

Each run is FOLDER:POLICY[:PARAMETER] with FOLDER under --work (annotations/*.json + images), POLICY "none" (whole
triplets), "neighbour" (NeighbourCrops, PARAMETER = tolerance) or "window" (WindowBoxes, PARAMETER = margin).
The shipped starter model unless --weights; torch on the CPU. ``--mode propagate --label-every 7 --fallback none``
measures propagation (the model alone, or with the given fallback).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from stdpose_infer import NeighbourCrops, Pipeline, WindowBoxes
from stdpose_infer.evaluation.predict import _videos, predict_video, score_predictions, write_predictions

sys.path.insert(0, str(Path(__file__).parent))
from common import machine


def policy(spec: str):
    name, _, value = spec.partition(":")
    if name == "none":
        return False
    if name == "neighbour":
        return NeighbourCrops(float(value)) if value else NeighbourCrops()
    if name == "window":
        return WindowBoxes(margin=float(value)) if value else WindowBoxes()
    raise SystemExit(f"unknown policy {spec!r}: none, neighbour[:TOLERANCE], window[:MARGIN]")


def run(weights, data: Path, spec: str, out: Path, mode: str, label_every: int, fallback: str) -> dict:
    pipe = Pipeline(weights, device="cpu", detector=None, reuse_features=policy(spec), fallback=fallback)
    crops = triplets = 0
    seconds = 0.0
    for path in _videos(data, "annotations"):
        start = time.perf_counter()
        order, results, _ = predict_video(pipe, data, path, mode, label_every)
        seconds += time.perf_counter() - start
        write_predictions(results, order, out / path.name)
        if pipe.reuse is not None:
            crops, triplets = crops + pipe.reuse.crops_run, triplets + pipe.reuse.triplets_run
    ap = score_predictions(data, out, mode, label_every)
    return {"mAP": ap.groups["Total"], "passes_per_person_frame": crops / triplets if triplets else 3.0,
            "seconds": seconds}  # fmt: skip


def keypoints(folder: Path) -> dict:
    """{(file, image id, track id): (J, 3) keypoints} of a folder of predictions."""
    out = {}
    for path in sorted(folder.glob("*.json")):
        for ann in json.loads(path.read_text())["annotations"]:
            out[(path.name, ann["image_id"], ann["track_id"])] = np.reshape(ann["keypoints"], (-1, 3))
    return out


def shift(reference: dict, other: dict) -> dict:
    """Median, 90th percentile and largest distance (pixels) between the joints both runs predicted."""
    d = np.concatenate([
        np.linalg.norm(a[:, :2] - other[k][:, :2], axis=1)[(a[:, 2] > 0) & (other[k][:, 2] > 0)]
        for k, a in reference.items() if k in other
    ])  # fmt: skip
    return {"median": float(np.median(d)), "p90": float(np.percentile(d, 90)), "max": float(d.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="FOLDER:POLICY[:PARAMETER]")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--weights", help="default: the shipped starter model")
    parser.add_argument("--mode", default="estimate", choices=("estimate", "propagate"))
    parser.add_argument("--label-every", type=int, default=7, help="propagate: labels on every T-th frame")
    parser.add_argument("--fallback", default="joint", help="propagate: the Pipeline's interpolation fallback")
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    tag = "" if args.mode == "estimate" else f"_propagate_T{args.label_every}_{args.fallback}"
    warnings.simplefilter("ignore")
    rows, plain = [], {}
    for item in args.runs:
        folder, _, spec = item.partition(":")
        out = args.work / "reuse_eval" / (item.replace(":", "_") + tag)
        result = run(args.weights, args.work / folder, spec, out, args.mode, args.label_every, args.fallback)
        if spec == "none":
            plain[folder] = keypoints(out)
        elif folder in plain:
            result["shift_px"] = shift(plain[folder], keypoints(out))
        rows.append({"data": folder, "policy": spec, **result})
        print(row(rows[-1]), flush=True)
    if args.out:
        lines = [f"Machine: {machine()}. Command: `python {' '.join(sys.argv)}`.", "",
                 ("| data | policy | mAP | backbone passes per person-frame | keypoint shift vs none, px (median / p90 / max) "
                  "| wall s (images read to poses) |"), "|---|---|---|---|---|---|"]  # fmt: skip
        lines += [row(r) for r in rows]
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


def row(r: dict) -> str:
    moved = " / ".join(f"{r['shift_px'][k]:.2f}" for k in ("median", "p90", "max")) if "shift_px" in r else ""
    wall = f"{r['seconds']:.1f}" if "seconds" in r else ""
    return f"| {r['data']} | {r['policy']} | {r['mAP']:.2f} | {r['passes_per_person_frame']:.3f} | {moved} | {wall} |"


if __name__ == "__main__":
    main()
