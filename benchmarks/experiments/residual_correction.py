"""Interpolate the model's error instead of the joints: an experiment for propagation between labels.

Between two labels, interpolation misses whatever the person does between them; the model sees every frame but
misses in its own ways, and part of its miss is the same on neighbouring frames (this person's hip placed a little
high, a sleeve read as an elbow). At a labeled frame that part is measured exactly: label - model. Carried to the
frames between by interpolation (``corrected = model(t) + (1 - a) x miss(before) + a x miss(after)``), the labels
remove the model's slow error and keep its view of the motion. This script measures that against interpolation and
the model alone, with the shipped starter (no adaptation: an adapted model has trained on the labeled frames, so
its miss there says little about the frames between).

    python benchmarks/adaptation.py data --work W                                 # the clips (as for adaptation)
    python benchmarks/experiments/residual_correction.py --work W --clips sports2d_heldout --T 3 7 15 --out OUT

The model's points at every frame come from estimate mode at propagation's boxes (the labels' boxes on labeled
frames, their interpolation between), so the miss at a label and the point between are read the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from adaptation import _score, read_clip  # noqa: E402
from common import machine  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.annotation.interpolation import nearest_labeled  # noqa: E402
from stdpose_infer.evaluation import interpolate_labels, score_predictions  # noqa: E402


def misses(propagated: list, estimated: list) -> dict[int, dict[int, np.ndarray]]:
    """Per labeled frame, per track: (J, 2) label - model (NaN where the joint is not labeled)."""
    out = {}
    for p, e in zip(propagated, estimated):
        if not (p.origin == "given").any():
            continue
        out[p.frame_index] = {
            int(tid): np.where((p.scores[i] > 0)[:, None], p.keypoints[i] - e.keypoints[i], np.nan)
            for i, tid in enumerate(p.track_ids) if p.origin[i] == "given"
        }  # fmt: skip
    return out


def corrected(propagated: list, estimated: list, miss: dict) -> list:
    """The model's points between labels plus its interpolated miss; labeled poses as given."""
    labeled = sorted(miss)
    results = []
    for p, e in zip(propagated, estimated):
        r = replace(p, keypoints=p.keypoints.copy(), scores=p.scores.copy())
        t = p.frame_index
        before, after = nearest_labeled(labeled, t)
        a = 0.0 if after == before else (t - before) / (after - before)
        for i, tid in enumerate(p.track_ids):
            if p.origin[i] != "propagated":
                continue
            left, right = miss[before].get(int(tid)), miss[after].get(int(tid))
            if left is None and right is None:
                continue
            left = right if left is None else left
            right = left if right is None else right
            both = np.where(np.isnan(left), right, np.where(np.isnan(right), left, (1 - a) * left + a * right))
            r.keypoints[i] = e.keypoints[i] + np.nan_to_num(both)
            r.scores[i] = e.scores[i]
        results.append(r)
    return results


def run_clip(work: Path, name: str, T: int, weights) -> dict:
    root, order, images, given = read_clip(work, name, T)
    out = work / "residual" / f"{name}_T{T}"
    pipe = Pipeline(weights, backend="torch", detector=None, fallback="none")
    start = time.perf_counter()
    propagated = list(pipe.propagate(images, given))
    estimated = list(pipe.estimate(images, {t: r.boxes for t, r in enumerate(propagated)}))
    seconds = time.perf_counter() - start
    rows = {}
    interpolate_labels(root, out / "interp", T)
    rows["labels interpolated"] = score_predictions(root, out / "interp", "propagate", T).groups
    rows["model alone (propagate)"] = _score(propagated, order, root, out / "propagate", T)
    for p, e in zip(propagated, estimated):  # the same people in the same order
        assert np.allclose(p.boxes, e.boxes), f"frame {p.frame_index}: estimate mode read other boxes"
    alone = [replace(p, keypoints=np.where((p.origin == "given")[:, None, None], p.keypoints, e.keypoints))
             for p, e in zip(propagated, estimated)]  # fmt: skip
    rows["model alone (estimate, propagation's boxes)"] = _score(alone, order, root, out / "estimate", T)
    rows["model + interpolated miss"] = _score(corrected(propagated, estimated, misses(propagated, estimated)),
                                               order, root, out / "corrected", T)  # fmt: skip
    return {"clip": name, "T": T, "frames": len(images), "seconds": round(seconds, 1),
            "scores": {k: {g: round(v, 1) for g, v in s.items()} for k, s in rows.items()}}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/adapt_work"))
    p.add_argument("--clips", nargs="*", default=["sports2d_heldout"])
    p.add_argument("--T", nargs="*", type=int, default=[7])
    p.add_argument("--weights", help="default: the shipped starter")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/residual_correction"))
    args = p.parse_args()
    path = args.out.with_suffix(".json")
    results = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    results["header"] = f"{time.strftime('%Y-%m-%d')}; {machine()}; command: `python {' '.join(sys.argv)}`"
    for name in args.clips:
        for T in args.T:
            run = run_clip(args.work, name, T, args.weights)
            results["runs"].append(run)
            print(name, T, {k: v["Total"] for k, v in run["scores"].items()}, flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
