"""YOLOv8/11-layout person detector run natively with ONNX Runtime: letterbox, decode, NMS.

The output (1, 4 + classes, anchors) holds cx, cy, w, h in input pixels, then class scores;
class 0 is COCO's person. No ultralytics import: that package needs torchvision.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, require
from .base import Detections, nms


def letterbox(frame: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize keeping the aspect ratio and pad to size x size with grey (114); returns the ratio and padding."""
    h, w = frame.shape[:2]
    r = size / max(h, w)
    nh, nw = round(h * r), round(w * r)
    top, left = (size - nh) / 2, (size - nw) / 2
    image = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    image = cv2.copyMakeBorder(
        image, int(round(top - 0.1)), int(round(size - nh - top + 0.1)), int(round(left - 0.1)),
        int(round(size - nw - left + 0.1)), cv2.BORDER_CONSTANT, value=(114, 114, 114),
    )  # fmt: skip
    return image, r, (int(round(left - 0.1)), int(round(top - 0.1)))


def decode_yolo(output: np.ndarray, ratio: float, pad: tuple[float, float], score_threshold: float, iou: float,
                person_class: int = 0) -> Detections:  # fmt: skip
    """(4 + C, anchors) raw output -> person boxes in the original frame. The pose layout (4 + 1 + 17 x 3 = 56
    channels: YOLO-pose) also gives COCO keypoints (x, y, visibility)."""
    scores = output[4 + person_class]
    keep = scores >= score_threshold
    cx, cy, bw, bh = output[:4, keep]
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    boxes = (boxes - np.array([pad[0], pad[1], pad[0], pad[1]])) / ratio
    scores = scores[keep]
    kept = nms(boxes, scores, iou)
    keypoints = None
    if output.shape[0] == 4 + 1 + 17 * 3:
        keypoints = output[5:, keep].T.reshape(-1, 17, 3)[kept].copy()
        keypoints[..., :2] = (keypoints[..., :2] - np.array(pad)) / ratio
        keypoints = keypoints.astype(np.float32)
    return Detections(boxes[kept].astype(np.float32), scores[kept].astype(np.float32), keypoints)


class YoloDetector:
    """A YOLOv8/11 ONNX export. ``input_size``: the letterbox side for graphs with a dynamic input; None follows the
    frame (its longer side rounded up to 32, at most 1280): small people vanish at 640 (measured on 1080p crowds:
    13.4 end-to-end mAP at 640, 37.4 at 1280)."""

    def __init__(
        self, path: str | Path, score_threshold: float = 0.25, nms_iou: float = 0.45, input_size: int | None = None
    ) -> None:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"YOLO model not found: {path}")
        if path.suffix != ".onnx":
            raise InputError(
                f"{path}: the native YOLO detector runs .onnx exports (yolo export format=onnx); "
                ".pt files need the ultralytics extra (detector='ultralytics:PATH')"
            )
        ort = require("onnxruntime", "test", "the YOLO detector")
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.size = inp.shape[2] if isinstance(inp.shape[2], int) else input_size
        self.score_threshold, self.nms_iou = score_threshold, nms_iou

    def __call__(self, frame: np.ndarray) -> Detections:
        size = self.size or min(1280, -(-max(frame.shape[:2]) // 32) * 32)
        image, ratio, pad = letterbox(frame, size)
        blob = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        (out,) = self.session.run(None, {self.input_name: blob})
        if out.ndim != 3 or out.shape[1] < 5:
            raise InputError(f"YOLO output {out.shape} is not the v8/11 layout (1, 4 + classes, anchors)")
        return decode_yolo(out[0], ratio, pad, self.score_threshold, self.nms_iou)


class UltralyticsDetector:
    """Any model ultralytics loads (.pt, .engine, ...): the optional ``yolo`` extra, imported only here."""

    def __init__(self, path: str, score_threshold: float = 0.25, nms_iou: float = 0.45) -> None:
        ultralytics = require("ultralytics", "yolo", "detector='ultralytics:...'")
        self.model = ultralytics.YOLO(path)
        self.score_threshold, self.nms_iou = score_threshold, nms_iou

    def __call__(self, frame: np.ndarray) -> Detections:
        result = self.model(frame, classes=[0], conf=self.score_threshold, iou=self.nms_iou, verbose=False)[0]
        return Detections(result.boxes.xyxy.cpu().numpy(), result.boxes.conf.cpu().numpy())
