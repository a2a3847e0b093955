"""Does bringing an aux crop onto the key crop (``crops/align.py``) give the temporal half what it sees without reuse?

For every pair of consecutive frames of a track whose boxes ``NeighbourCrops`` would share (within its tolerance),
the aux frame's heatmaps are computed three ways: cut at the key frame's box (what the model reads without reuse),
cut at the aux frame's own box (reuse, as read before alignment) and the latter aligned. Reported: how far the
per-joint peaks and the heatmaps are from the first, per model and folder.

    python benchmarks/aux_alignment.py --work /work/cache/starter heldout synth_test [--weights W ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from stdpose_infer import NeighbourCrops, load_model
from stdpose_infer.annotation.labels import annotation_box
from stdpose_infer.crops.affine import box_to_center_scale
from stdpose_infer.crops.align import align_to_key, key_in_crops
from stdpose_infer.crops.triplets import crop_affines, crop_triplets_cv2
from stdpose_infer.decode import decode_heatmaps
from stdpose_infer.defaults import default_weights

sys.path.insert(0, str(Path(__file__).parent))
from common import machine


def pairs(folder: Path, tolerance: float):
    """(key image, aux image, key box, aux box) of consecutive labelled frames of a track, boxes within tolerance."""
    near = NeighbourCrops(tolerance)
    for path in sorted((folder / "annotations").glob("*.json")):
        doc = json.loads(path.read_text())
        files = {image["id"]: folder / image["file_name"] for image in doc["images"]}
        tracks: dict = {}
        for ann in doc["annotations"]:
            tracks.setdefault(ann["track_id"], {})[ann["image_id"]] = annotation_box(ann)
        for boxes in tracks.values():
            ids = sorted(boxes)
            for key, aux in itertools.pairwise(ids):
                center, size = box_to_center_scale(boxes[key][None], near.aspect)
                if near._close(boxes[aux], center, size):
                    yield files[key], files[aux], boxes[key], boxes[aux]


def measure(weights: str, folder: Path, tolerance: float) -> dict:
    model = load_model(weights).eval()
    wh = model.config.input_wh
    peaks, errors = {"own box": [], "own box, aligned": []}, {"own box": [], "own box, aligned": []}
    with torch.no_grad():
        for key_file, aux_file, key_box, aux_box in pairs(folder, tolerance):
            image = cv2.imread(str(aux_file))
            at_key = crop_triplets_cv2([image], crop_affines(key_box[None], wh)[0], wh)[:, 0]
            at_own = crop_triplets_cv2([image], crop_affines(aux_box[None], wh)[0], wh)[:, 0]
            reference = model.frame_features(torch.from_numpy(at_key))[1]
            own = model.frame_features(torch.from_numpy(at_own))[1]
            theta = key_in_crops(np.stack([aux_box, key_box, key_box])[None], wh)
            aligned = align_to_key(torch.stack([own, reference, reference], 1), theta, "heatmaps")[:, 0]
            target = decode_heatmaps(reference.numpy())[0]
            for name, maps in (("own box", own), ("own box, aligned", aligned)):
                peaks[name].append(np.linalg.norm(decode_heatmaps(maps.numpy())[0] - target, axis=-1).ravel())
                errors[name].append(float((maps - reference).abs().mean()))
    out = {"pairs": len(errors["own box"])}
    for name, found in peaks.items():
        d = np.concatenate(found)
        out[name] = {"peak_median": float(np.median(d)), "peak_p90": float(np.percentile(d, 90)),
                     "mean_abs_heatmap": float(np.mean(errors[name]))}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", help="labelled folders under --work")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--weights", nargs="+", help="default: the shipped starter model")
    parser.add_argument("--tolerance", type=float, default=NeighbourCrops().tolerance)
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    rows = []
    for weights in args.weights or [str(default_weights())]:
        for folder in args.folders:
            result = measure(weights, args.work / folder, args.tolerance)
            rows.append({"weights": weights, "data": folder, **result})
            for name in ("own box", "own box, aligned"):
                r = result[name]
                print(f"| {Path(weights).parent.name}/{Path(weights).name} | {folder} | {result['pairs']} | {name} | "
                      f"{r['peak_median']:.2f} / {r['peak_p90']:.2f} | {r['mean_abs_heatmap']:.5f} |", flush=True)  # fmt: skip
    if args.out:
        lines = [f"Machine: {machine()}. Command: `python {' '.join(sys.argv)}`.", "",
                 ("| weights | data | pairs | aux crop | peak distance to the key-box crop's, heatmap px (median / p90) "
                  "| mean abs heatmap difference |"), "|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            for name in ("own box", "own box, aligned"):
                m = r[name]
                lines.append(f"| {Path(r['weights']).parent.name}/{Path(r['weights']).name} | {r['data']} | {r['pairs']} "
                             f"| {name} | {m['peak_median']:.2f} / {m['peak_p90']:.2f} | {m['mean_abs_heatmap']:.5f} |")  # fmt: skip
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
