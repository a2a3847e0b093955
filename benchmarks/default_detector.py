"""Which person detector ships as the default: recall and end-to-end mAP on the PoseTrack18 sample, people per frame
on vtest.avi against YOLO11n-pose's, and speed on 1080p video.

    python benchmarks/default_detector.py --data DATA --out benchmarks/results/DATE_default_detector.md [--only NAME]

Candidates are detectors whose licence allows shipping them (HOG: OpenCV's, no weights; MoveNet MultiPose and NanoDet:
Apache-2.0), at several input sizes, sliced or merged; YOLO11n-pose (AGPL-3.0) is measured as a reference only, never
shipped. Recall: the sample's 14 ground-truth people found at box IoU >= 0.5, matched one to one. End-to-end mAP: the
shipped starter model through ``Pipeline(detector=candidate)`` on the sample's three frames, scored as poseval does
(ignore regions dropped). vtest.avi: every 40th frame; "matched" counts the candidate's boxes that match one of
YOLO11n-pose's (IoU >= 0.5, one to one), so false boxes do not count as people found. Speed: the mean over the 100
frames of the pose2sim cam01 video (1920 x 1088) and the median over the sample's 1920 x 1080 frames; the whole
pipeline's frames/s (starter, default backend) on vtest.avi's first 40 frames for the default and its runner-up.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from common import machine, save_results
from stdpose_infer.defaults import default_weights
from stdpose_infer.detect import HogDetector, MoveNetDetector, YoloDetector, box_iou, make_detector
from stdpose_infer.detect.nanodet import NanoDetDetector
from stdpose_infer.detect.sliced import SlicedDetector
from stdpose_infer.evaluation import score_dataset
from stdpose_infer.track import greedy_match

# The test-data folder (--data): models/, opencv_samples/, posetrack18_sample/, real_videos/. Set once by main().
DATA = Path("data")
SAMPLE_ANNOTATIONS = "annotations/val"  # the sample's per-video PoseTrack files


def candidates(nanodet: Path) -> dict:
    models = DATA / "models"
    multipose = models / "movenet_multipose.onnx"
    return {
        "default (Pipeline())": lambda: make_detector("default"),
        "hog (1152)": lambda: HogDetector(),
        "movenet multipose 512 (the old default)": lambda: MoveNetDetector(multipose, input_side=512),
        "movenet multipose sliced 3x2 at 256 + whole at 512": lambda: SlicedDetector(
            MoveNetDetector(multipose, input_side=256), (3, 2), 0.2, MoveNetDetector(multipose, input_side=512)
        ),
        **{
            f"nanodet {side}, score >= {th}": (lambda s=side, t=th: NanoDetDetector(nanodet, t, input_side=s))
            for side in (416, 640, 800, 960) for th in (0.2, 0.3)
        },
        "nanodet sliced 2x2 at 416 + whole at 640": lambda: SlicedDetector(
            NanoDetDetector(nanodet, input_side=416), (2, 2), 0.2, NanoDetDetector(nanodet, input_side=640)
        ),
        "yolo11n-pose 1280 (AGPL, reference only)": lambda: YoloDetector(models / "yolo11n_pose.onnx", input_size=1280),
    }  # fmt: skip


def sample_frames() -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, (N, 4) ground-truth xyxy boxes) of each labelled frame of the PoseTrack18 sample."""
    out = []
    for path in sorted((DATA / "posetrack18_sample" / SAMPLE_ANNOTATIONS).glob("*.json")):
        doc = json.loads(path.read_text())
        for image in doc["images"]:
            gt = [a["bbox"] for a in doc["annotations"] if a["image_id"] == image["id"] and a.get("bbox")]
            if gt:
                frame = cv2.imread(str(DATA / "posetrack18_sample" / image["file_name"]))
                out.append((frame, np.array([[x, y, x + w, y + h] for x, y, w, h in gt])))
    return out


def matched(a: np.ndarray, b: np.ndarray) -> int:
    """Boxes of ``a`` matched one to one to boxes of ``b`` at IoU >= 0.5."""
    return len(greedy_match(box_iou(a, b), 0.5)) if len(a) and len(b) else 0


def recall(detector, frames) -> tuple[int, int, list[float]]:
    found = total = 0
    seconds = []
    for frame, gt in frames:
        t = time.perf_counter()
        det = detector(frame)
        seconds.append(time.perf_counter() - t)
        found += matched(gt, det.boxes)
        total += len(gt)
    return found, total, seconds


def vtest_frames(every: int = 40) -> list[np.ndarray]:
    cap, frames, t = cv2.VideoCapture(str(DATA / "opencv_samples/vtest.avi")), [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        if t % every == 0:
            frames.append(frame)
        t += 1


def video_ms(detector, path: Path) -> float:
    """Mean ms per frame over a whole video (the first frame, which warms the session, not counted)."""
    cap, seconds = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = time.perf_counter()
        detector(frame)
        seconds.append(time.perf_counter() - t)
    return 1e3 * float(np.mean(seconds[1:]))


PIPELINE_TIMED = ("default (Pipeline())", "nanodet 416, score >= 0.2")  # whole-pipeline speed: these rows only


def pipeline_speed(detector, frames: int = 40) -> tuple[float, float]:
    """(frames/s, poses per frame) of ``Pipeline(detector=detector)`` with the starter on vtest.avi's first frames:
    every box is a pose crop, so false boxes cost the whole pipeline time."""
    from stdpose_infer import Pipeline

    cap, video = cv2.VideoCapture(str(DATA / "opencv_samples/vtest.avi")), []
    while len(video) < frames:
        ok, frame = cap.read()
        if not ok:
            break
        video.append(frame)
    pipe = Pipeline(detector=detector)
    list(pipe(video[:3]))  # warm-up
    start = time.perf_counter()
    results = list(pipe(video))
    return len(video) / (time.perf_counter() - start), float(np.mean([len(r) for r in results]))


def end_to_end_map(detector, work: Path) -> float:
    """PoseTrack mAP of ``Pipeline(detector=detector)`` with the shipped starter on the sample's frames."""
    ap = score_dataset(default_weights(), DATA / "posetrack18_sample", work, "estimate", boxes=detector,
                       annotations=SAMPLE_ANNOTATIONS, progress=False)  # fmt: skip
    return float(ap.groups["Total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="test data: models/, opencv_samples/, "
                        "posetrack18_sample/, real_videos/")  # fmt: skip
    parser.add_argument("--nanodet", type=Path, default=None, help="NanoDet ONNX (default: the one shipped)")
    parser.add_argument("--only", nargs="*", help="candidates whose name contains one of these")
    args = parser.parse_args()
    global DATA
    DATA = args.data
    from stdpose_infer.defaults import NANODET_FILE

    nanodet = args.nanodet or NANODET_FILE
    sample, vtest = sample_frames(), vtest_frames()
    yolo = YoloDetector(DATA / "models" / "yolo11n_pose.onnx", input_size=1280)
    yolo_boxes = [yolo(f).boxes for f in vtest]
    video = DATA / "real_videos/pose2sim_multiperson/videos/cam01.mp4"
    rows = []
    for name, make in candidates(nanodet).items():
        if args.only and not any(o in name for o in args.only):
            continue
        detector = make()
        found, total, seconds = recall(detector, sample)
        dets = [detector(f).boxes for f in vtest]
        people = float(np.mean([len(b) for b in dets]))
        agree = sum(matched(b, y) for b, y in zip(dets, yolo_boxes)) / len(vtest)
        with tempfile.TemporaryDirectory() as work:
            mean_ap = end_to_end_map(detector, Path(work))
        row = {"detector": name, "found": found, "total": total, "map": mean_ap, "vtest_people": people,
               "vtest_matched": agree, "ms_1080p_video": video_ms(detector, video),
               "ms_sample": 1e3 * float(np.median(seconds))}  # fmt: skip
        if name in PIPELINE_TIMED:
            row["pipeline_fps"], row["pipeline_poses"] = pipeline_speed(detector)
        rows.append(row)
        print(row, flush=True)
    yolo_people = float(np.mean([len(b) for b in yolo_boxes]))
    lines = [
        "# Default detector: recall, end-to-end mAP, people found, speed", "",
        f"{date.today()}, {machine()}; `python benchmarks/default_detector.py --data DATA --out {args.out}`", "",
        f"YOLO11n-pose 1280 (reference) finds {yolo_people:.2f} people per vtest.avi frame (every 40th).", "",
        "<!-- --8<-- [start:table] -->",
        "| detector | PoseTrack18 sample: GT people found (IoU >= 0.5) | end-to-end mAP (starter) "
        "| vtest.avi people/frame | of them matching YOLO11n-pose's | ms/frame 1080p video (mean) "
        "| ms/frame sample (median) | whole pipeline on vtest.avi frames 0-39: frames/s (poses/frame) |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {r['detector']} | {r['found']}/{r['total']} | {r['map']:.1f} | {r['vtest_people']:.2f} | "
          f"{r['vtest_matched']:.2f} | {r['ms_1080p_video']:.0f} | {r['ms_sample']:.0f} | "
          + (f"{r['pipeline_fps']:.2f} ({r['pipeline_poses']:.1f}) |" if "pipeline_fps" in r else "- |")
          for r in rows],
        "<!-- --8<-- [end:table] -->",
    ]  # fmt: skip
    save_results(args.out, {"yolo_vtest_people": yolo_people, "rows": rows}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
