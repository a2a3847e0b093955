"""Propagation's sources side by side, and whether each reads its labels: interpolation, point tracking of the
labels, the model alone, and the fallback rules that combine them, scored on the frames between labels.

    python benchmarks/adaptation.py data --work W --data DATA          # the clips (truth: the teacher's poses)
    python benchmarks/propagation_sources.py --work W --clips sports2d_heldout pose2sim_cam01 --T 3 7 15 --out OUT

Per clip and T, the model propagates once (``fallback="none"``); every rule is applied to those same points
(PoseTrack mAP, Total, on the unlabeled frames). Labels read: every given label moved ``--shift`` px to the right;
the share of it the propagated joints follow (``evaluation.label_sensitivity``), at the first T given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptation import _score, _with_fallback, read_clip  # noqa: E402
from common import machine, save_results  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.annotation import read_labels  # noqa: E402
from stdpose_infer.evaluation import interpolate_labels, label_sensitivity, score_predictions  # noqa: E402
from stdpose_infer.pipeline import Fallback  # noqa: E402

RULES = {
    "model alone": Fallback("none"),
    "interpolation (model fills unlabeled joints)": Fallback("interpolate"),
    "point tracking (model fills unlabeled joints)": Fallback("interpolate", carry="tracking"),
    "default fallback (joint)": Fallback("joint"),
    "fallback track (joint, tracking)": Fallback.for_model("track"),
}


def run_clip(pipe: Pipeline, work: Path, name: str, T: int) -> dict:
    root, order, images, given = read_clip(work, name, T)
    out = work / "sources" / f"{name}_T{T}"
    table = read_labels(given, [f"frame/{i:06d}" for i in range(len(images))], pipe.keypoint_format)
    interpolate_labels(root, out / "interp", T)
    rows = {"labels interpolated": score_predictions(root, out / "interp", "propagate", T).groups["Total"]}
    start = time.perf_counter()
    raw = list(pipe.propagate(images, given))
    model_s = time.perf_counter() - start
    tracking_s = 0.0
    for rule_name, rule in RULES.items():
        start = time.perf_counter()
        fixed = _with_fallback(raw, rule, table, images)
        tracking_s = max(tracking_s, time.perf_counter() - start)
        rows[rule_name] = _score(fixed, order, root, out / rule_name.split(" (")[0].replace(" ", "_"), T)["Total"]
    return {"clip": name, "T": T, "frames": len(images), "model_seconds": round(model_s, 1),
            "tracking_seconds": round(tracking_s, 2), "scores": {k: round(v, 1) for k, v in rows.items()}}  # fmt: skip


def sensitivity(weights, work: Path, name: str, T: int, shift: float) -> dict:
    _, _, images, given = read_clip(work, name, T)
    out = {}
    for rule_name, rule in RULES.items():
        pipe = Pipeline(weights, backend="torch", detector=None, fallback=rule)
        out[rule_name] = round(label_sensitivity(pipe, images, given, shift), 3)
    return out


def markdown(result: dict) -> str:
    runs = result["runs"]
    names = list(runs[0]["scores"])
    lines = [
        "# Propagation's sources side by side", "",
        f"{result['date']}; {result['machine']}. Command: `{result['command']}`.", "",
        "PoseTrack mAP (Total) on the unlabeled frames; labels = the truth (MoveNet Thunder teacher on every frame "
        "for real clips, the renderer's poses for synthetic ones) on every T-th frame. One model pass per row "
        "(`fallback=\"none\"`), every rule applied to its points.", "",
        "| clip | T | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names),
    ]  # fmt: skip
    for r in runs:
        lines.append(f"| {r['clip']} | {r['T']} | " + " | ".join(f"{r['scores'][n]:.1f}" for n in names) + " |")
    lines += ["", "Seconds per clip (model pass / point tracking of every gap): "
              + "; ".join(f"{r['clip']} T={r['T']}: {r['model_seconds']} / {r['tracking_seconds']}" for r in runs), ""]
    for clip, sens in result["sensitivity"].items():
        lines += [f"Labels read on {clip} at T = {result['sensitivity_T']}: every label moved {result['shift']} px "
                  "right, the share of it the propagated joints follow (1: all of it; 0: none):", "",
                  "| source | share |", "|---|---|", *[f"| {k} | {v:.3f} |" for k, v in sens.items()], ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--clips", nargs="+", default=["sports2d_heldout"])
    p.add_argument("--T", nargs="+", type=int, default=[3, 7, 15])
    p.add_argument("--shift", type=float, default=10.0)
    p.add_argument("--sensitivity-clips", nargs="*", default=["sports2d_heldout"])
    p.add_argument("--weights", help="default: the shipped starter")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    pipe = Pipeline(args.weights, backend="torch", detector=None, fallback="none")
    runs = []
    for name in args.clips:
        for T in args.T:
            runs.append(run_clip(pipe, args.work, name, T))
            print(runs[-1], flush=True)
    sens = {name: sensitivity(args.weights, args.work, name, args.T[0] if 7 not in args.T else 7, args.shift)
            for name in args.sensitivity_clips}  # fmt: skip
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "runs": runs, "sensitivity": sens, "sensitivity_T": 7 if 7 in args.T else args.T[0],
              "shift": args.shift}  # fmt: skip
    save_results(args.out, result, markdown(result))


if __name__ == "__main__":
    main()
