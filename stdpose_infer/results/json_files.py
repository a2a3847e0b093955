"""Write results as PoseTrack18 JSON (one file per video: evaluation and training read it) or COCO JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..keypoints import COCO, POSETRACK
from .pose_result import PoseResult


def _document(results: Iterable[PoseResult], fmt, video_id: int = 1, min_score: float = 0.0) -> dict:
    images, annotations = [], []
    results = list(results)
    for r in results:
        image_id = video_id * 10_000 + r.frame_index
        h, w = r.image_size
        images.append(
            {
                "id": image_id,
                "file_name": r.frame_name,
                "frame_id": image_id,
                "vid_id": video_id,
                "nframes": len(results),
                "height": h,
                "width": w,
                "is_labeled": bool(len(r)),
            }
        )
        annotations.extend(r.annotations(image_id, fmt, first_id=len(annotations), min_score=min_score))
    category = {
        "id": 1,
        "name": "person",
        "keypoints": list(fmt.keypoints),
        "skeleton": [list(e) for e in fmt.skeleton],
    }
    return {"images": images, "annotations": annotations, "categories": [category]}


def posetrack_json(results: Iterable[PoseResult], video_id: int = 1, min_score: float = 0.0) -> dict:
    """A PoseTrack18 document: 17 slots (ears empty), track ids, per-keypoint scores, origins. Joints scored under
    ``min_score`` are written as not annotated (for labels that training reads)."""
    return _document(results, POSETRACK, video_id, min_score)


def coco_json(results: Iterable[PoseResult]) -> dict:
    """A COCO keypoint document (slots PoseTrack lacks, eyes and ears, are left empty). Each annotation also
    carries ``attributes`` {track_id, origin, keyframe}, where CVAT's and datumaro's COCO readers look for them."""
    doc = _document(results, COCO)
    for ann in doc["annotations"]:
        ann["area"] = ann["bbox"][2] * ann["bbox"][3]
        ann["iscrowd"] = 0
        ann["attributes"] = {"track_id": ann["track_id"], "origin": ann["origin"], "keyframe": ann["origin"] == "given"}
    return doc


def write_json(document: dict | list, path: str | Path) -> Path:
    """Write a JSON document atomically (a temp file renamed into place: no half-written JSON)."""
    return write_text(json.dumps(document), path)


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (a temp file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    tmp.write_text(text)
    tmp.replace(path)
    return path
