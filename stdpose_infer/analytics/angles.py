"""Joint and segment angles as Sports2D defines them (BSD-3, D. Pagnon): the keypoints each angle reads, its offset
and sign, and the one formula that turns 2, 3 or 4 points into degrees. Image coordinates (y down) go in; the
signs make a segment's angle counter-clockwise from the horizontal as a viewer sees it.

Joint angles (0 = the straight position of the joint, flexion positive): knee (ankle, knee, hip), hip (knee, hip,
pelvis centre, neck), shoulder (elbow, shoulder, pelvis centre, neck), elbow (wrist, elbow, shoulder). Segment
angles to the horizontal: shank, thigh, arm, forearm, trunk (neck to pelvis centre), pelvis and shoulders (left to
right, within +-90 degrees), head (head top to neck). Neck = the shoulders' midpoint, pelvis centre = the hips'.
The ankle, wrist, foot and hand angles need toe, heel and finger keypoints, which the 17 COCO / PoseTrack joints do
not have: they are left out for such models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..keypoints import KeypointFormat


@dataclass(frozen=True)
class Angle:
    """One angle: the points it reads (Sports2D names), offset and sign, and whether it is a segment's."""

    points: tuple[str, ...]
    offset: float
    sign: float
    segment: bool = False
    half_turn: bool = False  # pelvis, shoulders: folded into (-90, 90]


ANGLES: dict[str, Angle] = {
    "right_ankle": Angle(("RKnee", "RAnkle", "RBigToe", "RHeel"), 90, 1),
    "left_ankle": Angle(("LKnee", "LAnkle", "LBigToe", "LHeel"), 90, 1),
    "right_knee": Angle(("RAnkle", "RKnee", "RHip"), -180, 1),
    "left_knee": Angle(("LAnkle", "LKnee", "LHip"), -180, 1),
    "right_hip": Angle(("RKnee", "RHip", "Hip", "Neck"), 0, -1),
    "left_hip": Angle(("LKnee", "LHip", "Hip", "Neck"), 0, -1),
    "right_shoulder": Angle(("RElbow", "RShoulder", "Hip", "Neck"), 0, -1),
    "left_shoulder": Angle(("LElbow", "LShoulder", "Hip", "Neck"), 0, -1),
    "right_elbow": Angle(("RWrist", "RElbow", "RShoulder"), 180, -1),
    "left_elbow": Angle(("LWrist", "LElbow", "LShoulder"), 180, -1),
    "right_foot": Angle(("RBigToe", "RHeel"), 0, -1, segment=True),
    "left_foot": Angle(("LBigToe", "LHeel"), 0, -1, segment=True),
    "right_shank": Angle(("RAnkle", "RKnee"), 0, -1, segment=True),
    "left_shank": Angle(("LAnkle", "LKnee"), 0, -1, segment=True),
    "right_thigh": Angle(("RKnee", "RHip"), 0, -1, segment=True),
    "left_thigh": Angle(("LKnee", "LHip"), 0, -1, segment=True),
    "pelvis": Angle(("LHip", "RHip"), 0, -1, segment=True, half_turn=True),
    "trunk": Angle(("Neck", "Hip"), 0, -1, segment=True),
    "shoulders": Angle(("LShoulder", "RShoulder"), 0, -1, segment=True, half_turn=True),
    "head": Angle(("Head", "Neck"), 0, -1, segment=True),
    "right_arm": Angle(("RElbow", "RShoulder"), 0, -1, segment=True),
    "left_arm": Angle(("LElbow", "LShoulder"), 0, -1, segment=True),
    "right_forearm": Angle(("RWrist", "RElbow"), 0, -1, segment=True),
    "left_forearm": Angle(("LWrist", "LElbow"), 0, -1, segment=True),
}

# Sports2D's keypoint names -> this package's (Neck and Hip are midpoints, made in ``body_points``)
NAMES = {
    f"{side}{part}": f"{word}_{part.lower()}"
    for side, word in (("R", "right"), ("L", "left"))
    for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")
} | {"Head": "head_top", "Nose": "nose"}
MIDPOINTS = {"Neck": ("left_shoulder", "right_shoulder"), "Hip": ("left_hip", "right_hip")}


def body_points(keypoints: np.ndarray, scores: np.ndarray, fmt: KeypointFormat,
                threshold: float) -> dict[str, np.ndarray]:  # fmt: skip
    """Sports2D-named points (..., 2) from keypoints (..., J, 2) of format ``fmt``: NaN where a joint scores under
    ``threshold`` (a midpoint needs both of its joints). Names the format lacks are absent."""
    slot = {name: i for i, name in enumerate(fmt.keypoints) if fmt.valid_mask[i]}
    xy = np.where((scores >= threshold)[..., None], keypoints.astype(np.float64), np.nan)
    points = {ours: xy[..., slot[name], :] for ours, name in NAMES.items() if name in slot}
    for name, (a, b) in MIDPOINTS.items():
        if a in slot and b in slot:
            points[name] = (xy[..., slot[a], :] + xy[..., slot[b], :]) / 2
    return points


def available(fmt: KeypointFormat) -> list[str]:
    """The angles a model of this keypoint format can give (those whose points it has)."""
    have = set(body_points(np.zeros((fmt.num_keypoints, 2)), np.ones(fmt.num_keypoints), fmt, 0.0))
    return [name for name, angle in ANGLES.items() if set(angle.points) <= have]


def angle_degrees(angle: Angle, points: list[np.ndarray]) -> np.ndarray:
    """``angle`` from its points (each (..., 2), image coordinates): degrees in (-180, 180] ((-90, 90] for a
    half-turn segment); NaN where a point is NaN."""
    if len(points) == 2:
        u = points[0] - points[1]
        raw = np.degrees(np.arctan2(u[..., 1], u[..., 0]))
    else:
        u, v = (points[0] - points[1], points[2] - points[1]) if len(points) == 3 else (
            points[1] - points[0], points[3] - points[2])  # fmt: skip
        cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
        dot = (u * v).sum(-1)
        raw = -np.degrees(np.arctan2(cross, dot))
    value = (raw + angle.offset) * angle.sign
    return (value + 90) % 180 - 90 if angle.half_turn else (value + 180) % 360 - 180
