"""3D people from the 2D poses of several calibrated views: the views put in step (``sync``), each frame's people
matched across views (``associate``) and triangulated (``triangulate``), and followed from frame to frame by their
3D position."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, require
from ..keypoints import KeypointFormat
from ..results import PoseResult
from .associate import associate
from .calibration import Camera
from .sync import frame_offsets
from .triangulate import triangulate
from ..analytics.kinematics import SMOOTH_HZ, smooth_series

FOLLOW_M = 0.5  # a person's mean joint moves less than this between frames (3D tracking)


@dataclass
class People3D:
    """Per person (a 3D track) and frame: ``points`` (P, T, J, 3) in the calibration's world frame (NaN: not
    seen by two views), ``errors`` (P, T, J) mean reprojection error in pixels over the views used, ``views``
    (P, T, V) the detection used in each view (-1: none). ``offsets``: per view, its frame shift against the
    first view (frame t + offset of view v shows frame t of view 0)."""

    def marker_rows(self, person: int, frames: int | None = None) -> np.ndarray:
        """(frames, J', 3) one person's points on every frame of view 0 from its first (NaN before
        ``first_frame`` and after the last), the format's empty slots left out."""
        total = frames if frames is not None else self.first_frame + self.points.shape[1]
        rows = np.full((total, self.points.shape[2], 3), np.nan)
        n = min(self.points.shape[1], max(total - self.first_frame, 0))
        rows[self.first_frame : self.first_frame + n] = self.points[person, :n]
        return rows[:, self.keypoint_format.valid_mask]

    points: np.ndarray
    errors: np.ndarray
    views: np.ndarray
    keypoint_format: KeypointFormat
    offsets: list[int] = field(default_factory=list)
    offset_costs: list[dict[int, float]] = field(default_factory=list)
    first_frame: int = 0  # view 0's frame of points[:, 0] (later than 0 where a view started late)

    def __len__(self) -> int:
        return len(self.points)

    def to_frame(self, fps: float | None = None, persons=None, markers: list[str] | None = None):
        """One tidy pandas DataFrame: a row per person, frame (view 0's) and joint with ``x, y, z`` (the
        calibration's world frame, NaN where fewer than two views saw it), ``reprojection_error_px`` and ``views``
        (the views the person was matched in; 0 where the joint was not triangulated); ``time_s`` when ``fps`` is
        given. ``persons``: which to keep (default all, numbered from 1 in that order); ``markers``: the joints'
        names (default the format's)."""
        pd = require("pandas", "table", "People3D.to_frame")
        valid = self.keypoint_format.valid_mask
        names = markers or [n for n, v in zip(self.keypoint_format.keypoints, valid) if v]
        keep = range(len(self)) if persons is None else list(persons)
        t, j = self.points.shape[1], int(valid.sum())
        parts = []
        for n, k in enumerate(keep):
            pts, used = self.points[k][:, valid], (self.views[k] >= 0).sum(-1)
            seen = np.isfinite(pts).all(-1)
            parts.append({"frame": np.repeat(np.arange(t) + self.first_frame, j), "person": np.full(t * j, n + 1),
                          "joint": np.tile(names, t), "x": pts[..., 0].ravel(), "y": pts[..., 1].ravel(),
                          "z": pts[..., 2].ravel(), "reprojection_error_px": self.errors[k][:, valid].ravel(),
                          "views": np.where(seen, used[:, None], 0).ravel()})  # fmt: skip
        columns = ["frame", "person", "joint", "x", "y", "z", "reprojection_error_px", "views"]
        frame = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) if parts else [] for c in columns})
        if fps:
            frame.insert(1, "time_s", frame["frame"] / fps)
        return frame


def _undistorted_people(cameras: list[Camera], views: list[list[PoseResult]]) -> list[list[list[tuple]]]:
    return [[[(cam.undistort(r.keypoints[i]), r.scores[i]) for i in range(len(r))] for r in results]
            for cam, results in zip(cameras, views)]  # fmt: skip


def _unswapped(cameras: list[Camera], points: np.ndarray, scores: np.ndarray,
               flip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """A view whose 2D model took the person's left for the right (it happens in side views) gets its left and
    right joints swapped back: with three views or more, each view is compared, as it is and swapped, with the
    projection of what the other views triangulate; the closer one is kept."""
    seen = [v for v in range(len(cameras)) if (scores[v] > 0).any()]
    if len(seen) < 3:
        return points, scores
    points, scores = points.copy(), scores.copy()
    for v in seen:
        others = scores.copy()
        others[v] = 0
        X, _, _ = triangulate(cameras, points, others)
        projected = cameras[v].project(X)
        ok = np.isfinite(projected).all(1) & (scores[v] > 0) & (scores[v][flip] > 0)
        if ok.sum() < 4:
            continue
        as_is = np.linalg.norm(projected - points[v], axis=1)[ok].mean()
        swapped = np.linalg.norm(projected - points[v][flip], axis=1)[ok].mean()
        if swapped < as_is:
            points[v], scores[v] = points[v][flip], scores[v][flip]
    return points, scores


def reconstruct(cameras: list[Camera], views: list[list[PoseResult]], max_offset: int = 3, fps: float | None = None,
                smooth_hz: float = SMOOTH_HZ) -> People3D:  # fmt: skip
    """3D people from each view's results (``views[v]``: view v's ``PoseResult`` per frame, in order; views in
    the cameras' order). ``max_offset``: the largest frame offset between views looked for (0: in step).
    ``fps`` and ``smooth_hz``: each joint's 3D path is low-passed along time (as Pose2Sim filters its 3D; the
    kinematics' Butterworth, ``analytics.kinematics.smooth_series``); without ``fps``, or at 0 Hz, it is not."""
    if len(views) != len(cameras):
        raise InputError(f"{len(views)} views for {len(cameras)} calibrated cameras: give one video per camera, in the "
                         "calibration's order (or named as its cameras)")  # fmt: skip
    if len(cameras) < 2:
        raise InputError("triangulation needs at least 2 views")
    fmt = views[0][0].keypoint_format
    offsets, costs = [0] * len(views), [{0: 0.0}] * len(views)
    if max_offset > 0:
        offsets, costs = frame_offsets(cameras, _undistorted_people(cameras, views), max_offset)
    first = -min(min(offsets), 0)  # view 0's first frame that every view has
    frames = max(min(len(r) - o for r, o in zip(views, offsets)) - first, 0)
    J = fmt.num_keypoints
    tracks: list[dict[int, tuple]] = []  # per 3D person: frame -> (points, errors, views)
    last: list[np.ndarray] = []  # per 3D person: its latest mean joint
    for t in range(first, first + frames):
        frame = [views[v][t + offsets[v]] for v in range(len(views))]
        matches = associate(cameras, [r.keypoints for r in frame], [r.scores for r in frame])
        found = []
        for choice in matches:
            points = np.full((len(views), J, 2), np.nan)
            scores = np.zeros((len(views), J))
            for v, i in enumerate(choice):
                if i is not None:
                    points[v], scores[v] = frame[v].keypoints[i], frame[v].scores[i]
            points, scores = _unswapped(cameras, points, scores, fmt.flip_permutation)
            X, err, kept = triangulate(cameras, points, scores)
            found.append((X, err, np.array([-1 if i is None else i for i in choice]), (points, kept)))
        taken: set[int] = set()
        for X, err, used, seen in sorted(found, key=lambda f: -np.isfinite(f[0]).all(1).sum()):
            centre = np.nanmean(X, axis=0) if np.isfinite(X).any() else None
            near = [(np.linalg.norm(centre - c), k) for k, c in enumerate(last) if k not in taken and centre is not None]
            near = [(d, k) for d, k in near if d < FOLLOW_M]
            k = min(near)[1] if near else len(tracks)
            if k == len(tracks):
                tracks.append({})
                last.append(centre)
            tracks[k][t - first], last[k] = (X, err, used, seen), centre if centre is not None else last[k]
            taken.add(k)
    P = len(tracks)
    points, errors = np.full((P, frames, J, 3), np.nan), np.full((P, frames, J), np.nan)
    used = np.full((P, frames, len(views)), -1)
    for k, track in enumerate(tracks):
        for t, (X, err, v, _) in track.items():
            points[k, t], errors[k, t], used[k, t] = X, err, v
        if smooth_hz > 0 and fps:  # a low-pass along time, then each joint's error again against its 2D
            points[k] = smooth_series(points[k], fps, smooth_hz, per_column=True)
            for t, (_, _, _, (xy, kept)) in track.items():
                projected = np.stack([c.project(points[k, t]) for c in cameras])  # (V, J, 2)
                d = np.where(kept, np.linalg.norm(projected - xy, axis=2), 0.0)
                errors[k, t] = np.where(kept.sum(0) > 0, d.sum(0) / np.maximum(kept.sum(0), 1), np.nan)
    order = np.argsort([-np.isfinite(p).all(-1).sum() for p in points]) if P else np.zeros(0, int)
    return People3D(points[order], errors[order], used[order], fmt, offsets, costs, first)
