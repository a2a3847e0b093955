"""Whether propagation reads its labels: move every given label d pixels and measure how far the propagated joints
follow. A source that carries the labels (interpolation, point tracking) moves them by d; one that places joints
from the key frame's pixels alone moves them by 0. The ratio is the share of d the joints followed, on average."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..annotation import FrameLabels, read_labels
from ..annotation.interpolation import interpolated_pose


def shifted_labels(table: dict[int, FrameLabels], dx: float, dy: float = 0.0) -> dict[int, FrameLabels]:
    """The labels with every joint and box moved by (dx, dy) pixels."""
    return {t: replace(lab, keypoints=lab.keypoints + [dx, dy], boxes=lab.boxes + [dx, dy, dx, dy])
            for t, lab in table.items()}


def label_sensitivity(pipe, frames, labels, d: float = 10.0) -> float:
    """The mean share of a d-pixel shift (to the right) of every given label that ``pipe``'s propagated joints
    follow on the unlabeled frames: ~1 for a source that reads the labels, ~0 for one that does not. ``frames``: a
    list of BGR images (every frame of the clip); ``labels``: anything ``Pipeline.propagate`` reads. The joints
    that count: those of propagated people labeled on both neighbouring labeled frames (what a label can move)."""
    names = [f"frame/{i:06d}" for i in range(len(frames))]
    table = read_labels(labels, names, pipe.keypoint_format)
    runs = [list(pipe.propagate(frames, moved)) for moved in (table, shifted_labels(table, d))]
    shares = []
    for base, moved in zip(*runs):
        for i in np.flatnonzero(base.origin == "propagated"):
            hit = np.flatnonzero((moved.track_ids == base.track_ids[i]) & (moved.origin == "propagated"))
            if not len(hit):
                continue
            both = interpolated_pose(base.frame_index, table, int(base.track_ids[i]))
            if both is None:
                continue
            use = both[1] == 1.0
            shares.extend((moved.keypoints[hit[0], use, 0] - base.keypoints[i, use, 0]) / d)
    if not shares:
        raise ValueError("no person was propagated in both runs: label some people on two frames")
    return float(np.mean(shares))
