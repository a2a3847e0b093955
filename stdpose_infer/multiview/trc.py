"""OpenSim's TRC marker files, as Pose2Sim writes them: marker names like ``LHip`` and ``RKnee``, positions in the
calibration's world frame, units in the header, one row per video frame from the first (empty cells where a
marker is not seen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..keypoints import KeypointFormat

# this package's joint names -> Pose2Sim's marker names (HALPE / COCO skeletons)
MARKERS = {"nose": "Nose", "left_eye": "LEye", "right_eye": "REye", "left_ear": "LEar", "right_ear": "REar",
           "head_bottom": "Neck", "head_top": "Head"} | {
    f"{side}_{part}": f"{side[0].upper()}{part.capitalize()}"
    for side in ("left", "right") for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
}  # fmt: skip


def marker_names(fmt: KeypointFormat) -> list[str]:
    """Pose2Sim's names of the format's joints (its empty slots left out)."""
    return [MARKERS[name] for name, ok in zip(fmt.keypoints, fmt.valid_mask) if ok]


def write_trc(path: str | Path, points: np.ndarray, names: list[str], fps: float, units: str = "m") -> Path:
    """One person's (T, M, 3) marker positions (NaN: not seen) to ``path``, frame 1 at time 0."""
    path = Path(path)
    frames, markers = points.shape[:2]
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{fps:g}\t{fps:g}\t{frames}\t{markers}\t{units}\t{fps:g}\t1\t{frames}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(markers)),
        "",
    ]
    for t in range(frames):
        cells = ["" if not np.isfinite(v) else f"{v:.6f}" for v in points[t].ravel()]
        lines.append(f"{t + 1}\t{t / fps:.6f}\t" + "\t".join(cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_trc(path: str | Path) -> tuple[list[str], np.ndarray, float]:
    """(marker names, (T, M, 3) positions with NaN where empty, data rate) of a TRC file."""
    lines = Path(path).read_text().splitlines()
    fps = float(lines[2].split("\t")[0])
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = [line.split("\t")[2:] for line in lines[6:] if line.strip()]
    values = np.array([[float(c) if c else np.nan for c in row[: 3 * len(names)]] for row in rows])
    return names, values.reshape(len(rows), len(names), 3), fps
