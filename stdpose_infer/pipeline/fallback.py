"""Propagation's fallback: where the model is less reliable than interpolating the labels, use the interpolation."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..annotation.interpolation import SPAN_EXPONENT, interpolated_pose, nearest_labeled
from ..annotation.labels import FrameLabels
from ..annotation.point_tracking import LabelTracks
from ..errors import InputError
from ..results import PoseResult

FALLBACKS = ("joint", "none", "interpolate", "blend", "decided")
# what a user can name on a command line: "blend" and "decided" need what an adaptation measured; "auto" picks it;
# "track" is "joint" with the labels carried by point tracking instead of linear interpolation
NAMED_FALLBACKS = ("auto", "joint", "track", "none", "interpolate")
CARRIES = ("interpolation", "tracking")  # how the labels reach the frames between them
# "blend": two points whose squared distance exceeds GATE x the sum of their expected squared errors (2-D, person
# sizes) disagree: the 95 % point of a chi-square with 2 degrees of freedom (5.99) x the variance per axis (half the
# 2-D mean square)
GATE = 5.99 / 2


@dataclass(frozen=True)
class Fallback:
    """Where propagation falls back to the labels' linear interpolation.

    ``mode``: "joint" (default): per joint, the model's point is kept where (a) the joint is labeled on one side
    only (past the first or last label, or a person labeled on one side: the "interpolation" is a copy), or, if
    ``min_gap`` is set, the nearest label is at least that many frames away; (b) the model scores it at least
    ``min_score``; and (c) it lies within ``max_shift`` x the person's size (the square root of its box area) x
    the frames to the nearest label of the interpolated point (a point farther off is the model's failure).
    Elsewhere the interpolation is used (``carry`` "interpolation"; "tracking": the labels' point tracks,
    ``annotation.point_tracking``, in every place this text says interpolation). The defaults (never the model between two labels; 0.2; 0.4) were
    measured with the starter model (benchmarks/propagation_fallback.py): trusting it between labels won on
    synthetic clips and lost on a real one. "none": the model's points as they are; "interpolate": the labels'
    interpolation wherever there is one (the model still fills joints and people the labels lack). "decided": as
    "joint", but between two labels the model is also kept for joint slot j on frames far enough from both labels:
    where (t - before) x (after - t) >= ``model_from[j]`` (one value per slot; inf: never). Linear interpolation's
    error grows with that product, the model's does not; the threshold is where the two cross on this video's
    held-out labels (``Pipeline.adapt``, ``adapt/heldout.py``). "blend" (what an adaptation returns): as "joint",
    but between two labels each joint is the mean of the model's point and the interpolation weighted by the
    inverse of their expected squared errors on this video's held-out labels (``model_share``): ``model_mse[j]`` for the
    model, ``interpolation_rate[j]`` x span ** (2 x ``span_exponent``) for interpolation (the span law, unless a
    caller measured its own); ``correlation``: of the two sources' errors (0: independent; measured 0.1-0.6 on
    held-out labels, but weights using it lost, benchmarks/experiments/blend_variants.py). Near a label the
    interpolation weighs most, mid-gap the model gains weight where it placed held-out joints well; a point the
    "joint" rule calls a failure (score, shift) gets no weight, and two points farther apart than both errors
    explain are not averaged (``GATE``): the source expected to be better takes the joint.
    """

    mode: str = "joint"
    min_gap: int | None = None
    min_score: float = 0.2
    max_shift: float = 0.4
    model_from: tuple[float, ...] = ()
    model_mse: tuple[float, ...] = ()
    interpolation_rate: tuple[float, ...] = ()
    span_exponent: float = SPAN_EXPONENT
    correlation: float = 0.0
    carry: str = "interpolation"

    def __post_init__(self) -> None:
        if self.mode not in FALLBACKS:
            raise InputError(f"fallback must be one of {FALLBACKS} (or 'track'), got {self.mode!r}")
        if self.carry not in CARRIES:
            raise InputError(f"carry must be one of {CARRIES}, got {self.carry!r}")
        if self.mode == "blend" and (len(self.model_mse) != len(self.interpolation_rate) or not self.model_mse):
            raise InputError("the 'blend' fallback needs, per joint, the model's and interpolation's held-out errors "
                             "(model_mse=..., interpolation_rate=...); they come from Pipeline.adapt or `propagate "
                             "--adapt`, else use 'joint'")
        if self.mode == "decided" and (not self.model_from or not isinstance(self.model_from, tuple)):
            raise InputError("the 'decided' fallback needs, per joint, where the labels trust the model (model_from="
                             "...); it comes from Pipeline.adapt or `propagate --adapt`, else use 'joint'")

    @classmethod
    def for_model(cls, mode: str, model=None) -> Fallback:
        """``mode``, where "auto" means "blend" for a model adapted to a video (its provenance holds the held-out
        errors, and whether tracking or interpolation carried the labels better there; "none" where the adaptation
        recorded that the model propagates alone; "decided" for one adapted before the blend existed), "none" for a
        ``label_prior`` model (it starts from the carried labels itself;
        measured: +8.5 mAP on average over "track" on 15 clip and gap rows, -5.4 to +23.4 a row;
        benchmarks/results/2026-12-06_propagation_model.md), else "track"; "track" means "joint" with the labels'
        point tracks (measured with the v2 starter: +1.0 mAP on average over "joint", -1.5 to +10.1 a row, on 27 clip
        and gap rows; benchmarks/results/2026-12-06_propagation_sources.md)."""
        if mode == "track":
            return cls("joint", carry="tracking")
        if mode != "auto":
            return cls(mode)
        record = json.loads((getattr(model, "provenance", None) or {}).get("adaptation", "{}"))
        if record.get("fallback") == "none":  # the held-out labels: the model alone beat its blend
            return cls("none")
        if record.get("slot_model_mse"):
            return cls("blend", model_mse=tuple(record["slot_model_mse"]),
                       interpolation_rate=tuple(record["slot_interpolation_mse_rate"]),
                       carry=record.get("carry", "interpolation"))  # fmt: skip
        if not record.get("model_from"):
            config = getattr(model, "config", None)
            return cls("none") if getattr(config, "label_prior", False) else cls("joint", carry="tracking")
        return cls("decided", model_from=tuple(float("inf") if v is None else float(v) for v in record["model_from"]))

    def apply(self, result: PoseResult, labels: dict[int, FrameLabels], tracks: LabelTracks | None = None) -> PoseResult:
        """``result`` with its propagated joints replaced by the carried labels where this rule says so
        (``tracks``: the labels' point tracks over the video, which carry "tracking" needs)."""
        if self.mode == "none" or not labels:
            return result
        if self.carry == "tracking" and tracks is None:
            raise InputError("carry 'tracking' follows the labels through the frames: pass the video's LabelTracks "
                             "(Pipeline.propagate does)")  # fmt: skip
        carried = tracks.pose if self.carry == "tracking" else (lambda t, tid: interpolated_pose(t, labels, tid))
        slots = {"decided": len(self.model_from), "blend": len(self.model_mse)}.get(self.mode)
        if slots is not None and slots != result.keypoints.shape[1]:
            raise InputError(f"the {self.mode!r} fallback has {slots} joint slots, the model has "
                             f"{result.keypoints.shape[1]}; adapt this model again")
        t = result.frame_index
        before, after = nearest_labeled(sorted(labels), t)
        gap = max(min(abs(t - before), abs(after - t)), 1)
        for i in np.flatnonzero(result.origin == "propagated"):
            interp = carried(t, int(result.track_ids[i]))
            if interp is None:
                continue
            xy, score = interp
            share = np.zeros(len(score))  # per joint: the model's weight (0: the interpolation)
            if self.mode != "interpolate":
                x1, y1, x2, y2 = result.boxes[i]
                size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
                shift = np.linalg.norm(result.keypoints[i] - xy, axis=1)
                one_side = (score < 1) | (before == after)  # past the labels, or the track on one side only
                model = one_side | (self.min_gap is not None and gap >= self.min_gap)
                if self.mode == "decided":
                    model = model | ((t - before) * (after - t) >= np.asarray(self.model_from))
                share = model.astype(float)
                if self.mode == "blend":
                    mid = model_share(np.asarray(self.model_mse), np.asarray(self.interpolation_rate),
                                      (t - before) * (after - t), shift / size, self.span_exponent,
                                      self.correlation)  # fmt: skip
                    share = np.where(one_side, 1.0, mid)
                share *= (result.scores[i] >= self.min_score) & (shift <= self.max_shift * size * gap)
            use = score > 0
            w = share[use, None]
            result.keypoints[i, use] = w * result.keypoints[i, use] + (1 - w) * xy[use]
            result.scores[i, use] = w[:, 0] * result.scores[i, use] + (1 - w[:, 0]) * score[use]
        return result


def model_share(model_mse: np.ndarray, interpolation_rate: np.ndarray, span: float | np.ndarray,
                apart: np.ndarray | None = None, exponent: float = SPAN_EXPONENT,
                correlation: float = 0.0) -> np.ndarray:  # fmt: skip
    """The model's weight per joint between two labels (``Fallback`` "blend"): the least-squares mean of two
    estimates whose errors have expected squares ``model_mse`` and, at ``span`` = (t - before) x (after - t),
    ``interpolation_rate`` x span ** (2 x ``exponent``), and ``correlation`` between them (0: independent, the
    inverse-variance weights; errors shared by both sources push the weight toward the better one), kept within
    [0, 1]. 0 where interpolation is exact (span 0) or the model unmeasured (NaN).

    ``apart``: the distance between the model's point and the interpolation (person sizes). Farther than both
    expected errors explain (``GATE``), one of them has failed (a swapped limb, a turn between labels): averaging
    would put the joint between a right and a wrong point, so the source expected to be better takes it whole."""
    interp = interpolation_rate * np.maximum(span, 0) ** (2 * exponent)
    shared = correlation * np.sqrt(interp * model_mse)
    apart_mse = interp + model_mse - 2 * shared  # the expected squared distance between the two points
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.nan_to_num((interp - shared) / apart_mse, nan=0.0), 0.0, 1.0)
        if apart is not None:
            share = np.where(apart**2 > GATE * apart_mse, (interp > model_mse).astype(float), share)
    return share
