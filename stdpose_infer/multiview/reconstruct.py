"""3D people from the 2D poses of several calibrated views: the views put in step (``sync``), each frame's people
matched across views (``associate``) and triangulated (``triangulate``), and followed from frame to frame by their
3D position."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, require
from ..keypoints import KeypointFormat
from ..results import PoseResult
from .associate import associate
from .calibration import Camera
from .sync import frame_offsets
from .refine import refine_track
from .triangulate import MAX_ERROR_PX, reprojection_errors, triangulate

FOLLOW_M = 0.5  # a person's joints move less than this (median) between the frames they are seen on (3D tracking)
SAME_PERSON_M = 0.35  # two 3D people in one frame closer than this (median joint distance) are one person
MAX_GAP = 30  # frames a 3D track may go unseen and still be followed
OUTLIER_VIEW_RATIO = 2.0  # see _without_outlier_views
NOSE_BEHIND_M = 0.03  # a nose this far behind the body: the person is seen mirrored


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

    def subset(self, persons) -> People3D:
        """These people only (indices, in this order)."""
        keep = np.asarray(list(persons), int)
        return People3D(self.points[keep], self.errors[keep], self.views[keep], self.keypoint_format, self.offsets,
                        self.offset_costs, self.first_frame)  # fmt: skip

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


@dataclass
class _Found:
    """One person on one frame, matched across views and triangulated: what the 3D tracking moves around."""

    X: np.ndarray  # (J, 3) the points (NaN: fewer than two views)
    errors: np.ndarray  # (J,) mean reprojection error (px) over the views each joint kept
    detections: np.ndarray  # (V,) the detection matched in each view (-1: none)
    xy: np.ndarray  # (V, J, 2) the 2D read (distorted pixels), left and right in order
    scores: np.ndarray  # (V, J) their scores
    kept: np.ndarray  # (V, J) bool: the views each joint's triangulation kept

    def mirrored(self, flip: np.ndarray) -> _Found:
        """The same person with left and right exchanged."""
        return _Found(self.X[flip], self.errors[flip], self.detections, self.xy[:, flip], self.scores[:, flip],
                      self.kept[:, flip])  # fmt: skip


def _undistorted_people(cameras: list[Camera], views: list[list[PoseResult]]) -> list[list[list[tuple]]]:
    return [[[(cam.undistort(r.keypoints[i]), r.scores[i]) for i in range(len(r))] for r in results]
            for cam, results in zip(cameras, views)]  # fmt: skip


def _unswapped(cameras: list[Camera], points: np.ndarray, scores: np.ndarray,
               fmt: KeypointFormat) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The person's left and right put in order in every view: a 2D model takes a person's left for the right in
    some views (side views, people facing away). Every choice of views to swap is triangulated and the one that
    reprojects best is kept; a choice and its opposite (every other view swapped) reproject alike, as a person and
    their mirror image, so the one that swaps fewer views is taken, and on a tie the one that puts the nose in
    front of the body. Needs two views; the choices double with each view (512 person-triangulations a frame at
    ten cameras)."""
    seen = [v for v in range(len(cameras)) if (scores[v] > 0).any()]
    if len(seen) < 2:
        return points, scores
    flip, J = fmt.flip_permutation, points.shape[1]
    choices = [(0,) + c for c in itertools.product((0, 1), repeat=len(seen) - 1)]  # and their opposites, below
    xy = np.full((len(cameras), len(choices) * J, 2), np.nan)
    w = np.zeros((len(cameras), len(choices) * J))
    for c, choice in enumerate(choices):
        for v, swap in zip(seen, choice):
            order = flip if swap else np.arange(J)
            xy[v, c * J : (c + 1) * J], w[v, c * J : (c + 1) * J] = points[v][order], scores[v][order]
    X, error, _ = triangulate(cameras, xy, w, max_error=np.inf)
    error = error.reshape(len(choices), J)
    if not np.isfinite(error).any(1).any():
        return points, scores
    with np.errstate(all="ignore"):
        best = int(np.nanargmin(np.nanmedian(error, axis=1)))
    swap = dict(zip(seen, choices[best]))
    swaps = sum(swap.values())
    if 2 * swaps > len(seen) or 2 * swaps == len(seen) and _nose_behind(cameras[0], X.reshape(len(choices), J, 3)[best], fmt):
        swap = {v: 1 - s for v, s in swap.items()}  # the opposite: fewer views swapped, or the nose in front
    points, scores = points.copy(), scores.copy()
    for v, s in swap.items():
        if s:
            points[v], scores[v] = points[v][flip], scores[v][flip]
    return points, scores


def _nose_behind(camera: Camera, X: np.ndarray, fmt: KeypointFormat) -> bool:
    """Whether the nose lies clearly behind the body its left and right joints make (forward = left x up, in the
    camera's right-handed frame): the sign of a person seen mirrored."""
    names = {n: i for i, n in enumerate(fmt.keypoints)}
    if "nose" not in names:
        return False
    P = (camera.R @ X.T).T + camera.t
    across = np.array([P[names["left_shoulder"]] - P[names["right_shoulder"]], P[names["left_hip"]] - P[names["right_hip"]]])
    across = across[np.isfinite(across).all(1)]
    if not len(across):
        return False
    left = across.mean(0)
    shoulders = (P[names["left_shoulder"]] + P[names["right_shoulder"]]) / 2
    up = shoulders - (P[names["left_hip"]] + P[names["right_hip"]]) / 2
    forward = np.cross(left, up)
    if not (np.isfinite(forward).all() and np.isfinite(P[names["nose"]]).all()) or np.linalg.norm(forward) == 0:
        return False
    return float((P[names["nose"]] - shoulders) @ forward / np.linalg.norm(forward)) < -NOSE_BEHIND_M


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """The median distance between two people's joints (metres; inf where no joint is in both)."""
    d = np.linalg.norm(a - b, axis=-1)
    return float(np.nanmedian(d)) if np.isfinite(d).any() else np.inf


def _tracked(found_per_frame: list[list[_Found]], flip: np.ndarray) -> list[dict[int, _Found]]:
    """3D tracks: each frame's people given to the tracks seen in the last ``MAX_GAP`` frames, closest pairs first
    (median joint distance, within ``FOLLOW_M``); a person whose mirror image lies closer to the track is taken
    mirrored (left and right do not swap between frames). The others start tracks, except a duplicate: two matches
    within ``SAME_PERSON_M`` of each other (or of each other's mirror image) are one person (a 2D detector's double
    box, or a match that took a wrong detection in one view); the one a track continues, or else the one seen by
    more views, stays."""
    tracks: list[dict[int, _Found]] = []
    last: list[tuple[int, np.ndarray]] = []  # per track: its latest frame and joints
    for t, found in enumerate(found_per_frame):
        live = [k for k, (seen, _) in enumerate(last) if t - seen <= MAX_GAP]
        near = sorted(min((_gap(f.X, last[k][1]), i, k, False), (_gap(f.X[flip], last[k][1]), i, k, True))
                      for i, f in enumerate(found) for k in live)  # fmt: skip
        pairs: dict[int, tuple[int, bool]] = {}
        for d, i, k, mirror in near:
            if d < FOLLOW_M and i not in pairs and k not in (p for p, _ in pairs.values()):
                pairs[i] = (k, mirror)
        taken = [found[i].X for i in pairs]
        for i in sorted(set(range(len(found))) - set(pairs), key=lambda i: (-(found[i].detections >= 0).sum(),
                                                                           -np.isfinite(found[i].X).all(1).sum())):  # fmt: skip
            if all(min(_gap(found[i].X, X), _gap(found[i].X[flip], X)) >= SAME_PERSON_M for X in taken):
                pairs[i] = (len(tracks), False)
                tracks.append({})
                last.append((t, found[i].X))
                taken.append(found[i].X)
        for i, (k, mirror) in pairs.items():
            f = found[i].mirrored(flip) if mirror else found[i]
            tracks[k][t] = f
            last[k] = (t, np.where(np.isfinite(f.X), f.X, last[k][1]))
    return tracks


def _facing_forward(cameras: list[Camera], track: dict[int, _Found], fmt: KeypointFormat) -> dict[int, _Found]:
    """A track whose nose lies behind the body on most frames where that is clear is mirrored whole: it began
    mirrored (the views' majority was wrong on its first frame) and the tracking kept it so."""
    behind = [_nose_behind(cameras[0], f.X, fmt) for f in track.values()]
    ahead = [_nose_behind(cameras[0], f.X[fmt.flip_permutation], fmt) for f in track.values()]
    if sum(behind) > sum(ahead):
        return {t: f.mirrored(fmt.flip_permutation) for t, f in track.items()}
    return track


def _stitched(tracks: list[dict[int, _Found]]) -> list[dict[int, _Found]]:
    """Tracks joined where one starts, within ``MAX_GAP`` frames after another ends, near where it ended (a person
    lost for a few frames, or taken for a new one after a wrong match). One pass in order of start."""
    chains: list[dict[int, _Found]] = []
    for track in sorted((dict(sorted(t.items())) for t in tracks if t), key=min):
        begin = min(track)
        near = [(_gap(track[begin].X, chain[max(chain)].X), c) for c, chain in enumerate(chains)
                if 0 < begin - max(chain) <= MAX_GAP]  # fmt: skip
        near = [(d, c) for d, c in near if d < FOLLOW_M]
        if near:
            chains[min(near)[1]].update(track)
        else:
            chains.append(track)
    return chains


def _without_outlier_views(cameras: list[Camera], track: dict[int, _Found]) -> dict[int, _Found]:
    """A track re-triangulated without the view that disagrees with the others on this person all along (its
    median reprojection error over the clip ``OUTLIER_VIEW_RATIO`` times the other views' and above the
    triangulation's bound): a person who is not where that camera sees them (on the pose2sim clip, the rendered
    person in one view), or taken for someone else there. Per joint and frame the triangulation already drops a
    view; this catches a view that is wrong by less each time but every time. Three views at least stay."""
    while True:
        residuals: list[list[np.ndarray]] = [[] for _ in cameras]
        for f in track.values():
            errors = reprojection_errors(cameras, f.X, f.xy)  # (V, J)
            for v in range(len(cameras)):
                if f.kept[v].any():
                    residuals[v].append(errors[v][f.kept[v]])
        pooled = [np.concatenate(r) if r else np.zeros(0) for r in residuals]
        median = np.array([np.median(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in pooled])
        if np.isfinite(median).sum() < 4:  # three views must stay
            return track
        worst = int(np.nanargmax(median))
        others = np.nanmedian(np.delete(median, worst))
        if not (median[worst] > MAX_ERROR_PX and median[worst] > OUTLIER_VIEW_RATIO * others):
            return track
        for t, f in list(track.items()):
            scores = f.scores.copy()
            scores[worst] = 0.0
            X, err, kept = triangulate(cameras, f.xy, scores)
            detections = f.detections.copy()
            detections[worst] = -1
            track[t] = _Found(X, err, detections, f.xy, scores, kept)


def reconstruct(cameras: list[Camera], views: list[list[PoseResult]], max_offset: int = 3, fps: float | None = None,
                fit: bool = True) -> People3D:  # fmt: skip
    """3D people from each view's results (``views[v]``: view v's ``PoseResult`` per frame, in order; views in
    the cameras' order). ``max_offset``: the largest frame offset between views looked for (0: in step).
    ``fit`` (with ``fps``): each person's path fitted to its 2D over the clip, smooth and with bones of one length
    (``refine``); else each frame's triangulation as it is."""
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
    found_per_frame = []
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
            points, scores = _unswapped(cameras, points, scores, fmt)
            X, err, kept = triangulate(cameras, points, scores)
            found.append(_Found(X, err, np.array([-1 if i is None else i for i in choice]), points, scores, kept))
        found_per_frame.append(found)
    tracks = _stitched(_tracked(found_per_frame, fmt.flip_permutation))
    tracks = [_without_outlier_views(cameras, _facing_forward(cameras, track, fmt)) for track in tracks]
    P = len(tracks)
    points, errors = np.full((P, frames, J, 3), np.nan), np.full((P, frames, J), np.nan)
    used = np.full((P, frames, len(views)), -1)
    for k, track in enumerate(tracks):
        for t, f in track.items():
            points[k, t], errors[k, t], used[k, t] = f.X, f.errors, f.detections
        if fit and fps and track:  # the fit, then each joint's error again against the 2D it read
            span = np.arange(min(track), max(track) + 1)
            xy = np.full((len(span), len(views), J, 2), np.nan)
            w = np.zeros((len(span), len(views), J))
            for t, f in track.items():
                xy[t - span[0]], w[t - span[0]] = f.xy, np.where(f.kept, np.nan_to_num(f.scores), 0.0)
            points[k, span] = refine_track(cameras, xy, w, points[k, span], fmt, fps)
            for t, f in track.items():
                d = np.where(f.kept, reprojection_errors(cameras, points[k, t], f.xy), 0.0)
                errors[k, t] = np.where(f.kept.sum(0) > 0, d.sum(0) / np.maximum(f.kept.sum(0), 1), np.nan)
    order = np.argsort([-np.isfinite(p).all(-1).sum() for p in points]) if P else np.zeros(0, int)
    return People3D(points[order], errors[order], used[order], fmt, offsets, costs, first)
