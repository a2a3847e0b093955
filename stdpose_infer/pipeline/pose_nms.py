"""Pose-level non-maximum suppression: one pose per person when a detector put two boxes on them.

Detectors tuned to find small people also return a second, shifted box on some people; both crops then give
nearly the same pose, and the second counts as a false person (PoseTrack mAP keeps one pose per person). Top-down
pose pipelines drop such duplicates after the poses are known, by how many joints coincide.
"""

from __future__ import annotations

import numpy as np

from ..results import PoseResult


def pose_nms(result: PoseResult, same_joints: float = 0.5, radius: float = 0.1) -> PoseResult:
    """``result`` without the poses that repeat a higher-scored one: more than ``same_joints`` of their scored
    joints lie within ``radius`` x the person's size (the square root of its box area) of the other's."""
    n = len(result)
    if n < 2:
        return result
    scored = result.scores > 0
    mean = np.where(scored, result.scores, 0).sum(axis=1) / np.maximum(scored.sum(axis=1), 1)
    wh = np.clip(result.boxes[:, 2:] - result.boxes[:, :2], 1e-6, None)
    size = np.sqrt(wh[:, 0] * wh[:, 1])
    kept: list[int] = []
    for i in np.argsort(-mean, kind="stable"):
        both = scored[i][None] & scored[kept]  # (kept, J)
        near = np.linalg.norm(result.keypoints[i][None] - result.keypoints[kept], axis=-1) < radius * size[i]
        share = (near & both).sum(axis=1) / np.maximum(both.sum(axis=1), 1)
        if not kept or not (share > same_joints).any():
            kept.append(int(i))
    if len(kept) == n:
        return result
    return result[np.sort(np.array(kept))]
