"""Batch annotation throughput: the same videos serially and on a local Ray instance with 1 and 2 actors.

    python benchmarks/batch_throughput.py --data DATA --out benchmarks/results/DATE_batch_throughput

Videos: the first FRAMES frames of each real video in DATA (pose2sim cam01-04, sports2d, vtest.avi), estimated with
the shipped starter model and default detector (FP32, torch, CPU). Each run writes to a fresh folder; videos/s and
frames/s are wall-clock, Ray's start-up included (reported separately as the 1-video warm-up is not excluded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2

from stdpose_infer.batch import annotate_videos

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results


def clips(data: Path, frames: int, folder: Path) -> list[Path]:
    sources = [data / f"real_videos/pose2sim_multiperson/videos/cam0{i}.mp4" for i in range(1, 5)]
    sources += [data / "real_videos/sports2d/demo.mp4", data / "opencv_samples/vtest.avi"]
    out = []
    for src in sources:
        cap = cv2.VideoCapture(str(src))
        path = folder / f"{src.parent.parent.name if 'pose2sim' in str(src) else ''}{src.stem}.avi"
        writer = None
        for _ in range(frames):
            ok, image = cap.read()
            if not ok:
                break
            r = min(1.0, 960 / max(image.shape[:2]))
            image = cv2.resize(image, None, fx=r, fy=r, interpolation=cv2.INTER_AREA) if r < 1 else image
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, image.shape[1::-1])
            writer.write(image)
        writer.release()
        out.append(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stdpose-batch-bench-"))
    videos = clips(args.data, args.frames, work)
    options = dict(backend="torch", device="cpu", precision="fp32", batch_size=16)
    runs = {}
    for name, kwargs in (("serial", {}), ("ray, 1 actor", dict(ray=True, actors=1)),
                         ("ray, 2 actors", dict(ray=True, actors=2))):  # fmt: skip
        start = time.perf_counter()
        rows = annotate_videos(videos, work / name.replace(" ", "_").replace(",", ""), progress=False, **kwargs,
                               **options)  # fmt: skip
        seconds = time.perf_counter() - start
        frames = sum(r["frames"] for r in rows)
        runs[name] = {"seconds": round(seconds, 1), "videos": len(rows), "frames": frames,
                      "poses": sum(r["poses"] for r in rows), "frames_per_s": round(frames / seconds, 3),
                      "failed": [r["video"] for r in rows if r["status"] != "done"]}  # fmt: skip
        print(name, runs[name], flush=True)
    results = {"date": str(date.today()), "machine": machine(),
               "command": " ".join(["python", *sys.argv]), "frames_per_video": args.frames, "runs": runs}  # fmt: skip
    base = runs["serial"]["seconds"]
    lines = [f"# Batch annotation throughput ({results['date']})", "", f"Machine: {results['machine']}",
             f"Command: `{results['command']}`", "",
             (f"{len(videos)} real videos x {args.frames} frames (longer side <= 960 px), starter model + default "
              "detector, torch FP32 on the CPU. Wall clock including Ray's start-up and each actor's model load."), "",
             "| run | seconds | frames/s | vs serial |", "|---|---|---|---|"]  # fmt: skip
    for name, r in runs.items():
        lines.append(f"| {name} | {r['seconds']} | {r['frames_per_s']} | {base / r['seconds']:.2f}x |")
    save_results(args.out, results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
