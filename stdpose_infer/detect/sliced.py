"""Sliced inference: any detector run on overlapping tiles of the frame (and on the whole frame), merged by NMS.

Small people grow to the detector's scale inside a tile, and a detector capped at a few people per call (MoveNet
MultiPose: 6) finds that many per tile. Costs one call per tile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError
from .base import Detections, nms


def tiles(hw: tuple[int, int], grid: tuple[int, int], overlap: float) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) of a cols x rows grid of tiles covering the frame, neighbours overlapping by ``overlap``."""
    h, w = hw
    cols, rows = grid
    tw, th = w / (cols - (cols - 1) * overlap), h / (rows - (rows - 1) * overlap)
    out = []
    for r in range(rows):
        for c in range(cols):
            x1, y1 = round(c * tw * (1 - overlap)), round(r * th * (1 - overlap))
            out.append((x1, y1, min(w, round(x1 + tw)), min(h, round(y1 + th))))
    return out


class SlicedDetector:
    """``detector`` on a ``grid`` (columns, rows) of tiles overlapping by ``overlap``, plus ``whole`` (another
    detector, or the same, on the whole frame, for people larger than a tile; None to skip), merged by NMS."""

    def __init__(self, detector: Callable[[np.ndarray], Detections], grid: tuple[int, int] = (3, 2),
                 overlap: float = 0.2, whole: Callable[[np.ndarray], Detections] | None = None,
                 nms_iou: float = 0.5) -> None:  # fmt: skip
        if min(grid) < 1 or not 0 <= overlap < 1:
            raise InputError(f"slicing needs a grid of at least 1 x 1 tiles and 0 <= overlap < 1, got {grid}, {overlap}")
        self.detector, self.grid, self.overlap, self.whole, self.nms_iou = detector, grid, overlap, whole, nms_iou

    def __call__(self, frame: np.ndarray) -> Detections:
        parts = [] if self.whole is None else [self.whole(frame)]
        for x1, y1, x2, y2 in tiles(frame.shape[:2], self.grid, self.overlap):
            det = self.detector(np.ascontiguousarray(frame[y1:y2, x1:x2]))
            shift = np.array([x1, y1, x1, y1], np.float32)
            kps = None
            if det.keypoints is not None:
                kps = det.keypoints.copy()
                kps[..., :2] += shift[:2]
            parts.append(Detections(det.boxes + shift, det.scores, kps))
        return merge(parts, self.nms_iou)


def merge(parts: list[Detections], nms_iou: float) -> Detections:
    """Several detectors' (or tiles') people as one set: NMS over all of them, keypoints kept where all have them."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty()
    boxes = np.concatenate([p.boxes for p in parts]).astype(np.float32)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float32)
    kps = None
    if all(p.keypoints is not None for p in parts):
        kps = np.concatenate([p.keypoints for p in parts])
    keep = nms(boxes, scores, nms_iou)
    return Detections(boxes[keep], scores[keep], None if kps is None else kps[keep])
