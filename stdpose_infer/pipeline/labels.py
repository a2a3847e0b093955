"""Sparse labels for propagate mode: PoseTrack18 JSON matched to the frames of a source."""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..keypoints import POSETRACK, KeypointFormat, convert_keypoints, visible


@dataclass
class FrameLabels:
    """The labeled people of one frame, in the model's keypoint slots."""

    track_ids: np.ndarray  # (P,)
    keypoints: np.ndarray  # (P, J, 2)
    visible: np.ndarray  # (P, J) bool
    boxes: np.ndarray  # (P, 4) xyxy (from the annotation's bbox, else the keypoints' extent x1.15)


def _frame_number(name: str) -> int | None:
    digits = re.findall(r"\d+", Path(name).stem)
    return int(digits[-1]) if digits else None


def load_labels(
    labels: str | Path | dict, frame_names: list[str], keypoint_format: KeypointFormat
) -> dict[int, FrameLabels]:
    """{frame index: labels} for the labeled frames of a PoseTrack18 file.

    Images are matched to the source's frames by file name (image folders) or, for videos and
    arrays, by the frame number in ``file_name`` (PoseTrack names frames 000123.jpg) or ``frame_index``.
    """
    if isinstance(labels, (str, Path)):
        path = Path(labels)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read the labels ({e}); give a PoseTrack18 JSON file") from e
    else:
        data, path = labels, "labels"
    try:
        images, annotations = data["images"], data["annotations"]
        slot_names = data["categories"][0]["keypoints"]
    except (KeyError, IndexError, TypeError):
        raise InputError(f"{path}: not PoseTrack18 JSON (needs images, annotations, categories[0].keypoints)") from None
    if list(slot_names) != list(POSETRACK.keypoints):
        raise InputError(f"{path}: keypoints must be PoseTrack18's 17 slots {list(POSETRACK.keypoints)}")
    by_name = {Path(n).name: i for i, n in enumerate(frame_names)}
    use_names = all("/" not in n for n in frame_names)  # image folder: real file names
    index_of_image = {}
    unmatched = []
    for image in images:
        if image.get("is_labeled") is False:
            continue  # PoseTrack lists every frame; only labeled ones carry poses
        name = Path(str(image.get("file_name", ""))).name
        if "frame_index" in image:
            index = int(image["frame_index"])
        elif use_names:
            index = by_name.get(name)
        else:
            index = _frame_number(name)
        if index is None or not 0 <= index < len(frame_names):
            unmatched.append(image.get("file_name") or image.get("id"))
            continue
        index_of_image[image["id"]] = index
    if unmatched:
        raise InputError(
            f"{path}: {len(unmatched)} labeled image(s) match no frame of the source ({len(frame_names)} frames), "
            f"e.g. {unmatched[:3]}; labels must name the source's frames (file names for image folders, frame "
            "numbers like 000123.jpg for videos)"
        )
    people: dict[int, list] = {}
    for ann in annotations:
        if ann.get("image_id") in index_of_image and ann.get("keypoints"):
            people.setdefault(index_of_image[ann["image_id"]], []).append(ann)
    result = {}
    for image_id, index in index_of_image.items():
        anns = people.get(index, [])
        kps = np.array([np.reshape(a["keypoints"], (-1, 3)) for a in anns], np.float64).reshape(-1, 17, 3)
        vis = visible(kps)
        points, vis_model = convert_keypoints(kps[..., :2], vis.astype(np.float64), POSETRACK, keypoint_format)
        boxes = np.array([annotation_box(a) for a in anns], np.float64).reshape(-1, 4)
        ids = np.array([int(a.get("track_id", i)) for i, a in enumerate(anns)], np.int64)
        result[index] = FrameLabels(ids, points, vis_model > 0, boxes)
    return dict(sorted(result.items()))


def nearest_labeled(labeled: list[int], t: int) -> tuple[int, int]:
    """The labeled frames (sorted) just before and just after the unlabeled frame t; the nearest one on both
    sides where t lies before the first or after the last."""
    at = bisect.bisect(labeled, t)  # labeled[at - 1] < t < labeled[at]
    return labeled[at - 1] if at > 0 else labeled[0], labeled[at] if at < len(labeled) else labeled[-1]


def annotation_box(ann: dict) -> np.ndarray:
    """A PoseTrack annotation's person box, xyxy: its bbox, else its visible keypoints' extent padded 7.5 %."""
    if ann.get("bbox") and len(ann["bbox"]) == 4 and ann["bbox"][2] > 0 and ann["bbox"][3] > 0:
        x, y, w, h = ann["bbox"]
        return np.array([x, y, x + w, y + h], np.float64)
    kps = np.reshape(np.asarray(ann["keypoints"], np.float64), (-1, 3))
    vis = visible(kps)
    if vis.sum() < 2:
        raise InputError(f"label {ann.get('id')}: no bbox and fewer than 2 visible keypoints to make one")
    lo, hi = kps[vis, :2].min(0), kps[vis, :2].max(0)
    pad = (hi - lo) * 0.075
    return np.concatenate([lo - pad, hi + pad])
