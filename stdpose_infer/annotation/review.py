"""The review list: the people on propagated and estimated frames most worth a human look, worst first."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..results import PoseResult
from .interpolation import interpolated_pose, nearest_labeled
from .labels import FrameLabels

COLUMNS = ("priority", "frame", "frame_name", "track_id", "origin", "mean_score", "min_score", "weakest_joint",
           "shift_from_interpolation", "label_motion", "heldout_expected_error")  # fmt: skip
LOW_SCORE = 0.3  # a pose whose mean joint score is under this is listed as unsure in the summary


def given_labels(results: Iterable[PoseResult]) -> dict[int, FrameLabels]:
    """The labels a propagation was given, back from its results (the poses of origin "given")."""
    table = {}
    for r in results:
        mine = r.origin == "given"
        if mine.any():
            table[r.frame_index] = FrameLabels(r.track_ids[mine], r.keypoints[mine], r.scores[mine] > 0, r.boxes[mine])
    return table


def review_rows(results: Iterable[PoseResult], adaptation=None) -> list[dict]:
    """One row per pose that was not given, worst first. ``priority`` adds three signs of trouble, each in units
    of the person's size (the square root of its box area) or of score: 1 - the mean joint score; the mean
    distance of the joints from the labels' interpolation (``shift_from_interpolation``); and how far the
    labelled joints move per frame between the labeled frames around it (``label_motion``, fast motion). After an
    adaptation (its ``AdaptReport``), a fourth: the error this video's held-out labels expect of each propagated joint
    from the source used for it at that distance from the labels (``heldout_expected_error``), so the next labels
    go where the model and interpolation are weakest."""
    results = list(results)
    labels = given_labels(results)
    rows = []
    for r in results:
        valid = r.keypoint_format.valid_mask
        for i in np.flatnonzero(r.origin != "given"):
            x1, y1, x2, y2 = r.boxes[i]
            size = float(np.sqrt(max((x2 - x1) * (y2 - y1), 1.0)))
            scores = r.scores[i][valid]
            shift = motion = expected = 0.0
            if labels and r.origin[i] == "propagated":
                shift, motion = _against_labels(r, i, labels, size)
                expected = _expected(r.frame_index, labels, adaptation, np.flatnonzero(valid))
            weakest = int(np.flatnonzero(valid)[np.argmin(scores)])
            rows.append({
                "priority": round(float(1 - scores.mean()) + shift + motion + expected, 4),
                "frame": r.frame_index, "frame_name": r.frame_name, "track_id": int(r.track_ids[i]),
                "origin": str(r.origin[i]), "mean_score": round(float(scores.mean()), 4),
                "min_score": round(float(scores.min()), 4), "weakest_joint": r.keypoint_format.keypoints[weakest],
                "shift_from_interpolation": round(shift, 4), "label_motion": round(motion, 4),
                "heldout_expected_error": round(expected, 4),
            })  # fmt: skip
    return sorted(rows, key=lambda row: -row["priority"])


def _expected(t: int, labels: dict[int, FrameLabels], adaptation, slots: np.ndarray) -> float:
    """The mean held-out expected error of a propagated pose's joints at frame ``t`` (0 without an adaptation)."""
    if adaptation is None:
        return 0.0
    before, after = nearest_labeled(sorted(labels), t)
    values = [adaptation.expected_error(int(j), (t - before) * (after - t)) for j in slots]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else 0.0


def _against_labels(r: PoseResult, i: int, labels: dict[int, FrameLabels], size: float) -> tuple[float, float]:
    interp = interpolated_pose(r.frame_index, labels, int(r.track_ids[i]))
    if interp is None:
        return 0.0, 0.0
    xy, score = interp
    ok = score > 0
    shift = float(np.linalg.norm(r.keypoints[i][ok] - xy[ok], axis=1).mean()) / size if ok.any() else 0.0
    before, after = nearest_labeled(sorted(labels), r.frame_index)
    motion = 0.0
    if after != before:
        sides = [labels[f] for f in (before, after)]
        hits = [np.flatnonzero(s.track_ids == r.track_ids[i]) for s in sides]
        if len(hits[0]) and len(hits[1]):
            a, b = (s.keypoints[h[0]] for s, h in zip(sides, hits))
            both = sides[0].positions[hits[0][0]] & sides[1].positions[hits[1][0]]
            if both.any():
                motion = float(np.linalg.norm(b[both] - a[both], axis=1).mean()) / (after - before) / size
    return shift, motion


def write_review_csv(rows: list[dict], path: str | Path) -> Path:
    """The review rows as CSV (worst first), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def review_summary(rows: list[dict]) -> str:
    """One line for the terminal: how many poses to review, how many are unsure, and the worst one."""
    if not rows:
        return "review: every pose was given; nothing to check"
    unsure = sum(row["mean_score"] < LOW_SCORE for row in rows)
    worst = rows[0]
    shifts = [row["shift_from_interpolation"] for row in rows if row["origin"] == "propagated"]
    against = (f"; propagated poses lie a median {100 * float(np.median(shifts)):.1f} % of the person's size from the "
               "labels' interpolation") if shifts else ""  # fmt: skip
    return (f"review: {len(rows)} poses not given ({unsure} with mean joint score < {LOW_SCORE}){against}; worst: "
            f"frame {worst['frame']} track {worst['track_id']} ({worst['origin']}, mean score "
            f"{worst['mean_score']:.2f}, weakest {worst['weakest_joint']})")  # fmt: skip
