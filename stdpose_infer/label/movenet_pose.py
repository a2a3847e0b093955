"""MoveNet SinglePose Thunder (ONNX, Apache-2.0) as a single-person pose model: a box in, 17 COCO joints out."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..crops.affine import get_affine, transform_points
from ..errors import InputError, require


class MoveNetPose:
    """``pose(frame, boxes)`` -> (N, 17, 2) COCO keypoints in image pixels and (N, 17) scores.

    Each person is cut as a square around its box (x``padding``) and resized to the model's 256 x 256
    input; outside the frame is black, as MoveNet was trained.
    """

    def __init__(self, path: str | Path, padding: float = 1.25) -> None:
        ort = require("onnxruntime", "test", "the MoveNet pose model")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"MoveNet Thunder model not found: {path} (an ONNX of MoveNet SinglePose Thunder)")
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        if inp.type != "tensor(int32)" or len(inp.shape) != 4 or inp.shape[1] != inp.shape[2]:
            raise InputError(f"{path}: not MoveNet SinglePose (expects int32 (1, S, S, 3) input, got {inp.shape})")
        self.input_name, self.side = inp.name, int(inp.shape[1]) if isinstance(inp.shape[1], int) else 256
        self.padding = padding

    def __call__(self, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, 17, 2)), np.zeros((0, 17))
        center = (boxes[:, :2] + boxes[:, 2:]) / 2
        side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * self.padding
        scale = np.stack([side, side], axis=1)
        affines = get_affine(center, scale, (self.side, self.side))
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        points, scores = [], []
        for m in affines:
            crop = cv2.warpAffine(rgb, m, (self.side, self.side), flags=cv2.INTER_LINEAR, borderValue=0)
            (out,) = self.session.run(None, {self.input_name: crop[None].astype(np.int32)})
            yxs = out.reshape(17, 3)
            points.append(yxs[:, [1, 0]] * self.side - 0.5)  # normalised edges -> pixel centres
            scores.append(yxs[:, 2])
        inverse = get_affine(center, scale, (self.side, self.side), inverse=True)
        return transform_points(np.stack(points), inverse), np.stack(scores).astype(np.float64)
