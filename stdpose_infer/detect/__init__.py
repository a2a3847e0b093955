"""Person detectors: HOG (no weights), MoveNet MultiPose, YOLO-format ONNX, ultralytics (optional)."""

from __future__ import annotations

from ..defaults import DEFAULT_DETECTOR_SIDE, default_detector_file
from ..errors import InputError
from .base import Detections, box_iou, check_boxes, nms
from .hog import HogDetector
from .movenet import MoveNetDetector
from .yolo import UltralyticsDetector, YoloDetector

__all__ = ["Detections", "HogDetector", "box_iou", "check_boxes", "make_detector", "nms"]


def make_detector(spec, score_threshold: float | None = None, nms_iou: float = 0.45):
    """A detector from a spec: "default" (the shipped MoveNet MultiPose), "hog", "movenet:PATH.onnx",
    "yolo:PATH.onnx", "ultralytics:PATH", a callable frame -> Detections, or None (boxes must then be given)."""
    if spec is None or callable(spec):
        return spec
    kind, _, path = str(spec).partition(":")
    options = {} if score_threshold is None else {"score_threshold": score_threshold}
    if kind == "default":
        return MoveNetDetector(default_detector_file(), input_side=DEFAULT_DETECTOR_SIDE, **options)
    if kind == "hog":
        return HogDetector(nms_iou=nms_iou, **options)
    if kind == "movenet":
        return MoveNetDetector(path, **options)
    if kind == "yolo":
        return YoloDetector(path, nms_iou=nms_iou, **options)
    if kind == "ultralytics":
        return UltralyticsDetector(path, nms_iou=nms_iou, **options)
    raise InputError(
        f"unknown detector {spec!r}: use 'default', 'hog', 'movenet:PATH.onnx', 'yolo:PATH.onnx', 'ultralytics:PATH' or None"
    )
