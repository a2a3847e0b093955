"""Track ids across frames: ByteTrack's two-stage IoU association, with constant-velocity box prediction.

High-score boxes are matched to tracks first, then low-score boxes to the tracks still unmatched
(that is what keeps occluded people tracked); unmatched high-score boxes start new tracks, and a
track unmatched for ``max_age`` frames ends. Matching is greedy on IoU, highest first: with the
few people per frame of pose videos it agrees with the Hungarian assignment in practice, and it
needs no scipy. (No maintained tracker fits our dependencies: supervision pulls opencv-python,
which clashes with the headless wheel we use: both own the cv2 module.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..detect.base import box_iou


@dataclass
class _Track:
    id: int
    box: np.ndarray
    velocity: np.ndarray
    missed: int = 0
    hits: int = 1  # frames it was matched in (a box seen once may be a false detection)

    def predicted(self) -> np.ndarray:
        return self.box + self.velocity * (1 + self.missed)


def greedy_match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(rows, columns) pairs of an IoU matrix, highest IoU first, each row and column used once, IoU >= threshold."""
    pairs = []
    if iou.size == 0:
        return pairs
    iou = iou.copy()
    while True:
        r, c = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[r, c] < threshold:
            return pairs
        pairs.append((int(r), int(c)))
        iou[r, :], iou[:, c] = -1, -1


class IouTracker:
    def __init__(self, high_score: float = 0.5, match_iou: float = 0.3, max_age: int = 30) -> None:
        self.high_score, self.match_iou, self.max_age = high_score, match_iou, max_age
        self.tracks: list[_Track] = []
        self.next_id = 0

    def update(self, boxes: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """(N, 4) boxes of the next frame -> (N,) track ids (int64)."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64)
        ids = np.full(len(boxes), -1, np.int64)
        unmatched_tracks = list(range(len(self.tracks)))
        for stage in (scores >= self.high_score, scores < self.high_score):
            dets = np.flatnonzero(stage & (ids < 0))
            if len(dets) == 0 or not unmatched_tracks:
                continue
            predicted = np.stack([self.tracks[t].predicted() for t in unmatched_tracks])
            pairs = greedy_match(box_iou(predicted, boxes[dets]), self.match_iou)
            for r, c in pairs:
                track, det = self.tracks[unmatched_tracks[r]], dets[c]
                track.velocity = 0.5 * track.velocity + 0.5 * (boxes[det] - track.box) / (1 + track.missed)
                track.box, track.missed, track.hits = boxes[det], 0, track.hits + 1
                ids[det] = track.id
            matched = {unmatched_tracks[r] for r, _ in pairs}
            unmatched_tracks = [t for t in unmatched_tracks if t not in matched]
        for t in unmatched_tracks:
            self.tracks[t].missed += 1
        for det in np.flatnonzero(ids < 0):  # new people (low-score leftovers too: given boxes have no scores)
            self.tracks.append(_Track(self.next_id, boxes[det], np.zeros(4)))
            ids[det] = self.next_id
            self.next_id += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_age]
        return ids

    def missing(self, max_missed: int, min_hits: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """(M, 4) predicted boxes and (M,) ids of the tracks the last ``update`` missed, for at most ``max_missed``
        frames in a row, that were seen in at least ``min_hits`` frames: where a detector's miss leaves a person."""
        gone = [t for t in self.tracks if 1 <= t.missed <= max_missed and t.hits >= min_hits]
        boxes = np.array([t.predicted() - t.velocity for t in gone], np.float64).reshape(-1, 4)  # at this frame
        return boxes, np.array([t.id for t in gone], np.int64)

    def state(self) -> dict:
        """What the next ``update`` depends on, as JSON-ready lists (an interrupted run resumes from it)."""
        return {"next_id": self.next_id, "tracks": [[t.id, t.box.tolist(), t.velocity.tolist(), t.missed, t.hits]
                                                    for t in self.tracks]}  # fmt: skip

    def restore(self, state: dict) -> IouTracker:
        """This tracker, set to a ``state()`` taken earlier."""
        self.next_id = int(state["next_id"])
        self.tracks = [_Track(int(i), np.asarray(b, np.float64), np.asarray(v, np.float64), int(m), int(h))
                       for i, b, v, m, *hits in state["tracks"] for h in (hits or [1])]  # fmt: skip
        return self
