"""3D people at a glance: their skeletons at a few moments, their paths seen from above, and their bone lengths over
time (steady lines: a sound reconstruction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, require
from .refine import rigid_bones

BONES = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle"), "upper arm": ("shoulder", "elbow")}


def plot_people3d(people, path: str | Path, fps: float | None = None, moments: int = 4, longest: int = 4) -> Path:
    """Draw ``people`` (``reconstruct``'s ``People3D``): the ``longest`` people (by frames seen) as skeletons at
    ``moments`` frames spread over the clip, their paths from above, and their left and right thigh, shank and upper
    arm lengths against time (seconds with ``fps``, else frames). Writes ``path`` (.png, .pdf, .svg), returns it."""
    require("matplotlib", "analytics", "3D plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"{path}: a plot is a .png, .pdf or .svg file")
    fmt = people.keypoint_format
    seen = np.isfinite(people.points).all(-1).any(-1)  # (P, T)
    order = [k for k in np.argsort(-seen.sum(1)) if seen[k].sum() > 0][:longest]
    if not order:
        raise InputError("no person was seen by two views: nothing to plot")
    slot = {n: i for i, n in enumerate(fmt.keypoints)}
    T = people.points.shape[1]
    times = (np.arange(T) + people.first_frame) / (fps or 1.0)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = plt.figure(figsize=(14, 4.6))
    body, above, bones = fig.add_subplot(1, 3, 1, projection="3d"), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
    edges = rigid_bones(fmt) + [(a, b) for a, b in fmt.skeleton if (a, b) not in rigid_bones(fmt)]
    for n, k in enumerate(order):
        colour, frames = colours[n % len(colours)], np.flatnonzero(seen[k])
        for i, t in enumerate(np.linspace(frames[0], frames[-1], moments).round().astype(int)):
            X = people.points[k, t]
            for a, b in edges:
                if np.isfinite(X[[a, b]]).all():
                    body.plot(*X[[a, b]].T, color=colour, lw=1.4, alpha=0.35 + 0.65 * (i + 1) / moments)
        hips = people.points[k][:, [slot["left_hip"], slot["right_hip"]]]
        centre = np.where(np.isfinite(hips).all((1, 2))[:, None], hips.mean(1), np.nan)  # both hips seen
        above.plot(centre[:, 0], centre[:, 1], color=colour, lw=1.5, label=f"person {n + 1}")
        above.plot(*centre[frames[-1], :2], "o", color=colour)
        for bone, (a, b) in BONES.items():
            for side, style in (("left", "--"), ("right", "-")):
                length = np.linalg.norm(people.points[k, :, slot[f"{side}_{a}"]] - people.points[k, :, slot[f"{side}_{b}"]], axis=1)
                bones.plot(times, length, style, color=colour, lw=1.0, alpha=0.8,
                           label=f"person {n + 1}" if (bone, side) == ("thigh", "right") else None)  # fmt: skip
    body.set_title(f"skeletons at {moments} moments (later: darker)", fontsize=9)
    body.set_xlabel("x (m)")
    body.set_ylabel("y (m)")
    body.set_zlabel("z (m)")
    limits = np.array([body.get_xlim3d(), body.get_ylim3d(), body.get_zlim3d()])
    body.set_box_aspect(np.ptp(limits, axis=1))  # metres alike on every axis
    above.set_title("paths from above (mid-hip; dot: last frame)", fontsize=9)
    above.set_xlabel("x (m)")
    above.set_ylabel("y (m)")
    above.set_aspect("equal", adjustable="datalim")
    above.grid(alpha=0.3)
    above.legend(fontsize=8)
    bones.set_title("thigh, shank, upper arm lengths (right solid, left dashed)", fontsize=9)
    bones.set_xlabel("time (s)" if fps else "frame")
    bones.set_ylabel("length (m)")
    bones.grid(alpha=0.3)
    bones.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
