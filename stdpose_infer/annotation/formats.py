"""``read_labels``: sparse labels from any supported annotation file, format detected from the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..keypoints import KeypointFormat
from .coco_files import read_coco
from .cvat_xml import read_cvat_xml
from .label_studio import read_label_studio
from .labels import FrameLabels, to_table

LABEL_FORMATS = "PoseTrack18/21 or COCO keypoint JSON, CVAT for video 1.1 XML, or a Label Studio JSON export"


def read_labels(
    labels: str | Path | dict | list, frame_names: Sequence[str], keypoint_format: KeypointFormat
) -> dict[int, FrameLabels]:
    """{frame index: labels} in the model's slots, from a label file (path) or its parsed JSON (dict or list).

    A table this function returned passes through. CVAT XML (.xml): keyframes of skeleton tracks; PoseTrack/COCO JSON (a dict with images and annotations);
    Label Studio (a JSON list of tasks). Joints map by name; frames outside the source, unknown joint names or a
    CVAT task of another length raise ``InputError`` saying what does not fit.
    """
    where = "labels"
    if isinstance(labels, dict) and labels and all(isinstance(v, FrameLabels) for v in labels.values()):
        joints = {lab.keypoints.shape[1] for lab in labels.values() if len(lab.track_ids)}
        if joints - {keypoint_format.num_keypoints}:
            raise InputError(f"{where}: a table of {sorted(joints)} joint slots for a model of "
                             f"{keypoint_format.num_keypoints}; read the file with this model's keypoint format")
        return dict(labels)  # already a table in the model's slots (read_labels' own output)
    if isinstance(labels, (str, Path)):
        path = Path(labels)
        where = str(path)
        if not path.is_file():
            raise InputError(f"{path}: no such label file; give {LABEL_FORMATS}")
        if path.suffix.lower() == ".xml":
            poses, names = read_cvat_xml(path, len(frame_names))
            return _table(poses, names, keypoint_format, frame_names, where)
        try:
            labels = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read the labels ({e}); give {LABEL_FORMATS}") from e
    if isinstance(labels, dict) and "annotations" in labels:
        poses, names = read_coco(labels, frame_names, where)
    elif isinstance(labels, list):
        poses, names = read_label_studio(labels, frame_names, where)
    else:
        raise InputError(f"{where}: not a label file this reads; give {LABEL_FORMATS}")
    return _table(poses, names, keypoint_format, frame_names, where)


def _table(poses, names, fmt, frame_names, where) -> dict[int, FrameLabels]:
    if not poses:
        raise InputError(f"{where}: no labeled pose in the file (CVAT: only keyframes that are not outside count)")
    return to_table(poses, names, fmt, len(frame_names), where)
