"""``PoseResult``: the people of one frame: index it, convert it to JSON records, draw it."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..keypoints import POSETRACK, KeypointFormat, convert_keypoints, get_format

ORIGINS = ("given", "propagated", "estimated")


@dataclass
class PoseResult:
    """One frame's poses. ``keypoints`` are image pixels (x, y) in ``keypoint_format``'s slots;
    ``origin`` says where each pose came from: "given" (a label), "propagated" or "estimated"."""

    frame_index: int
    frame_name: str
    boxes: np.ndarray  # (N, 4) xyxy
    track_ids: np.ndarray  # (N,) int64
    keypoints: np.ndarray  # (N, J, 2)
    scores: np.ndarray  # (N, J)
    origin: np.ndarray  # (N,) str
    keypoint_format: KeypointFormat = field(default=POSETRACK, repr=False)
    image_size: tuple[int, int] = (0, 0)  # (h, w)

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, keep) -> PoseResult:
        """The people selected by an index, slice or mask, as a new result."""
        if isinstance(keep, (int, np.integer)):
            keep = [keep]
        return PoseResult(
            self.frame_index, self.frame_name, self.boxes[keep], self.track_ids[keep], self.keypoints[keep],
            self.scores[keep], self.origin[keep], self.keypoint_format, self.image_size,
        )  # fmt: skip

    def to_record(self) -> dict:
        """Every field, lossless, as JSON-ready values (``from_record`` reads it back exactly)."""
        return {"frame_index": self.frame_index, "frame_name": self.frame_name, "boxes": self.boxes.tolist(),
                "track_ids": self.track_ids.tolist(), "keypoints": self.keypoints.tolist(),
                "scores": self.scores.tolist(), "origin": [str(o) for o in self.origin],
                "keypoint_format": self.keypoint_format.name, "image_size": list(self.image_size),
                "dtypes": [str(self.boxes.dtype), str(self.keypoints.dtype), str(self.scores.dtype)]}  # fmt: skip

    @classmethod
    def from_record(cls, record: dict) -> PoseResult:
        """The result ``to_record`` wrote."""
        box, kp, sc = record["dtypes"]
        n, fmt = len(record["boxes"]), get_format(record["keypoint_format"])
        return cls(
            record["frame_index"], record["frame_name"], np.asarray(record["boxes"], box).reshape(n, 4),
            np.asarray(record["track_ids"], np.int64).reshape(n),
            np.asarray(record["keypoints"], kp).reshape(n, fmt.num_keypoints, 2),
            np.asarray(record["scores"], sc).reshape(n, fmt.num_keypoints), np.asarray(record["origin"], "<U10").reshape(n),
            fmt, tuple(record["image_size"]),
        )  # fmt: skip

    def in_format(self, target: str | KeypointFormat) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints and scores moved to another layout's slots; slots it lacks are left empty (0)."""
        return convert_keypoints(self.keypoints, self.scores, self.keypoint_format, target)

    def annotations(
        self, image_id: int, target: str | KeypointFormat = POSETRACK, first_id: int = 0, min_score: float = 0.0
    ) -> list[dict]:
        """COCO-style annotation records (PoseTrack18 or COCO slots): keypoints [x, y, v] * J,
        per-keypoint ``scores``, bbox [x, y, w, h], ``track_id`` and ``origin``. Empty slots, joints scored
        under ``min_score`` (labels for training: unsure joints stay unlabeled) and unscored joints at (0, 0) (a
        given label's unlabeled joints) are (0, 0, 0)."""
        fmt = get_format(target)
        kps, scores = self.in_format(fmt)
        present = np.ones(fmt.num_keypoints, bool)
        present[fmt.index_map(self.keypoint_format) < 0] = False  # slots the model's format has not got
        records = []
        for i in range(len(self)):
            xyv = np.zeros((fmt.num_keypoints, 3))
            keep = present & ~((scores[i] <= 0) & np.all(kps[i] == 0, axis=-1))  # a label's unlabeled joint: unlabeled
            if min_score > 0:
                keep &= scores[i] >= min_score
            xyv[keep, :2] = kps[i, keep]
            xyv[keep, 2] = 1
            x1, y1, x2, y2 = (float(v) for v in self.boxes[i])
            records.append(
                {
                    "id": first_id + i,
                    "image_id": image_id,
                    "category_id": 1,
                    "track_id": int(self.track_ids[i]),
                    "keypoints": np.round(xyv, 3).ravel().tolist(),
                    "scores": np.round(np.where(present, scores[i], 0), 5).tolist(),
                    "score": float(scores[i][present].mean()) if present.any() else 0.0,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "origin": str(self.origin[i]),
                }
            )
        return records

    def plot(self, frame: np.ndarray, min_score: float = 0.0, draw_boxes: bool = True) -> np.ndarray:
        """A copy of ``frame`` with skeletons, boxes and track ids drawn (colour per track)."""
        image = frame.copy()
        valid = self.keypoint_format.valid_mask
        for i in range(len(self)):
            color = _color(int(self.track_ids[i]))
            pts = self.keypoints[i]
            ok = valid & (self.scores[i] > min_score) & np.isfinite(pts).all(axis=1)
            for a, b in self.keypoint_format.skeleton:
                if ok[a] and ok[b]:
                    cv2.line(image, _pt(pts[a]), _pt(pts[b]), color, 2, cv2.LINE_AA)
            for j in np.flatnonzero(ok):
                cv2.circle(image, _pt(pts[j]), 3, color, -1, cv2.LINE_AA)
            if draw_boxes:
                x1, y1, x2, y2 = (int(round(v)) for v in self.boxes[i])
                cv2.rectangle(image, (x1, y1), (x2, y2), color, 1)
                label = f"{int(self.track_ids[i])} {str(self.origin[i])[0]}"
                cv2.putText(image, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
        return image


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _color(track_id: int) -> tuple[int, int, int]:
    hue = (track_id * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])
