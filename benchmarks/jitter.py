"""Jitter of the shipped model on a real clip: estimate raw, estimate smoothed (One-Euro), and propagation; and the
accuracy cost of smoothing on the synthetic test set.

    python benchmarks/jitter.py --work W --out benchmarks/results/DATE_jitter

W/heldout is the starter model's held-out real clip (sports2d frames 120-229 at 30 fps, MoveNet teacher labels as
pseudo ground truth; `starter_model.py data` makes it); W/synth_200 is Table 4's synthetic test set and W/synth_300
the tuning set (made if absent). Jitter: the mean norm of each joint's second difference over consecutive frames
(px); error: the norm of its difference from the ground truth's second difference. Ground-truth boxes throughout
(pose quality apart from detection). The filter's two settings are chosen on the synthetic tuning set: the least
jitter whose mAP is within 1 point of the raw model's; the model runs once per set and every setting filters the
same raw results in frame order (what streaming does).
"""

from __future__ import annotations

import argparse
import copy
import sys
from datetime import date
from pathlib import Path

from stdpose_infer import Pipeline
from stdpose_infer.data import write_benchmark
from stdpose_infer.evaluation import jitter, score_dataset, score_predictions
from stdpose_infer.evaluation.predict import _videos, predict_video, write_predictions
from stdpose_infer.track import OneEuro

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results

GRID = [(c, b) for c in (0.5, 1.0, 2.0, 4.0) for b in (1.0, 4.0, 16.0)]


def _sets(work: Path) -> dict[str, tuple[Path, float]]:
    out = {}
    for name, seed in (("tuning", 300), ("synthetic", 200)):
        root = work / f"synth_{seed}"
        if not (root / "annotations").is_dir():
            write_benchmark(root, videos=4, frames=29, width=384, height=288, people=3, seed=seed)
        out[name] = (root, 25.0)
    out["real"] = (work / "heldout", 30.0)
    return out


def _smoothed(raw, data: Path, out: Path, smooth: OneEuro | None) -> dict:
    for path, order, results in raw:
        if smooth is not None:
            filt = copy.deepcopy(smooth)
            results = [filt(copy.deepcopy(r)) for r in results]
        write_predictions(results, order, out / path.name)
    return {"mAP": score_predictions(data, out).total, **jitter(out, data / "annotations")}


def run(work: Path) -> dict:
    pipe = Pipeline(None, detector=None, device="cpu")
    sets, out = _sets(work), {"tuning": {}, "real": {}, "synthetic": {}}
    raw = {}
    for name, (data, _) in sets.items():
        raw[name] = [(p, *predict_video(pipe, data, p, "estimate")[:2]) for p in _videos(data, "annotations")]
    data, fps = sets["tuning"]
    out["tuning"]["raw"] = _smoothed(raw["tuning"], data, work / "jitter/tune_raw", None)
    for c, b in GRID:
        out["tuning"][f"min_cutoff {c} Hz, beta {b}"] = _smoothed(raw["tuning"], data, work / f"jitter/tune_{c}_{b}",
                                                                  OneEuro(c, b, fps))  # fmt: skip
    floor = out["tuning"]["raw"]["mAP"] - 1.0
    ok = [(r["jitter_px"], k) for k, r in out["tuning"].items() if k != "raw" and r["mAP"] >= floor]
    chosen = min(ok)[1] if ok else None
    out["chosen"] = chosen
    for name in ("real", "synthetic"):
        data, fps = sets[name]
        out[name]["estimate, raw"] = _smoothed(raw[name], data, work / f"jitter/{name}_raw", None)
        if chosen:
            c, b = GRID[[f"min_cutoff {c} Hz, beta {b}" for c, b in GRID].index(chosen)]
            out[name][f"estimate, One-Euro ({chosen})"] = _smoothed(raw[name], data, work / f"jitter/{name}_euro",
                                                                   OneEuro(c, b, fps))  # fmt: skip
        out[name]["estimate, One-Euro min_cutoff 1 Hz, beta 1 (stronger)"] = _smoothed(
            raw[name], data, work / f"jitter/{name}_strong", OneEuro(1.0, 1.0, fps)
        )
    data = sets["real"][0]
    for label, fallback in (("propagate T=7, default fallback", "joint"), ("propagate T=7, no fallback", "none")):
        pred = work / f"jitter/real_{fallback}"
        ap = score_dataset(None, data, pred, "propagate", 7, progress=False, fallback=fallback)
        out["real"][label] = {"mAP": ap.total, **jitter(pred, data / "annotations")}
    return out


def report(results: dict, command: str) -> str:
    lines = [f"# Jitter and smoothing ({date.today()})", "", f"Machine: {machine()}. Command: `{command}`. Model: the "
             "shipped starter (STDPose-S14), ground-truth boxes; PoseTrack mAP (propagate: propagated frames only). "
             f"Filter setting chosen on the synthetic tuning set: {results['chosen']}.", ""]  # fmt: skip
    for key, name in (("real", "Real held-out clip (sports2d 120-229, teacher labels, 30 fps)"),
                      ("synthetic", "Synthetic test set (seed 200)"), ("tuning", "Synthetic tuning set (seed 300)")):
        lines += [f"## {name}", "", "| run | mAP | jitter px | ground truth's jitter px | error vs ground truth px |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for run_name, r in results[key].items():
            lines.append(f"| {run_name} | {r['mAP']:.1f} | {r['jitter_px']:.2f} | {r['gt_jitter_px']:.2f} | "
                         f"{r['error_vs_gt_px']:.2f} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (outside git)")
    parser.add_argument("--out", type=Path, required=True, help="results path without extension")
    args = parser.parse_args()
    results = run(args.work)
    save_results(args.out, results, report(results, " ".join(["python", *sys.argv])))
    print(report(results, ""))


if __name__ == "__main__":
    main()
