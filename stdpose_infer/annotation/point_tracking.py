"""The labels carried between labeled frames by point tracking: each labeled joint followed through the frames
between two labels by pyramidal Lucas-Kanade optical flow (OpenCV), forwards from the label before and backwards
from the label after. No model: it reads the pixels of the joints' neighbourhoods, so it follows motion that linear
interpolation misses (a swing, a turn), and it drifts where a joint is hidden or blurred.

At frame t, a fraction a of the way from the label before to the label after, the two tracks are blended as
(1 - a) x forward + a x backward (each exact at its own label). A track step whose forward-backward error exceeds
``FB_MAX_PX`` loses the point; where a track is lost, or the two disagree by more than half the joint's
label-to-label displacement + ``AGREE_PX``, the joint is interpolated instead (``interpolation.interpolate``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import cv2
import numpy as np

from .interpolation import interpolate, interpolated_pose, nearest_labeled
from .labels import FrameLabels

LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
FB_MAX_PX = 2.0  # a step whose point, tracked back, lands farther than this from where it started is lost
AGREE_PX = 8.0  # the two tracks agree within half the label-to-label displacement + this


def grey(image: np.ndarray) -> np.ndarray:
    """A BGR (or already grey) frame as the single channel the tracker reads."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def follow(greys: Sequence[np.ndarray], points: np.ndarray) -> np.ndarray:
    """(len(greys), N, 2) the points (N, 2) given on ``greys[0]`` followed frame by frame; NaN from the step where
    a point is lost (its forward-backward error passes ``FB_MAX_PX``, or it leaves the frame)."""
    out = np.full((len(greys), len(points), 2), np.nan, np.float64)
    if not len(points) or not len(greys):
        return out
    out[0] = points
    alive = np.isfinite(points).all(1)
    for i in range(1, len(greys)):
        idx = np.flatnonzero(alive)
        if not len(idx):
            break
        p0 = out[i - 1, idx].astype(np.float32).reshape(-1, 1, 2)
        p1, ok, _ = cv2.calcOpticalFlowPyrLK(greys[i - 1], greys[i], p0, None, **LK)
        back, ok_back, _ = cv2.calcOpticalFlowPyrLK(greys[i], greys[i - 1], p1, None, **LK)
        h, w = greys[i].shape[:2]
        p1, back = p1.reshape(-1, 2), back.reshape(-1, 2)
        good = (ok[:, 0] == 1) & (ok_back[:, 0] == 1) & (np.linalg.norm(back - p0.reshape(-1, 2), axis=1) <= FB_MAX_PX)
        good &= (p1[:, 0] >= 0) & (p1[:, 1] >= 0) & (p1[:, 0] <= w - 1) & (p1[:, 1] <= h - 1)
        out[i, idx[good]] = p1[good]
        alive[idx[~good]] = False
    return out


def track_gap(greys: Sequence[np.ndarray], left: FrameLabels, right: FrameLabels) -> dict[int, np.ndarray]:
    """Per track id labeled on either side, (len(greys), J, 2) its tracked joints on every frame of the gap
    (``greys[0]`` is the left labeled frame, ``greys[-1]`` the right one): the two tracks blended by distance,
    interpolation where they disagree or one is lost, the one track (or a copy) for a person labeled on one side;
    NaN where a joint is labeled on neither side."""
    n = len(greys)
    a = np.linspace(0.0, 1.0, n)[:, None] if n > 1 else np.zeros((1, 1))
    out: dict[int, np.ndarray] = {}
    sides = {}
    for name, lab, seq in (("left", left, greys), ("right", right, greys[::-1])):
        if not len(lab.track_ids):
            continue
        pts = np.where(lab.positions[..., None], lab.keypoints, np.nan).reshape(-1, 2)
        tracks = follow(seq, pts).reshape(n, *lab.keypoints.shape)
        if name == "right":
            tracks = tracks[::-1]
        for p, tid in enumerate(lab.track_ids):
            sides.setdefault(int(tid), {})[name] = (tracks[:, p], lab.keypoints[p], lab.positions[p])
    for tid, got in sides.items():
        if "left" in got and "right" in got:
            (fw, l_xy, l_ok), (bw, r_xy, r_ok) = got["left"], got["right"]
            tol = 0.5 * np.linalg.norm(r_xy - l_xy, axis=1) + AGREE_PX
            rows = []
            for i in range(n):
                xy, _, both = interpolate(float(a[i, 0]), l_xy, l_ok, r_xy, r_ok)
                xy = np.where((l_ok | r_ok)[:, None], xy, np.nan)
                agree = both & (np.linalg.norm(fw[i] - bw[i], axis=1) <= tol)  # NaN (lost) compares False
                blend = (1 - a[i, 0]) * fw[i] + a[i, 0] * bw[i]
                own = np.where(l_ok[:, None], fw[i], bw[i])  # the track from the side the joint is labeled on
                single = ~both & np.isfinite(own).all(1)  # labeled on one side only, and still tracked
                rows.append(np.where(agree[:, None], blend, np.where(single[:, None], own, xy)))
            out[tid] = np.stack(rows)
        else:
            track, xy, ok = got.get("left") or got["right"]
            lost = ~np.isfinite(track).all(2)
            out[tid] = np.where(lost[..., None] & ok[None, :, None], xy[None], track)
    return out


class LabelTracks:
    """The labels' point tracks over a video whose frames stream in: ``add`` each decoded frame, then ``pose(t,
    track_id)`` gives what ``interpolation.interpolated_pose`` gives, the joints carried by point tracking where
    the gap holds them. A gap is tracked once, when its first frame is asked for (its frames all added by then);
    ``release(t)`` drops what frames up to t no longer need. Past the first or last label the label is copied
    (as interpolation does). Grey frames beyond ``budget_mb`` in one gap are not kept: that gap is interpolated,
    and a warning says so."""

    def __init__(self, labels: dict[int, FrameLabels], budget_mb: float = 512) -> None:
        self.labels, self.labeled = labels, sorted(labels)
        self.budget = budget_mb * 2**20
        self.greys: dict[int, np.ndarray] = {}
        self.gaps: dict[tuple[int, int], dict[int, np.ndarray] | None] = {}
        self.warned = False

    def add(self, index: int, image: np.ndarray) -> None:
        """Keep frame ``index`` (grey) if a gap between two labels holds it and the gap's budget allows."""
        if not self.labeled or not self.labeled[0] <= index <= self.labeled[-1]:
            return
        before = nearest_labeled(self.labeled, index)[0] if index not in self.labels else index
        held = sum(g.nbytes for i, g in self.greys.items() if i >= before)
        if held > self.budget:
            if not self.warned:
                self.warned = True
                warnings.warn(f"point tracking: the frames after labeled frame {before} need more than "
                              f"{self.budget / 2**20:g} MB; that gap's joints are interpolated (gap_memory_mb)",
                              stacklevel=2)  # fmt: skip
            return
        self.greys[index] = grey(image)

    def release(self, t: int) -> None:
        """Frames up to ``t`` will ask no more: drop the gaps that end by then and the grey frames before the
        labeled frame at or before ``t``."""
        before = nearest_labeled(self.labeled, t)[0] if self.labeled else t
        for i in [i for i in self.greys if i < before]:
            del self.greys[i]
        for k in [k for k in self.gaps if k[1] <= t]:
            del self.gaps[k]

    def relabel(self, labels: dict[int, FrameLabels]) -> None:
        """Carry these labels instead (a truncated video drops the labels past its end)."""
        self.labels, self.labeled, self.gaps = labels, sorted(labels), {}

    def pose(self, t: int, track_id: int):
        """(J, 2) points and (J,) scores of track ``track_id`` at frame ``t`` (as ``interpolated_pose``), or None."""
        interp = interpolated_pose(t, self.labels, track_id)
        before, after = nearest_labeled(self.labeled, t)
        if interp is None or before == after or t in self.labels:
            return interp
        tracks = self._gap(before, after)
        if tracks is None or track_id not in tracks:
            return interp
        xy, score = interp
        carried = tracks[track_id][t - before]
        return np.where(np.isfinite(carried), carried, xy), score

    def _gap(self, before: int, after: int) -> dict[int, np.ndarray] | None:
        key = (before, after)
        if key not in self.gaps:
            frames = [self.greys.get(i) for i in range(before, after + 1)]
            self.gaps[key] = None if any(f is None for f in frames) else track_gap(
                frames, self.labels[before], self.labels[after])  # fmt: skip
        return self.gaps[key]
