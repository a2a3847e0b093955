"""Triangulation of joints seen by several calibrated cameras: a weighted DLT (each view's rows weighted by the
joint's 2D score), the view that disagrees most dropped while the reprojection error stays above a bound (a
RANSAC-like consensus over views, deterministic), then a few Gauss-Newton steps on the weighted reprojection
error. Points are undistorted first, so every step works with pinhole projections."""

from __future__ import annotations

import numpy as np

from .calibration import Camera

MAX_ERROR_PX = 15.0  # a view whose reprojection error keeps the joint above this is dropped (down to two views)
MIN_SCORE = 0.15  # 2D joints scored under this are not used (see analytics.kinematics.MIN_SCORE)


def _dlt(P: np.ndarray, xy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(N, 3) points from (V, 3, 4) projections, (N, V, 2) undistorted pixels and (N, V) weights (0: unused)."""
    rows = np.concatenate([xy[..., 0:1, None] * P[None, :, 2:3] - P[None, :, 0:1],
                           xy[..., 1:2, None] * P[None, :, 2:3] - P[None, :, 1:2]], axis=2)  # (N, V, 2, 4)
    rows = (rows * w[..., None, None]).reshape(len(xy), -1, 4)
    rows = np.nan_to_num(rows)
    _, _, vt = np.linalg.svd(rows)
    X = vt[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return X[:, :3] / X[:, 3:4]


def _homogeneous(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(N, V, 3) homogeneous pinhole projections of (N, 3) points by (V, 3, 4) projections."""
    return np.einsum("vij,nj->nvi", P, np.concatenate([X, np.ones((len(X), 1))], axis=1))


def _pinhole(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(N, V, 2) pinhole projections of (N, 3) points."""
    h = _homogeneous(P, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        return h[..., :2] / h[..., 2:3]


def _refine(P: np.ndarray, xy: np.ndarray, w: np.ndarray, X: np.ndarray, steps: int = 3) -> np.ndarray:
    """Gauss-Newton on sum_v w_v |proj_v(X) - xy_v|^2, from X."""
    for _ in range(steps):
        h = _homogeneous(P, X)
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = h[..., :2] / h[..., 2:3]
            # d(uv)/dX = (P[:2, :3] c - (a, b) P[2, :3]) / c^2
            J = (P[None, :, :2, :3] * h[..., 2:3, None] - h[..., :2, None] * P[None, :, 2:3, :3]) / h[..., 2:3,
                                                                                                      None] ** 2
        r = np.nan_to_num(uv - xy) * np.sqrt(w)[..., None]
        J = np.nan_to_num(J) * np.sqrt(w)[..., None, None]
        JtJ = np.einsum("nvki,nvkj->nij", J, J)
        Jtr = np.einsum("nvki,nvk->ni", J, r)
        ok = np.abs(np.linalg.det(JtJ)) > 1e-12
        step = np.zeros_like(X)
        step[ok] = np.linalg.solve(JtJ[ok], Jtr[ok][..., None])[..., 0]
        X = X - step
    return X


def triangulate(cameras: list[Camera], points: np.ndarray, scores: np.ndarray, max_error: float = MAX_ERROR_PX,
                min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(N, 3) world points from (V, N, 2) distorted pixels and (V, N) scores (NaN or a score under ``min_score``:
    not seen), with (N,) reprojection error in pixels (the mean over the views kept, against the pixels given) and
    (V, N) the views kept. NaN where fewer than two views see a point."""
    V, N = scores.shape
    P = np.stack([c.P for c in cameras])
    xy = np.stack([c.undistort(points[v]) for v, c in enumerate(cameras)], axis=1)  # (N, V, 2)
    use = (np.nan_to_num(scores.T) >= min_score) & np.isfinite(xy).all(2)  # (N, V)
    weights = np.where(use, np.nan_to_num(scores.T), 0.0)
    X = np.full((N, 3), np.nan)
    while True:
        enough = use.sum(1) >= 2
        X = np.full((N, 3), np.nan)
        if enough.any():
            X[enough] = _refine(P, xy[enough], weights[enough] * use[enough], _dlt(P, xy[enough],
                                                                                   weights[enough] * use[enough]))
        err = np.linalg.norm(_pinhole(P, X) - xy, axis=2)  # (N, V), undistorted pixels
        err = np.where(use, err, np.nan)
        worst = np.where(use, err, -np.inf).argmax(1)
        drop = enough & (use.sum(1) > 2) & (_mean(err, use) > max_error)
        if not drop.any():
            break
        use[np.flatnonzero(drop), worst[drop]] = False
        weights = np.where(use, weights, 0.0)
    X[use.sum(1) < 2] = np.nan
    return X, _mean(reprojection_errors(cameras, X, points).T, use), use.T


def reprojection_errors(cameras: list[Camera], X: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(V, N) pixels between each camera's projection of (N, 3) points and its (V, N, 2) distorted pixels."""
    projected = np.stack([c.project(X) for c in cameras])  # (V, N, 2) distorted
    return np.linalg.norm(projected - points, axis=2)


def _mean(values: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Row means of ``values`` where ``use`` (NaN for a row with none)."""
    count = use.sum(1)
    total = np.where(use, np.nan_to_num(values), 0.0).sum(1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)
