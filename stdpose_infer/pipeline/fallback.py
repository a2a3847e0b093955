"""Propagation's fallback: where the model is less reliable than interpolating the labels, use the interpolation."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..annotation.interpolation import interpolated_pose, nearest_labeled
from ..annotation.labels import FrameLabels
from ..errors import InputError
from ..results import PoseResult

FALLBACKS = ("joint", "none", "interpolate", "decided")
# what a user can name on a command line: "decided" needs the thresholds an adaptation measured; "auto" picks it
NAMED_FALLBACKS = ("auto", "joint", "none", "interpolate")


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
    interpolation wherever there is one (the model still fills joints and people the labels lack). "decided": as
    "joint", but between two labels the model is also kept for joint slot j on frames far enough from both labels:
    where (t - before) x (after - t) >= ``model_from[j]`` (one value per slot; inf: never). Linear interpolation's
    error grows with that product, the model's does not; the threshold is where the two cross on this video's
    held-out labels (``Pipeline.adapt``, ``adapt/heldout.py``).
    """

    mode: str = "joint"
    min_gap: int | None = None
    min_score: float = 0.2
    max_shift: float = 0.4
    model_from: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in FALLBACKS:
            raise InputError(f"fallback must be one of {FALLBACKS}, got {self.mode!r}")
        if self.mode == "decided" and (not self.model_from or not isinstance(self.model_from, tuple)):
            raise InputError("the 'decided' fallback needs, per joint, where the labels trust the model (model_from="
                             "...); it comes from Pipeline.adapt or `propagate --adapt`, else use 'joint'")

    @classmethod
    def for_model(cls, mode: str, model=None) -> Fallback:
        """``mode``, where "auto" means "decided" for a model adapted to a video (its provenance says which joints
        the held-out labels decided), else "joint"."""
        if mode != "auto":
            return cls(mode)
        record = json.loads(getattr(model, "provenance", {}).get("adaptation", "{}"))
        if not record.get("model_from"):
            return cls("joint")
        return cls("decided", model_from=tuple(float("inf") if v is None else float(v) for v in record["model_from"]))

    def apply(self, result: PoseResult, labels: dict[int, FrameLabels]) -> PoseResult:
        """``result`` with its propagated joints replaced by the interpolated labels where this rule says so."""
        if self.mode == "none" or not labels:
            return result
        if self.mode == "decided" and len(self.model_from) != result.keypoints.shape[1]:
            raise InputError(f"the 'decided' fallback has {len(self.model_from)} joint slots, the model has "
                             f"{result.keypoints.shape[1]}; adapt this model again")
        t = result.frame_index
        before, after = nearest_labeled(sorted(labels), t)
        gap = max(min(abs(t - before), abs(after - t)), 1)
        for i in np.flatnonzero(result.origin == "propagated"):
            interp = interpolated_pose(t, labels, int(result.track_ids[i]))
            if interp is None:
                continue
            xy, score = interp
            use = score > 0
            if self.mode in ("joint", "decided"):
                x1, y1, x2, y2 = result.boxes[i]
                size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
                shift = np.linalg.norm(result.keypoints[i] - xy, axis=1)
                one_side = (score < 1) | (before == after)  # past the labels, or the track on one side only
                model = one_side | (self.min_gap is not None and gap >= self.min_gap)
                if self.mode == "decided":
                    model = model | ((t - before) * (after - t) >= np.asarray(self.model_from))
                model &= (result.scores[i] >= self.min_score) & (shift <= self.max_shift * size * gap)
                use &= ~model
            result.keypoints[i, use], result.scores[i, use] = xy[use], score[use]
        return result
