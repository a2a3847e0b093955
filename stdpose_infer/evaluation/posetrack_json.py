"""Read PoseTrack18/21 JSON (one file per video) into arrays in poseval's 15-joint order.

A keypoint counts as given unless it is stored as (0, 0, 0), poseval's rule for "not annotated";
the ear slots have no poseval joint and are dropped. Per-keypoint scores come from the
annotation's ``scores`` list (prediction files); without them every joint gets poseval's
minimum score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..keypoints import annotated

# poseval's joint ids (eval_helpers.Joint); PoseTrack's head_bottom is poseval's "neck".
JOINTS = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
    "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "head_bottom", "nose", "head_top",
)  # fmt: skip
MIN_SCORE = -9999.0  # poseval's score for a predicted joint without one


@dataclass
class FramePoses:
    """The people of one frame: (P, 15, 2) points, (P, 15) given-masks and scores, (P,) head sizes."""

    points: np.ndarray
    given: np.ndarray
    scores: np.ndarray
    head_size: np.ndarray
    ignore_regions: list[np.ndarray] = field(default_factory=list)

    @property
    def num_people(self) -> int:
        return len(self.points)


def _joint_table(data: dict, path: Path) -> np.ndarray:
    """For each slot of the file's keypoint list, its poseval joint id or -1."""
    try:
        names = data["categories"][0]["keypoints"]
    except (KeyError, IndexError, TypeError):
        raise InputError(f"{path}: no categories[0].keypoints: not a PoseTrack18/21 JSON file") from None
    table = np.array([JOINTS.index(n) if n in JOINTS else -1 for n in names])
    missing = [n for n in JOINTS if n not in names]
    if missing:
        raise InputError(f"{path}: keypoint names lack {missing}; expected the PoseTrack 17-slot (or 15) layout")
    return table


def _frame_key(image: dict) -> str:
    return str(image.get("file_name") or image["id"])


def load_video(path: str | Path, need_head_boxes: bool = False) -> dict[str, FramePoses]:
    """Frames of one PoseTrack JSON file keyed by file_name (or id), in the file's order.

    ``need_head_boxes``: ground truth must give ``bbox_head`` for every person with keypoints.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        images, annotations = data["images"], data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a readable PoseTrack18/21 JSON file (images + annotations): {e}") from e
    table = _joint_table(data, path)
    slots = np.flatnonzero(table >= 0)
    ids = table[slots]  # poseval joint of each used slot
    by_image: dict = {}
    for ann in annotations:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    frames: dict[str, FramePoses] = {}
    for image in images:
        people = by_image.get(image["id"], [])
        n = len(people)
        points, given = np.zeros((n, 15, 2)), np.zeros((n, 15), bool)
        scores, head = np.full((n, 15), MIN_SCORE), np.full(n, np.nan)
        for p, ann in enumerate(people):
            kps = np.asarray(ann.get("keypoints") or np.zeros(3 * len(table)), np.float64).reshape(-1, 3)
            if len(kps) != len(table):
                raise InputError(f"{path}: annotation {ann.get('id')} has {len(kps)} keypoints, not {len(table)}")
            points[p, ids] = kps[slots, :2]
            given[p, ids] = annotated(kps[slots])
            if ann.get("scores"):
                scores[p, ids] = np.asarray(ann["scores"], np.float64)[slots]
            if ann.get("bbox_head"):
                w, h = ann["bbox_head"][2], ann["bbox_head"][3]
                head[p] = 0.6 * np.hypot(w, h)
            elif need_head_boxes and given[p].any():
                raise InputError(f"{path}: ground-truth person {ann.get('id')} has keypoints but no bbox_head")
        xs, ys = image.get("ignore_regions_x") or [], image.get("ignore_regions_y") or []
        regions = [np.stack([x, y], axis=1).astype(np.float32) for x, y in zip(xs, ys) if len(x) >= 3]
        frames[_frame_key(image)] = FramePoses(points, given, scores, head, regions)
    return frames
