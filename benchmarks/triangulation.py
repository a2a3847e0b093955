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
from stdpose_infer.multiview import refine  # noqa: E402
from stdpose_infer.multiview.plot import BONES  # noqa: E402

VIEWS = ("cam01", "cam02", "cam03", "cam04")


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


def nearest(points: np.ndarray, candidates: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
    """Per-joint distances from ``points`` (J, 2) to the candidate (of (N, J, 2)) nearest on average over the
    joints in ``ok`` (N, J), if that is under 100 px over six joints or more (the same person); else None."""
    if not len(candidates):
        return None
    d = np.linalg.norm(points[None] - candidates, axis=2)
    ok = ok & np.isfinite(d)
    with np.errstate(all="ignore"):
        mean = np.where(ok.sum(1) >= 6, np.where(ok, d, 0).sum(1) / np.maximum(ok.sum(1), 1), np.inf)
    best = int(np.argmin(mean))
    return d[best][ok[best]] if mean[best] < 100 else None


def measure(people, cameras, views, work: Path) -> dict:
    """Reprojection against the 2D it was built from and against the teacher, bone-length CVs."""
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
        truth = teacher(work, view, len(views[v]), fmt, views[v][0].image_size[0])
        for k in range(len(people)):
            for t in range(people.points.shape[1]):
                frame = people.first_frame + t + people.offsets[v]
                X = people.points[k, t]
                lab = truth.get(frame)
                if lab is None or not len(lab.track_ids) or not np.isfinite(X[valid]).sum() >= 6:
                    continue
                d = nearest(cam.project(X), lab.keypoints, lab.visible & valid[None])
                if d is not None:  # the teacher found this person in this view
                    independent.extend(d)
    cv = [b["cv"] for b in bones.values()]

    def summary(values: list) -> dict:
        return {"median": round(float(np.median(values)), 2), "p90": round(float(np.percentile(values, 90)), 2),
                "joints": len(values)}  # fmt: skip

    return {"people": len(people), "frame_offsets": dict(zip(VIEWS, people.offsets)),
            "offset_costs_px": [{str(o): round(c, 2) for o, c in costs.items()} for costs in people.offset_costs],
            "reprojection_px_own_2d": summary(own), "reprojection_px_movenet_thunder": summary(independent),
            "bone_length_cv": bones, "bone_length_cv_max": max(cv) if cv else None}  # fmt: skip


def held_out_view(cameras, views, fps: float, fit: bool) -> dict:
    """Each view left out in turn: 3D from the other three, projected into the view left out and compared with
    its own 2D (the nearest detection, mean joint distance under 100 px): an accuracy check on 2D the 3D never read."""
    distances = []
    for out in range(len(cameras)):
        keep = [v for v in range(len(cameras)) if v != out]
        people = reconstruct([cameras[v] for v in keep], [views[v] for v in keep], max_offset=0, fps=fps, fit=fit)
        valid = people.keypoint_format.valid_mask
        for k in range(len(people)):
            for t in range(people.points.shape[1]):
                result = views[out][people.first_frame + t]
                X = people.points[k, t]
                if not len(result) or np.isfinite(X[valid]).all(-1).sum() < 6:
                    continue
                d = nearest(cameras[out].project(X), result.keypoints, valid[None] & (result.scores >= 0.15))
                if d is not None:
                    distances.extend(d)
    return {"median": round(float(np.median(distances)), 2), "p90": round(float(np.percentile(distances, 90)), 2),
            "joints": len(distances)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--flip-test", action="store_true", help="2D with the flip test (each crop and its mirror)")
    p.add_argument("--fps", type=float, default=60.0, help="the views' frame rate (the fit's scale of accelerations)")
    p.add_argument("--grid-acceleration", type=float, nargs="*", default=[], help="also fit with these "
                   "acceleration weights (each with every --grid-bone): the fit's trade-off")  # fmt: skip
    p.add_argument("--grid-bone", type=float, nargs="*", default=[], help="bone-length weights for the grid")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    cameras = read_calibration(args.data / "real_videos" / "pose2sim_multiperson" / "calibration" / "Calib.qca.txt")
    cache = args.work / f"triangulation_2d{'_flip' if args.flip_test else ''}.pkl"
    start, cached = time.perf_counter(), cache.is_file()
    views = two_d(args.data, args.work, args.flip_test)
    two_d_s = None if cached else round(time.perf_counter() - start, 1)
    outputs, seconds = {}, {}
    for name, fit in (("per-frame triangulation", False), ("fitted (the default)", True)):
        start = time.perf_counter()
        people = reconstruct(cameras, views, max_offset=3, fps=args.fps, fit=fit)
        seconds[name] = round(time.perf_counter() - start, 1)
        outputs[name] = measure(people, cameras, views, args.work)
        outputs[name]["reprojection_px_held_out_view"] = held_out_view(cameras, views, args.fps, fit)
    defaults = (refine.ACCELERATION, refine.BONE)
    for acceleration, bone in [(a, b) for a in args.grid_acceleration for b in args.grid_bone if (a, b) != defaults]:
        refine.ACCELERATION, refine.BONE = acceleration, bone
        people = reconstruct(cameras, views, max_offset=3, fps=args.fps, fit=True)
        outputs[f"fitted, acceleration {acceleration}, bone {bone}"] = measure(people, cameras, views, args.work)
    refine.ACCELERATION, refine.BONE = defaults
    frames = people.points.shape[1]
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "flip_test": args.flip_test, "seconds": {"2d": two_d_s, "3d": seconds}, "outputs": outputs}  # fmt: skip
    first = next(iter(outputs.values()))
    lines = [
        "# 3D from the four pose2sim views", "", f"{result['date']}; {result['machine']}. Command: `{result['command']}`.",
        "", f"2D: `Pipeline(flip_test={args.flip_test})` on each view (" + (f"{two_d_s} s" if two_d_s else "cached from an "
        "earlier run of this script: not timed here") + "); 3D (offsets, association, triangulation, 3D tracking, and "
        f"the fit where used) for {frames} frames: " + ", ".join(f"{n} {s} s" for n, s in seconds.items()) + ".", "",
        f"Frame offsets found against cam01: {first['frame_offsets']} (median distance of the best-matching "
        f"people to their epipolar lines per offset tried: {first['offset_costs_px']}).", "",
        "| output | people | reprojection vs its own 2D (median / p90, px; goal <= 8) | vs MoveNet Thunder (median / "
        "p90, px; goal <= 20) | bone-length CV, largest (goal <= 5 %) |", "|---|---|---|---|---|",
        *[f"| {n} | {o['people']} | {o['reprojection_px_own_2d']['median']} / {o['reprojection_px_own_2d']['p90']} | "
          f"{o['reprojection_px_movenet_thunder']['median']} / {o['reprojection_px_movenet_thunder']['p90']} | "
          f"{o['bone_length_cv_max']:.1%} |" for n, o in outputs.items()], "",
        "Each view left out in turn (3D from the other three, projected into it, against its own 2D of the person: "
        "2D the 3D never read; median / p90 over joints):", "",
        *[f"- {n}: {o['reprojection_px_held_out_view']['median']} / {o['reprojection_px_held_out_view']['p90']} px "
          f"({o['reprojection_px_held_out_view']['joints']} joints)" for n, o in outputs.items()
          if "reprojection_px_held_out_view" in o], "",
        f"The fit's weights (acceleration {refine.ACCELERATION}, bone {refine.BONE}; `multiview/refine.py`) were chosen on "
        "this clip: the rows with other weights show the trade-off they sit on (no other calibrated recording was at "
        "hand to choose them on).", "",
        "Bone lengths over the clip (people seen on 20 frames or more; coefficient of variation):", "",
        "| bone | frames | " + " | ".join(f"{n}: mean, CV" for n in list(outputs)[:2]) + " |", "|---|---|---|---|",
        *[f"| {b} | {first['bone_length_cv'][b]['frames']} | " + " | ".join(
            f"{o['bone_length_cv'][b]['mean_m']} m, {o['bone_length_cv'][b]['cv']:.1%}" if b in o["bone_length_cv"] else "-"
            for o in list(outputs.values())[:2]) + " |" for b in first["bone_length_cv"]], "",
    ]  # fmt: skip
    save_results(args.out, result, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
