"""3D on a calibrated recording the project has never seen, with the truth known: people walking (and one waving)
in 3D, drawn as the synthetic benchmark draws its people into four cameras of a rig made here (1280 x 720,
30 frames/s, one camera started 2 frames late), then `Pipeline()` 2D on each view and `reconstruct` as
`stdpose-infer triangulate` runs it. Measured against the true 3D: joint error (MPJPE), bone-length steadiness,
the frame offset found; and the reprojection error against the 2D it was built from.

    python benchmarks/synthetic_multiview.py --work W --out OUT [--frames 120] [--flip-test]

Synthetic people are not real ones: this checks the 3D steps (offsets, matching, triangulation, tracking, the fit)
on a new calibration with exact truth, not the 2D model on real footage.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.data.synthetic import (  # noqa: E402  (the synthetic benchmark's people, drawn from 3D here)
    HEAD_BOTTOM, HEAD_TOP, L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NOSE, R_ANKLE, R_ELBOW, R_HIP,
    R_KNEE, R_SHOULDER, R_WRIST, _background, _draw_person, _Person, person_layer, person_textures,
)  # fmt: skip
from stdpose_infer.keypoints import POSETRACK  # noqa: E402
from stdpose_infer.multiview import Camera, read_calibration, reconstruct  # noqa: E402
from stdpose_infer.multiview.refine import rigid_bones  # noqa: E402
from stdpose_infer.video import VideoWriter  # noqa: E402

W, H, FPS, LATE = 1280, 720, 30.0, 2  # the fourth camera started LATE frames after the others
UP = np.array([0.0, 0.0, 1.0])


def rig() -> list[Camera]:
    """Four cameras on a 6 m circle, 2.5 m high, looking at the middle of the floor (1 m up), slight distortion."""
    cameras = []
    for i, angle in enumerate(np.radians([25, 115, 200, 290])):
        centre = np.array([6 * math.cos(angle), 6 * math.sin(angle), 2.5])
        forward = np.array([0.0, 0.0, 1.0]) - centre
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, UP)
        right /= np.linalg.norm(right)
        R = np.stack([right, np.cross(forward, right), forward])
        K = np.array([[1100.0, 0, W / 2 + 7 * i], [0, 1100.0, H / 2 - 5 * i], [0, 0, 1]])
        cameras.append(Camera(f"cam{i + 1:02d}", K, np.array([-0.04, 0.02, 0.0005, -0.0003]), R, -R @ centre, (W, H)))
    return cameras


def skeleton(root: np.ndarray, forward: np.ndarray, height: float, phase: float, stride: float, wave: float) -> np.ndarray:
    """(17, 3) PoseTrack joints of a person at ``root`` (pelvis on the floor plane) facing ``forward``."""
    left = np.cross(UP, forward)
    kp = np.zeros((17, 3))
    pelvis = root + UP * (0.53 * height + 0.01 * height * math.cos(2 * phase))
    neck = pelvis + UP * 0.30 * height
    head = 0.13 * height
    kp[HEAD_BOTTOM] = neck + UP * 0.02 * height
    kp[HEAD_TOP] = kp[HEAD_BOTTOM] + UP * head
    kp[NOSE] = kp[HEAD_BOTTOM] + UP * 0.45 * head + forward * 0.45 * head
    kp[L_SHOULDER], kp[R_SHOULDER] = neck + left * 0.115 * height, neck - left * 0.115 * height
    kp[L_HIP], kp[R_HIP] = pelvis + left * 0.075 * height, pelvis - left * 0.075 * height

    def limb(start, angle, length, out=0.0):
        return start + (-UP * math.cos(angle) + forward * math.sin(angle)) * length * math.cos(out) + left * length * math.sin(out)

    for s, (hip, knee, ankle) in ((1, (L_HIP, L_KNEE, L_ANKLE)), (-1, (R_HIP, R_KNEE, R_ANKLE))):
        thigh = 0.45 * stride * s * math.sin(phase)
        kp[knee] = limb(kp[hip], thigh, 0.245 * height)
        kp[ankle] = limb(kp[knee], thigh - 0.9 * stride * max(0.0, math.sin(s * phase + math.pi / 2)), 0.245 * height)
    for s, (sh, el, wr) in ((1, (L_SHOULDER, L_ELBOW, L_WRIST)), (-1, (R_SHOULDER, R_ELBOW, R_WRIST))):
        raise_arm = wave * (1 + math.sin(3 * phase)) * 1.2 if s < 0 else 0.0  # the right arm waves
        upper = -0.4 * stride * s * math.sin(phase) + raise_arm
        kp[el] = limb(kp[sh], upper, 0.17 * height, out=-s * 0.15 * (1 + raise_arm))
        kp[wr] = limb(kp[el], upper + 0.4 + 0.3 * stride + raise_arm * 0.5, 0.15 * height, out=-s * 0.1)
    return kp


def scene(frames: int) -> np.ndarray:
    """(people, frames + LATE, 17, 3): two people walking (a circle, a line back and forth) and one waving."""
    out = []
    for k, (height, speed) in enumerate(((1.80, 1.2), (1.65, 0.9), (1.72, 0.0))):
        track = []
        for t in range(frames + LATE):
            s = t / FPS
            if k == 0:
                a = speed * s / 1.8
                root, forward = np.array([1.8 * math.cos(a), 1.8 * math.sin(a), 0]), np.array([-math.sin(a), math.cos(a), 0])
            elif k == 1:
                x = 2.2 * math.sin(speed * s / 2.2)
                root, forward = np.array([x, -0.6, 0]), np.array([math.copysign(1, math.cos(speed * s / 2.2)), 0, 0])
            else:
                root, forward = np.array([-0.5, 1.2, 0]), np.array([0.6, -0.8, 0])
            stride = 1.0 if speed else 0.1
            phase = 2 * math.pi * (1.8 if speed else 0.6) * s + k
            track.append(skeleton(root, forward, height, phase, stride, 0.0 if speed else 1.0))
        out.append(track)
    return np.array(out)


def render(cameras: list[Camera], truth: np.ndarray, frames: int, folder: Path) -> list[Path]:
    """Each view's video: its frame t shows the scene's frame t (t + LATE for the late camera)."""
    rng = np.random.default_rng(7)
    looks = []
    for k in range(len(truth)):
        p = _Person(k + 1, 1.0, 0, 0, 0, 1.0, 0, 0, np.zeros((8, 3)))
        p.textures = person_textures(rng)
        looks.append(p)
    paths = []
    for v, cam in enumerate(cameras):
        background = _background(rng, W, H)
        path = folder / f"{cam.name}.mp4"
        with VideoWriter(path, FPS) as writer:
            for t in range(frames):
                scene_t = t + (LATE if v == len(cameras) - 1 else 0)
                frame = background.astype(np.float32)
                depth = [float((cam.R @ truth[k, scene_t].mean(0) + cam.t)[2]) for k in range(len(truth))]
                for k in np.argsort(depth)[::-1]:  # far people first
                    X = truth[k, scene_t]
                    kp = cam.project(X)
                    forward = np.cross(X[L_HIP] - X[R_HIP], UP)  # the person's forward, from their hips
                    to_camera = cam.centre - X.mean(0)
                    p = looks[k]
                    p.facing = float(np.sign(forward @ to_camera) or 1.0)
                    p.height = float(np.linalg.norm(kp[HEAD_TOP] - (kp[L_ANKLE] + kp[R_ANKLE]) / 2))
                    parts, lo = _draw_person(p, kp, 0.13 * p.height, 1.0, (W, H))
                    if parts is None:
                        continue
                    h, w = parts.shape
                    layer, alpha = person_layer(p, parts)
                    region = frame[lo[1] : lo[1] + h, lo[0] : lo[0] + w]
                    region[:] = region * (1 - alpha[..., None]) + layer * alpha[..., None]
                writer.write(np.clip(frame, 0, 255).astype(np.uint8))
        paths.append(path)
    return paths


def simulated_2d(cameras: list[Camera], truth: np.ndarray, frames: int, seed: int = 0) -> list[list]:
    """Each view's 2D made from the truth instead of a model: the true projections with 4 px of noise; per person,
    view and frame a 5 % chance each of one joint 60 px off, of an arm or leg with its left and right swapped, and
    of a joint not seen (score 0). What a good 2D model's errors look like, with the truth known."""
    from stdpose_infer.results import PoseResult

    rng, valid = np.random.default_rng(seed), POSETRACK.valid_mask
    pairs = [(L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST), (L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE)]
    views = []
    for v, cam in enumerate(cameras):
        shift = LATE if v == len(cameras) - 1 else 0
        results = []
        for t in range(frames):
            kps, scores = [], []
            for k in range(len(truth)):
                kp = cam.project(truth[k, t + shift]) + rng.normal(0, 4.0, (17, 2))
                score = np.where(valid, 0.8, 0.0)
                if rng.random() < 0.05:
                    kp[rng.choice(np.flatnonzero(valid))] += rng.normal(0, 60.0, 2)
                if rng.random() < 0.05:
                    limb = pairs[rng.integers(2)]
                    a, b = list(limb[0::2][1:]), list(limb[1::2][1:])  # elbow+wrist or knee+ankle
                    kp[a + b] = kp[b + a]
                if rng.random() < 0.05:
                    score[rng.choice(np.flatnonzero(valid))] = 0.0
                inside = (kp[:, 0] > 0) & (kp[:, 0] < W) & (kp[:, 1] > 0) & (kp[:, 1] < H)
                if inside[valid].mean() > 0.5:
                    kps.append(kp)
                    scores.append(np.where(inside, score, 0.0))
            n = len(kps)
            results.append(PoseResult(t, f"{cam.name}/{t:06d}", np.zeros((n, 4)), np.arange(n), np.array(kps).reshape(n, 17, 2),
                                      np.array(scores).reshape(n, 17), np.full(n, "estimated"), POSETRACK, (H, W)))  # fmt: skip
        views.append(results)
    return views


def measure(people, truth: np.ndarray, cameras: list[Camera], views) -> dict:
    """Each 3D track matched to the true person it lies closest to: joint errors, bones, coverage."""
    valid = POSETRACK.valid_mask
    errors, cvs, covered = [], [], 0
    scene_frames = truth[:, people.first_frame : people.first_frame + people.points.shape[1]]  # view 0's frames
    for k in range(len(people)):
        P = people.points[k]
        d = np.linalg.norm(P[None, :, valid] - scene_frames[:, :, valid], axis=-1)  # (true people, T, J)
        seen = np.isfinite(d).any(-1)
        if seen.sum() < 10:
            continue
        who = int(np.argmin([np.nanmedian(x) if np.isfinite(x).any() else np.inf for x in d]))
        e = d[who][np.isfinite(d[who])]
        if np.median(e) > 0.3:
            continue  # not a person of the scene
        errors.extend(e)
        covered += int(seen[who].sum())
        for a, b in rigid_bones(POSETRACK):
            length = np.linalg.norm(P[:, a] - P[:, b], axis=1)
            length = length[np.isfinite(length)]
            if len(length) >= 10:
                cvs.append(float(length.std() / length.mean()))
    own = people.errors[..., valid]
    own = own[np.isfinite(own)]
    errors = np.array(errors) * 1000
    return {"mpjpe_mm": {"median": round(float(np.median(errors)), 1), "mean": round(float(np.mean(errors)), 1),
                         "p90": round(float(np.percentile(errors, 90)), 1)},
            "person_frames_found": covered, "person_frames_true": int(scene_frames.shape[0] * scene_frames.shape[1]),
            "bone_cv_max": round(max(cvs), 3), "bone_cv_median": round(float(np.median(cvs)), 3),
            "reprojection_px_own_2d": round(float(np.median(own)), 2), "tracks": len(people)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--flip-test", action="store_true")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cameras = rig()
    calibration = args.work / "rig.json"  # an OpenCV-style calibration, read back as a user's would be
    calibration.write_text(json.dumps([{"name": c.name, "K": c.K.tolist(), "dist": c.dist.tolist(), "R": c.R.tolist(),
                                        "t": c.t.tolist(), "size": list(c.size)} for c in cameras]))  # fmt: skip
    cameras = read_calibration(calibration)
    truth = scene(args.frames)
    videos = render(cameras, truth, args.frames, args.work)
    cache = args.work / f"views{'_flip' if args.flip_test else ''}.pkl"
    start = time.perf_counter()
    if cache.is_file():  # the 2D of an earlier run with the same frames (and its time)
        views, two_d_s = pickle.loads(cache.read_bytes())
    else:
        pipe = Pipeline(flip_test=args.flip_test)
        views = [list(pipe(v)) for v in videos]
        two_d_s = round(time.perf_counter() - start, 1)
        cache.write_bytes(pickle.dumps((views, two_d_s)))
    true_2d, found, mirrored = [], [0] * len(cameras), [0] * len(cameras)
    valid, flip = POSETRACK.valid_mask, POSETRACK.flip_permutation
    for v, cam in enumerate(cameras):  # the 2D model alone: its joints against the true projections
        shift = LATE if v == len(cameras) - 1 else 0
        for t, result in enumerate(views[v]):
            for k in range(len(truth)):
                kp = cam.project(truth[k, t + shift])
                if len(result):
                    d = np.linalg.norm(result.keypoints - kp[None], axis=-1)[:, valid]
                    mirror = np.linalg.norm(result.keypoints[:, flip] - kp[None], axis=-1)[:, valid]
                    best = int(np.minimum(d, mirror).mean(1).argmin())
                    if min(d[best].mean(), mirror[best].mean()) < 60:
                        found[v] += 1
                        mirrored[v] += int(mirror[best].mean() < d[best].mean())
                        true_2d.extend(d[best])
    outputs = {}
    sources = {"simulated 2D (truth + noise)": simulated_2d(cameras, truth, args.frames),
               f"the starter's 2D (flip test {'on' if args.flip_test else 'off'})": views}  # fmt: skip
    for source, two_d in sources.items():
        for name, fit in (("per-frame triangulation", False), ("fitted (the default)", True)):
            people = reconstruct(cameras, two_d, max_offset=3, fps=FPS, fit=fit)
            outputs[f"{source}: {name}"] = {"offsets": people.offsets, **measure(people, truth, cameras, two_d)}
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "frames": args.frames, "true_offsets": [0, 0, 0, -LATE], "two_d_seconds": two_d_s,
              "two_d_px_against_truth": {"median": round(float(np.median(true_2d)), 2), "joints": len(true_2d)},
              "two_d_people_found_per_view": found, "two_d_mirrored_per_view": mirrored,
              "people_in_view_frames": len(truth) * args.frames,
              "outputs": outputs}  # fmt: skip
    lines = [
        "# 3D on a synthetic calibrated recording (truth known)", "",
        f"{result['date']}; {result['machine']}. Command: `{result['command']}`.", "",
        f"Four cameras made here (1280 x 720, 30 frames/s, 6 m away), {args.frames} frames, three people (two "
        f"walking, one waving); the fourth camera started {LATE} frames late (true offsets {result['true_offsets']}). "
        f"2D: `Pipeline(flip_test={args.flip_test})` (shipped starter and detector)"
        + (f", {two_d_s} s" if two_d_s else ", cached") + f"; its joints lie a median "
        f"{result['two_d_px_against_truth']['median']} px from the true projections. Of the {len(truth) * args.frames} "
        f"person-frames of each view it found {found} (a pose within 60 px of a true person), and drew "
        f"{mirrored} of those with left and right swapped.", "",
        "| 2D: output | offsets found | MPJPE median / mean / p90 (mm) | person-frames found | bone CV largest / median | "
        "reprojection vs its own 2D (median px) |", "|---|---|---|---|---|---|",
        *[f"| {n} | {o['offsets']} | {o['mpjpe_mm']['median']} / {o['mpjpe_mm']['mean']} / {o['mpjpe_mm']['p90']} | "
          f"{o['person_frames_found']} of {o['person_frames_true']} | {o['bone_cv_max']:.1%} / {o['bone_cv_median']:.1%} | "
          f"{o['reprojection_px_own_2d']} |" for n, o in outputs.items()], "",
    ]  # fmt: skip
    save_results(args.out, result, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
