"""Keypoint formats: what the J heatmap channels mean, and the mapping between formats.

Two 17-slot layouts share COCO's order but not its meaning:

- ``"coco"``: COCO-17, what ViTPose checkpoints are trained on.
- ``"posetrack"``: PoseTrack18/21. Slot 1 is ``head_bottom`` and slot 2 ``head_top`` (COCO's eyes),
  and the ear slots 3-4 are always empty in the annotations: 15 real joints.

Conversions go by joint name, so a slot the target format does not have is left empty and
never relabelled (a COCO eye never becomes a PoseTrack head_top).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

_LIMBS = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)


@dataclass(frozen=True)
class KeypointFormat:
    """One layout of keypoint slots: names, slots that are never labelled, skeleton for drawing."""

    name: str
    keypoints: tuple[str, ...]
    empty_slots: tuple[int, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    @property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        """Slot pairs that swap under a horizontal flip (left_* <-> right_*)."""
        index = {n: i for i, n in enumerate(self.keypoints)}
        return tuple(
            (i, index["right_" + n[5:]])
            for i, n in enumerate(self.keypoints)
            if n.startswith("left_") and "right_" + n[5:] in index
        )

    @property
    def flip_permutation(self) -> np.ndarray:
        """Channel order of a horizontally flipped prediction (a permutation of range(J))."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def valid_mask(self) -> np.ndarray:
        """(J,) bool: True for slots the format can label (False for PoseTrack's ears)."""
        mask = np.ones(self.num_keypoints, dtype=bool)
        mask[list(self.empty_slots)] = False
        return mask

    def index_map(self, target: str | KeypointFormat) -> np.ndarray:
        """For each slot of ``target``, the slot of this format with the same joint, or -1.

        Slots empty in either format map to -1: they have no labelled counterpart.
        """
        target = get_format(target)
        index = {n: i for i, n in enumerate(self.keypoints) if i not in self.empty_slots}
        return np.array(
            [-1 if j in target.empty_slots else index.get(n, -1) for j, n in enumerate(target.keypoints)],
            dtype=np.int64,
        )


# Limb edges shared by both layouts (slots 5-16 mean the same in both); head edges differ.
_LIMB_EDGES = (
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
)

COCO = KeypointFormat(
    name="coco",
    keypoints=("nose", "left_eye", "right_eye", "left_ear", "right_ear") + _LIMBS,
    skeleton=_LIMB_EDGES + ((1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),
)

POSETRACK = KeypointFormat(
    name="posetrack",
    keypoints=("nose", "head_bottom", "head_top", "left_ear", "right_ear") + _LIMBS,
    empty_slots=(3, 4),
    skeleton=_LIMB_EDGES + ((0, 1), (1, 2), (1, 5), (1, 6)),
)

FORMATS: dict[str, KeypointFormat] = {f.name: f for f in (COCO, POSETRACK)}


def annotated(keypoints: np.ndarray) -> np.ndarray:
    """(..., J, 3) PoseTrack/COCO keypoints -> (..., J) bool: the file's rule that an all-zero (x, y, v) is missing."""
    return ~np.all(np.asarray(keypoints) == 0, axis=-1)


def visible(keypoints: np.ndarray) -> np.ndarray:
    """(..., J, 3) keypoints -> (..., J) bool: annotated and marked visible (v > 0)."""
    keypoints = np.asarray(keypoints)
    return (keypoints[..., 2] > 0) & annotated(keypoints)


def posetrack_from_coco(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 (..., 17, 2) keypoints and (..., 17) scores -> PoseTrack slots, with the two head joints COCO lacks
    made up: head_bottom = the shoulders' midpoint, head_top = one such neck length beyond the nose
    (nose + (nose - head_bottom)); each scored by the least sure joint it was made from."""
    keypoints, scores = np.asarray(keypoints, np.float64), np.asarray(scores, np.float64)
    out_k, out_s = convert_keypoints(keypoints, scores, COCO, POSETRACK)
    c = COCO.keypoints.index
    shoulders = keypoints[..., [c("left_shoulder"), c("right_shoulder")], :]
    bottom = shoulders.mean(axis=-2)
    nose = keypoints[..., c("nose"), :]
    bottom_score = scores[..., [c("left_shoulder"), c("right_shoulder")]].min(axis=-1)
    b, top = POSETRACK.keypoints.index("head_bottom"), POSETRACK.keypoints.index("head_top")
    out_k[..., b, :], out_s[..., b] = bottom, bottom_score
    out_k[..., top, :], out_s[..., top] = 2 * nose - bottom, np.minimum(bottom_score, scores[..., c("nose")])
    return out_k, out_s


def get_format(fmt: str | KeypointFormat) -> KeypointFormat:
    """Look up a keypoint format by name ("coco" or "posetrack")."""
    if isinstance(fmt, KeypointFormat):
        return fmt
    try:
        return FORMATS[fmt]
    except KeyError:
        raise InputError(f"unknown keypoint_format {fmt!r}; choose one of {sorted(FORMATS)}") from None


def convert_keypoints(
    keypoints: np.ndarray, scores: np.ndarray, source: str | KeypointFormat, target: str | KeypointFormat
) -> tuple[np.ndarray, np.ndarray]:
    """Move (..., J, 2) keypoints and (..., J) scores from one format's slots to another's.

    Target slots with no counterpart get coordinates 0 and score 0 (empty, not guessed).
    """
    src, dst = get_format(source), get_format(target)
    keypoints, scores = np.asarray(keypoints), np.asarray(scores)
    if keypoints.shape[-2] != src.num_keypoints or scores.shape[-1] != src.num_keypoints:
        raise InputError(
            f"expected {src.num_keypoints} keypoints in {src.name!r} format, "
            f"got keypoints {keypoints.shape} and scores {scores.shape}"
        )
    idx = src.index_map(dst)
    have = idx >= 0
    out_k = np.zeros(keypoints.shape[:-2] + (dst.num_keypoints, keypoints.shape[-1]), keypoints.dtype)
    out_s = np.zeros(scores.shape[:-1] + (dst.num_keypoints,), scores.dtype)
    out_k[..., have, :] = keypoints[..., idx[have], :]
    out_s[..., have] = scores[..., idx[have]]
    return out_k, out_s
