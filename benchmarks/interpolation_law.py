"""How linear interpolation's error grows between labels: the law behind the 'decided' fallback (adapt/heldout.py).

    python benchmarks/interpolation_law.py --work W --clip sports2d_full --first 0 --last 110 --out OUT

W is benchmarks/adaptation.py's work folder (its `data` stage makes the clips: teacher poses on every frame). For
labels every T = 3, 7, 15, 30 frames, each unlabeled frame's interpolation error (in person sizes, the square root of
the label box's area) is binned by its span (t - before) x (after - t); the exponent p of error ~ span ** p is fitted
by least squares on log-log over spans >= 6 (below that, label noise sets a floor). Frames 0-109 of sports2d are the
starter's training frames: not a clip any adaptation result is scored on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from stdpose_infer.adapt.heldout import interpolation_errors
from stdpose_infer.annotation import read_labels
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.keypoints import POSETRACK


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/adapt_work"))
    p.add_argument("--clip", default="sports2d_full")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--last", type=int, default=110)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/interpolation_law"))
    args = p.parse_args()
    root = args.work / "clips" / args.clip
    doc = json.loads((root / "annotations" / f"{args.clip}.json").read_text())
    names = [f"frame/{i:06d}" for i in range(len(frame_order(doc["images"])))]
    truth = {t: v for t, v in read_labels(doc, names, POSETRACK).items() if args.first <= t < args.last}
    lines = [f"# Interpolation error against span ({time.strftime('%Y-%m-%d')})", "",
             f"`python benchmarks/interpolation_law.py --clip {args.clip} --first {args.first} --last {args.last}`: "
             "teacher poses (MoveNet) as labels; mean error in person sizes per span (t - before) x (after - t).", "",
             "| T | span: mean error (joints) |", "|---|---|"]  # fmt: skip
    spans, errors = [], []
    for T in (3, 7, 15, 30):
        kept = {t: v for t, v in truth.items() if (t - args.first) % T == 0}
        held = {t: v for t, v in truth.items() if (t - args.first) % T and t < max(kept)}
        e = interpolation_errors(kept, held)
        err = np.nan_to_num(e.errors, nan=1.0)
        bins = sorted(set(e.spans.astype(int).tolist()))
        lines.append(f"| {T} | " + ", ".join(f"{s}: {err[e.spans == s].mean():.3f} ({(e.spans == s).sum()})"
                                             for s in bins) + " |")  # fmt: skip
        spans += e.spans.tolist()
        errors += err.tolist()
    spans, errors = np.array(spans), np.array(errors)
    use = spans >= 6
    bins = sorted(set(spans[use].astype(int).tolist()))
    means = np.array([errors[spans == s].mean() for s in bins])
    slope = np.polyfit(np.log(bins), np.log(means), 1)[0]
    lines += ["", f"Fitted exponent p (error ~ span ** p, spans >= 6, one point per span): **{slope:.2f}**. "
              "1 would be a smooth path (error = |acceleration| / 2 x span), 0.5 a random walk's spread "
              "along a gap of fixed length.", ""]  # fmt: skip
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
