"""OpenCV's HOG + linear SVM people detector: needs no weights, finds upright walkers (not sports poses)."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import MissingDependencyError
from .base import Detections, nms


class HogDetector:
    def __init__(
        self, score_threshold: float = 0.3, nms_iou: float = 0.45, work_side: int = 1152, stride: int = 8
    ) -> None:
        """``work_side``: frames are resized so their longer side is this (HOG's 64 x 128 window misses
        people under ~128 px: vtest.avi's 768 x 576 gives 1-2 people per frame as is, 4-5 at 1152)."""
        if not hasattr(cv2, "HOGDescriptor"):
            raise MissingDependencyError(
                f"this OpenCV ({cv2.__version__}) has no HOGDescriptor (OpenCV 5's main wheel dropped it): "
                'pip install "opencv-python-headless>=4.8,<5" (the version this package asks for), or use '
                "detector='default'"
            )
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.score_threshold, self.nms_iou, self.work_side, self.stride = score_threshold, nms_iou, work_side, stride

    def __call__(self, frame: np.ndarray) -> Detections:
        scale = self.work_side / max(frame.shape[:2])
        image = cv2.resize(frame, None, fx=scale, fy=scale) if abs(scale - 1) > 1e-3 else frame
        stride = (self.stride, self.stride)
        rects, weights = self.hog.detectMultiScale(image, winStride=stride, padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, np.float32) / scale
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        scores = np.asarray(weights, np.float32).reshape(-1)
        keep = scores >= self.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        keep = nms(boxes, scores, self.nms_iou)
        return Detections(boxes[keep], scores[keep])
