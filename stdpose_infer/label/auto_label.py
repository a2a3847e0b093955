"""``auto_label``: a video -> tracked poses from single-frame models (a detector, a pose model per box, the tracker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..detect import Detections, check_boxes, make_detector
from ..errors import InputError
from ..keypoints import POSETRACK, posetrack_from_coco
from ..results import PoseResult
from ..track import IouTracker
from ..video import read_frames

PoseModel = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # frame, boxes -> COCO kps, scores


def auto_label(
    source, detector, pose: PoseModel | None = None, min_box: float = 16.0, score_threshold: float | None = None,
    tracker: IouTracker | None = None, start: int = 0,
) -> Iterator[PoseResult]:
    """One ``PoseResult`` per frame (PoseTrack18 slots, origin "estimated") from single-frame models.

    ``detector``: a spec as for ``Pipeline`` ("movenet:PATH.onnx", "yolo:PATH.onnx", "hog") or a callable.
    ``pose``: a single-person model (``MoveNetPose``) run on every box; None uses the detector's own poses
    (MoveNet MultiPose and YOLO-pose give them). Boxes smaller than ``min_box`` pixels are dropped.
    ``tracker``: the track ids' state (its ``state()`` after each result is where a resumed run goes on from, with
    ``start``: the first frame to label; frames before it are decoded and skipped).
    """
    detect = make_detector(detector, score_threshold)
    if detect is None:
        raise InputError("auto_label needs a detector: 'movenet:PATH.onnx', 'yolo:PATH.onnx' or 'hog'")
    tracker = IouTracker() if tracker is None else tracker
    for frame in read_frames(source):
        if frame.index < start:
            continue
        h, w = frame.image.shape[:2]
        det: Detections = detect(frame.image)
        boxes = check_boxes(det.boxes, (h, w), f"frame {frame.index}", min_size=0.0) if len(det) else np.zeros((0, 4))
        keep = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= min_box
        det, boxes = det[keep], boxes[keep]
        if pose is not None:
            coco, scores = pose(frame.image, boxes)
        elif det.keypoints is not None:
            coco, scores = det.keypoints[..., :2], det.keypoints[..., 2]
        else:
            raise InputError(f"the detector {detector!r} gives boxes only: pass a pose model (e.g. MoveNet Thunder)")
        kps, kp_scores = posetrack_from_coco(np.asarray(coco).reshape(-1, 17, 2), np.asarray(scores).reshape(-1, 17))
        ids = tracker.update(boxes, det.scores)
        yield PoseResult(
            frame.index, frame.name, boxes, ids, kps, kp_scores, np.full(len(boxes), "estimated"), POSETRACK, (h, w)
        )


def add_head_boxes(document: dict, side: float = 0.7, box_fraction: float = 0.15) -> dict:
    """Give each person of a PoseTrack18 document (in place) the ``bbox_head`` that PCKh needs, made from its
    head joints: a square around the middle of head_bottom and head_top, ``side`` x their distance (about one
    head height for ``posetrack_from_coco``'s extrapolated head_top). Without both joints: a square of
    ``box_fraction`` x the person box's height at the top of the box (a head, for a standing person)."""
    b, top = POSETRACK.keypoints.index("head_bottom"), POSETRACK.keypoints.index("head_top")
    for ann in document["annotations"]:
        kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        if kps[b, 2] > 0 and kps[top, 2] > 0:
            centre, size = (kps[b, :2] + kps[top, :2]) / 2, side * np.linalg.norm(kps[top, :2] - kps[b, :2])
        elif ann.get("bbox") and (kps[:, 2] > 0).any():
            x, y, w, h = ann["bbox"]
            size = box_fraction * h
            centre = np.array([x + w / 2, y + size / 2])
        else:
            continue
        ann["bbox_head"] = [float(centre[0] - size / 2), float(centre[1] - size / 2), float(size), float(size)]
    return document
