"""3D from the four calibrated pose2sim views: reprojection error against the 2D it was built from and against an
independent 2D estimator (MoveNet Thunder, the teacher's poses of ``adaptation.py data``), bone-length steadiness,
and the frame offsets found between views.

    python benchmarks/adaptation.py data --work W --data DATA          # the teacher's 2D of the four views
    python benchmarks/triangulation.py --data DATA --work W --out OUT

The 2D is ``Pipeline()`` (the shipped starter and detector) on each view; the starter trained on single frames of
these views, so this measures the 3D steps on a recording the model has seen, not the model on a new one.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from adaptation import read_clip  # noqa: E402
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.annotation import read_labels  # noqa: E402
from stdpose_infer.multiview import read_calibration, reconstruct  # noqa: E402

VIEWS = ("cam01", "cam02", "cam03", "cam04")
BONES = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle"), "upper arm": ("shoulder", "elbow")}


def two_d(data: Path, work: Path, flip_test: bool = False) -> list[list]:
    """Each view's results (cached in WORK/triangulation_2d[_flip].pkl)."""
    cache = work / f"triangulation_2d{'_flip' if flip_test else ''}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    pipe = Pipeline(flip_test=flip_test)
    views = [list(pipe(data / "real_videos" / "pose2sim_multiperson" / "videos" / f"{v}.mp4")) for v in VIEWS]
    cache.write_bytes(pickle.dumps(views))
    return views


def teacher(work: Path, view: str, frames: int, fmt, height: int) -> dict:
    """The teacher's poses of the view on every frame (MoveNet MultiPose boxes + Thunder poses), in the video's
    pixels (the clip's frames were stored at a longer side of 1024)."""
    root, order, _, every = read_clip(work, f"pose2sim_{view}", 1, images=False)
    scale = height / cv2.imread(str(root / order[0]["file_name"])).shape[0]
    table = read_labels(every, [f"frame/{i:06d}" for i in range(frames)], fmt)
    for lab in table.values():
        lab.keypoints = lab.keypoints * scale
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--flip-test", action="store_true", help="2D with the flip test (each crop and its mirror)")
    p.add_argument("--fps", type=float, default=60.0, help="the views' frame rate (the 3D low-pass; 0: none)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    cameras = read_calibration(args.data / "real_videos" / "pose2sim_multiperson" / "calibration" / "Calib.qca.txt")
    cache = args.work / f"triangulation_2d{'_flip' if args.flip_test else ''}.pkl"
    start, cached = time.perf_counter(), cache.is_file()
    views = two_d(args.data, args.work, args.flip_test)
    two_d_s = None if cached else round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    people = reconstruct(cameras, views, max_offset=3, fps=args.fps)
    three_d_s = time.perf_counter() - start
    fmt = people.keypoint_format
    valid = fmt.valid_mask
    slot = {n: i for i, n in enumerate(fmt.keypoints)}
    own, independent, bones = [], [], {}
    for k in range(len(people)):
        e = people.errors[k][:, valid]  # each joint against the 2D of the views it was triangulated from
        own.extend(e[np.isfinite(e)])
        seen = np.isfinite(people.points[k][:, valid]).all(-1).any(-1).sum()
        if seen < 20:
            continue
        for bone, (a, b) in BONES.items():
            for side in ("left", "right"):
                length = np.linalg.norm(people.points[k, :, slot[f"{side}_{a}"]] - people.points[k, :, slot[f"{side}_{b}"]], axis=1)
                length = length[np.isfinite(length)]
                if len(length) >= 10:
                    bones[f"person {k + 1} {side} {bone}"] = {"frames": int(len(length)),
                                                              "mean_m": round(float(length.mean()), 3),
                                                              "cv": round(float(length.std() / length.mean()), 3)}  # fmt: skip
    for v, (cam, view) in enumerate(zip(cameras, VIEWS)):
        truth = teacher(args.work, view, len(views[v]), fmt, views[v][0].image_size[0])
        for k in range(len(people)):
            for t in range(people.points.shape[1]):
                frame = people.first_frame + t + people.offsets[v]
                X = people.points[k, t]
                lab = truth.get(frame)
                if lab is None or not len(lab.track_ids) or not np.isfinite(X[valid]).sum() >= 6:
                    continue
                projected = cam.project(X)
                d = np.linalg.norm(projected[None] - lab.keypoints, axis=2)  # (people, J)
                ok = lab.visible & valid[None] & np.isfinite(d)
                with np.errstate(all="ignore"):
                    mean = np.where(ok.sum(1) >= 6, np.where(ok, d, 0).sum(1) / np.maximum(ok.sum(1), 1), np.inf)
                best = int(np.argmin(mean))
                if np.isfinite(mean[best]) and mean[best] < 100:  # the teacher found this person in this view
                    independent.extend(d[best][ok[best]])
    cv = [b["cv"] for b in bones.values()]
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
        "people": len(people), "frame_offsets": dict(zip(VIEWS, people.offsets)),
        "offset_costs_px": [{str(o): round(c, 2) for o, c in costs.items()} for costs in people.offset_costs],
        "reprojection_px_own_2d": {"median": round(float(np.median(own)), 2), "p90": round(float(np.percentile(own, 90)), 2),
                                   "joints": len(own)},
        "reprojection_px_movenet_thunder": {"median": round(float(np.median(independent)), 2),
                                            "p90": round(float(np.percentile(independent, 90)), 2),
                                            "joints": len(independent)},
        "bone_length_cv": bones, "bone_length_cv_max": max(cv) if cv else None,
        "seconds": {"2d": two_d_s, "3d": round(three_d_s, 1)},
    }  # fmt: skip
    lines = [
        "# 3D from the four pose2sim views", "", f"{result['date']}; {result['machine']}. Command: `{result['command']}`.",
        "", f"2D: `Pipeline(flip_test={args.flip_test})` on each view (" + (f"{two_d_s} s" if two_d_s else "cached from an earlier run of this "
        "script: not timed here") + "); 3D (offsets, association, "
        f"triangulation, 3D tracking): {result['seconds']['3d']} s for {people.points.shape[1]} frames.", "",
        f"Frame offsets found against cam01: {result['frame_offsets']} (median distance of the best-matching "
        f"people to their epipolar lines per offset tried: {result['offset_costs_px']}).", "",
        "| measure | median | 90th percentile | joints | goal |", "|---|---|---|---|---|",
        f"| reprojection against the 2D it was built from | {result['reprojection_px_own_2d']['median']} px | "
        f"{result['reprojection_px_own_2d']['p90']} px | {len(own)} | <= 8 px |",
        f"| reprojection against MoveNet Thunder (independent) | {result['reprojection_px_movenet_thunder']['median']} px | "
        f"{result['reprojection_px_movenet_thunder']['p90']} px | {len(independent)} | <= 20 px |", "",
        "Bone lengths over the clip (people seen on 20 frames or more; coefficient of variation, goal <= 5 %):", "",
        "| bone | frames | mean | CV |", "|---|---|---|---|",
        *[f"| {name} | {b['frames']} | {b['mean_m']} m | {b['cv']:.1%} |" for name, b in bones.items()], "",
    ]  # fmt: skip
    save_results(args.out, result, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
