"""Long videos: memory of both modes over 150 to 10,000 frames of 1080p, and propagation's time per frame against
the code before streaming.

    python benchmarks/long_videos.py memory --frames 150 1200 10000 --out benchmarks/results/DATE_long_videos
    python benchmarks/long_videos.py speed --before 7ab55e7 --work /tmp/aw --out benchmarks/results/DATE_long_videos
    python benchmarks/long_videos.py gap --frames 1200 --every 600 --out benchmarks/results/DATE_long_videos

memory: a synthetic 1080p video (a drifting textured background, two moving boxes standing for people; mp4v) and
labels every 10th frame are made once per length under --work; each (mode, length) runs in a process of its own
(peak memory is per process) on the tiny STDPose-T with random weights: memory here comes from frames, crops and
queues, which do not depend on the model's size beyond its weights (the starter's add about 60 MB of FP32 weights).
Propagate reads boxes from the labels; estimate is given the boxes (no detector). RSS is read from
/proc/self/statm after the first result, at the middle, at the end; peak from getrusage.

gap: propagate only, labels every --every frames (one gap longer than the memory bound), once with the default
``gap_memory_mb`` (512: the gap's frames wait as person crops) and once with a bound above the gap (whole frames,
as before the bound); the two runs' keypoints are compared (largest difference, px).

speed: propagation of the held-out real clip (sports2d frames 120-229, labels every 7th frame, the teacher's poses;
`benchmarks/adaptation.py data` makes it) with the shipped starter on the torch backend, this tree against a git
worktree of --before, alternating, each twice; frames/s after the model is loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
W, H, EVERY = 1920, 1080, 10


def make_video(path: Path, frames: int, every: int = EVERY) -> dict:
    """A 1080p mp4v video of ``frames`` frames and its labels (every ``every``-th frame) as PoseTrack18 JSON."""
    import cv2

    from stdpose_infer.keypoints import POSETRACK
    from stdpose_infer.results import PoseResult, posetrack_json
    from stdpose_infer.video import VideoWriter

    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.integers(0, 255, (H // 8, (W + 400) // 8, 3), np.uint8), (W + 400, H))
    writer = VideoWriter(path, 30)
    template = np.array([[0.5, 0.08], [0.5, 0.02], [0.5, 0.0], [0.3, 0.2], [0.7, 0.2], [0.2, 0.38], [0.8, 0.38],
                         [0.15, 0.55], [0.85, 0.55], [0.35, 0.55], [0.65, 0.55], [0.35, 0.78], [0.65, 0.78],
                         [0.35, 1.0], [0.65, 1.0], [0.45, 0.04], [0.55, 0.04]])  # fmt: skip
    labels = []
    for t in range(frames):
        image = texture[:, (t * 3) % 400 : (t * 3) % 400 + W].copy()
        boxes = []
        for k, x0 in enumerate((300, 1200)):
            x = x0 + 200 * np.sin(t / 40 + k)
            boxes.append([x, 300 + 20 * k, x + 260, 300 + 20 * k + 600])
            cv2.rectangle(image, (int(x), 300 + 20 * k), (int(x) + 260, 900 + 20 * k), (40 + 100 * k, 80, 200), -1)
        writer.write(image)
        if t % every == 0:
            b = np.array(boxes)
            kps = b[:, None, :2] + template[None] * (b[:, None, 2:] - b[:, None, :2])
            labels.append(PoseResult(t, f"{t:06d}.jpg", b, np.array([1, 2]), kps, np.ones((2, 17)),
                                     np.array(["given"] * 2), POSETRACK, (H, W)))  # fmt: skip
    writer.close()
    return posetrack_json(labels)


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(video: Path, labels: Path, mode: str, frames: int, gap_memory_mb: float = 512,
            keep: Path | None = None) -> dict:  # fmt: skip
    """One (mode, length) in this process: RSS after the first result, at the middle and the end; peak RSS (and
    the keypoints in ``keep``, .npy)."""
    import warnings

    import torch

    from stdpose_infer import Pipeline, build_model
    from stdpose_infer.annotation import read_labels

    torch.manual_seed(0)
    warnings.simplefilter("ignore")
    pipe = Pipeline(build_model("t"), backend="torch", detector=None, device="cpu", gap_memory_mb=gap_memory_mb)
    doc = json.loads(labels.read_text())
    if mode == "propagate":
        results = pipe.propagate(video, doc)
    else:
        names = [f"{t:06d}.jpg" for t in range(frames)]
        table = read_labels(doc, names, pipe.keypoint_format)
        labelled = sorted(table)
        boxes = {t: table[labelled[min(t // EVERY, len(labelled) - 1)]].boxes for t in range(frames)}
        results = pipe.estimate(video, boxes)
    rss, start, n, points = {}, time.perf_counter(), 0, []
    for n, result in enumerate(results, 1):
        if n in (1, frames // 2, frames):
            rss[{1: "first", frames // 2: "middle", frames: "end"}[n]] = round(rss_mib(), 1)
        points.append(result.keypoints)
    seconds = time.perf_counter() - start
    if keep is not None:
        np.save(keep, np.concatenate(points))
    return {"mode": mode, "frames": n, "gap_memory_mb": gap_memory_mb, "rss_mib": rss, "peak_rss_mib": round(resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "frames_per_s": round(n / seconds, 2)}  # fmt: skip


def clip(work: Path, frames: int, every: int) -> tuple[Path, Path]:
    """The synthetic video and its labels, made once under ``work``."""
    stem = f"synth1080_{frames}" + ("" if every == EVERY else f"_every{every}")
    video, labels = work / f"{stem}.mp4", work / f"{stem}.json"
    if not labels.is_file():
        work.mkdir(parents=True, exist_ok=True)
        t = time.time()
        labels.write_text(json.dumps(make_video(video, frames, every)))
        print(f"made {video} in {time.time() - t:.0f} s", flush=True)
    return video, labels


def one(video: Path, labels: Path, mode: str, frames: int, *extra: str) -> dict:
    """``measure`` in a process of its own (peak memory is per process)."""
    done = subprocess.run([sys.executable, __file__, "one", "--video", str(video), "--labels", str(labels),
                           "--mode", mode, "--n", str(frames), *extra], capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    row = json.loads(done.stdout.strip().splitlines()[-1])
    print(row, flush=True)
    return row


def memory(args) -> list[dict]:
    rows = []
    for frames in args.frames:
        video, labels = clip(args.work, frames, args.every)
        rows += [one(video, labels, mode, frames) for mode in ("propagate", "estimate")]
    return rows


def gap(args) -> list[dict]:
    """One long gap: person crops past the bound against whole frames, and the two runs' largest difference."""
    frames = args.frames[0]
    video, labels = clip(args.work, frames, args.every)
    whole_mb = frames * W * H * 3 / 2**20 + 512  # above every frame of the gap: whole frames wait
    rows = [one(video, labels, "propagate", frames, "--gap-memory-mb", str(mb), "--keep", str(args.work / f"{k}.npy"))
            for k, mb in (("crops", 512), ("whole", round(whole_mb)))]  # fmt: skip
    a, b = np.load(args.work / "crops.npy"), np.load(args.work / "whole.npy")
    rows.append({"largest_keypoint_difference_px": float(np.abs(a - b).max()), "keypoints": len(a)})
    print(rows[-1], flush=True)
    return rows


SPEED_SNIPPET = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
from stdpose_infer import Pipeline
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.evaluation.predict import sparse_labels
root = sys.argv[1]
doc = json.load(open(f"{root}/annotations/sports2d_heldout.json"))
labels = sparse_labels(doc, frame_order(doc["images"]), 7)
pipe = Pipeline(backend="torch", detector=None, device="cpu")
start = time.perf_counter()
n = sum(1 for _ in pipe.propagate(f"{root}/images/sports2d_heldout", labels))
print(json.dumps({"frames": n, "seconds": time.perf_counter() - start}))
"""


def speed(args) -> dict:
    tree = Path("/tmp/long_videos_before")
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.before], check=True)
    clip = args.work / "clips" / "sports2d_heldout"
    runs = {"before": [], "now": []}
    for _ in range(2):
        for name, path in (("before", tree), ("now", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(path)}
            done = subprocess.run([sys.executable, "-c", SPEED_SNIPPET, str(clip)], env=env, capture_output=True,
                                  text=True, cwd="/tmp")  # fmt: skip
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs[name].append(round(result["frames"] / result["seconds"], 3))
            print(name, result, flush=True)
    best = {k: max(v) for k, v in runs.items()}
    return {"before": args.before, "frames_per_s": runs, "ratio_now_to_before": round(best["now"] / best["before"], 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("stage", choices=["memory", "gap", "speed", "one"])
    p.add_argument("--frames", nargs="*", type=int, default=[150, 1200, 10000])
    p.add_argument("--work", type=Path, default=Path("/tmp/long_videos"))
    p.add_argument("--before", default="7ab55e7", help="speed: the commit before streaming propagation")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/long_videos"))
    p.add_argument("--video", type=Path)
    p.add_argument("--labels", type=Path)
    p.add_argument("--mode")
    p.add_argument("--n", type=int)
    p.add_argument("--every", type=int, default=EVERY, help="memory, gap: a label every N frames")
    p.add_argument("--gap-memory-mb", type=float, default=512)
    p.add_argument("--keep", type=Path)
    args = p.parse_args()
    if args.stage == "one":
        print(json.dumps(measure(args.video, args.labels, args.mode, args.n, args.gap_memory_mb, args.keep)))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from common import machine

    path = args.out.with_suffix(".json")
    record = json.loads(path.read_text()) if path.is_file() else {}
    record[args.stage] = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv),
                          "result": {"memory": memory, "gap": gap, "speed": speed}[args.stage](args)}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
