"""Terms for the blend fallback's weights that were tried and not adopted (``adaptation.py rescore`` applies them
to saved runs; benchmarks/results/2026-12-03_adaptation_blend_variants.md):

- interpolation's error measured on every label, with its growth per video (``interpolation_terms``): lost
  1.3-3.2 points on the real held-out clip at T = 3 and 7;
- the correlation of the model's and interpolation's held-out errors (``offset_correlation``, for
  ``Fallback(correlation=...)``): 0.1-0.6 measured, and the least-squares weights with it lost up to 2.5 points.

Each inner labeled frame is a free test of interpolation: its label against the interpolation of the labeled
frames around it (one label away on each side: span T x T; two away: 2T x 2T). Every labeled frame takes part,
not only the few held out for the model, and the two scales say how fast interpolation's error grows with the
span on *this* video (the exponent), instead of a law measured on another clip. The blend carries both down to
the spans between two neighbouring labels (at most T/2 x T/2).

Errors are in units of the person's size (the square root of its label box's area), as in ``heldout``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stdpose_infer.adapt.heldout import PRIOR_JOINTS, HeldOutErrors
from stdpose_infer.annotation import FrameLabels
from stdpose_infer.annotation.interpolation import SPAN_EXPONENT

MIN_PAIRS = 20  # held-out joints both sources placed, to measure how their errors go together
MAX_CORRELATION = 0.9  # beyond, the least-squares weights rest on too fine a difference
EXPONENT_RANGE = (0.25, 1.0)  # 1: a smooth path (error ~ acceleration x span); towards 0: label noise dominates
MIN_RESIDUALS = 20  # per scale, to measure the exponent; else ``SPAN_EXPONENT``


@dataclass
class Residuals:
    """Per labeled joint tested: its slot, its squared error (person sizes) and its span (t - before) x (after - t)."""

    slots: np.ndarray
    squares: np.ndarray
    spans: np.ndarray


def label_residuals(table: dict[int, FrameLabels], step: int = 1) -> Residuals:
    """Each labeled frame's joints against the interpolation of the labels ``step`` labeled frames before and after
    it (the same track; the joint's position given on both sides, labeled visible on the tested frame)."""
    frames = sorted(table)
    rows: list = []
    for k in range(step, len(frames) - step):
        b, t, a = frames[k - step], frames[k], frames[k + step]
        alpha = (t - b) / (a - b)
        here = table[t]
        for i, tid in enumerate(here.track_ids):
            left, right = (np.flatnonzero(table[f].track_ids == tid) for f in (b, a))
            if not len(left) or not len(right):
                continue
            lo, hi = table[b], table[a]
            both = here.visible[i] & lo.positions[left[0]] & hi.positions[right[0]]  # as interpolation reads
            x1, y1, x2, y2 = here.boxes[i]
            size = np.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
            interp = (1 - alpha) * lo.keypoints[left[0]] + alpha * hi.keypoints[right[0]]
            error = np.linalg.norm(interp - here.keypoints[i], axis=1) / size
            rows += [(j, error[j] ** 2, (t - b) * (a - t)) for j in np.flatnonzero(both)]
    slots, squares, spans = zip(*rows) if rows else ((), (), ())
    return Residuals(np.array(slots, np.int64), np.array(squares, np.float64), np.array(spans, np.float64))


def span_exponent(one: Residuals, two: Residuals) -> float:
    """How interpolation's error grows with the span on this video: error ~ span ** exponent, from the mean squares
    at one and two labels apart (their spans' geometric means), clipped to ``EXPONENT_RANGE``;
    ``SPAN_EXPONENT`` where either scale has under ``MIN_RESIDUALS`` joints (fewer than 5 labeled frames)."""
    if min(len(one.squares), len(two.squares)) < MIN_RESIDUALS:
        return SPAN_EXPONENT
    ratio = np.mean(np.log(two.spans)) - np.mean(np.log(one.spans))
    if ratio <= np.log(1.5) or np.mean(one.squares) <= 0:
        return SPAN_EXPONENT
    exponent = 0.5 * np.log(np.mean(two.squares) / np.mean(one.squares)) / ratio
    return float(np.clip(exponent, *EXPONENT_RANGE))


def interpolation_terms(table: dict[int, FrameLabels], joints: int,
                        exponent: float | None = None) -> tuple[np.ndarray, float, int]:  # fmt: skip
    """(J,) interpolation's mean squared error per span ** (2 x exponent), each slot's shrunk toward all slots'
    (``PRIOR_JOINTS``; a slot never tested takes all slots'; NaN where no joint at all is), the exponent, and how many joints were tested: the
    interpolation half of the "blend" fallback's weights (``pipeline.fallback.model_share``). ``exponent``: given
    instead of measured."""
    one = label_residuals(table, 1)
    exponent = span_exponent(one, label_residuals(table, 2)) if exponent is None else exponent
    if not len(one.squares):
        return np.full(joints, np.nan), exponent, 0
    rates = one.squares / np.maximum(one.spans, 1.0) ** (2 * exponent)
    count = np.bincount(one.slots, minlength=joints)
    per_slot = np.bincount(one.slots, rates, minlength=joints) / np.maximum(count, 1)
    return (count * per_slot + PRIOR_JOINTS * rates.mean()) / (count + PRIOR_JOINTS), exponent, len(rates)


def offset_correlation(model: HeldOutErrors, interpolation: HeldOutErrors) -> float:
    """How far the model's and interpolation's held-out errors go together: the correlation of their 2-D offsets
    from the labels, each scaled by its slot's root mean square (so every joint type counts alike), pooled over
    joints both placed; within +-``MAX_CORRELATION``; 0 under ``MIN_PAIRS`` such joints. The model is cropped at
    and reads the labels that interpolation reads, so where interpolation errs it often errs the same way."""
    both = ~np.isnan(model.errors) & ~np.isnan(interpolation.errors)
    if model.offsets is None or interpolation.offsets is None or both.sum() < MIN_PAIRS:
        return 0.0
    slots, scaled = model.slots[both], []
    count = np.bincount(slots)
    for offsets in (model.offsets[both], interpolation.offsets[both]):
        rms = np.sqrt(np.bincount(slots, (offsets**2).sum(1)) / np.maximum(count, 1))
        scaled.append(offsets / np.maximum(rms[slots], 1e-9)[:, None])
    m, i = scaled
    rho = (m * i).sum() / np.sqrt((m * m).sum() * (i * i).sum())
    return float(np.clip(rho, -MAX_CORRELATION, MAX_CORRELATION))
