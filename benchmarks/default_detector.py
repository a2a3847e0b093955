"""Which person detector ships as the default: recall on the PoseTrack18 sample, people per frame on vtest.avi, speed.

    python benchmarks/default_detector.py --data DATA --out benchmarks/results/DATE_default_detector.md

Candidates are the real detectors whose licence allows shipping them (HOG: OpenCV's, no weights; MoveNet MultiPose:
Apache-2.0) at several input sizes; YOLO11n-pose (AGPL-3.0) is measured as a reference only, never shipped.
Recall: the 14 ground-truth people of the sample's three frames found at IoU >= 0.5, matched one to one.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from stdpose_infer.detect import HogDetector, MoveNetDetector, YoloDetector, box_iou
from stdpose_infer.track import greedy_match

# The test-data folder (--data): models/, opencv_samples/, posetrack18_sample/. Set once by main().
DATA = Path("data")


def candidates() -> dict:
    models = DATA / "models"
    return {
        "hog (1152)": lambda: HogDetector(),
        "movenet multipose 256": lambda: MoveNetDetector(models / "movenet_multipose.onnx", input_side=256),
        "movenet multipose 512": lambda: MoveNetDetector(models / "movenet_multipose.onnx", input_side=512),
        "movenet multipose 768": lambda: MoveNetDetector(models / "movenet_multipose.onnx", input_side=768),
        "yolo11n-pose 1280 (AGPL, reference only)": lambda: YoloDetector(models / "yolo11n_pose.onnx", input_size=1280),
    }


def posetrack_recall(detector) -> tuple[int, int, list[float]]:
    found = total = 0
    seconds = []
    for path in sorted((DATA / "posetrack18_sample/annotations/val").glob("*.json")):
        doc = json.loads(path.read_text())
        for image in doc["images"]:
            gt = [a["bbox"] for a in doc["annotations"] if a["image_id"] == image["id"] and a.get("bbox")]
            if not gt:
                continue
            frame = cv2.imread(str(DATA / "posetrack18_sample" / image["file_name"]))
            t = time.perf_counter()
            det = detector(frame)
            seconds.append(time.perf_counter() - t)
            gt = np.array([[x, y, x + w, y + h] for x, y, w, h in gt])
            found += len(greedy_match(box_iou(gt, det.boxes), 0.5)) if len(det) else 0
            total += len(gt)
    return found, total, seconds


def vtest_people(detector, every: int = 40) -> tuple[float, list[float]]:
    cap, counts, seconds, t = cv2.VideoCapture(str(DATA / "opencv_samples/vtest.avi")), [], [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if t % every == 0:
            start = time.perf_counter()
            counts.append(len(detector(frame)))
            seconds.append(time.perf_counter() - start)
        t += 1
    return float(np.mean(counts)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--data", type=Path, required=True, help="test data: models/, opencv_samples/, posetrack18_sample/"
    )
    args = parser.parse_args()
    global DATA
    DATA = args.data
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    rows = []
    for name, make in candidates().items():
        detector = make()
        found, total, s1 = posetrack_recall(detector)
        people, s2 = vtest_people(detector)
        ms_pt, ms_vt = 1e3 * np.median(s1), 1e3 * np.median(s2[1:])
        rows.append((name, found, total, people, ms_pt, ms_vt))
        print(rows[-1], flush=True)
    lines = [
        "# Default detector: recall and speed", "",
        f"{date.today()}, {model} ({len(__import__('os').sched_getaffinity(0))} cores), {platform.python_version()}; "
        f"`python benchmarks/default_detector.py --data DATA --out {args.out}`", "",
        "| detector | PoseTrack18 sample: GT people found (IoU >= 0.5) | vtest.avi people/frame (every 40th) "
        "| ms/frame 1920x1080 | ms/frame 768x576 |",
        "|---|---|---|---|---|",
        *[f"| {n} | {f}/{t} | {p:.1f} | {a:.0f} | {b:.0f} |" for n, f, t, p, a, b in rows],
    ]  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
