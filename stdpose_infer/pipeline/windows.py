"""``WindowBoxes``: per track, one crop box held over a window of frames, so a frame's crop can be shared.

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

from dataclasses import dataclass, field

import numpy as np

from ..crops.affine import INPUT_SIZE, box_to_center_scale
from ..errors import InputError

PADDING = 1.25  # the crop's padding around a box (``box_to_center_scale``)


@dataclass
class Windows:
    """One frame's people in their windows: the crop boxes (N, 4) xyxy and window ids (N,), unique per video."""

    boxes: np.ndarray
    ids: np.ndarray


@dataclass
class WindowBoxes:
    """The open window of every track; ``update`` once per frame, in frame order."""

    length: int = 32
    margin: float = 1.25
    min_fill: float = 0.7
    aspect: float = INPUT_SIZE[0] / INPUT_SIZE[1]
    _open: dict[int, tuple[int, np.ndarray, np.ndarray, int]] = field(default_factory=dict, repr=False)
    _next: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.length < 1 or self.margin < 1 or not 0 < self.min_fill <= 1:
            raise InputError(f"window length >= 1, margin >= 1 and 0 < min_fill <= 1 are needed; got length="
                             f"{self.length}, margin={self.margin}, min_fill={self.min_fill}")  # fmt: skip

    def update(self, frame: int, boxes: np.ndarray, track_ids: np.ndarray) -> Windows:
        """The crop box and window of each of this frame's people (``boxes`` (N, 4) xyxy, ``track_ids`` (N,))."""
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
        return Windows(out_boxes, out_ids)

    def _holds(self, window, frame: int, center: np.ndarray, padded: np.ndarray, size: np.ndarray) -> bool:
        _, wcenter, wsize, start = window
        inside = np.all(np.abs(center - wcenter) + padded / 2 <= wsize / 2 + 1e-6)
        return bool(inside and size[1] >= self.min_fill * wsize[1] and frame - start < self.length)
