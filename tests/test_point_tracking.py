"""The labels carried by point tracking (``annotation.point_tracking``): a textured scene moves along a curve, so
linear interpolation between two labels misses mid-gap and tracking does not; the labels' own shift is carried."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stdpose_infer.annotation import FrameLabels
from stdpose_infer.annotation.interpolation import interpolated_pose
from stdpose_infer.annotation.point_tracking import LabelTracks, follow, grey, track_gap
from stdpose_infer.errors import InputError
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.pipeline import Fallback
from stdpose_infer.results import PoseResult

GAP = 10
H, W = 240, 320


def _texture(seed: int = 0) -> np.ndarray:
    """A smooth random texture larger than the frame (LK needs gradients everywhere)."""
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (H + 200, W + 200)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


def _offset(t: int) -> np.ndarray:
    """The scene's shift at frame t: along a parabola (6 px off the straight line between t = 0 and 10 mid-gap)."""
    a = t / GAP
    return np.array([30.0 * a, 24.0 * a * (1 - a)])


def _frames() -> list[np.ndarray]:
    """Frames 0..GAP of the texture shifted by ``_offset`` (whole pixels, so nothing is resampled)."""
    tex = _texture()
    out = []
    for t in range(GAP + 1):
        dx, dy = np.round(_offset(t)).astype(int)
        patch = tex[100 - dy : 100 - dy + H, 100 - dx : 100 - dx + W]
        out.append(np.repeat(np.clip(patch, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
    return out


def _points() -> np.ndarray:
    """17 joints spread over the middle of the frame at t = 0."""
    rng = np.random.default_rng(1)
    return np.stack([rng.uniform(80, 200, 17), rng.uniform(60, 160, 17)], 1)


def _labels(shift: float = 0.0) -> dict[int, FrameLabels]:
    table = {}
    for t in (0, GAP):
        xy = (_points() + np.round(_offset(t)) + [shift, 0.0])[None]
        box = np.array([[xy[0, :, 0].min(), xy[0, :, 1].min(), xy[0, :, 0].max(), xy[0, :, 1].max()]])
        table[t] = FrameLabels(np.array([7]), xy, np.ones((1, 17), bool), box)
    return table


def test_follow_tracks_a_shift_and_loses_points_that_leave():
    frames = [grey(f) for f in _frames()]
    points = np.array([[150.0, 120.0]])
    tracked = follow(frames, points)
    truth = points[0] + np.round([_offset(t) for t in range(GAP + 1)])
    np.testing.assert_allclose(tracked[:, 0], truth, atol=0.5)
    gone = follow(frames, np.array([[W - 3.0, 120.0]]))  # the scene moves right: this point leaves the frame
    assert np.isnan(gone[-1]).all()


def test_tracking_beats_interpolation_on_a_curved_path():
    frames = _frames()
    labels = _labels()
    carried = track_gap([grey(f) for f in frames], labels[0], labels[GAP])[7]
    mid = GAP // 2
    truth = _points() + np.round(_offset(mid))
    interp, _ = interpolated_pose(mid, labels, 7)
    assert np.abs(interp - truth).max() > 5.0  # interpolation misses the curve
    np.testing.assert_allclose(carried[mid], truth, atol=0.5)
    np.testing.assert_allclose(carried[0], labels[0].keypoints[0])  # exact at the labels
    np.testing.assert_allclose(carried[-1], labels[GAP].keypoints[0])


def test_moved_labels_move_the_tracked_joints():
    """Labels moved d px right: the tracked joints between them move by about d (the labels are read)."""
    frames = [grey(f) for f in _frames()]
    d = 10.0
    base = track_gap(frames, *_labels().values())[7]
    moved = track_gap(frames, *_labels(d).values())[7]
    shift = (moved - base)[1:-1, :, 0]
    assert abs(np.nanmean(shift) / d - 1.0) < 0.1


def _propagated(t: int) -> PoseResult:
    kps = np.zeros((1, 17, 2))
    box = np.array([[60.0, 40.0, 260.0, 200.0]])
    return PoseResult(t, f"f/{t}", box, np.array([7]), kps, np.full((1, 17), 0.9), np.array(["propagated"]),
                      POSETRACK, (H, W))  # fmt: skip


def test_fallback_carries_the_labels_by_tracking():
    frames, labels = _frames(), _labels()
    tracks = LabelTracks(labels)
    for i, f in enumerate(frames):
        tracks.add(i, f)
    mid = GAP // 2
    out = Fallback.for_model("track").apply(_propagated(mid), labels, tracks)
    valid = POSETRACK.valid_mask
    truth = _points() + np.round(_offset(mid))
    np.testing.assert_allclose(out.keypoints[0][valid], truth[valid], atol=0.5)
    with pytest.raises(InputError, match="LabelTracks"):
        Fallback("joint", carry="tracking").apply(_propagated(mid), labels)


def test_a_gap_over_the_memory_budget_is_interpolated_and_says_so():
    frames, labels = _frames(), _labels()
    tracks = LabelTracks(labels, budget_mb=0.1)  # under two grey frames
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, f in enumerate(frames):
            tracks.add(i, f)
    assert any("gap_memory_mb" in str(w.message) for w in caught)
    xy, _ = tracks.pose(GAP // 2, 7)
    np.testing.assert_allclose(xy, interpolated_pose(GAP // 2, labels, 7)[0])
