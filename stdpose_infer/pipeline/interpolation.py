"""Linear interpolation of the labels (what annotation tools do for free), and the fallback to it where the model
is less reliable: the reference every propagation is measured against, and its safety net."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from ..annotation.labels import FrameLabels
from ..errors import InputError
from ..results import PoseResult

FALLBACKS = ("joint", "none", "interpolate")


def nearest_labeled(labeled: list[int], t: int) -> tuple[int, int]:
    """The labeled frames (sorted) just before and just after the unlabeled frame t; the nearest one on both
    sides where t lies before the first or after the last."""
    at = bisect.bisect(labeled, t)  # labeled[at - 1] < t < labeled[at]
    return labeled[at - 1] if at > 0 else labeled[0], labeled[at] if at < len(labeled) else labeled[-1]


def interpolate(a: float, left: np.ndarray, has_left: np.ndarray, right: np.ndarray, has_right: np.ndarray):
    """(J, 2) points a fraction ``a`` of the way from ``left`` to ``right``; a joint labeled on one side only is
    copied from it. Returns the points, (J,) labeled on either side, and (J,) labeled on both."""
    both = has_left & has_right
    xy = np.where(both[:, None], (1 - a) * left + a * right, np.where(has_left[:, None], left, right))
    return xy, has_left | has_right, both


def interpolated_pose(t: int, labels: dict[int, FrameLabels], track_id: int):
    """Track ``track_id``'s labels interpolated to frame ``t`` (a person labeled on one side is copied), as
    (J, 2) points, (J,) scores (1 on both sides, 0.5 one side, 0 unlabeled); None where it is labeled nowhere near."""
    before, after = nearest_labeled(sorted(labels), t)
    sides = []
    for frame in (before, after):
        hit = np.flatnonzero(labels[frame].track_ids == track_id)
        sides.append((labels[frame].keypoints[hit[0]], labels[frame].visible[hit[0]]) if len(hit) else None)
    if sides[0] is None and sides[1] is None:
        return None
    left, right = (sides[1], sides[1]) if sides[0] is None else (sides[0], sides[0]) if sides[1] is None else sides
    a = 0.0 if after == before else (t - before) / (after - before)
    xy, ok, both = interpolate(a, left[0], left[1], right[0], right[1])
    one_sided = sides[0] is None or sides[1] is None
    return xy, np.where(both & ~one_sided, 1.0, 0.5) * ok


@dataclass(frozen=True)
class Fallback:
    """Where propagation falls back to the interpolated labels.

    ``mode``: "joint" (default): per joint, the model's point is kept where it scores at least ``min_score`` and
    lies within ``max_shift`` x the person's size (the square root of its box area) of the interpolated point,
    else the interpolation is used; "none": the model's points as they are; "interpolate": the labels' linear
    interpolation only (the model still finds people the labels do not have).
    """

    mode: str = "joint"
    min_score: float = 0.3
    max_shift: float = 0.1

    def __post_init__(self) -> None:
        if self.mode not in FALLBACKS:
            raise InputError(f"fallback must be one of {FALLBACKS}, got {self.mode!r}")

    def apply(self, result: PoseResult, labels: dict[int, FrameLabels]) -> PoseResult:
        """``result`` with its propagated joints replaced by the interpolated labels where this rule says so."""
        if self.mode == "none":
            return result
        for i in np.flatnonzero(result.origin == "propagated"):
            interp = interpolated_pose(result.frame_index, labels, int(result.track_ids[i]))
            if interp is None:
                continue
            xy, score = interp
            use = score > 0
            if self.mode == "joint":
                x1, y1, x2, y2 = result.boxes[i]
                size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
                shift = np.linalg.norm(result.keypoints[i] - xy, axis=1)
                use &= (result.scores[i] < self.min_score) | (shift > self.max_shift * size)
            result.keypoints[i, use], result.scores[i, use] = xy[use], score[use]
        return result
