"""MoveNet MultiPose (ONNX; the package ships one: detector="default") as a person detector; it also gives COCO poses."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, require
from .base import Detections


class MoveNetDetector:
    """Up to 6 people per frame. ``input_side`` is the longer input side (multiple of 32): 256 as
    designed, 512-768 to find small people (MoveNet's README: 512 finds vtest.avi's pedestrians)."""

    def __init__(self, path: str | Path, score_threshold: float = 0.2, input_side: int = 512) -> None:
        ort = require("onnxruntime", "test", "the MoveNet detector")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"MoveNet model not found: {path}; detector='default' uses the detector shipped in the package")
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        if inp.type != "tensor(int32)" or len(inp.shape) != 4:
            raise InputError(f"{path}: not MoveNet MultiPose (expects int32 (1, H, W, 3) input, got {inp.type})")
        self.input_name, self.score_threshold = inp.name, score_threshold
        self.input_side = input_side // 32 * 32

    def __call__(self, frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        r = self.input_side / max(h, w)
        ih, iw = max(32, round(h * r / 32) * 32), max(32, round(w * r / 32) * 32)
        rgb = cv2.cvtColor(cv2.resize(frame, (iw, ih), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        (out,) = self.session.run(None, {self.input_name: rgb[None].astype(np.int32)})
        people = out[0]  # (6, 56): 17 x (y, x, score), ymin, xmin, ymax, xmax, score (all normalised)
        people = people[people[:, 55] >= self.score_threshold]
        kps = people[:, :51].reshape(-1, 17, 3)
        keypoints = np.stack([kps[..., 1] * w, kps[..., 0] * h, kps[..., 2]], axis=-1).astype(np.float32)
        boxes = np.stack([people[:, 52] * w, people[:, 51] * h, people[:, 54] * w, people[:, 53] * h], axis=1)
        return Detections(boxes.astype(np.float32), people[:, 55].astype(np.float32), keypoints)
