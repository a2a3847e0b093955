"""Propagation planning: for an unlabeled frame, which labeled people to propagate, at which boxes, reading
which labels as aux heatmaps; and which detected people the labels do not have."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..annotation.interpolation import interpolated_pose
from ..annotation.labels import FrameLabels
from ..annotation.point_tracking import LabelTracks
from ..detect import box_iou
from ..results import PoseResult
from ..track import greedy_match
from .batcher import AuxLabels

MATCH_IOU = 0.3  # a detection replaces an interpolated label box when they overlap at least this much


@dataclass
class PropagationPlan:
    """The labeled tracks of one unlabeled frame and the detections no track claimed."""

    track_ids: np.ndarray  # (P,)
    boxes: np.ndarray  # (P, 4) key-frame boxes: a matched detection, else the labels' interpolated box
    aux: AuxLabels  # the tracks' labels on the frames before and after
    unclaimed: np.ndarray  # (D, 4) detections matching no labeled track: people to estimate


def plan_propagation(t: int, before: int, after: int, labels: dict[int, FrameLabels], found: np.ndarray):
    """Frame ``t`` between the labeled frames ``before`` and ``after`` (equal at the ends of the labels).

    Every track labeled on either side is propagated; a track labeled on one side only reads that
    side twice. Its box is interpolated linearly between the two labels, then replaced by the
    detection (``found``, (D, 4)) that overlaps it most, matched greedily, highest IoU first.
    """
    left, right = labels[before], labels[after]
    ids = sorted(set(left.track_ids.tolist()) | set(right.track_ids.tolist()))
    a = 0.0 if after == before else (t - before) / (after - before)
    boxes, sides = [], []
    for tid in ids:
        li, ri = np.flatnonzero(left.track_ids == tid), np.flatnonzero(right.track_ids == tid)
        lsrc, lidx = (left, li[0]) if len(li) else (right, ri[0])
        rsrc, ridx = (right, ri[0]) if len(ri) else (left, li[0])
        boxes.append((1 - a) * lsrc.boxes[lidx] + a * rsrc.boxes[ridx])
        sides.append((lsrc.keypoints[lidx], lsrc.visible[lidx], rsrc.keypoints[ridx], rsrc.visible[ridx]))
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    claimed = np.zeros(len(found), bool)
    if len(found) and len(boxes):
        for r, c in greedy_match(box_iou(boxes, found), MATCH_IOU):
            boxes[r], claimed[c] = found[c], True
    joints = left.keypoints.shape[1]  # (P, J, 2) even when P is 0
    columns = [np.array([s[i] for s in sides]) for i in range(4)]
    if not sides:
        columns = [np.zeros((0, joints, 2)), np.zeros((0, joints), bool)] * 2
    return PropagationPlan(np.array(ids, np.int64), boxes, AuxLabels(*columns), found[~claimed])


def carried_aux(t: int, track_ids: np.ndarray, aux: AuxLabels, table: dict[int, FrameLabels],
                tracks: LabelTracks | None) -> AuxLabels:  # fmt: skip
    """A ``label_prior`` model's aux labels: both slots the labels carried to frame ``t`` (point tracking where the
    gap's frames are in, else interpolation), occluded joints with a position included; a joint labeled on neither
    side stays unseen (the model then starts from the key frame's own heatmap for it)."""
    points, seen = aux.left_points.copy(), np.zeros(aux.left_visible.shape, bool)
    for i, tid in enumerate(track_ids):
        pose = _carried_pose(t, int(tid), table, tracks)
        if pose is not None:
            points[i], seen[i] = pose[0], pose[1] > 0
    return AuxLabels(points, seen, points, seen)


def label_support(result: PoseResult, table: dict[int, FrameLabels], tracks: LabelTracks | None) -> PoseResult:
    """A ``label_prior`` model's propagated joints scored by the labels behind them as well: the heatmap's peak x
    the carried labels' support (1: labeled on both sides, 0.5: one side, as interpolation scores its points; a joint
    labeled on neither side keeps the model's score). Without it every carried joint scores ~1 (the rendered label's
    peak), a copy from one label as high as a point between two, and PoseTrack AP, which ranks joints by score,
    falls (measured: benchmarks/results/2026-12-06_propagation_model.md)."""
    t = result.frame_index
    for i in np.flatnonzero(result.origin == "propagated"):
        pose = _carried_pose(t, int(result.track_ids[i]), table, tracks)
        if pose is not None:
            result.scores[i] = np.where(pose[1] > 0, result.scores[i] * pose[1], result.scores[i])
    return result


def _carried_pose(t: int, tid: int, table: dict[int, FrameLabels], tracks: LabelTracks | None):
    """Track ``tid``'s labels carried to frame ``t``: (J, 2) points and (J,) support, or None."""
    return tracks.pose(t, tid) if tracks is not None else interpolated_pose(t, table, tid)
