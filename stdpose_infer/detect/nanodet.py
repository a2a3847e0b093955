"""NanoDet (an 80-class COCO object detector, Apache-2.0) as a person detector: the package ships one.

The graph (``scripts/convert_nanodet.py`` makes it) takes (1, 3, H, W) with H and W multiples of 32 and returns,
per stride 8 / 16 / 32, class scores (cells, 80; already sigmoid) and box-side distributions (cells, 4 x 11 bins).
Small people vanish at low resolution, so the input size follows the frame: the longer side is ``input_side``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, require
from .base import Detections, clip_boxes, nms

STRIDES = (8, 16, 32)
# NanoDet's own input normalisation (BGR order): RGB / 255 finds half as many people
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)


def input_size(frame_hw: tuple[int, int], input_side: int) -> tuple[int, int]:
    """(H, W) of the network input: the frame scaled so its longer side is ``input_side``, rounded up to 32."""
    h, w = frame_hw
    r = input_side / max(h, w)
    return max(32, -(-round(h * r) // 32) * 32), max(32, -(-round(w * r) // 32) * 32)


def decode_nanodet(scores: list[np.ndarray], boxes: list[np.ndarray], hw: tuple[int, int], score_threshold: float,
                   person_class: int = 0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-stride (cells, 80) scores and (cells, 4 x bins) distributions -> (N, 4) xyxy input pixels, (N,) scores.

    Each side's distance is the softmax-expected bin times the stride, measured from the cell's centre."""
    out_boxes, out_scores = [], []
    for stride, score, dist in zip(STRIDES, scores, boxes):
        fh, fw = -(-hw[0] // stride), -(-hw[1] // stride)
        if score.shape[0] != fh * fw:
            raise InputError(f"NanoDet output has {score.shape[0]} cells at stride {stride}, expected {fh} x {fw}")
        person = score[:, person_class]
        keep = np.flatnonzero(person >= score_threshold)
        if not len(keep):
            continue
        bins = dist[keep].reshape(len(keep), 4, -1)
        bins = np.exp(bins - bins.max(axis=2, keepdims=True))
        sides = (bins / bins.sum(axis=2, keepdims=True)) @ np.arange(bins.shape[2], dtype=np.float32) * stride
        cx, cy = (keep % fw + 0.5) * stride, (keep // fw + 0.5) * stride
        out_boxes.append(np.stack([cx - sides[:, 0], cy - sides[:, 1], cx + sides[:, 2], cy + sides[:, 3]], axis=1))
        out_scores.append(person[keep])
    if not out_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    return np.concatenate(out_boxes).astype(np.float32), np.concatenate(out_scores).astype(np.float32)


class NanoDetDetector:
    """People found by NanoDet on the whole frame. ``input_side``: the network input's longer side (a multiple of
    32); the defaults are ``Pipeline()``'s, measured on real 1080p crowds (the docs' Detectors page)."""

    def __init__(
        self, path: str | Path, score_threshold: float = 0.3, nms_iou: float = 0.5, input_side: int = 800
    ) -> None:
        ort = require("onnxruntime", "test", "the NanoDet detector")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"NanoDet model not found: {path}; detector='default' uses the one shipped in the package")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        outputs = self.session.get_outputs()
        if len(inp.shape) != 4 or inp.shape[1] != 3 or len(outputs) != 6:
            raise InputError(f"{path}: not a NanoDet graph (expects (1, 3, H, W) input and six outputs)")
        if isinstance(inp.shape[2], int) and isinstance(inp.shape[3], int):
            raise InputError(
                f"{path}: this NanoDet graph has a fixed {inp.shape[2]}x{inp.shape[3]} input; convert it with "
                "scripts/convert_nanodet.py, which makes the input size free"
            )
        # the outputs come in no fixed order: class scores have 80 channels; each kind is sorted by stride per call
        self._scores = [o.name for o in outputs if o.shape[2] == 80]
        self._dists = [o.name for o in outputs if o.shape[2] != 80]
        self.input_name = inp.name
        self.input_side = max(32, input_side // 32 * 32)
        self.score_threshold, self.nms_iou = score_threshold, nms_iou

    def __call__(self, frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        ih, iw = input_size((h, w), self.input_side)
        r = min(ih / h, iw / w)
        nh, nw = round(h * r), round(w * r)
        image = np.zeros((ih, iw, 3), np.float32)
        image[:nh, :nw] = (cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32) - MEAN) / STD
        outs = self.session.run(self._scores + self._dists, {self.input_name: image.transpose(2, 0, 1)[None]})
        scores, dists = [o[0] for o in outs[:3]], [o[0] for o in outs[3:]]
        scores, dists = _by_stride(scores), _by_stride(dists)
        boxes, conf = decode_nanodet(scores, dists, (ih, iw), self.score_threshold)
        boxes = clip_boxes(boxes / r, (h, w))
        keep = nms(boxes, conf, self.nms_iou)
        return Detections(boxes[keep], conf[keep])


def _by_stride(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Stride 8 has the most cells: sort descending by cell count."""
    return sorted(arrays, key=lambda a: -a.shape[0])
