"""The starter recipe's data: real clips cut to frames and labelled by the MoveNet teachers (stage `data`).

DATA is the test-data folder (--data), set once by starter_model.main()."""


from __future__ import annotations

import json
import time
from pathlib import Path

import cv2

from stdpose_infer.data import write_benchmark
from stdpose_infer.detect import MoveNetDetector
from stdpose_infer.label import MoveNetPose, add_head_boxes, auto_label
from stdpose_infer.results import posetrack_json, write_json



# The test-data folder (--data): models/ (the MoveNet and YOLO ONNX files), real_videos/, opencv_samples/,
# posetrack18_sample/. Set once by main().
DATA = Path("data")
MAX_SIDE = 1024  # frames are stored with their longer side at most this (faster decoding in training)
MIN_SCORE = 0.3  # teacher joints scored lower are left unlabeled
SHIPPED = Path(__file__).resolve().parents[1] / "stdpose_infer" / "assets" / "stdpose-s14-starter.safetensors"


def train_clips() -> list:
    """(name, video, first frame, last frame + 1, MoveNet MultiPose input side) of every training clip."""
    return [
        *[
            (f"pose2sim_cam0{i}", DATA / f"real_videos/pose2sim_multiperson/videos/cam0{i}.mp4", 0, 100, 512)
            for i in range(1, 5)
        ],
        ("sports2d_train", DATA / "real_videos/sports2d/demo.mp4", 0, 110, 512),
        ("vtest", DATA / "opencv_samples/vtest.avi", 0, 795, 768),
        ("basketball", DATA / "opencv_samples", None, None, 512),
    ]


def held_out_clips() -> list:
    return [("sports2d_heldout", DATA / "real_videos/sports2d/demo.mp4", 120, 230, 512)]


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


def label_clip(root: Path, name: str, side: int, pose: MoveNetPose, annotations: str = "annotations") -> dict:
    folder = root / "images" / name
    detector = MoveNetDetector(DATA / "models" / "movenet_multipose.onnx", input_side=side)
    results = list(auto_label(folder, detector, pose))
    doc = add_head_boxes(posetrack_json(results, min_score=MIN_SCORE))
    for image in doc["images"]:
        image["file_name"] = f"images/{name}/{Path(image['file_name']).name}"
    write_json(doc, root / annotations / f"{name}.json")
    return {"frames": len(results), "people": sum(len(r) for r in results)}


def data(work: Path) -> None:
    pose = MoveNetPose(DATA / "models" / "movenet_thunder.onnx")
    summary = {}
    for root, clips in ((work / "train", train_clips()), (work / "heldout", held_out_clips())):
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
