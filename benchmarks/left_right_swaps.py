"""How often a model confuses left and right: each left/right joint pair (shoulders, elbows, wrists, hips, knees,
ankles) with both joints labelled, classified against the ground truth at PCKh 0.5 (PoseTrack's head size).

    python benchmarks/left_right_swaps.py --gt DATA/annotations --pred PRED_DIR [PRED_DIR ...]

    python benchmarks/left_right_swaps.py --mirror-teacher THUNDER.onnx --gt TRAIN/annotations

The second form checks a teacher's labels instead: MoveNet Thunder on each mirrored frame at the mirrored box,
mirrored back with its sides swapped, classified against the labels (a teacher unsure of sides disagrees).

For predictions made at the ground-truth boxes (``stdpose-eval --weights W --data DATA --out PRED_DIR``, or a
teacher's at the same boxes): a prediction is matched to its label by frame file name and track id.

Classes: ``both ok`` (each joint within 0.5 head sizes of its own label), ``crossed`` (each within reach of the
other side's label: the person read as facing the other way), ``collapsed`` (both joints at one side's label),
``one ok``, ``neither``, and ``close`` (the two labels themselves within 0.5 head sizes: no left/right error is
measurable). mAP says how many joints are wrong; this says whether they are wrong by side.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

PAIRS = ((5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))  # PoseTrack18 slots
CLASSES = ("both ok", "crossed", "collapsed", "one ok", "neither", "close")


def classify(label: np.ndarray, pred: np.ndarray, head: float) -> list[str]:
    """(17, 3) label, (17, 2) prediction, head size -> one class per pair with both joints labelled."""

    def near(i: int, j: int) -> bool:
        return bool(np.linalg.norm(pred[i] - label[j, :2]) <= 0.5 * head)

    kinds = []
    for left, right in PAIRS:
        if label[left, 2] <= 0 or label[right, 2] <= 0:
            continue
        if np.linalg.norm(label[left, :2] - label[right, :2]) <= 0.5 * head:
            kinds.append("close")
        elif near(left, left) and near(right, right):
            kinds.append("both ok")
        elif near(left, right) and near(right, left):
            kinds.append("crossed")
        elif (near(left, left) and near(right, left)) or (near(left, right) and near(right, right)):
            kinds.append("collapsed")
        elif near(left, left) or near(right, right):
            kinds.append("one ok")
        else:
            kinds.append("neither")
    return kinds


def count(gt: Path, pred: Path) -> tuple[Counter, Counter]:
    """Pair classes, and people whose pairs are mostly crossed / mostly right."""
    pairs, people = Counter(), Counter()
    for path in sorted(gt.glob("*.json")):
        truth, guess = json.loads(path.read_text()), json.loads((pred / path.name).read_text())
        names = {im["id"]: im["file_name"] for im in truth["images"]}
        guessed = {im["id"]: im["file_name"] for im in guess["images"]}
        by_key = {(guessed[a["image_id"]], a.get("track_id")): a for a in guess["annotations"]}
        for a in truth["annotations"]:
            if not a.get("keypoints") or not a.get("bbox_head"):
                continue
            p = by_key.get((names[a["image_id"]], a.get("track_id")))
            if p is None:
                continue
            x, y, w, h = a["bbox_head"]
            kinds = classify(np.reshape(a["keypoints"], (17, 3)), np.reshape(p["keypoints"], (17, 3))[:, :2],
                             0.6 * np.hypot(w, h))  # fmt: skip
            pairs.update(kinds)
            crossed, right = kinds.count("crossed"), kinds.count("both ok")
            people["mostly crossed" if crossed > right else "mostly right" if right > crossed else "tie"] += 1
    return pairs, people


def mirror_teacher(thunder: Path, gt: Path, out: Path) -> Path:
    """Thunder's mirrored predictions for every labelled person under ``gt`` (frames found next to gt's parent),
    written as prediction files in ``out`` (track ids kept), so that ``count`` can compare them with the labels."""
    import cv2

    from stdpose_infer.keypoints import POSETRACK, posetrack_from_coco
    from stdpose_infer.label import MoveNetPose

    pose, swap = MoveNetPose(thunder), POSETRACK.flip_permutation
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(gt.glob("*.json")):
        doc = json.loads(path.read_text())
        people: dict[int, list] = {}
        for a in doc["annotations"]:
            if a.get("keypoints") and a.get("bbox"):
                people.setdefault(a["image_id"], []).append(a)
        predictions = []
        for image in doc["images"]:
            if image["id"] not in people:
                continue
            frame = cv2.flip(cv2.imread(str(gt.parent / image["file_name"])), 1)
            last = frame.shape[1] - 1
            boxes = np.array([[last - (x + w), y, last - x, y + h] for x, y, w, h in
                              (a["bbox"] for a in people[image["id"]])])  # fmt: skip
            kps, _ = posetrack_from_coco(*pose(frame, boxes))
            kps[..., 0] = last - kps[..., 0]
            for a, k in zip(people[image["id"]], kps[:, swap]):
                xyv = np.concatenate([k, np.ones((17, 1))], axis=1)
                predictions.append({"image_id": image["id"], "track_id": a.get("track_id"),
                                    "keypoints": xyv.ravel().tolist()})  # fmt: skip
        (out / path.name).write_text(json.dumps({"images": doc["images"], "annotations": predictions}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gt", type=Path, required=True, help="folder of ground-truth PoseTrack18 JSON files")
    parser.add_argument("--pred", type=Path, nargs="+", default=[], help="prediction folders, same file names")
    parser.add_argument("--mirror-teacher", type=Path, help="MoveNet Thunder ONNX: check the labels under --gt "
                        "against the teacher on mirrored frames (written to --out)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("mirrored_teacher"), help="--mirror-teacher's predictions")
    args = parser.parse_args()
    if args.mirror_teacher:
        args.pred = [*args.pred, mirror_teacher(args.mirror_teacher, args.gt, args.out)]
    if not args.pred:
        parser.error("give --pred folders or --mirror-teacher")
    print("| predictions | pairs | " + " | ".join(CLASSES) + " | people mostly crossed |")
    print("|---" * (len(CLASSES) + 3) + "|")
    for pred in args.pred:
        pairs, people = count(args.gt, pred)
        n = max(sum(pairs.values()), 1)
        shares = " | ".join(f"{100 * pairs[c] / n:.1f} %" for c in CLASSES)
        print(f"| {pred.name} | {n} | {shares} | {people['mostly crossed']} of {sum(people.values())} |")


if __name__ == "__main__":
    main()
