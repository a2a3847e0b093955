"""PoseTrack18/21 and COCO person-keypoint JSON: one video's labels (images + annotations + the keypoint names)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..keypoints import annotated, visible
from .labels import LabeledPose, annotation_box, frame_matcher


def read_coco(doc: dict, frame_names: Sequence[str], where: str) -> tuple[list[LabeledPose], list[str]]:
    """The labeled people of a PoseTrack/COCO document and its joint names (``categories[0].keypoints``).

    Images match frames by ``frame_index``, else by file name (image folders) or the frame number in the name
    (PoseTrack's 000123.jpg). Track ids come from ``track_id`` or ``attributes.track_id`` (CVAT's and datumaro's
    COCO); without them, people are linked by box overlap.
    """
    try:
        images, annotations = doc["images"], doc["annotations"]
        names = list(doc["categories"][0]["keypoints"])
    except (KeyError, IndexError, TypeError):
        raise InputError(f"{where}: not PoseTrack/COCO keypoint JSON (needs images, annotations and "
                         "categories[0].keypoints)") from None  # fmt: skip
    match = frame_matcher(frame_names)
    index_of_image, unmatched = {}, []
    for image in images:
        if image.get("is_labeled") is False:
            continue  # PoseTrack lists every frame; only labeled ones carry poses
        index = int(image["frame_index"]) if "frame_index" in image else match(image.get("file_name", ""))
        if index is None or not 0 <= index < len(frame_names):
            unmatched.append(image.get("file_name") or image.get("id"))
            continue
        index_of_image[image["id"]] = index
    if unmatched:
        raise InputError(
            f"{where}: {len(unmatched)} labeled image(s) match no frame of the source ({len(frame_names)} frames), "
            f"e.g. {unmatched[:3]}; labels must name the source's frames (file names for image folders, frame "
            "numbers like 000123.jpg or a frame_index for videos)"
        )
    poses = []
    for ann in annotations:
        if ann.get("image_id") not in index_of_image or not ann.get("keypoints"):
            continue
        kps = np.reshape(np.asarray(ann["keypoints"], np.float64), (-1, 3))
        if len(kps) != len(names):
            raise InputError(f"{where}: annotation {ann.get('id')} has {len(kps)} keypoints, the category names "
                             f"{len(names)}")  # fmt: skip
        track = ann.get("track_id", (ann.get("attributes") or {}).get("track_id"))
        poses.append(LabeledPose(index_of_image[ann["image_id"]], None if track is None else int(track), kps[:, :2],
                                 visible(kps), annotation_box(ann), annotated(kps)))  # fmt: skip
    return poses, names
