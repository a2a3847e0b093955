"""Cost per person against people per frame (issue 39): the default Pipeline's persons/s at 1, 4, 10 and 20 people a
frame, with the people's true boxes (the model's share alone) and with the shipped detector (end to end).

    python benchmarks/persons_scaling.py --out benchmarks/results/DATE_persons_scaling
    python benchmarks/persons_scaling.py --write-crowd crowd1080.mp4   # 40 frames, 1920 x 1080, 20 people, for
    stdpose-bench --video crowd1080.mp4 ...                             # the bench's stage shares on a crowd

Synthetic 1280 x 720 clips (people 10-40 % of the frame height, so most crops are upscaled 1-3x; people cut by the
frame edge included), the same seed per row; each row runs enough frames for about ``--persons`` people. Every
crop is the model's fixed input size, so a person costs the same wherever and however small it is: what can waste
time is a batch left part-empty, which cross-frame batching (up to ``max_delay`` frames) avoids.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.data.synthetic import SyntheticConfig, SyntheticVideo  # noqa: E402


def clip(people: int, persons: int, seed: int) -> tuple[list, list]:
    frames = max(12, math.ceil(persons / people))
    config = SyntheticConfig(width=1280, height=720, frames=frames, people=people, seed=seed, occluders=0,
                             person_height=(0.1, 0.4))  # fmt: skip
    images, boxes = zip(*[(image, labels.boxes) for image, labels in SyntheticVideo(config)])
    return list(images), list(boxes)


def write_crowd(path: Path, people: int = 20, frames: int = 40, seed: int = 7) -> None:
    """A 1920 x 1080 synthetic crowd clip (MP4, 25 fps) for ``stdpose-bench --video``."""
    import cv2

    config = SyntheticConfig(width=1920, height=1080, frames=frames, people=people, seed=seed, occluders=0,
                             person_height=(0.1, 0.4))  # fmt: skip
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (1920, 1080))
    for image, _ in SyntheticVideo(config):
        writer.write(image)
    writer.release()


def run(pipe: Pipeline, images: list, boxes: list | None) -> dict:
    list(pipe(images[:3], None if boxes is None else boxes[:3]))  # warm-up: graphs, threads, allocator
    start = time.perf_counter()
    results = list(pipe(images, boxes))
    wall = time.perf_counter() - start
    persons = sum(len(r.track_ids) for r in results)
    return {"frames": len(images), "persons": persons, "seconds": round(wall, 2),
            "frames_per_s": round(len(images) / wall, 3), "persons_per_s": round(persons / wall, 3)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--people", nargs="+", type=int, default=[1, 4, 10, 20])
    p.add_argument("--persons", type=int, default=120, help="about this many people per row")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--write-crowd", type=Path, help="only write the 1080p crowd clip for stdpose-bench")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.write_crowd:
        return write_crowd(args.write_crowd)
    if args.out is None:
        p.error("--out is required")
    given, detected = Pipeline(detector=None), Pipeline()
    rows = []
    for n in args.people:
        images, boxes = clip(n, args.persons, args.seed)
        rows.append({"people": n, "true_boxes": run(given, images, boxes), "detector": run(detected, images, None)})
        print(rows[-1], flush=True)
    base = next((r for r in rows if r["people"] == 4), rows[0])
    for r in rows:
        for kind in ("true_boxes", "detector"):
            r[kind]["vs_4_people"] = round(r[kind]["persons_per_s"] / base[kind]["persons_per_s"], 3)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "model": given.model_source, "rows": rows}  # fmt: skip
    lines = [
        "# Cost per person against people per frame", "",
        f"{result['date']}; {result['machine']}. Command: `{result['command']}`. The default Pipeline (shipped starter, "
        "feature reuse on, batch 32, max_delay 8); synthetic 1280 x 720 clips, people 10-40 % of the frame height.", "",
        "| people a frame | frames | true boxes: persons/s | vs 4 people | shipped detector: persons/s | vs 4 people "
        "| detector: people found | detector: frames/s |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        t, d = r["true_boxes"], r["detector"]
        lines.append(f"| {r['people']} | {t['frames']} | {t['persons_per_s']:.2f} | {t['vs_4_people']:.2f} | "
                     f"{d['persons_per_s']:.2f} | {d['vs_4_people']:.2f} | {d['persons']} of {t['persons']} | "
                     f"{d['frames_per_s']:.2f} |")  # fmt: skip
    save_results(args.out, result, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
