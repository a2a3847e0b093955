"""Memory of the keypoint table writer over long videos: the peak resident memory of a fresh process writing 1,000
and 10,000 frames (10 people a frame), CSV and Parquet. Flat memory means the 10,000-frame peak within 1.1x of the
1,000's.

    python benchmarks/table_memory.py --out benchmarks/results/DATE_table_memory
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from common import machine, save_results
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.results import PoseResult, TableWriter


def frame(t: int, people: int = 10) -> PoseResult:
    rng = np.random.default_rng(t)
    return PoseResult(t, f"{t:06d}.jpg", np.zeros((people, 4)), np.arange(people), rng.uniform(0, 1000, (people, 17, 2)),
                      rng.uniform(0, 1, (people, 17)), np.full(people, "estimated", "<U10"), POSETRACK)  # fmt: skip


def write(suffix: str, frames: int) -> None:
    """In this process: write the table, print (peak resident MB, file MB) as JSON."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"table{suffix}"
        with TableWriter(path, fps=30) as writer:
            for t in range(frames):
                writer.write(frame(t))
        size = path.stat().st_size / 2**20
    print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, size]))


def peak_mb(suffix: str, frames: int) -> tuple[float, float]:
    """(peak resident MB of a fresh process writing ``frames`` frames, file MB)."""
    done = subprocess.run([sys.executable, __file__, "--child", suffix, str(frames)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return write(args.child[0], int(args.child[1]))
    rows, results = [], {}
    for suffix in (".csv", ".parquet"):
        small, big = peak_mb(suffix, 1_000), peak_mb(suffix, 10_000)
        results[suffix] = {"1000": small, "10000": big, "ratio": big[0] / small[0]}
        rows.append(f"| {suffix} | {small[0]:.2f} | {big[0]:.2f} | {big[0] / small[0]:.2f} | {small[1]:.1f} / {big[1]:.1f} |")
        print(rows[-1], flush=True)
    md = "\n".join([
        "# Keypoint table: memory over long videos", "",
        f"{date.today()}, {machine()}; `python benchmarks/table_memory.py --out {args.out}`", "",
        "Synthetic results, 10 people x 17 joints a frame (170 rows a frame); peak resident memory (ru_maxrss) of a "
        "fresh process that imports the package and writes the table (Parquet: a row group per 256 frames).", "",
        "| format | peak MB, 1,000 frames | peak MB, 10,000 frames | ratio | file MB (1,000 / 10,000) |",
        "|---|---|---|---|---|", *rows, "",
    ])  # fmt: skip
    save_results(args.out, results, md)
    print(md)


if __name__ == "__main__":
    main()
