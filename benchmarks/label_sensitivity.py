"""How much of a label shift the shipped model's propagated joints follow, against the shift's size relative to the
people (issue 37): the test suite's small synthetic clip (256 x 192, 2 people, labels every 4th frame) with every
label moved d px, for several d.

    python benchmarks/label_sensitivity.py --d 2 3 4 5 10 --out OUT
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.data import write_benchmark  # noqa: E402
from stdpose_infer.data.posetrack_folder import frame_order  # noqa: E402
from stdpose_infer.evaluation import label_sensitivity  # noqa: E402
from stdpose_infer.evaluation.predict import sparse_labels  # noqa: E402
from stdpose_infer.video import read_frames  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--d", nargs="+", type=float, default=[2, 3, 4, 5, 10])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp())
    write_benchmark(root, videos=1, seed=5, width=256, height=192, frames=9, people=2, occluders=0)  # the test's clip
    path = next((root / "annotations").glob("*.json"))
    doc = json.loads(path.read_text())
    frames = [f.image for f in read_frames(root / "images" / path.stem)]
    labels = sparse_labels(doc, frame_order(doc["images"]), 4)
    heights = [np.ptp(k[k[:, 2] > 0, 1]) for a in doc["annotations"]
               if (k := np.array(a["keypoints"]).reshape(-1, 3))[:, 2].sum() > 0]  # fmt: skip
    median = float(np.median(heights))
    pipe = Pipeline(backend="torch", detector=None, device="cpu", fallback="none")
    rows = [{"d_px": d, "d_share_of_height": round(d / median, 3),
             "followed": round(label_sensitivity(pipe, frames, labels, d=d), 3)} for d in args.d]  # fmt: skip
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
               "median_person_height_px": round(median, 1), "model": pipe.model_source, "rows": rows}  # fmt: skip
    lines = ["# Label shifts the shipped model follows, by the shift's size", "",
             f"{results['date']}; {results['machine']}. Command: `{results['command']}`. Model: {results['model']}.",
             "", f"The test suite's synthetic clip; people's median keypoint height {median:.0f} px. Every label moved "
             "d px to the right; the share of d the propagated joints (model alone, no fallback) move.", "",
             "| d (px) | d / person height | share followed |", "|---|---|---|",
             *[f"| {r['d_px']:g} | {r['d_share_of_height']:.1%} | {r['followed']:.2f} |" for r in rows], ""]  # fmt: skip
    save_results(args.out, results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
