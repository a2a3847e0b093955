"""The starter model: a DINOv2-backbone STDPose-S14 distilled from MoveNet on real frames. The whole recipe.

    python benchmarks/starter_model.py data     --work /work/cache/starter     # frames + teacher labels + synthetic
    python benchmarks/starter_model.py single   --work /work/cache/starter     # stage A: backbone + head
    python benchmarks/starter_model.py temporal --work /work/cache/starter     # stage B: TFF, TKS, DAM, STDA
    python benchmarks/starter_model.py evaluate --work /work/cache/starter --out benchmarks/results/DATE_starter

Every stage resumes where it stopped (checkpoints live in --work, outside git). Teachers: MoveNet MultiPose
(boxes) and MoveNet SinglePose Thunder (a pose per box), both Apache-2.0, from ../shared/data/models. YOLO11n-pose
(AGPL-3.0) is never a teacher; it appears only as a baseline row. The PoseTrack18 sample is never trained on.
Held out of training: frames 120-229 of sports2d/demo.mp4 (the flip and the woman crossing; the same scene and
people as its frames 0-109, which are trained on), labelled by the teacher on every frame as pseudo ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from stdpose_infer.data import write_benchmark
from stdpose_infer.detect import MoveNetDetector
from stdpose_infer.label import MoveNetPose, add_head_boxes, auto_label
from stdpose_infer.results import posetrack_json, write_json

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = SHARED / "models"
MAX_SIDE = 1024  # frames are stored with their longer side at most this (faster decoding in training)
MIN_SCORE = 0.3  # teacher joints scored lower are left unlabeled
# (name, video, first frame, last frame + 1, MoveNet MultiPose input side)
TRAIN = [
    *[(f"pose2sim_cam0{i}", SHARED / f"real_videos/pose2sim_multiperson/videos/cam0{i}.mp4", 0, 100, 512) for i in range(1, 5)],
    ("sports2d_train", SHARED / "real_videos/sports2d/demo.mp4", 0, 110, 512),
    ("vtest", SHARED / "opencv_samples/vtest.avi", 0, 795, 768),
    ("basketball", SHARED / "opencv_samples", None, None, 512),
]
HELD_OUT = [("sports2d_heldout", SHARED / "real_videos/sports2d/demo.mp4", 120, 230, 512)]


def extract(video: Path, first, last, folder: Path) -> int:
    """Frames [first, last) of a video (or the two basketball stills) as JPEGs, longer side <= MAX_SIDE."""
    folder.mkdir(parents=True, exist_ok=True)
    if video.is_dir():
        images = [cv2.imread(str(video / f"basketball{i}.png")) for i in (1, 2)]
    else:
        cap, images = cv2.VideoCapture(str(video)), []
        for t in range(last):
            ok, image = cap.read()
            if not ok:
                break
            if t >= first:
                images.append(image)
    for t, image in enumerate(images):
        r = min(1.0, MAX_SIDE / max(image.shape[:2]))
        if r < 1:
            image = cv2.resize(image, None, fx=r, fy=r, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{t:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return len(images)


def label_clip(root: Path, name: str, side: int, pose: MoveNetPose) -> dict:
    folder = root / "images" / name
    detector = MoveNetDetector(MODELS / "movenet_multipose.onnx", input_side=side)
    results = list(auto_label(folder, detector, pose))
    doc = add_head_boxes(posetrack_json(results, min_score=MIN_SCORE))
    for image in doc["images"]:
        image["file_name"] = f"images/{name}/{Path(image['file_name']).name}"
    write_json(doc, root / "annotations" / f"{name}.json")
    return {"frames": len(results), "people": sum(len(r) for r in results)}


def data(work: Path) -> None:
    pose = MoveNetPose(MODELS / "movenet_thunder.onnx")
    summary = {}
    for root, clips in ((work / "train", TRAIN), (work / "heldout", HELD_OUT)):
        for name, video, first, last, side in clips:
            if (root / "annotations" / f"{name}.json").is_file():
                continue
            t = time.time()
            extract(video, first, last, root / "images" / name)
            summary[name] = {**label_clip(root, name, side, pose), "seconds": round(time.time() - t, 1)}
            print(name, summary[name], flush=True)
    if not (work / "train" / "annotations" / "000000_synthetic.json").is_file():
        write_benchmark(work / "train", videos=12, frames=29, width=384, height=288, people=3, seed=7)
    (work / "data_summary.json").write_text(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["data", "single", "temporal", "evaluate"])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not MODELS.is_dir():
        sys.exit(f"needs the teachers in {MODELS}")
    {"data": data}[args.stage](args.work)


if __name__ == "__main__":
    main()
