"""Linear interpolation of the labels between labeled frames: what annotation tools do for free, the reference
every propagation is measured against, and its fallback."""

from __future__ import annotations

import bisect

import numpy as np

from .labels import FrameLabels

# Interpolation's error at frame t grows as span ** SPAN_EXPONENT, span = (t - before) x (after - t). 1 would be a
# smooth path (error = |acceleration| / 2 x span); measured 0.60 on real labels: teacher poses on frames 0-109 of
# sports2d's demo (not a benchmark clip), labels every 3-30 frames (benchmarks/results/2026-12-03_interpolation_law.md).
SPAN_EXPONENT = 0.6


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
        sides.append((labels[frame].keypoints[hit[0]], labels[frame].positions[hit[0]]) if len(hit) else None)
    if sides[0] is None and sides[1] is None:
        return None
    left, right = (sides[1], sides[1]) if sides[0] is None else (sides[0], sides[0]) if sides[1] is None else sides
    a = 0.0 if after == before else (t - before) / (after - before)
    xy, ok, both = interpolate(a, left[0], left[1], right[0], right[1])
    one_sided = sides[0] is None or sides[1] is None
    return xy, np.where(both & ~one_sided, 1.0, 0.5) * ok
