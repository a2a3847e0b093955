"""What every person detector returns, and the box helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError


@dataclass
class Detections:
    """Person boxes of one frame: (N, 4) xyxy image pixels, (N,) scores; MoveNet adds (N, 17, 3) poses."""

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray | None = field(default=None, repr=False)  # COCO (x, y, score), when the detector has them

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, keep) -> Detections:
        kps = None if self.keypoints is None else self.keypoints[keep]
        return Detections(self.boxes[keep], self.scores[keep], kps)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by non-maximum suppression (OpenCV's), highest score first."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    shifted = scores.astype(float) - float(scores.min()) + 1.0  # OpenCV keeps scores above its threshold 0; order kept
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), shifted.tolist(), 0.0, iou)
    return np.asarray(keep, np.int64).reshape(-1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) IoU of xyxy boxes."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a, area_b = (np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1) for x in (a, b))
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def clip_boxes(boxes: np.ndarray, frame_shape: tuple[int, int]) -> np.ndarray:
    """(N, 4) xyxy boxes clipped to an (h, w) frame."""
    h, w = frame_shape
    return np.stack([boxes[:, 0].clip(0, w), boxes[:, 1].clip(0, h), boxes[:, 2].clip(0, w), boxes[:, 3].clip(0, h)],
                    axis=1)  # fmt: skip


def check_boxes(boxes, frame_shape: tuple[int, int], where: str, min_size: float = 4.0) -> np.ndarray:
    """Given boxes as (N, 4) float xyxy, clipped to the frame; boxes wholly outside or tinier than
    ``min_size`` px are refused with a message naming them (partly outside is fine: clipped)."""
    boxes = np.asarray(boxes, np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim != 2 or boxes.shape[1] != 4 or not np.isfinite(boxes).all():
        raise InputError(f"{where}: boxes must be finite (N, 4) [x1, y1, x2, y2] pixels, got shape {boxes.shape}")
    h, w = frame_shape
    clipped = clip_boxes(boxes, frame_shape)
    size = np.minimum(clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1])
    bad = np.flatnonzero(size < min_size)
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"{where}: box {i} {boxes[i].round(1).tolist()} is outside the {w}x{h} frame, inverted or under "
            f"{min_size:g} px after clipping; boxes are [x1, y1, x2, y2] in pixels with x1 < x2, y1 < y2"
        )
    return clipped
