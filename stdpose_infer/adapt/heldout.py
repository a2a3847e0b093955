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
from ..annotation.interpolation import SPAN_EXPONENT, interpolated_pose, nearest_labeled
from ..annotation.point_tracking import LabelTracks
from ..pipeline.fallback import model_share
from ..pipeline.propagation import carried_aux, plan_propagation
from ..pipeline.triplet_poses import HeatmapFn, triplet_poses

PCK_RADIUS = 0.1  # of the person's size
MIN_JOINTS = 3  # a slot is trusted to the model only with at least this many held-out joints scored
Z = 1.645  # one-sided 95 % confidence bounds on the held-out means (``model_from``)
# The blend's per-slot mean squared errors are shrunk toward all slots' pooled value, as if it were this many more
# held-out joints of the slot: one or two held-out frames say little about one joint type, more about all of them.
PRIOR_JOINTS = 3


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
    offsets: np.ndarray | None = None  # (N, 2) (point - label) / person size: what a blend of two sources averages

    def per_slot(self, joints: int) -> tuple[np.ndarray, np.ndarray]:
        """(J,) mean error and (J,) count per slot (NaN mean where a slot has none)."""
        mean, _, count = _mean_and_se(np.nan_to_num(self.errors, nan=1.0), self.slots, joints)
        return np.where(count > 0, mean, np.nan), count

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
        rows.append((j, (points[j] - truth.keypoints[i, j]) / size, span))


def _errors(rows: list) -> HeldOutErrors:
    slots, offsets, spans = zip(*rows) if rows else ((), np.zeros((0, 2)), ())
    offsets = np.array(offsets, np.float64).reshape(-1, 2)
    return HeldOutErrors(np.array(slots, np.int64), np.linalg.norm(offsets, axis=1), np.array(spans, np.float64),
                         offsets)  # fmt: skip


def _span(t: int, kept: dict) -> int:
    before, after = nearest_labeled(sorted(kept), t)
    return (t - before) * (after - t)


def _carried_rows(pose, t: int, truth: FrameLabels, kept: dict, rows: list) -> None:
    for i, tid in enumerate(truth.track_ids):
        carried = pose(t, int(tid))
        if carried is None:
            continue
        xy, score = carried
        _score(np.where((score > 0)[:, None], xy, np.nan), truth, i, _span(t, kept), rows)


def interpolation_errors(kept: dict[int, FrameLabels], held: dict[int, FrameLabels]) -> HeldOutErrors:
    """The labels' linear interpolation at each held-out frame, scored against its labels."""
    rows: list = []
    for t, truth in sorted(held.items()):
        _carried_rows(lambda t, tid: interpolated_pose(t, kept, tid), t, truth, kept, rows)
    return _errors(rows)


class TrackingErrors:
    """The labels' point tracks (``annotation.point_tracking``) at each held-out frame, scored against its labels,
    as the video streams past: ``add`` every frame in order, then ``errors()`` (the same joints, in the same order,
    as ``interpolation_errors``). Memory holds one gap between kept labels."""

    def __init__(self, kept: dict[int, FrameLabels], held: dict[int, FrameLabels], budget_mb: float = 512) -> None:
        self.kept, self.held, self.rows = kept, held, []
        self.tracks = LabelTracks(kept, budget_mb)
        self.pending = sorted(held)

    def add(self, index: int, image: np.ndarray) -> None:
        self.tracks.add(index, image)
        while self.pending and nearest_labeled(self.tracks.labeled, self.pending[0])[1] <= index:
            t = self.pending.pop(0)  # its gap's frames are all in
            _carried_rows(self.tracks.pose, t, self.held[t], self.kept, self.rows)
            self.tracks.release(t)

    def errors(self) -> HeldOutErrors:
        for t in self.pending:  # past the last kept label (none, as split_labels holds out): copies
            _carried_rows(self.tracks.pose, t, self.held[t], self.kept, self.rows)
        self.pending = []
        return _errors(self.rows)


def model_errors(
    heatmaps: HeatmapFn,
    frames: dict[int, np.ndarray],
    kept: dict[int, FrameLabels],
    held: dict[int, FrameLabels],
    input_wh: tuple[int, int],
    heatmap_wh: tuple[int, int],
    carried: bool = False,
) -> HeldOutErrors:
    """The model's propagation of each held-out frame from its kept neighbours (crop at the interpolated label box,
    as the Pipeline without a detector; ``carried``: a ``label_prior`` model's aux labels, the labels interpolated to
    the frame), scored against its labels. Only people labeled on a neighbour are scored,
    as for interpolation."""
    rows: list = []
    labeled = sorted(kept)
    for t, truth in sorted(held.items()):
        before, after = nearest_labeled(labeled, t)
        plan = plan_propagation(t, before, after, kept, np.zeros((0, 4)))
        if not len(plan.boxes):
            continue
        aux = carried_aux(t, plan.track_ids, plan.aux, kept, None) if carried else plan.aux  # a label_prior model
        points, _ = triplet_poses(heatmaps, [frames[before], frames[t], frames[after]], plan.boxes, input_wh,
                                  heatmap_wh, aux)  # fmt: skip
        for i, tid in enumerate(truth.track_ids):
            hit = np.flatnonzero(plan.track_ids == tid)
            if len(hit):
                _score(points[hit[0]], truth, i, (t - before) * (after - t), rows)
    return _errors(rows)


def _rates(interpolation: HeldOutErrors) -> np.ndarray:
    return np.nan_to_num(interpolation.errors, nan=1.0) / np.maximum(interpolation.spans, 1.0) ** SPAN_EXPONENT


def interpolation_rate(interpolation: HeldOutErrors, joints: int) -> np.ndarray:
    """(J,) interpolation's held-out error per span ** ``SPAN_EXPONENT`` (NaN where a slot has none): its expected
    error at a frame is this x ((t - before) x (after - t)) ** ``SPAN_EXPONENT``."""
    rate, _, count = _mean_and_se(_rates(interpolation), interpolation.slots, joints)
    return np.where(count > 0, rate, np.nan)


def _mean_and_se(values: np.ndarray, slots: np.ndarray, joints: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per slot: mean, standard error of the mean (inf under 2 values) and count."""
    count = np.bincount(slots, minlength=joints)
    mean = np.bincount(slots, values, minlength=joints) / np.maximum(count, 1)
    square = np.bincount(slots, (values - mean[slots]) ** 2, minlength=joints)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(count >= 2, np.sqrt(square / np.maximum(count - 1, 1) / np.maximum(count, 1)), np.inf)
    return mean, se, count


def model_from(model: HeldOutErrors, interpolation: HeldOutErrors, joints: int) -> np.ndarray:
    """(J,) per slot, the span (t - before) x (after - t) from which the model is expected to beat interpolation.

    Interpolation's error grows with the span (as span ** ``SPAN_EXPONENT``); the model's does not. The threshold
    is where the model's held-out error, taken at the top of its confidence interval, meets interpolation's error
    at that span, its rate taken at the bottom of its own interval (one-sided 95 %, ``Z``): a few lucky held-out
    joints do not let the model in. inf where a slot has under ``MIN_JOINTS`` held-out joints, or where the
    threshold lies beyond every held-out span (no extrapolation beyond what was measured)."""
    m, m_se, count = _mean_and_se(np.nan_to_num(model.errors, nan=1.0), model.slots, joints)
    c, c_se, _ = _mean_and_se(_rates(interpolation), interpolation.slots, joints)
    low = c - Z * c_se
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        threshold = np.where(low > 0, ((m + Z * m_se) / low) ** (1 / SPAN_EXPONENT), np.inf)
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


def _robust_mean_square(squares: np.ndarray) -> float:
    """The mean square of a 2-D Gaussian error from the median of its squares (median / ln 2): a few failures (the
    blend's gate handles those) do not swamp the scale of the rest."""
    return float(np.median(squares) / np.log(2))


def _shrunk(values: np.ndarray, slots: np.ndarray, joints: int, robust: bool) -> np.ndarray:
    """Per slot, the mean (or ``robust`` mean square) of ``values``, shrunk toward the same over all slots by
    ``PRIOR_JOINTS`` pseudo-values."""
    centre = _robust_mean_square if robust else np.mean
    count = np.bincount(slots, minlength=joints)
    pooled = centre(values) if len(values) else np.nan
    per_slot = np.array([centre(values[slots == j]) if count[j] else 0.0 for j in range(joints)])
    return (count * per_slot + PRIOR_JOINTS * pooled) / (count + PRIOR_JOINTS)


def blend_terms(model: HeldOutErrors, interpolation: HeldOutErrors, joints: int,
                robust: bool = False) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(J,) the model's mean squared held-out error and (J,) interpolation's mean squared error per
    span ** (2 x ``SPAN_EXPONENT``), each shrunk toward its all-slot value (``PRIOR_JOINTS``): the "blend"
    fallback's weights (``pipeline.fallback.model_share``). A point not placed counts as an error of 1 person size.
    ``robust``: each mean square from the median square instead (``_robust_mean_square``), failures left to the
    gate; measured and not the default: it gave the model more weight, won on synthetic clips and lost 1.6-6.5
    points on the real held-out clip (benchmarks/results/2026-12-03_adaptation_robust.md)."""
    m = np.nan_to_num(model.errors, nan=1.0) ** 2
    c = np.nan_to_num(interpolation.errors, nan=1.0) ** 2 / np.maximum(interpolation.spans, 1.0) ** (2 * SPAN_EXPONENT)
    return _shrunk(m, model.slots, joints, robust), _shrunk(c, interpolation.slots, joints, robust)


def blended_errors(model: HeldOutErrors, interpolation: HeldOutErrors, model_mse: np.ndarray,
                   rate: np.ndarray) -> HeldOutErrors:  # fmt: skip
    """The blend on the held-out joints (both lists score the same joints in the same order): each joint's offset
    is the weighted mean of the two sources' offsets; a source that placed nothing leaves the other's."""
    if not np.array_equal(model.slots, interpolation.slots) or model.offsets is None or interpolation.offsets is None:
        return interpolation
    apart = np.linalg.norm(model.offsets - interpolation.offsets, axis=1)  # NaN where one is missing: handled below
    w = model_share(model_mse[model.slots], rate[model.slots], model.spans, apart)
    w = np.where(np.isnan(interpolation.errors), 1.0, np.where(np.isnan(model.errors), 0.0, w))[:, None]
    offsets = w * np.nan_to_num(model.offsets) + (1 - w) * np.nan_to_num(interpolation.offsets)
    offsets[np.isnan(model.errors) & np.isnan(interpolation.errors)] = np.nan
    return HeldOutErrors(model.slots, np.linalg.norm(offsets, axis=1), model.spans, offsets)
