"""What a joint's score says about its error: the starter's joints at true boxes (estimate mode), binned by score,
against the clips' truth (the MoveNet Thunder teacher for pose2sim, the renderer's poses for the synthetic video).
The kinematics' score threshold is read from it (``analytics.kinematics``).

    python benchmarks/adaptation.py data --work W --data DATA      # the clips
    python benchmarks/joint_scores.py --work W --clips pose2sim_cam02 000001_synthetic --out OUT
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from adaptation import read_clip  # noqa: E402
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.annotation import read_labels  # noqa: E402

EDGES = (0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 1.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--clips", nargs="+", default=["pose2sim_cam02", "000001_synthetic"])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    pipe = Pipeline(None, detector=None)
    rows = []
    for name in args.clips:
        _, _, images, every = read_clip(args.work, name, 1)
        truth = read_labels(every, [f"frame/{i:06d}" for i in range(len(images))], pipe.keypoint_format)
        for r in pipe.estimate(images, {t: lab.boxes for t, lab in truth.items()}):
            lab = truth.get(r.frame_index)
            for i in range(len(r) if lab is not None else 0):
                size = np.sqrt(np.prod(lab.boxes[i, 2:] - lab.boxes[i, :2]))
                for j in np.flatnonzero(lab.visible[i] & pipe.keypoint_format.valid_mask):
                    rows.append((r.scores[i, j], np.linalg.norm(r.keypoints[i, j] - lab.keypoints[i, j]) / size))
    rows = np.array(rows)
    bins = []
    for a, b in zip(EDGES[:-1], EDGES[1:]):
        m = (rows[:, 0] >= a) & (rows[:, 0] < b)
        bins.append({"scores": [a, b], "joints": int(m.sum()), "share": float(m.mean()),
                     "within_0.1_size": float(np.mean(rows[m, 1] < 0.1)) if m.any() else None,
                     "median_error": float(np.median(rows[m, 1])) if m.any() else None})  # fmt: skip
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "clips": args.clips, "bins": bins}  # fmt: skip
    lines = ["# What a joint's score says about its error", "",
             f"{result['date']}; {result['machine']}. Command: `{result['command']}`.", "",
             "The shipped starter in estimate mode at the true boxes of " + ", ".join(args.clips) + "; error in person "
             "sizes (the square root of the box area) against the clip's truth.", "",
             "| score | joints | share | within 0.1 size | median error |", "|---|---|---|---|---|"]  # fmt: skip
    for b in bins:
        if b["joints"]:
            lines.append(f"| {b['scores'][0]:.2f}-{b['scores'][1]:.2f} | {b['joints']} | {b['share']:.1%} | "
                         f"{b['within_0.1_size']:.1%} | {b['median_error']:.3f} |")  # fmt: skip
    save_results(args.out, result, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
