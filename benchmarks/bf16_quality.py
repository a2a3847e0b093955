"""What BF16 autocast costs in pose quality: the same trained checkpoints scored in FP32 and BF16.

Needs trained checkpoints and a labeled test set; the Table 4 study leaves both in its work folder
(``table4_synthetic.py --work W``: W/runs/ROW_TASK_sSEED/last.safetensors and W/test). For each
checkpoint: PoseTrack mAP in both precisions (torch backend, same boxes, same frames) and the
displacement of every model-predicted keypoint between the two (given labels excluded).

    python benchmarks/bf16_quality.py --work /tmp/table4 --out benchmarks/results/DATE_cpu_bf16/quality.md
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RUNS = ("full_propagate_s0", "full_propagate_s1", "full_propagate_s2", "full_estimate_s0", "full_estimate_s1",
        "full_estimate_s2", "baseline_estimate_s0")  # fmt: skip


def displacement(fp32_dir: Path, bf16_dir: Path) -> np.ndarray:
    """Pixel distance between the two precisions' keypoints, over every pose the model predicted."""
    out = []
    for file in sorted(fp32_dir.glob("*.json")):
        a = json.loads(file.read_text())["annotations"]
        b = json.loads((bf16_dir / file.name).read_text())["annotations"]
        for x, y in zip(a, b, strict=True):
            assert (x["image_id"], x["track_id"]) == (y["image_id"], y["track_id"]), "predictions out of step"
            if x.get("origin") == "given":
                continue
            p, q = (np.asarray(z["keypoints"]).reshape(-1, 3)[:, :2] for z in (x, y))
            out.extend(np.linalg.norm(p - q, axis=1))
    return np.asarray(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="table4_synthetic.py work folder (runs/ and test/)")
    parser.add_argument("--out", required=True, help="Markdown file to write (a .json beside it)")
    parser.add_argument("--runs", nargs="+", default=list(RUNS))
    parser.add_argument("--label-every", type=int, default=7)
    args = parser.parse_args()

    import torch

    from stdpose_infer.evaluation import score_dataset
    from stdpose_infer.runtime.torch_backend import cpu_has_bf16_units

    work, rows = Path(args.work), []
    scratch = Path(tempfile.mkdtemp(prefix="bf16-quality-"))
    for run in args.runs:
        mode = "propagate" if "_propagate_" in run else "estimate"
        weights = work / "runs" / run / "last.safetensors"
        scores = {}
        for precision in ("fp32", "bf16"):
            print(f"{run}: {mode}, {precision}", flush=True)
            result = score_dataset(weights, work / "test", scratch / f"{run}_{precision}", mode, args.label_every,
                                   backend="torch", precision=precision, progress=False)  # fmt: skip
            scores[precision] = result.groups["Total"]
        d = displacement(scratch / f"{run}_fp32", scratch / f"{run}_bf16")
        rows.append({"run": run, "mode": mode, "keypoints": len(d), "median_px": float(np.median(d)),
                     "p99_px": float(np.percentile(d, 99)), "max_px": float(d.max()),
                     "over_5px_pct": float((d > 5).mean() * 100), "total_fp32": scores["fp32"],
                     "total_bf16": scores["bf16"]})  # fmt: skip

    command = "python benchmarks/bf16_quality.py " + shlex.join(sys.argv[1:])
    lines = [
        "# BF16 autocast vs FP32: pose quality of the same checkpoints (torch backend, CPU)",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- command: `{command}`",
        f"- machine: {platform.machine()}, torch {torch.__version__}, CPU BF16 units (AMX/AVX512-BF16): "
        f"{cpu_has_bf16_units()}",
        f"- checkpoints: {work}/runs/RUN/last.safetensors (the Table 4 study's tiny models: undertrained, see "
        "2026-11-21_table4_synthetic.md); test set: its held-out synthetic videos",
        "- displacement: distance between the FP32 and BF16 keypoint of every model-predicted pose (given labels "
        "excluded); Total: PoseTrack mAP (propagate: propagated frames only)",
        "",
        "| checkpoint | task | keypoints | median px | p99 px | max px | > 5 px % | Total FP32 | Total BF16 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['run']} | {r['mode']} | {r['keypoints']} | {r['median_px']:.2f} | {r['p99_px']:.2f} | "
                     f"{r['max_px']:.1f} | {r['over_5px_pct']:.2f} | {r['total_fp32']:.2f} | "
                     f"{r['total_bf16']:.2f} |")  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
