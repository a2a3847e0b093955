"""CVAT for video 1.1 XML: skeleton tracks in (keyframes only), every propagated frame out as a keyframe.

Layout (CVAT's XML format document): ``<meta><task><size>`` frames, a skeleton label whose joints are child
``points`` labels (``<parent>``); ``<track id label source>`` holding ``<skeleton frame keyframe outside>`` with
one ``<points label outside occluded points="x,y">`` per joint. CVAT fills the frames between keyframes by
linear interpolation when it imports, so every frame written here is a keyframe (and a frame after a person
leaves is written ``outside``), and CVAT's own interpolated frames are never read as labels.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..keypoints import COCO, KeypointFormat
from ..results import ORIGINS, PoseResult
from .labels import LabeledPose, unify

# where each joint sits in CVAT's skeleton drawing (a front view on a 100 x 100 canvas; the person's left on the right)
_DRAWING = {
    "nose": (50, 10), "left_eye": (53, 7), "right_eye": (47, 7), "left_ear": (57, 9), "right_ear": (43, 9),
    "head_top": (50, 1), "head_bottom": (50, 20), "left_shoulder": (62, 25), "right_shoulder": (38, 25),
    "left_elbow": (68, 42), "right_elbow": (32, 42), "left_wrist": (72, 58), "right_wrist": (28, 58),
    "left_hip": (58, 60), "right_hip": (42, 60), "left_knee": (60, 78), "right_knee": (40, 78),
    "left_ankle": (60, 96), "right_ankle": (40, 96),
}  # fmt: skip

OCCLUDED_BELOW = 0.3  # model joints scored under this are written occluded: low confidence, often hidden


def read_cvat_xml(path: str | Path, frames: int) -> tuple[list[LabeledPose], list[str]]:
    """The keyframe poses of a CVAT video export and the joint names they use.

    Skeleton tracks give one person per keyframe (joints ``outside`` are unlabeled). A plain ``points`` track
    with 17 points is read in COCO's keypoint order (CVAT's points shapes do not name their points).
    """
    where = str(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise InputError(f"{where}: cannot read CVAT XML ({e}); export the task as 'CVAT for video 1.1'") from e
    size = root.findtext("meta/task/size") or root.findtext("meta/job/size")
    if size is not None and int(size) != frames:
        raise InputError(f"{where}: the CVAT task has {size} frames but the source has {frames}; export the task "
                         "made from this video (all frames, no frame step)")  # fmt: skip
    tracks = root.findall("track")
    if not tracks:
        raise InputError(f"{where}: no <track>; export as 'CVAT for video 1.1' (not 'CVAT for images')")
    found: list[tuple[LabeledPose, list[str]]] = []
    for track in tracks:
        tid = int(track.get("id", len(found)))
        for shape in track:
            if shape.tag not in ("skeleton", "points") or shape.get("keyframe", "1") != "1":
                continue  # CVAT's interpolated frames are not labels
            if shape.get("outside", "0") == "1":
                continue
            frame = int(shape.get("frame", -1))
            if shape.tag == "skeleton":
                found.append(_skeleton_pose(shape.findall("points"), frame, tid))
            else:
                xy = _points(shape.get("points", ""), where)
                if len(xy) != COCO.num_keypoints:
                    raise InputError(
                        f"{where}: track {tid} frame {frame}: a points shape with {len(xy)} points; "
                        "plain points tracks must hold COCO's 17 keypoints in order (or use a skeleton)"
                    )
                found.append((LabeledPose(frame, tid, xy, np.ones(len(xy), bool)), list(COCO.keypoints)))
    return unify(found)


def _points(text: str, where: str) -> np.ndarray:
    try:
        return np.array([[float(v) for v in pair.split(",")] for pair in text.split(";") if pair], np.float64)
    except ValueError:
        raise InputError(f"{where}: bad points attribute {text[:40]!r}; expected 'x0,y0;x1,y1;...'") from None


def _skeleton_pose(joints: list, frame: int, tid: int) -> tuple[LabeledPose, list[str]]:
    names = [p.get("label", "") for p in joints]
    xy = np.array([_points(p.get("points", ""), f"track {tid}").reshape(-1, 2)[0] for p in joints]).reshape(-1, 2)
    labeled = np.array([p.get("outside", "0") != "1" for p in joints], bool)
    return LabeledPose(frame, tid, xy, labeled), names


def cvat_xml(
    results: Sequence[PoseResult], task_name: str = "stdpose-infer", min_score: float = 0.0, frames: int | None = None
) -> str:
    """CVAT for video 1.1 XML for a task of ``frames`` frames (default: up to the last result's): one skeleton track
    per person (``source="auto"``), every frame a keyframe,
    joints scored ``<= min_score`` (and slots the model lacks) ``outside``, model joints scored under 0.3
    ``occluded``, and a mutable ``origin`` attribute (given / propagated / estimated) to filter on."""
    if not results:
        raise InputError("no frames to write")
    fmt = results[0].keypoint_format
    joints = [j for j in range(fmt.num_keypoints) if j not in fmt.empty_slots]
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    size = frames or 1 + max(r.frame_index for r in results)
    root.append(_meta(fmt, joints, size, results[0].image_size, task_name))
    tracks: dict[int, list[tuple[PoseResult, int]]] = {}
    for r in results:
        for i, tid in enumerate(r.track_ids):
            tracks.setdefault(int(tid), []).append((r, i))
    for number, (_, shapes) in enumerate(sorted(tracks.items())):
        track = ET.SubElement(root, "track", id=str(number), label="person", source="auto")
        for k, (r, i) in enumerate(shapes):
            _skeleton(track, r, i, fmt, joints, min_score, outside=False)
            last = k + 1 == len(shapes)
            gap = not last and shapes[k + 1][0].frame_index != r.frame_index + 1
            if (gap or last) and r.frame_index + 1 < size:  # the person leaves: CVAT must not interpolate
                _skeleton(track, r, i, fmt, joints, min_score, outside=True)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _meta(fmt: KeypointFormat, joints: list[int], size: int, image_size, task_name: str) -> ET.Element:
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    for key, value in (("name", task_name), ("size", str(size)), ("mode", "interpolation"), ("overlap", "0"),
                       ("flipped", "False")):  # fmt: skip
        ET.SubElement(task, key).text = value
    labels = ET.SubElement(task, "labels")
    person = ET.SubElement(labels, "label")
    ET.SubElement(person, "name").text = "person"
    ET.SubElement(person, "type").text = "skeleton"
    attribute = ET.SubElement(ET.SubElement(person, "attributes"), "attribute")
    for key, value in (("name", "origin"), ("mutable", "True"), ("input_type", "select"),
                       ("default_value", ORIGINS[0]), ("values", "\n".join(ORIGINS))):  # fmt: skip
        ET.SubElement(attribute, key).text = value
    ET.SubElement(person, "svg").text = skeleton_svg(fmt, joints)
    for j in joints:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = fmt.keypoints[j]
        ET.SubElement(label, "type").text = "points"
        ET.SubElement(label, "attributes")
        ET.SubElement(label, "parent").text = "person"
    h, w = image_size
    original = ET.SubElement(task, "original_size")
    ET.SubElement(original, "width").text, ET.SubElement(original, "height").text = str(w), str(h)
    return meta


def skeleton_svg(fmt: KeypointFormat, joints: list[int]) -> str:
    """CVAT's skeleton drawing: a node per joint (data-label-name) and an edge per bone, on a 100 x 100 canvas."""
    node = {j: n + 1 for n, j in enumerate(joints)}
    xy = {j: _DRAWING.get(fmt.keypoints[j], (50, 50)) for j in joints}
    parts = [
        f'<line x1="{xy[a][0]}" y1="{xy[a][1]}" x2="{xy[b][0]}" y2="{xy[b][1]}" stroke="black" '
        f'data-type="edge" data-node-from="{node[a]}" stroke-width="0.5" data-node-to="{node[b]}"></line>'
        for a, b in fmt.skeleton
        if a in node and b in node
    ]
    parts += [
        f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{xy[j][0]}" cy="{xy[j][1]}" stroke-width="0.1" '
        f'data-type="element node" data-element-id="{node[j]}" data-node-id="{node[j]}" '
        f'data-label-name="{fmt.keypoints[j]}"></circle>'
        for j in joints
    ]
    return "".join(parts)


def _skeleton(track, r: PoseResult, i: int, fmt, joints, min_score: float, outside: bool) -> None:
    frame = r.frame_index + 1 if outside else r.frame_index
    shape = ET.SubElement(track, "skeleton", frame=str(frame), keyframe="1", outside=str(int(outside)),
                          occluded="0", z_order="0")  # fmt: skip
    given = str(r.origin[i]) == "given"
    for j in joints:
        score = float(r.scores[i, j])
        x, y = r.keypoints[i, j]
        ET.SubElement(shape, "points", label=fmt.keypoints[j], outside=str(int(outside or score <= min_score)),
                      occluded=str(int(not given and score < OCCLUDED_BELOW)), keyframe="1",
                      points=f"{x:.2f},{y:.2f}")  # fmt: skip
    ET.SubElement(shape, "attribute", name="origin").text = str(r.origin[i])
