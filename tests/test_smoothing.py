"""The One-Euro filter along tracks, and the jitter measure of stdpose-eval."""

from __future__ import annotations

import numpy as np
import pytest

from stdpose_infer.errors import InputError
from stdpose_infer.evaluation import jitter
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.results import PoseResult, posetrack_json, write_json
from stdpose_infer.track import OneEuro


def _track(points: np.ndarray) -> list[PoseResult]:
    """One person over frames: (T, 17, 2) points, a 100 x 200 px box around them."""
    out = []
    for t, p in enumerate(points):
        box = np.array([[p[:, 0].mean() - 50, p[:, 1].mean() - 100, p[:, 0].mean() + 50, p[:, 1].mean() + 100]])
        out.append(PoseResult(t, f"v/{t:06d}", box, np.array([3]), p[None].copy(), np.ones((1, 17)),
                              np.array(["estimated"]), POSETRACK, (480, 640)))  # fmt: skip
    return out


def _second_difference(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=-1).mean())


def test_one_euro_passes_a_still_pose_and_calms_a_noisy_track():
    rng = np.random.default_rng(0)
    still = np.broadcast_to(rng.uniform(100, 300, (1, 17, 2)), (20, 17, 2))
    smooth = OneEuro()
    out = np.stack([smooth(r).keypoints[0] for r in _track(still)])
    np.testing.assert_array_equal(out, still)
    walk = still + np.arange(20)[:, None, None] * [2.0, 0.5]  # steady motion
    noisy = walk + rng.normal(0, 3, walk.shape)
    smooth = OneEuro(min_cutoff=1.0, beta=1.0, fps=25)
    out = np.stack([smooth(r).keypoints[0] for r in _track(noisy)])
    assert _second_difference(out) < 0.5 * _second_difference(noisy)
    assert np.abs(out - walk)[5:].mean() < np.abs(noisy - walk)[5:].mean() * 1.5  # it follows the motion
    with pytest.raises(InputError, match="min_cutoff"):
        OneEuro(min_cutoff=0)


def test_one_euro_restarts_a_track_after_a_gap():
    pts = np.zeros((3, 17, 2)) + 100
    pts[2] += 40
    frames = _track(pts)
    frames[2].frame_index = 20  # seen again long after: no smoothing across the gap
    smooth = OneEuro(max_gap=5)
    out = [smooth(r).keypoints[0].copy() for r in frames]
    np.testing.assert_array_equal(out[2], pts[2])


def test_jitter_measures_second_differences_against_ground_truth(tmp_path):
    rng = np.random.default_rng(1)
    walk = rng.uniform(100, 300, (1, 17, 2)) + np.arange(12)[:, None, None] * [3.0, 0.0]
    noise = rng.normal(0, 2, walk.shape)
    gt = write_json(posetrack_json(_track(walk)), tmp_path / "gt" / "v.json")
    pred = write_json(posetrack_json(_track(walk + noise)), tmp_path / "pred" / "v.json")
    got = jitter(pred.parent, gt.parent)
    assert got["gt_jitter_px"] == pytest.approx(0, abs=1e-3)  # steady motion has no second difference
    want = _second_difference((walk + noise)[:, POSETRACK.valid_mask])  # the ears are PoseTrack's empty slots
    assert got["jitter_px"] == pytest.approx(want, rel=1e-3) and got["error_vs_gt_px"] == pytest.approx(want, rel=1e-3)
    assert got["matched"] == got["triples"] == 10 * 17 - 10 * 2  # PoseTrack's two empty ear slots
