"""Label Studio JSON: image tasks with KeyPointLabels in, one task per frame with predictions out.

Label Studio stores points in percent of the image. A person is a ``RectangleLabels`` region whose id is the
track id; its keypoints name it as ``parentID``. Predictions carry ``model_version`` = the pose's origin and
``score`` = its confidence, so Label Studio's task list sorts the weakest frames first.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

import numpy as np

from ..errors import InputError
from ..keypoints import KeypointFormat
from ..results import ORIGINS, PoseResult
from .labels import LabeledPose, frame_matcher, unify

IMAGE, BOX, KEYPOINTS = "image", "person", "keypoints"  # the config's control names


def labeling_config(fmt: KeypointFormat) -> str:
    """The labelling config the exported tasks need: an image, a person box and one keypoint label per joint."""
    joints = "\n".join(
        f"    <Label value={quoteattr(name)}/>" for j, name in enumerate(fmt.keypoints) if j not in fmt.empty_slots
    )
    return (
        f'<View>\n  <Image name="{IMAGE}" value="$image" zoom="true"/>\n'
        f'  <RectangleLabels name="{BOX}" toName="{IMAGE}">\n    <Label value="person"/>\n  </RectangleLabels>\n'
        f'  <KeyPointLabels name="{KEYPOINTS}" toName="{IMAGE}" strokeWidth="2">\n{joints}\n  </KeyPointLabels>\n'
        "</View>\n"
    )


def label_studio_tasks(results: Sequence[PoseResult], image_url: str = "{name}") -> list[dict]:
    """One image task per frame (``data.image`` = ``image_url`` with ``{name}`` and ``{index}`` filled in), with one
    prediction per origin on that frame."""
    tasks = []
    for r in results:
        h, w = r.image_size
        if not (h and w):
            raise InputError(f"frame {r.frame_index}: unknown image size; Label Studio stores points in percent")
        predictions = []
        for origin in ORIGINS:
            people = np.flatnonzero(r.origin == origin)
            if len(people):
                result = [region for i in people for region in _regions(r, i, w, h)]
                score = float(np.mean([r.scores[i][r.keypoint_format.valid_mask].mean() for i in people]))
                predictions.append({"model_version": origin, "score": round(score, 4), "result": result})
        name = r.frame_name.split("/")[-1]
        name = name if "." in name else f"{r.frame_index:06d}.jpg"
        tasks.append({"data": {IMAGE: image_url.format(name=name, index=r.frame_index), "frame_index": r.frame_index},
                      "predictions": predictions})  # fmt: skip
    return tasks


def _regions(r: PoseResult, i: int, w: int, h: int) -> list[dict]:
    tid, fmt = int(r.track_ids[i]), r.keypoint_format
    x1, y1, x2, y2 = np.clip(r.boxes[i], 0, [w, h, w, h])
    size = {"original_width": w, "original_height": h, "image_rotation": 0}
    box = {"id": str(tid), "type": "rectanglelabels", "from_name": BOX, "to_name": IMAGE, **size,
           "value": {"x": 100 * x1 / w, "y": 100 * y1 / h, "width": 100 * (x2 - x1) / w,
                     "height": 100 * (y2 - y1) / h, "rotation": 0, "rectanglelabels": ["person"]}}  # fmt: skip
    regions = [box]
    for j in np.flatnonzero(fmt.valid_mask):
        x, y = r.keypoints[i, j]
        if r.scores[i, j] <= 0 or not (0 <= x <= w and 0 <= y <= h):
            continue  # unlabeled, or off the image (Label Studio keeps points inside it)
        regions.append({"id": f"{tid}_{fmt.keypoints[j]}", "parentID": str(tid), "type": "keypointlabels",
                        "from_name": KEYPOINTS, "to_name": IMAGE, **size, "score": round(float(r.scores[i, j]), 4),
                        "value": {"x": 100 * x / w, "y": 100 * y / h, "width": 0.5,
                                  "keypointlabels": [fmt.keypoints[j]]}})  # fmt: skip
    return regions


def read_label_studio(tasks: list, frame_names: Sequence[str], where: str) -> tuple[list[LabeledPose], list[str]]:
    """The people of a Label Studio JSON export (its ``annotations``, not ``predictions``), joint names as labelled.

    Tasks match frames by ``data.frame_index``, else by the image's file name or frame number. Keypoints are
    grouped into people by their ``parentID`` (a person box, whose id is the track id when it is a number);
    a task whose keypoints have no parent holds one person.
    """
    match = frame_matcher(frame_names)
    found: list[tuple[LabeledPose, list[str]]] = []
    for task in tasks:
        data = task.get("data", {}) if isinstance(task, dict) else {}
        image = data.get(IMAGE) or next((v for v in data.values() if isinstance(v, str)), "")
        frame = int(data["frame_index"]) if "frame_index" in data else match(str(image).split("?d=")[-1])
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")] if isinstance(task, dict) else []
        if not done:
            continue
        if frame is None:
            raise InputError(f"{where}: task {task.get('id')} ({image!r}) matches no frame; add data.frame_index or "
                             "name images by frame number (000123.jpg)")  # fmt: skip
        people: dict[str, dict] = {}
        boxes: dict[str, np.ndarray] = {}
        for region in done[-1].get("result", []):
            value, kind = region.get("value", {}), region.get("type")
            w, h = region.get("original_width"), region.get("original_height")
            if kind not in ("keypointlabels", "rectanglelabels"):
                continue
            if not (w and h):
                raise InputError(f"{where}: task {task.get('id')}: a region without original_width/height")
            if kind == "rectanglelabels":
                x, y = value["x"] * w / 100, value["y"] * h / 100
                boxes[str(region.get("id"))] = np.array([x, y, x + value["width"] * w / 100,
                                                        y + value["height"] * h / 100])  # fmt: skip
                continue
            name = value["keypointlabels"][0]
            person = people.setdefault(str(region.get("parentID", "")), {})
            if name in person:
                raise InputError(f"{where}: task {task.get('id')}: two {name!r} points in one person; draw a person "
                                 "box for each and make it the keypoints' parent")  # fmt: skip
            person[name] = (value["x"] * w / 100, value["y"] * h / 100)
        for parent, joints in people.items():
            track = int(parent) if parent.lstrip("-").isdigit() else None
            pose = LabeledPose(frame, track, np.array(list(joints.values()), np.float64), np.ones(len(joints), bool),
                               boxes.get(parent))  # fmt: skip
            found.append((pose, list(joints)))
    if not found:
        raise InputError(f"{where}: no completed annotation with keypoints; label some frames (KeyPointLabels)")
    return unify(found)
