"""Sparse labels: the labeled people of some frames, in the model's keypoint slots.

Every reader (PoseTrack/COCO JSON, CVAT XML, Label Studio JSON) states its poses as ``LabeledPose`` records with
the file's own joint names; ``to_table`` maps the names to the model's slots, checks the frames and links
people into tracks where the file has no track ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..detect import box_iou
from ..errors import InputError
from ..keypoints import FORMATS, KeypointFormat, visible
from ..track import greedy_match

LINK_IOU = 0.1  # people without track ids: the same person on two labeled frames overlaps at least this much


@dataclass
class FrameLabels:
    """The labeled people of one frame, in the model's keypoint slots."""

    track_ids: np.ndarray  # (P,)
    keypoints: np.ndarray  # (P, J, 2)
    visible: np.ndarray  # (P, J) bool: the joint is labeled visible (aux heatmaps are rendered from these)
    boxes: np.ndarray  # (P, 4) xyxy (the file's box, else the keypoints' extent padded 7.5 %)
    known: np.ndarray | None = None  # (P, J) bool: the joint's position is given, visible or not (None: = visible)

    @property
    def positions(self) -> np.ndarray:
        """(P, J) bool: joints whose position the labels give (what interpolation reads)."""
        return self.visible if self.known is None else self.known


@dataclass
class LabeledPose:
    """One labeled person on one frame as a file states it: joints in the file's order (``names``)."""

    frame: int
    track_id: int | None  # None: the file has no track ids (linked by box overlap)
    xy: np.ndarray  # (K, 2) image pixels
    labeled: np.ndarray  # (K,) bool: the joint is labeled (not absent, not "outside")
    box: np.ndarray | None = None  # (4,) xyxy, or None: made from the keypoints
    known: np.ndarray | None = None  # (K,) bool: position given even where not visible (PoseTrack's v = 0 with x, y)


def unify(found: Sequence[tuple[LabeledPose, Sequence[str]]]) -> tuple[list[LabeledPose], list[str]]:
    """Poses whose joints each come in their own order (``(pose, names)``) -> poses over one list of names."""
    names: list[str] = []
    for _, own in found:
        names += [n for n in own if joint_name(n) not in map(joint_name, names)]
    poses = []
    for pose, own in found:
        at = [[joint_name(n) for n in names].index(joint_name(n)) for n in own]
        xy, labeled, known = np.zeros((len(names), 2)), np.zeros(len(names), bool), np.zeros(len(names), bool)
        xy[at], labeled[at] = pose.xy, pose.labeled
        known[at] = pose.labeled if pose.known is None else pose.known
        poses.append(LabeledPose(pose.frame, pose.track_id, xy, labeled, pose.box, known))
    return poses, names


def joint_name(name: str) -> str:
    """A joint name as the keypoint formats spell it: "Left Shoulder" and "left-shoulder" -> "left_shoulder"."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def joint_slots(names: Sequence[str], fmt: KeypointFormat, where: str) -> np.ndarray:
    """(K,) the model's slot of each of a file's joints (-1: a joint the model's format lacks, e.g. eyes)."""
    known = {n for f in FORMATS.values() for n in f.keypoints}
    normal = [joint_name(n) for n in names]
    unknown = [n for n, m in zip(names, normal) if m not in known]
    if unknown:
        raise InputError(
            f"{where}: joint name(s) {unknown} are not COCO or PoseTrack keypoints; rename them to one of "
            f"{sorted(known)} (spaces, dashes and case do not matter)"
        )
    valid = [n for i, n in enumerate(fmt.keypoints) if i not in fmt.empty_slots]
    slots = np.array([fmt.keypoints.index(n) if n in valid else -1 for n in normal], np.int64)
    if (slots >= 0).sum() < 2:
        raise InputError(f"{where}: only {int((slots >= 0).sum())} of the joints {list(names)} exist in the model's "
                         f"{fmt.name!r} keypoints {valid}; label at least two of them")  # fmt: skip
    return slots


def keypoint_box(xy: np.ndarray, labeled: np.ndarray, where: str) -> np.ndarray:
    """A person box, xyxy, from its labeled keypoints: their extent padded 7.5 % on each side."""
    if labeled.sum() < 2:
        raise InputError(f"{where}: no person box and fewer than 2 labeled keypoints to make one; label the box")
    lo, hi = xy[labeled].min(0), xy[labeled].max(0)
    pad = (hi - lo) * 0.075
    return np.concatenate([lo - pad, hi + pad])


def annotation_box(ann: dict) -> np.ndarray:
    """A PoseTrack/COCO annotation's person box, xyxy: its bbox, else its visible keypoints' extent padded 7.5 %."""
    if ann.get("bbox") and len(ann["bbox"]) == 4 and ann["bbox"][2] > 0 and ann["bbox"][3] > 0:
        x, y, w, h = ann["bbox"]
        return np.array([x, y, x + w, y + h], np.float64)
    kps = np.reshape(np.asarray(ann["keypoints"], np.float64), (-1, 3))
    return keypoint_box(kps[:, :2], visible(kps), f"label {ann.get('id')}")


def frame_number(name: str) -> int | None:
    """The frame number in a frame's file name (PoseTrack names frames 000123.jpg), or None."""
    digits = re.findall(r"\d+", Path(str(name)).stem)
    return int(digits[-1]) if digits else None


def frame_matcher(frame_names: Sequence[str]):
    """name -> frame index: by file name for image folders, else by the frame number in the name."""
    by_name = {Path(n).name: i for i, n in enumerate(frame_names)}
    if all("/" not in n for n in frame_names):  # an image folder: real file names
        return lambda name: by_name.get(Path(str(name)).name)
    return frame_number


def to_table(
    poses: Sequence[LabeledPose], names: Sequence[str], fmt: KeypointFormat, frames: int, where: str
) -> dict[int, FrameLabels]:
    """{frame index: labels} in the model's slots, frames in order; people without track ids linked by overlap."""
    slots = joint_slots(names, fmt, where)
    outside = sorted({p.frame for p in poses if not 0 <= p.frame < frames})
    if outside:
        raise InputError(f"{where}: labels on frame(s) {outside[:5]} but the source has {frames} frames (0-"
                         f"{frames - 1}); label the frames of this video")  # fmt: skip
    by_frame: dict[int, list[LabeledPose]] = {}
    for pose in poses:
        by_frame.setdefault(pose.frame, []).append(pose)
    table = {}
    for t in sorted(by_frame):
        people = by_frame[t]
        kps = np.zeros((len(people), fmt.num_keypoints, 2))
        vis = np.zeros((len(people), fmt.num_keypoints), bool)
        known = np.zeros_like(vis)
        for i, p in enumerate(people):
            have = slots >= 0  # coordinates as the file has them, even of unlabeled joints (PoseTrack keeps those)
            kps[i, slots[have]], vis[i, slots[have]] = p.xy[have], p.labeled[have]
            known[i, slots[have]] = (p.labeled if p.known is None else p.known)[have]
        boxes = np.array([p.box if p.box is not None else keypoint_box(p.xy, p.labeled, f"{where}, frame {t}")
                          for p in people], np.float64).reshape(-1, 4)  # fmt: skip
        ids = np.array([-1 if p.track_id is None else p.track_id for p in people], np.int64)
        table[t] = FrameLabels(ids, kps, vis, boxes, known)
    _link_tracks(table)
    return table


def _link_tracks(table: dict[int, FrameLabels]) -> None:
    """Give people without a track id (-1) the id of the most overlapping person on the previous labeled frame."""
    if not any((lab.track_ids < 0).any() for lab in table.values()):
        return
    next_id = 1 + max((int(lab.track_ids.max()) for lab in table.values() if len(lab.track_ids)), default=0)
    next_id = max(next_id, 1)  # every id may be -1 (none given)
    previous = None
    for lab in table.values():
        new = lab.track_ids < 0
        if previous is not None and new.any() and len(previous.boxes):
            taken = set(lab.track_ids[~new].tolist())
            free = np.array([tid not in taken for tid in previous.track_ids])
            iou = box_iou(lab.boxes, previous.boxes) * new[:, None] * free[None, :]
            for r, c in greedy_match(iou, LINK_IOU):
                lab.track_ids[r] = previous.track_ids[c]
        for r in np.flatnonzero(lab.track_ids < 0):
            lab.track_ids[r], next_id = next_id, next_id + 1
        previous = lab
