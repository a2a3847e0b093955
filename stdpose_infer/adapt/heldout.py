"""Held-out labels: some labeled frames are hidden, propagated from their labeled neighbours (a gap of 2T) by the
model and by interpolation, and scored against the hidden labels. Per joint slot this says whether the model or
interpolation places joints better on *this* video, and whether an adaptation helped.

Errors are in units of the person's size (the square root of its label box's area); PCK counts a joint as correct
within ``PCK_RADIUS`` of that size (about half a head, as PoseTrack's PCKh at 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..annotation import FrameLabels
from ..annotation.interpolation import interpolated_pose, nearest_labeled
from ..pipeline.propagation import plan_propagation
from ..pipeline.triplet_poses import HeatmapFn, triplet_poses

PCK_RADIUS = 0.1  # of the person's size
MIN_JOINTS = 3  # a slot is trusted to the model only with at least this many held-out joints scored


def split_labels(table: dict[int, FrameLabels], every: int = 3) -> tuple[dict, dict]:
    """(kept, held out): every ``every``-th labeled frame strictly inside the labels is held out (the first and last
    stay, so each held-out frame has labeled neighbours on both sides)."""
    frames = sorted(table)
    inner = frames[1:-1]
    held = set(inner[every // 2 :: every]) if len(frames) >= 3 else set()
    return {t: table[t] for t in frames if t not in held}, {t: table[t] for t in frames if t in held}


@dataclass
class HeldOutErrors:
    """Per held-out joint: its slot and its error in person sizes, for one source of points (NaN: not placed)."""

    slots: np.ndarray  # (N,) joint slot
    errors: np.ndarray  # (N,) error / person size
    spans: np.ndarray  # (N,) (t - before) x (after - t): interpolation's error grows with it

    def per_slot(self, joints: int) -> tuple[np.ndarray, np.ndarray]:
        """(J,) mean error and (J,) count per slot (NaN mean where a slot has none)."""
        count = np.bincount(self.slots, minlength=joints)
        total = np.bincount(self.slots, np.nan_to_num(self.errors, nan=1.0), minlength=joints)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan), count

    def pck(self, mask: np.ndarray | None = None) -> float:
        """The share of joints within ``PCK_RADIUS`` (of the slots in ``mask``); NaN errors count as misses."""
        use = np.ones(len(self.slots), bool) if mask is None else np.asarray(mask)[self.slots]
        hits = np.nan_to_num(self.errors[use], nan=np.inf) <= PCK_RADIUS
        return float(hits.mean()) if use.any() else float("nan")

    def mean(self) -> float:
        return float(np.nan_to_num(self.errors, nan=1.0).mean()) if len(self.errors) else float("nan")


def _score(points: np.ndarray, truth: FrameLabels, i: int, span: int, rows: list) -> None:
    x1, y1, x2, y2 = truth.boxes[i]
    size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
    for j in np.flatnonzero(truth.visible[i]):
        rows.append((j, float(np.linalg.norm(points[j] - truth.keypoints[i, j])) / size, span))


def _errors(rows: list) -> HeldOutErrors:
    slots, errors, spans = zip(*rows) if rows else ((), (), ())
    return HeldOutErrors(np.array(slots, np.int64), np.array(errors, np.float64), np.array(spans, np.float64))


def _span(t: int, kept: dict) -> int:
    before, after = nearest_labeled(sorted(kept), t)
    return (t - before) * (after - t)


def interpolation_errors(kept: dict[int, FrameLabels], held: dict[int, FrameLabels]) -> HeldOutErrors:
    """The labels' linear interpolation at each held-out frame, scored against its labels."""
    rows: list = []
    for t, truth in sorted(held.items()):
        for i, tid in enumerate(truth.track_ids):
            interp = interpolated_pose(t, kept, int(tid))
            if interp is None:
                continue
            xy, score = interp
            _score(np.where((score > 0)[:, None], xy, np.nan), truth, i, _span(t, kept), rows)
    return _errors(rows)


def model_errors(
    heatmaps: HeatmapFn,
    frames: dict[int, np.ndarray],
    kept: dict[int, FrameLabels],
    held: dict[int, FrameLabels],
    input_wh: tuple[int, int],
    heatmap_wh: tuple[int, int],
) -> HeldOutErrors:
    """The model's propagation of each held-out frame from its kept neighbours (crop at the interpolated label box,
    as the Pipeline without a detector), scored against its labels. Only people labeled on a neighbour are scored,
    as for interpolation."""
    rows: list = []
    labeled = sorted(kept)
    for t, truth in sorted(held.items()):
        before, after = nearest_labeled(labeled, t)
        plan = plan_propagation(t, before, after, kept, np.zeros((0, 4)))
        if not len(plan.boxes):
            continue
        points, _ = triplet_poses(heatmaps, [frames[before], frames[t], frames[after]], plan.boxes, input_wh,
                                  heatmap_wh, plan.aux)  # fmt: skip
        for i, tid in enumerate(truth.track_ids):
            hit = np.flatnonzero(plan.track_ids == tid)
            if len(hit):
                _score(points[hit[0]], truth, i, (t - before) * (after - t), rows)
    return _errors(rows)


def model_from(model: HeldOutErrors, interpolation: HeldOutErrors, joints: int) -> np.ndarray:
    """(J,) per slot, the span (t - before) x (after - t) from which the model is expected to beat interpolation:
    the model's mean held-out error over interpolation's error per unit of span (the error of linear interpolation of
    a smooth path is |acceleration| / 2 x span). inf where a slot has under ``MIN_JOINTS`` held-out joints, or where
    the model lost to interpolation at every held-out span (no extrapolation beyond what was measured)."""
    m, count = model.per_slot(joints)
    per_span = np.bincount(interpolation.slots, np.nan_to_num(interpolation.errors, nan=1.0), minlength=joints)
    per_span = per_span / np.maximum(np.bincount(interpolation.slots, interpolation.spans, minlength=joints), 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        threshold = np.where(per_span > 0, m / per_span, np.inf)
    widest = np.zeros(joints)
    np.maximum.at(widest, interpolation.slots, interpolation.spans)
    return np.where((count >= MIN_JOINTS) & (threshold <= widest), threshold, np.inf)


def decided_errors(model: HeldOutErrors, interpolation: HeldOutErrors, threshold: np.ndarray) -> HeldOutErrors:
    """The decided rule on the held-out joints: the model's error where the span reaches the slot's threshold,
    interpolation's elsewhere (both lists score the same held-out joints in the same order)."""
    if not np.array_equal(model.slots, interpolation.slots):
        return interpolation
    use = model.spans >= threshold[model.slots]
    return HeldOutErrors(model.slots, np.where(use, model.errors, interpolation.errors), model.spans)
