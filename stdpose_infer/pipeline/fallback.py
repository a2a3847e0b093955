"""Propagation's fallback: where the model is less reliable than interpolating the labels, use the interpolation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..annotation.interpolation import interpolated_pose, nearest_labeled
from ..annotation.labels import FrameLabels
from ..errors import InputError
from ..results import PoseResult

FALLBACKS = ("joint", "none", "interpolate")


@dataclass(frozen=True)
class Fallback:
    """Where propagation falls back to the labels' linear interpolation.

    ``mode``: "joint" (default): per joint, the model's point is kept where (a) the joint is labeled on one side
    only (past the first or last label, or a person labeled on one side: the "interpolation" is a copy), or, if
    ``min_gap`` is set, the nearest label is at least that many frames away; (b) the model scores it at least
    ``min_score``; and (c) it lies within ``max_shift`` x the person's size (the square root of its box area) x
    the frames to the nearest label of the interpolated point (a point farther off is the model's failure).
    Elsewhere the interpolation is used. The defaults (never the model between two labels; 0.2; 0.4) were
    measured with the starter model (benchmarks/propagation_fallback.py): trusting it between labels won on
    synthetic clips and lost on a real one. "none": the model's points as they are; "interpolate": the labels'
    interpolation wherever there is one (the model still fills joints and people the labels lack).
    """

    mode: str = "joint"
    min_gap: int | None = None
    min_score: float = 0.2
    max_shift: float = 0.4

    def __post_init__(self) -> None:
        if self.mode not in FALLBACKS:
            raise InputError(f"fallback must be one of {FALLBACKS}, got {self.mode!r}")

    def apply(self, result: PoseResult, labels: dict[int, FrameLabels]) -> PoseResult:
        """``result`` with its propagated joints replaced by the interpolated labels where this rule says so."""
        if self.mode == "none" or not labels:
            return result
        t = result.frame_index
        before, after = nearest_labeled(sorted(labels), t)
        gap = max(min(abs(t - before), abs(after - t)), 1)
        for i in np.flatnonzero(result.origin == "propagated"):
            interp = interpolated_pose(t, labels, int(result.track_ids[i]))
            if interp is None:
                continue
            xy, score = interp
            use = score > 0
            if self.mode == "joint":
                x1, y1, x2, y2 = result.boxes[i]
                size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
                shift = np.linalg.norm(result.keypoints[i] - xy, axis=1)
                one_side = (score < 1) | (before == after)  # past the labels, or the track on one side only
                model = one_side | (self.min_gap is not None and gap >= self.min_gap)
                model &= (result.scores[i] >= self.min_score) & (shift <= self.max_shift * size * gap)
                use &= ~model
            result.keypoints[i, use], result.scores[i, use] = xy[use], score[use]
        return result
