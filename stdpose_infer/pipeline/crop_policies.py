"""Which crop each frame of a triplet reads, so that a frame's crop (and its backbone pass) can be shared.

``WindowBoxes``: per track, one crop box held over a window of frames.

Without it each triplet is cropped with its key frame's box: frame s is cut three times (as a key frame
and as each neighbour's aux frame) with three different boxes, and nothing can be reused. With a track's
crop box held fixed, frame s has one crop per track and window, so its backbone features and heatmaps
are computed once and read by every triplet of the window (cross-frame feature reuse, ``Batcher``).

A window opens at the track's crop region (the usual 3:4, x1.25 crop of its box) enlarged by ``margin``
and holds while the track's box, padded x1.25, stays inside it (a narrow standing person may move
sideways within the 3:4 crop), its crop region is at least ``min_fill`` of the window's size (the person
does not shrink far inside a too-large crop) and the window is younger than ``length`` frames;
otherwise a new window opens at the current box. Only boxes already seen decide (no look-ahead), so
the pipeline's latency is unchanged. Window crops are ``margin`` to 1 / ``min_fill`` times the usual
crop: inside the training's scale augmentation (0.65-1.35) for the defaults' start, a little beyond
it at the end of a window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..crops.affine import INPUT_SIZE, box_to_center_scale
from ..errors import InputError

PADDING = 1.25  # the crop's padding around a box (``box_to_center_scale``)


@dataclass
class SharedCrops:
    """The crops of one key frame's people: for each person and each of [left, key, right], the crop box (P, 3, 4)
    xyxy and a crop id (P, 3); one (frame, id) is one crop, computed once for every triplet that names it."""

    boxes: np.ndarray
    ids: np.ndarray


class CropPolicy:
    """Gives each person of a triplet its three crops. ``update`` once per frame, in frame order (it records the
    frame's people in ``_seen``); ``crops`` for each key frame in order, once its frames have all been seen."""

    def update(self, frame: int, boxes: np.ndarray, track_ids: np.ndarray) -> None:
        raise NotImplementedError

    def crops(self, key: int, left: int, right: int, track_ids: np.ndarray) -> SharedCrops:
        raise NotImplementedError

    def fresh(self) -> CropPolicy:
        """A copy with no state (one per video)."""
        return dataclasses.replace(self)

    def _forget_before(self, frame: int) -> None:
        """Key frames come in order, so no later triplet reads frames before this key frame's left one."""
        for old in [f for f in self._seen if f < frame]:
            del self._seen[old]


@dataclass
class WindowBoxes(CropPolicy):
    """The open window of every track; all three frames of a triplet are cropped with the key frame's window."""

    length: int = 32
    margin: float = 1.25
    min_fill: float = 0.7
    aspect: float = INPUT_SIZE[0] / INPUT_SIZE[1]
    _open: dict[int, tuple[int, np.ndarray, np.ndarray, int]] = field(default_factory=dict, init=False, repr=False)
    _next: int = field(default=0, init=False, repr=False)
    _seen: dict[int, dict[int, tuple[np.ndarray, int]]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.length < 1 or self.margin < 1 or not 0 < self.min_fill <= 1:
            raise InputError(f"window length >= 1, margin >= 1 and 0 < min_fill <= 1 are needed; got length="
                             f"{self.length}, margin={self.margin}, min_fill={self.min_fill}")  # fmt: skip

    def update(self, frame: int, boxes: np.ndarray, track_ids: np.ndarray) -> None:
        """Place this frame's people (``boxes`` (N, 4) xyxy, ``track_ids`` (N,)) in their windows."""
        self._seen[frame] = {int(t): (b, int(w)) for t, b, w in zip(track_ids, *self.windows(frame, boxes, track_ids))}

    def crops(self, key: int, left: int, right: int, track_ids: np.ndarray) -> SharedCrops:
        boxes, ids = zip(*(self._seen[key][int(t)] for t in track_ids)) if len(track_ids) else ((), ())
        boxes, ids = np.reshape(boxes, (-1, 1, 4)), np.reshape(ids, (-1, 1))
        self._forget_before(left)
        return SharedCrops(np.repeat(boxes, 3, axis=1), np.repeat(ids, 3, axis=1))

    def windows(self, frame: int, boxes: np.ndarray, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The crop box (N, 4) and window id (N,) of each of this frame's people."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        centers, sizes = box_to_center_scale(boxes, self.aspect, PADDING)
        padded = (boxes[:, 2:] - boxes[:, :2]) * PADDING
        out_boxes, out_ids = np.zeros((len(centers), 4)), np.zeros(len(centers), np.int64)
        seen = {}
        for n, (track, center, size) in enumerate(zip(np.asarray(track_ids).tolist(), centers, sizes)):
            window = self._open.get(track)
            if window is None or not self._holds(window, frame, center, padded[n], size):
                window = (self._next, center, size * self.margin, frame)
                self._next += 1
            seen[track] = window
            wid, wcenter, wsize, _ = window
            half = wsize / (2 * PADDING)  # the box whose crop region is the window's
            out_boxes[n], out_ids[n] = np.concatenate([wcenter - half, wcenter + half]), wid
        self._open = seen  # a track missing from this frame loses its window
        return out_boxes, out_ids

    def _holds(self, window, frame: int, center: np.ndarray, padded: np.ndarray, size: np.ndarray) -> bool:
        _, wcenter, wsize, start = window
        inside = np.all(np.abs(center - wcenter) + padded / 2 <= wsize / 2 + 1e-6)
        return bool(inside and size[1] >= self.min_fill * wsize[1] and frame - start < self.length)


@dataclass
class NeighbourCrops(CropPolicy):
    """Each frame cropped at its people's own boxes; an aux frame reads a crop of it already cut (its own, or one cut
    at another key frame's box) when that crop is within ``tolerance`` of the key frame's (centre shift per axis and
    size change, as fractions of the key crop's size), else a new crop of it at the key frame's box, as without
    reuse. The key frame's crop is always exactly the one it has without reuse; an aux frame's differs by at most
    ``tolerance``, and its maps are brought onto the key crop's region before the per-triplet half
    (``crops/align.py``). In propagate mode the labeled frames are every triplet's aux frames, so the crops cut of
    them chain along the frames between two labels."""

    tolerance: float = 0.2
    aspect: float = INPUT_SIZE[0] / INPUT_SIZE[1]
    _seen: dict[int, dict[int, tuple[np.ndarray, int]]] = field(default_factory=dict, init=False, repr=False)
    _cut: dict[tuple[int, int], list[tuple[np.ndarray, int]]] = field(default_factory=dict, init=False, repr=False)
    _next: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance < 1:
            raise InputError(f"tolerance is a fraction of the crop size in [0, 1), got {self.tolerance}")

    def update(self, frame: int, boxes: np.ndarray, track_ids: np.ndarray) -> None:
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self._seen[frame] = {int(t): (b, self._next + n) for n, (t, b) in enumerate(zip(track_ids, boxes))}
        self._next += len(boxes)

    def crops(self, key: int, left: int, right: int, track_ids: np.ndarray) -> SharedCrops:
        boxes, ids = np.zeros((len(track_ids), 3, 4)), np.zeros((len(track_ids), 3), np.int64)
        for n, track in enumerate(np.asarray(track_ids).tolist()):
            box = self._seen[key][track][0]
            center, size = box_to_center_scale(box[None], self.aspect)
            for j, frame in enumerate((left, key, right)):
                own = self._seen.get(frame, {}).get(track)
                cut = self._cut.setdefault((frame, track), [])
                near = next((c for c in ([own] if own else []) + cut if self._close(c[0], center, size)), None)
                if near is None:  # the aux frame at the key frame's box: a crop of its own
                    near = (box, self._next)
                    cut.append(near)
                    self._next += 1
                boxes[n, j], ids[n, j] = near
        self._forget_before(left)
        return SharedCrops(boxes, ids)

    def _forget_before(self, frame: int) -> None:
        super()._forget_before(frame)
        for old in [k for k in self._cut if k[0] < frame]:
            del self._cut[old]

    def _close(self, box: np.ndarray, center: np.ndarray, size: np.ndarray) -> bool:
        other_center, other_size = box_to_center_scale(box[None], self.aspect)
        shift = np.abs(other_center - center) / size
        return bool(np.all(shift <= self.tolerance) and np.all(np.abs(other_size / size - 1) <= self.tolerance))
