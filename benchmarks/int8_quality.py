"""INT8 (opt-in) on the shipped starter model: speed per backend and its pose cost, all in one run.

    python benchmarks/int8_quality.py --work W --data DATA --out benchmarks/results/DATE_int8

Calibration: 64 person triplets from training-source videos (pose2sim cam01, vtest.avi), never the test data.
Speed: the estimate graph at batch 1 and 8, FP32 vs INT8, on ONNX Runtime and OpenVINO (CPU). Pose cost: the
PoseTrack18 sample (14 people, ground-truth boxes) and the held-out real clip (sports2d frames 120-229, teacher
pseudo ground truth), estimate mode, FP32 vs INT8 (ONNX Runtime), and the keypoint shift between them. W: the
starter recipe's work folder (posetrack18_sample/ and heldout/ as benchmarks/starter_model.py made them).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from stdpose_infer.defaults import default_weights
from stdpose_infer.evaluation import evaluate
from stdpose_infer.evaluation.predict import predict_dataset
from stdpose_infer.export import export_onnx
from stdpose_infer.export.quantize import calibration_triplets, quantize_int8
from stdpose_infer.runtime import load_backend
from stdpose_infer.weights import load_model

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results


def _ms(backend, x, repeats: int = 3) -> float:
    backend.infer(x)
    start = time.perf_counter()
    for _ in range(repeats):
        backend.infer(x)
    return (time.perf_counter() - start) / repeats * 1000


def _keypoints(folder: Path) -> dict:
    import json

    out = {}
    for path in sorted(folder.glob("*.json")):
        for a in json.loads(path.read_text())["annotations"]:
            out[(path.name, a["image_id"], a.get("track_id"))] = np.array(a["keypoints"]).reshape(-1, 3)[:, :2]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    tmp = args.work / "int8"
    model = load_model(default_weights())
    wh = model.config.input_wh
    calib = np.concatenate([
        calibration_triplets(args.data / "real_videos/pose2sim_multiperson/videos/cam01.mp4", count=32, input_wh=wh,
                             every=3),
        calibration_triplets(args.data / "opencv_samples/vtest.avi", count=32, input_wh=wh, every=7),
    ])  # fmt: skip
    fp32 = export_onnx(model, tmp / "fp32.onnx", "estimate", "fp32").path
    int8 = quantize_int8(fp32, calib, tmp / "int8.onnx")
    backends = {
        ("onnxruntime", "fp32"): load_backend(fp32, "onnxruntime", "cpu"),
        ("onnxruntime", "int8"): load_backend(int8, "onnxruntime", "cpu"),
        ("openvino", "fp32"): load_backend(fp32, "openvino", "cpu"),
        ("openvino", "int8"): load_backend(int8, "openvino", "cpu"),
    }
    speed = {f"{b} {p}": {str(n): round(_ms(be, calib[:n]), 1) for n in (1, 8)} for (b, p), be in backends.items()}
    print(speed, flush=True)
    accuracy, shifts = {}, {}
    for name, folder in (("PoseTrack18 sample", args.work / "posetrack18_sample"), ("held-out real clip", args.work / "heldout")):
        row = {}
        for precision in ("fp32", "int8"):
            out = tmp / f"pred_{folder.name}_{precision}"
            predict_dataset(backends[("onnxruntime", precision)], folder, out, "estimate", progress=False)
            row[precision] = round(evaluate(folder / "annotations", out).groups["Total"], 1)
        a, b = _keypoints(tmp / f"pred_{folder.name}_fp32"), _keypoints(tmp / f"pred_{folder.name}_int8")
        d = np.concatenate([np.linalg.norm(a[k] - b[k], axis=-1) for k in a if k in b])
        shifts[name] = {"median_px": round(float(np.median(d)), 2), "p90_px": round(float(np.percentile(d, 90)), 2),
                        "p99_px": round(float(np.percentile(d, 99)), 2), "joints": int(d.size)}  # fmt: skip
        accuracy[name] = row
        print(name, row, shifts[name], flush=True)
    results = {"date": str(date.today()), "machine": machine(), "command": " ".join(["python", *sys.argv]),
               "calibration": "32 triplets pose2sim cam01 (every 3rd frame) + 32 vtest.avi (every 7th)",
               "speed_ms": speed, "map": accuracy, "keypoint_shift_image_px": shifts}  # fmt: skip
    lines = [f"# INT8 (opt-in) on the starter model ({results['date']})", "", f"Machine: {results['machine']}",
             f"Command: `{results['command']}`", f"Calibration: {results['calibration']}", "",
             "## Speed (estimate graph, ms per call)", "", "| backend | batch 1 | batch 8 |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {v['1']} | {v['8']} |" for k, v in speed.items()]
    lines += ["", "## Pose cost (estimate mode, ground-truth boxes, ONNX Runtime)", "",
              "| data | FP32 mAP | INT8 mAP | keypoint shift median / p90 / p99 (image px) |", "|---|---|---|---|"]  # fmt: skip
    for name, row in accuracy.items():
        s = shifts[name]
        lines.append(f"| {name} | {row['fp32']} | {row['int8']} | {s['median_px']} / {s['p90_px']} / {s['p99_px']} |")
    save_results(args.out, results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
