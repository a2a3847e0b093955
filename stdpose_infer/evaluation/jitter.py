"""Jitter: how much keypoints shake from frame to frame, and how far that is from the ground truth's motion.

Per track and joint, the second difference over three consecutive frames, ||x(t+1) - 2 x(t) + x(t-1)|| in
pixels: zero for still or steadily moving joints, large for jitter. Against ground truth, each predicted person is
matched to the ground-truth person whose box overlaps it most (IoU >= 0.5) on all three frames, and the error is
the norm of the difference of the two second differences.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..annotation.labels import annotation_box
from ..data.posetrack_folder import frame_order
from ..detect import box_iou
from ..errors import InputError
from ..keypoints import annotated
from ..track import greedy_match

MATCH_IOU = 0.5


def _tracks(doc: dict) -> tuple[dict[int, dict[int, np.ndarray]], dict[int, dict[int, np.ndarray]]]:
    """{frame: {track: (J, 3) keypoints}} and {frame: {track: (4,) box}}, frames numbered in frame order."""
    order = frame_order(doc["images"])
    index = {im["id"]: t for t, im in enumerate(order)}
    poses: dict[int, dict[int, np.ndarray]] = {}
    boxes: dict[int, dict[int, np.ndarray]] = {}
    for n, ann in enumerate(doc["annotations"]):
        t = index.get(ann.get("image_id"))
        if t is None or not ann.get("keypoints"):
            continue
        kps = np.reshape(np.asarray(ann["keypoints"], np.float64), (-1, 3))
        if annotated(kps).sum() < 2:
            continue
        tid = int(ann.get("track_id", -1 - n))
        poses.setdefault(t, {})[tid] = kps
        boxes.setdefault(t, {})[tid] = annotation_box(ann)
    return poses, boxes


def _second_differences(poses: dict[int, dict[int, np.ndarray]]):
    """{(t, track): (J, 2) second difference, (J,) joint present on all three frames}."""
    out = {}
    for t, people in poses.items():
        for tid, now in people.items():
            prev, nxt = poses.get(t - 1, {}).get(tid), poses.get(t + 1, {}).get(tid)
            if prev is None or nxt is None:
                continue
            ok = annotated(prev) & annotated(now) & annotated(nxt)
            out[(t, tid)] = (nxt[:, :2] - 2 * now[:, :2] + prev[:, :2], ok)
    return out


def jitter(pred: str | Path, gt: str | Path | None = None) -> dict:
    """Mean jitter (px) of the prediction files in ``pred`` (a folder or one file); with ``gt`` (same names), the
    ground truth's own jitter and the mean error of the predicted second differences against it."""
    pred = Path(pred)
    files = sorted(pred.glob("*.json")) if pred.is_dir() else [pred]
    if not files:
        raise InputError(f"{pred}: no prediction JSON files")
    norms, errors, truth = [], [], []
    for path in files:
        poses, boxes = _tracks(json.loads(path.read_text()))
        diffs = _second_differences(poses)
        norms += [np.linalg.norm(d[ok], axis=1) for d, ok in diffs.values()]
        if gt is None:
            continue
        gt_path = Path(gt) / path.name if Path(gt).is_dir() else Path(gt)
        if not gt_path.is_file():
            raise InputError(f"{gt_path}: no ground truth for {path.name}")
        gt_poses, gt_boxes = _tracks(json.loads(gt_path.read_text()))
        gt_diffs = _second_differences(gt_poses)
        truth += [np.linalg.norm(d[ok], axis=1) for d, ok in gt_diffs.values()]
        match = _match(boxes, gt_boxes)
        for (t, tid), (d, ok) in diffs.items():
            g = [match.get((s, tid)) for s in (t - 1, t, t + 1)]
            if g[0] is None or g[0] != g[1] or g[1] != g[2] or (t, g[1]) not in gt_diffs:
                continue
            gd, gok = gt_diffs[(t, g[1])]
            both = ok & gok
            errors.append(np.linalg.norm(d[both] - gd[both], axis=1))
    out = {"jitter_px": _mean(norms), "triples": sum(len(n) for n in norms)}
    if gt is not None:
        out |= {"gt_jitter_px": _mean(truth), "error_vs_gt_px": _mean(errors), "matched": sum(len(e) for e in errors)}
    return out


def _match(boxes: dict, gt_boxes: dict) -> dict[tuple[int, int], int]:
    """(frame, predicted track) -> ground-truth track, boxes matched greedily at IoU >= 0.5."""
    out = {}
    for t, mine in boxes.items():
        theirs = gt_boxes.get(t, {})
        if not theirs:
            continue
        a, b = list(mine), list(theirs)
        iou = box_iou(np.array([mine[k] for k in a]), np.array([theirs[k] for k in b]))
        for r, c in greedy_match(iou, MATCH_IOU):
            out[(t, a[r])] = b[c]
    return out


def _mean(parts: list[np.ndarray]) -> float:
    values = np.concatenate(parts) if parts else np.zeros(0)
    return float(values.mean()) if len(values) else float("nan")
