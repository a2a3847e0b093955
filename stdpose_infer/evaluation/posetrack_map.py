"""PoseTrack mAP exactly as the official poseval (``evaluateAP``, ``assignGTmulti``) defines it.

Per frame with ground truth: points inside ignore regions are dropped from ground truth and
predictions (people left without points go); a predicted joint is correct when it lies within
0.5 x head size of the ground truth (head size = 0.6 x the head box diagonal); each prediction
goes to the ground-truth person with the highest PCK, and each ground-truth person keeps only its
best prediction; unmatched predictions are false positives. AP per joint is VOC-style over the
scores pooled across all frames and videos; Total is the mean over the 15 joints.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .posetrack_json import JOINTS, MIN_SCORE, FramePoses, load_video

GROUPS = {
    "Head": ("head_top", "head_bottom", "nose"),
    "Shoulder": ("right_shoulder", "left_shoulder"),
    "Elbow": ("right_elbow", "left_elbow"),
    "Wrist": ("right_wrist", "left_wrist"),
    "Hip": ("right_hip", "left_hip"),
    "Knee": ("right_knee", "left_knee"),
    "Ankle": ("right_ankle", "left_ankle"),
}


def drop_ignored(frame: FramePoses, regions: list[np.ndarray]) -> FramePoses:
    """Forget points strictly inside any ignore polygon; drop people left without points."""
    if not regions or frame.num_people == 0:
        return frame
    pts = frame.points.reshape(-1, 2)
    inside = np.zeros(len(pts), bool)
    for poly in regions:
        inside |= np.array([cv2.pointPolygonTest(poly, (float(x), float(y)), False) > 0 for x, y in pts])
    given = frame.given & ~inside.reshape(frame.given.shape)
    keep = given.any(axis=1)
    return FramePoses(frame.points[keep], given[keep], frame.scores[keep], frame.head_size[keep], regions)


def match_frame(gt: FramePoses, pred: FramePoses, threshold: float = 0.5) -> np.ndarray:
    """(P, 15) correctness of each predicted joint after poseval's one-to-one person matching."""
    p, g = pred.num_people, gt.num_people
    if p == 0 or g == 0:
        return np.zeros((p, 15), bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.linalg.norm(pred.points[:, None] - gt.points[None], axis=-1) / gt.head_size[None, :, None]
    match = pred.given[:, None] & gt.given[None] & (dist <= threshold)  # (P, G, 15)
    n_gt = gt.given.sum(axis=1)
    pck = match.sum(axis=2) / np.maximum(n_gt, 1)[None]
    best = pck.argmax(axis=1)  # each prediction keeps only its best ground-truth person
    kept = np.zeros_like(pck)
    kept[np.arange(p), best] = pck[np.arange(p), best]
    pred_of_gt = kept.argmax(axis=0)  # each ground-truth person keeps only its best prediction
    pred_of_gt[kept.max(axis=0) == 0] = -1
    correct = np.zeros((p, 15), bool)
    for gi, pi in enumerate(pred_of_gt):
        if pi >= 0:
            correct[pi] = match[pi, gi]
    return correct


def voc_ap(scores: np.ndarray, correct: np.ndarray, num_positives: int) -> float:
    """poseval's VOCap over the precision/recall curve of score-sorted detections, in %."""
    if num_positives == 0:
        return float("nan")  # no ground truth for this joint: it does not enter the mean
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(correct[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / num_positives
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]) * 100)


def _mean_of_defined(values: list[float]) -> float:
    """Mean over the joints that have ground truth (poseval skips NaN APs); NaN if none has."""
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else float("nan")


@dataclass
class PoseTrackAP:
    """AP per joint and per group (in %), with the counts behind them."""

    per_joint: dict[str, float]
    groups: dict[str, float]
    num_frames: int
    num_videos: int
    ground_truth_joints: dict[str, int]

    @property
    def total(self) -> float:
        return self.groups["Total"]

    def table(self) -> str:
        """The paper's table layout: Head Shoulder Elbow Wrist Hip Knee Ankle Total."""
        names = list(self.groups)
        head = " ".join(f"{n:>9}" for n in names)
        row = " ".join(f"{self.groups[n]:9.1f}" for n in names)
        return f"{head}\n{row}\n({self.num_videos} videos, {self.num_frames} frames with ground truth)"

    def to_dict(self) -> dict:
        return {"per_joint": self.per_joint, "groups": self.groups, "Total": self.total,
                "num_frames": self.num_frames, "num_videos": self.num_videos,
                "ground_truth_joints": self.ground_truth_joints}  # fmt: skip


def evaluate_frames(pairs: list[tuple[FramePoses, FramePoses]], num_videos: int = 1) -> PoseTrackAP:
    """mAP over (ground truth, prediction) frame pairs."""
    scores, correct, n_gt = [], [], np.zeros(15, int)
    for gt, pred in pairs:
        gt, pred = drop_ignored(gt, gt.ignore_regions), drop_ignored(pred, gt.ignore_regions)
        ok = match_frame(gt, pred)
        n_gt += gt.given.sum(axis=0)
        scores.append(np.where(pred.given, pred.scores, np.nan))
        correct.append(ok)
    s = np.concatenate(scores) if scores else np.zeros((0, 15))
    c = np.concatenate(correct) if correct else np.zeros((0, 15), bool)
    per_joint = {}
    for j, name in enumerate(JOINTS):
        has = ~np.isnan(s[:, j])
        per_joint[name] = voc_ap(s[has, j], c[has, j], int(n_gt[j]))
    groups = {g: _mean_of_defined([per_joint[n] for n in names]) for g, names in GROUPS.items()}
    groups["Total"] = _mean_of_defined(list(per_joint.values()))
    gt_counts = {name: int(n_gt[j]) for j, name in enumerate(JOINTS)}
    return PoseTrackAP(per_joint, groups, len(pairs), num_videos, gt_counts)


def evaluate(
    gt_dir: str | Path, pred_dir: str | Path, exclude: Mapping[str, Collection[str]] | None = None
) -> PoseTrackAP:
    """PoseTrack mAP of the prediction files in ``pred_dir`` (one per ground-truth video, same name).

    ``exclude``: {video file name: frame file_names} left unscored (propagation: the given frames)."""
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    gt_files = sorted(gt_dir.glob("*.json"))
    if not gt_files:
        raise InputError(f"{gt_dir}: no ground-truth .json files (PoseTrack18/21, one per video)")
    pairs, unscored = [], 0
    for gt_path in gt_files:
        pred_path = pred_dir / gt_path.name
        if not pred_path.is_file():
            raise InputError(f"no prediction file {pred_path} for ground-truth video {gt_path.name}")
        gt_frames, pred_frames = load_video(gt_path, need_head_boxes=True), load_video(pred_path)
        skip = set((exclude or {}).get(gt_path.name, ()))
        for key, gt in gt_frames.items():
            if gt.num_people == 0 or key in skip:
                continue  # frames without ground truth (or excluded) are not scored
            if key not in pred_frames:
                raise InputError(f"{pred_path}: no frame {key!r}, which the ground truth labels; write every frame")
            pred = pred_frames[key]
            unscored += int((pred.scores[pred.given] == MIN_SCORE).sum())
            pairs.append((gt, pred))
    if unscored:
        warnings.warn(
            f"{unscored} predicted joints have no 'scores' entry and get poseval's minimum score; "
            "AP then depends on an arbitrary order among them",
            stacklevel=2,
        )
    return evaluate_frames(pairs, num_videos=len(gt_files))


def write_json(result: PoseTrackAP, path: str | Path) -> None:
    Path(path).write_text(json.dumps(result.to_dict(), indent=2))
