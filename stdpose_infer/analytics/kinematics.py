"""Kinematics from tracked poses: per track and frame, joint and segment angles (``angles.py``), their angular
velocities, and keypoint speeds, as one pandas DataFrame (a row per track and frame).

Keypoints are smoothed first, per track and joint coordinate, by a zero-phase Butterworth low-pass (SciPy's
``sosfiltfilt``) over each run of consecutive frames where the joint is found. Nothing is invented: a joint under
the score threshold, or a frame where the person is missing, gives NaN in every column that reads it, and runs are
never bridged. Angles are unwrapped along each track (no 360-degree jumps); velocities and speeds are central
differences within runs (one-sided at a run's ends; NaN for a run of one frame).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from ..errors import InputError, require
from ..results import PoseResult
from .angles import ANGLES, angle_degrees, available, body_points

SMOOTH_ORDER, SMOOTH_HZ = 4, 6.0  # the low-pass: order and cut-off (human movement is mostly below 6 Hz)
# Joints scored under this are not used. The starter's scores (heatmap peaks) run lower than a detector's: at true
# boxes 85 % of its joints scored 0.15-0.20 lie within 0.1 person sizes of the truth, 62 % of those at 0.10-0.15,
# and 6 % of all joints score under 0.20 (benchmarks/results/2026-12-06_joint_scores.md).
MIN_SCORE = 0.15


SIDES = ("right", "left", "front", "back")


def mirrored(xy: np.ndarray, name: str, visible_side: str) -> np.ndarray:
    """A Sports2D-named point's x negated as ``visible_side`` asks (midpoints, Neck and Hip, stay in front and back
    views)."""
    flip = {"right": False, "left": True, "front": name.startswith("R"), "back": name.startswith("L")}[visible_side]
    return xy * [-1.0, 1.0] if flip else xy


def _runs(valid: np.ndarray) -> list[slice]:
    """Slices of consecutive True values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2])]


def smooth_series(values: np.ndarray, fps: float, cutoff_hz: float = SMOOTH_HZ, order: int = SMOOTH_ORDER,
                  per_column: bool = False) -> np.ndarray:  # fmt: skip
    """(T, ...) values low-passed along T within each run of frames where every value is finite (``per_column``:
    each (T, ..., last axis) column on its own runs, e.g. each joint of (T, J, 3) points); runs too short for the
    filter's padding (3 x its length) are left as they are, NaN stays NaN."""
    signal = require("scipy.signal", "analytics", "smoothing (the Butterworth filter)")
    out = np.array(values, dtype=np.float64)
    if cutoff_hz <= 0 or cutoff_hz >= fps / 2:
        return out
    if per_column and out.ndim > 2:
        flat = out.reshape(len(out), -1, out.shape[-1])
        for c in range(flat.shape[1]):
            flat[:, c] = smooth_series(flat[:, c], fps, cutoff_hz, order)
        return flat.reshape(out.shape)
    sos = signal.butter(order, cutoff_hz, btype="low", fs=fps, output="sos")
    pad = 3 * (2 * len(sos) + 1)
    valid = np.isfinite(out.reshape(len(out), -1)).all(1)
    for run in _runs(valid):
        if run.stop - run.start > pad:
            out[run] = signal.sosfiltfilt(sos, out[run], axis=0)
    return out


def _rate(values: np.ndarray, fps: float) -> np.ndarray:
    """d(values)/dt along axis 0 within runs of finite values (per second)."""
    out = np.full(values.shape, np.nan)
    valid = np.isfinite(values.reshape(len(values), -1)).all(1)
    for run in _runs(valid):
        if run.stop - run.start >= 2:
            out[run] = np.gradient(values[run], axis=0) * fps
    return out


def _unwrap(degrees: np.ndarray, period: float) -> np.ndarray:
    """Angles unwrapped over their finite values (a gap does not reset the count of turns)."""
    out = degrees.copy()
    ok = np.isfinite(out)
    if ok.any():
        out[ok] = np.unwrap(out[ok], period=period)
    return out


def pixel_height(points: dict[str, np.ndarray]) -> float:
    """A person's height in pixels, the median over frames of shank + thigh (each the mean of both sides, or the
    one found) + pelvis centre -> shoulder midpoint -> head top (the nose where the format has none). It leaves out the
    foot under the ankle (and, with the nose, the head above it), so it reads a few percent short: ``height_m``
    speeds come out that much high; a calibration's ``metres_per_pixel`` is exact. NaN where no frame has it all."""
    def length(a: str, b: str) -> np.ndarray:
        return np.linalg.norm(points[a] - points[b], axis=-1)

    def sides(a: str, b: str) -> np.ndarray:
        right, left = length(f"R{a}", f"R{b}"), length(f"L{a}", f"L{b}")
        return np.where(np.isnan(right), left, np.where(np.isnan(left), right, (right + left) / 2))

    top = "Head" if "Head" in points else "Nose"
    total = sides("Ankle", "Knee") + sides("Knee", "Hip") + length("Hip", "Neck") + length("Neck", top)
    return float(np.median(total[np.isfinite(total)])) if np.isfinite(total).any() else float("nan")


def kinematics(
    results: Iterable[PoseResult],
    fps: float,
    threshold: float = MIN_SCORE,
    cutoff_hz: float = SMOOTH_HZ,
    metres_per_pixel: float | None = None,
    height_m: float | None = None,
    visible_side: str = "right",
):
    """A DataFrame, a row per track and frame where the track is seen: ``frame``, ``time_s``, ``track``; per angle
    ``{name}_deg`` and ``{name}_deg_s`` (angular velocity); per joint ``{joint}_speed_px_s`` (``_m_s`` with a
    scale). ``fps``: the video's frame rate. ``threshold``: joints scoring under it are not used. ``cutoff_hz``:
    the smoothing low-pass (0: none). Scale (optional): ``metres_per_pixel`` (from a calibration), or
    ``height_m`` (the person's height; each track's pixel height from ``pixel_height``). ``visible_side``, as
    Sports2D's: the side of the body the camera sees, which sets the angles' signs ("right": as the image shows;
    "left": mirrored; "front": the right side's joints mirrored, so both sides' angles share a sign; "back": the
    left side's)."""
    pd = require("pandas", "analytics", "kinematics tables")
    if not fps or fps <= 0:
        raise InputError(f"kinematics need the video's frame rate (fps > 0), got {fps!r}")
    if visible_side not in SIDES:
        raise InputError(f"visible_side must be one of {SIDES}, got {visible_side!r}")
    if metres_per_pixel is not None and height_m is not None:
        raise InputError("give one scale: metres_per_pixel (a calibration) or height_m (the person's height)")
    if cutoff_hz >= fps / 2:
        warnings.warn(f"smoothing cut-off {cutoff_hz:g} Hz is not below half the frame rate ({fps / 2:g} Hz): "
                      "keypoints are not smoothed", stacklevel=2)  # fmt: skip
        cutoff_hz = 0.0
    results = list(results)
    if not results:
        raise InputError("no results: kinematics need at least one frame of poses")
    fmt = results[0].keypoint_format
    names = available(fmt)
    joints = [j for j, ok in zip(fmt.keypoints, fmt.valid_mask) if ok]
    first = min(r.frame_index for r in results)
    frames = max(r.frame_index for r in results) - first + 1
    tracks: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (T, J, 2) keypoints, (T, J) scores (NaN / 0: absent)
    for r in results:
        for i, tid in enumerate(np.asarray(r.track_ids).tolist()):
            xy, sc = tracks.setdefault(int(tid), (np.full((frames, fmt.num_keypoints, 2), np.nan),
                                                  np.zeros((frames, fmt.num_keypoints))))  # fmt: skip
            xy[r.frame_index - first], sc[r.frame_index - first] = r.keypoints[i], r.scores[i]
    unit = "px_s" if metres_per_pixel is None and height_m is None else "m_s"
    tables = []
    for tid, (xy, sc) in sorted(tracks.items()):
        seen = np.isfinite(xy).all(2).any(1)
        xy = np.where((sc >= threshold)[..., None], xy, np.nan)
        xy = smooth_series(xy, fps, cutoff_hz, per_column=True)  # each joint on its own runs
        points = body_points(xy, np.ones(sc.shape), fmt, 0.0)  # already masked above
        seen_from = {name: mirrored(p, name, visible_side) for name, p in points.items()}
        scale = metres_per_pixel
        if height_m is not None:
            scale = height_m / pixel_height(points)  # NaN where the track never shows a whole skeleton
        columns = {"frame": np.arange(frames) + first, "time_s": (np.arange(frames) + first) / fps,
                   "track": np.full(frames, tid)}  # fmt: skip
        for name in names:
            angle = ANGLES[name]
            degrees = angle_degrees(angle, [seen_from[p] for p in angle.points])
            degrees = _unwrap(degrees, 180 if angle.half_turn else 360)
            columns[f"{name}_deg"] = degrees
            columns[f"{name}_deg_s"] = _rate(degrees, fps)
        for j, joint in enumerate(fmt.keypoints):
            if joint in joints:
                speed = np.linalg.norm(_rate(xy[:, j], fps), axis=-1) * (1.0 if scale is None else scale)
                columns[f"{joint}_speed_{unit}"] = speed
        tables.append(pd.DataFrame(columns)[seen])
    return pd.concat(tables, ignore_index=True)
