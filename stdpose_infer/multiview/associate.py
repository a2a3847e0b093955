"""Which detection in each view is the same person: every choice of one person (or none) per view is triangulated,
and the choice whose joints reproject best is taken, its people removed, and so on while a choice reprojects
within the bound (Pose2Sim's approach, greedy). Two views at least."""

from __future__ import annotations

import itertools

import numpy as np

from .calibration import Camera
from .triangulate import triangulate

MAX_PERSON_ERROR_PX = 40.0  # a choice whose joints reproject further than this (median) is not one person
MIN_JOINTS = 4  # joints a choice must triangulate to count


def associate(cameras: list[Camera], keypoints: list[np.ndarray], scores: list[np.ndarray],
              max_error: float = MAX_PERSON_ERROR_PX) -> list[tuple[int | None, ...]]:  # fmt: skip
    """Per person found in several views, the index of its detection in each view (None: not in that view).
    ``keypoints[v]``: (n_v, J, 2) pixels of view v's people, ``scores[v]``: (n_v, J)."""
    free = [set(range(len(k))) for k in keypoints]
    found = []
    while True:
        choices = [c for c in itertools.product(*[[None, *sorted(f)] for f in free]) if sum(i is not None for i in c) >= 2]
        if not choices:
            return found
        J = keypoints[0].shape[1] if len(keypoints[0]) else next(k.shape[1] for k in keypoints if len(k))
        points = np.full((len(cameras), len(choices) * J, 2), np.nan)
        weights = np.zeros((len(cameras), len(choices) * J))
        for c, choice in enumerate(choices):
            for v, i in enumerate(choice):
                if i is not None:
                    points[v, c * J : (c + 1) * J] = keypoints[v][i]
                    weights[v, c * J : (c + 1) * J] = scores[v][i]
        _, error, used = triangulate(cameras, points, weights, max_error=np.inf)
        error = error.reshape(len(choices), J)
        joints = np.isfinite(error).sum(1)
        with np.errstate(all="ignore"):
            median = np.where(joints >= MIN_JOINTS, np.nanmedian(np.where(joints[:, None] > 0, error, 0), axis=1), np.inf)
        # more views first among choices that fit: a person seen by 3 views is not split into two pairs
        views = np.array([sum(i is not None for i in c) for c in choices])
        fits = median <= max_error
        if not fits.any():
            return found
        best = max(np.flatnonzero(fits), key=lambda c: (views[c], -median[c]))
        found.append(choices[best])
        for v, i in enumerate(choices[best]):
            if i is not None:
                free[v].discard(i)
