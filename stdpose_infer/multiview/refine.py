"""A person's 3D path fitted to its 2D over the whole clip at once, as anipose's optimised triangulation does: the
2D joints each frame's triangulation kept (a robust loss on their reprojection), smooth motion (small
accelerations) and bones of one length (a thigh does not grow between frames). It replaces the per-frame
triangulation's jitter and its occasional wrong pair of views (two views that agree by chance on a wrong point)
with what the neighbouring frames and the person's own skeleton support. Needs scipy (``least_squares``).

On the pose2sim clip (``benchmarks/triangulation.py``) the fit moves the 3D slightly closer to 2D it never read
(an independent model's, and a view left out) than the per-frame triangulation does, and holds bone lengths within
3 % over the clip; the price is about 2 px more reprojection error against the 2D it was fitted to."""

from __future__ import annotations

import numpy as np

from ..errors import require
from ..keypoints import KeypointFormat
from .calibration import Camera

# The weights are in the person's own scale (pixels per metre at their distance, the median over the views), so a
# fit reads alike near and far cameras, large and small images.
ROBUST_M = 0.02  # the reprojection loss turns from squared to linear beyond this (soft L1)
ACCELERATION = 0.2  # a metre of second difference between frames (at 60 frames/s) costs as much as 0.2 m off in 2D
BONE = 0.6  # a metre of a bone's length away from the person's length for it costs as much as 0.6 m off in 2D
MAX_EVALUATIONS = 50
CHUNK, OVERLAP = 600, 30  # frames fitted together; longer tracks in chunks that overlap by this much


def rigid_bones(fmt: KeypointFormat) -> list[tuple[int, int]]:
    """The format's limb and torso edges (slots 5-16, the same in every layout): the bones whose length a
    person keeps."""
    return [(a, b) for a, b in fmt.skeleton if a >= 5 and b >= 5]


def refine_track(cameras: list[Camera], xy: np.ndarray, weights: np.ndarray, X0: np.ndarray, fmt: KeypointFormat,
                 fps: float) -> np.ndarray:  # fmt: skip
    """(T, J, 3) one person's fitted points on T consecutive frames, from ``xy`` (T, V, J, 2) distorted pixels,
    ``weights`` (T, V, J) (a joint's 2D score; 0: not used) and the per-frame triangulation ``X0`` (T, J, 3; NaN
    where it had fewer than two views). A joint stays NaN where ``X0`` is: the fit reads such a frame only through
    its neighbours and reports no point there."""
    lengths = {}
    for a, b in rigid_bones(fmt):
        length = np.linalg.norm(X0[:, a] - X0[:, b], axis=1)
        if np.isfinite(length).any():  # both ends seen on one frame at least
            lengths[(a, b)] = float(np.median(length[np.isfinite(length)]))
    out = X0.copy()
    T = len(X0)
    starts = list(range(0, max(T - OVERLAP, 1), CHUNK - OVERLAP))
    for i, a in enumerate(starts):
        b = min(a + CHUNK, T)
        fitted = _fit(cameras, xy[a:b], weights[a:b], X0[a:b], lengths, fps)
        keep_from = 0 if i == 0 else OVERLAP // 2  # each overlap split between its two chunks
        out[a + keep_from : b] = fitted[keep_from:]
    return out


def _fit(cameras: list[Camera], xy: np.ndarray, weights: np.ndarray, X0: np.ndarray,
         lengths: dict[tuple[int, int], float], fps: float) -> np.ndarray:  # fmt: skip
    optimize = require("scipy.optimize", "analytics", "fitting 3D paths (multiview.refine)")
    sparse = require("scipy.sparse", "analytics", "fitting 3D paths (multiview.refine)")
    T = len(X0)
    joints = np.flatnonzero(np.isfinite(X0).all(-1).any(0))
    if len(joints) == 0 or T < 3:
        return X0.copy()
    n, frames = len(joints), np.arange(T)
    start = np.array(X0[:, joints])
    for j in range(n):  # gaps filled along time, as the starting point only
        ok = np.isfinite(start[:, j]).all(1)
        for d in range(3):
            start[:, j, d] = np.interp(frames, frames[ok], start[ok, j, d])
    where = {int(j): i for i, j in enumerate(joints)}
    bones = [(where[a], where[b], length) for (a, b), length in lengths.items() if a in where and b in where]
    bone_a = np.array([a for a, _, _ in bones], int)
    bone_b = np.array([b for _, b, _ in bones], int)
    uv = np.stack([cam.undistort(xy[:, v]) for v, cam in enumerate(cameras)], axis=1)[:, :, joints]  # (T, V, n, 2)
    w = np.where(np.isfinite(uv).all(-1), weights[:, :, joints], 0.0)
    ot, ov, oj = np.nonzero(w > 0)
    target, sw = uv[ot, ov, oj], np.sqrt(w[ot, ov, oj])[:, None]
    P = np.stack([c.P for c in cameras])[ov]  # (observations, 3, 4)
    depth = np.einsum("oj,oj->o", P[:, 2, :3], start[ot, oj]) + P[:, 2, 3]  # (the third row of K is 0 0 1)
    px_per_m = float(np.median(np.stack([c.K[0, 0] for c in cameras])[ov] / np.maximum(depth, 1e-3)))
    robust_px = ROBUST_M * px_per_m
    acceleration = ACCELERATION * px_per_m * (fps / 60.0) ** 2  # the same cost for the same acceleration in m/s^2
    bone_weight = BONE * px_per_m
    nx, B, n_obs = T * n * 3, len(bones), len(ot)

    def residuals(p: np.ndarray) -> np.ndarray:
        X = p[:nx].reshape(T, n, 3)
        h = np.einsum("oij,oj->oi", P[:, :, :3], X[ot, oj]) + P[:, :, 3]
        e = h[:, :2] / h[:, 2:3] - target
        norm = np.linalg.norm(e, axis=1, keepdims=True) + 1e-9
        robust = np.sqrt(2 * robust_px**2 * (np.sqrt(1 + (norm / robust_px) ** 2) - 1))  # soft L1, as a residual
        smooth = (X[2:] - 2 * X[1:-1] + X[:-2]) * acceleration
        length = np.linalg.norm(X[:, bone_a] - X[:, bone_b], axis=2) if B else np.zeros((T, 0))
        return np.concatenate([(e / norm * robust * sw).ravel(), smooth.ravel(), ((length - p[nx:]) * bone_weight).ravel()])

    column = (np.arange(T)[:, None] * n + np.arange(n)[None]) * 3  # (T, n) first column of each point
    rows, cols = [], []
    r = np.repeat(np.arange(2 * n_obs), 3)  # reprojection: 2 rows per observation, 3 columns
    rows.append(r)
    cols.append((np.repeat(column[ot, oj], 2)[:, None] + np.arange(3)).ravel())
    base = 2 * n_obs  # acceleration: a row per (t, joint, axis), columns at t-1, t, t+1
    t, j, d = np.meshgrid(np.arange(1, T - 1), np.arange(n), np.arange(3), indexing="ij")
    row = base + ((t - 1) * n + j) * 3 + d
    for s in (-1, 0, 1):
        rows.append(row.ravel())
        cols.append((column[t + s, j] + d).ravel())
    base += (T - 2) * n * 3  # bones: a row per (t, bone), both ends' columns and the length's
    if B:
        t, k = np.meshgrid(np.arange(T), np.arange(B), indexing="ij")
        row = base + t * B + k
        for end in (bone_a, bone_b):
            rows.append(np.repeat(row.ravel(), 3))
            cols.append((column[t, end[k]].ravel()[:, None] + np.arange(3)).ravel())
        rows.append(row.ravel())
        cols.append(nx + k.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    sparsity = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(base + T * B, nx + B)).tocsr()
    sparsity.data[:] = 1
    p0 = np.concatenate([start.ravel(), [length for _, _, length in bones]])
    fit = optimize.least_squares(residuals, p0, jac_sparsity=sparsity, method="trf", x_scale="jac",
                                 max_nfev=MAX_EVALUATIONS)  # fmt: skip
    out = np.full_like(X0, np.nan)
    out[:, joints] = np.where(np.isfinite(X0[:, joints]), fit.x[:nx].reshape(T, n, 3), np.nan)
    return out
