"""A constant frame offset between views (cameras started at different moments): for each view, the shift of
its frames against the first view's that brings its people closest to their epipolar lines."""

from __future__ import annotations

import numpy as np

from .calibration import Camera

MIN_SCORE = 0.15
# an offset other than 0 is taken only where it brings the people this much closer to their epipolar lines: on the
# pose2sim views the costs of offsets -3..3 lie within 2 % of each other (people moving slowly), and the minimum
# then moved with the 2D's noise (benchmarks/results/2026-12-06_triangulation*.md)
MARGIN = 0.05


def fundamental(a: Camera, b: Camera) -> np.ndarray:
    """F with x_b^T F x_a = 0 for undistorted pixels of one world point."""
    R = b.R @ a.R.T
    t = b.t - R @ a.t
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return np.linalg.inv(b.K).T @ tx @ R @ np.linalg.inv(a.K)


def epipolar_distance(F: np.ndarray, xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """(...,) symmetric distance (pixels) of undistorted points xb to the epipolar lines of xa, and back."""
    ha = np.concatenate([xa, np.ones((*xa.shape[:-1], 1))], -1)
    hb = np.concatenate([xb, np.ones((*xb.shape[:-1], 1))], -1)
    la, lb = ha @ F.T, hb @ F  # lines in b of points in a; lines in a of points in b
    d = np.abs((hb * la).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * (d / np.hypot(la[..., 0], la[..., 1]) + d / np.hypot(lb[..., 0], lb[..., 1]))


def _pair_cost(F, a_people, b_people) -> float:
    """The best-matching pair of people's median joint distance to the epipolar lines (inf if none)."""
    best = np.inf
    for xa, sa in a_people:
        for xb, sb in b_people:
            ok = (sa >= MIN_SCORE) & (sb >= MIN_SCORE)
            if ok.sum() >= 4:
                best = min(best, float(np.nanmedian(epipolar_distance(F, xa[ok], xb[ok]))))
    return best


def frame_offsets(cameras: list[Camera], people: list[list[list[tuple[np.ndarray, np.ndarray]]]],
                  max_offset: int = 3) -> tuple[list[int], list[dict[int, float]]]:  # fmt: skip
    """Per view, the offset o (frames) such that its frame t + o shows view 0's frame t, within +-``max_offset``
    (0 unless another brings the people ``MARGIN`` closer to their epipolar lines); and per view the cost of each offset tried (median over frames, pixels). ``people[v][t]``: (undistorted
    (J, 2) points, (J,) scores) of each person of view v on frame t."""
    offsets, costs = [0], [{0: 0.0}]
    for v in range(1, len(cameras)):
        F = fundamental(cameras[0], cameras[v])
        tried = {}
        for o in range(-max_offset, max_offset + 1):
            frames = [t for t in range(len(people[0])) if 0 <= t + o < len(people[v])]
            per_frame = [_pair_cost(F, people[0][t], people[v][t + o]) for t in frames]
            per_frame = [c for c in per_frame if np.isfinite(c)]
            tried[o] = float(np.median(per_frame)) if per_frame else np.inf
        best = min(tried, key=lambda o: (tried[o], abs(o)))
        offsets.append(best if tried[best] < (1 - MARGIN) * tried[0] else 0)
        costs.append(tried)
    return offsets, costs
