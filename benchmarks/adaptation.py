"""Adaptation to a video's own labels (``Pipeline.adapt``): propagation mAP before and after, against interpolation.

    python benchmarks/adaptation.py data --work W --data DATA                 # clips + teacher labels (truth)
    python benchmarks/adaptation.py run --work W --clips sports2d_heldout --T 3 7 15 --out OUT
    python benchmarks/adaptation.py run --work W --clips sports2d_heldout --T 7 --trains temporal --out OUT_abl
    python benchmarks/adaptation.py report --out OUT  # OUT.md from OUT.json (the run appends, one row per setting)
    python benchmarks/adaptation.py rescore --work W --clips ... --T ... --out OUT  # the fallback rules on a run's
        # saved points: blend with and without its gate, the threshold rule (OUT.rescore.json)
    python benchmarks/adaptation.py curve --work W --clips sports2d_heldout --T 7 --trains temporal --steps 60
        # held-out error of the fold every --every steps (what trains, for how long: the ablation's learning curves)

A clip's truth is the teacher (MoveNet MultiPose boxes + MoveNet Thunder poses, Apache-2.0) on every frame, as the
starter's held-out clip (benchmarks/starter_model.py). The given labels are the truth on every T-th frame; only the
other frames are scored (PoseTrack mAP). Adaptation reads the given labels and the clip's frames, nothing else.
Clips: sports2d_heldout (frames 120-229 of sports2d/demo.mp4; the starter trained on frames 0-109 of that video),
sports2d_full (all 230 frames: the time goal), sports2d_train (frames 0-109: training data for
benchmarks/experiments only), pose2sim_cam01..04 (100 frames each; the starter trained on them).
The synthetic set: Table 4's synthetic test set (4 videos of 29 frames, 384 x 288, 3 people, seed 200; the same
pixels as ``write_benchmark(videos=4, seed=200, ...)``), one clip per video (000000_synthetic .. 000003_synthetic),
its truth the renderer's exact poses. `data --synthetic-seed S` writes another 4 such videos (seed S, clips
000000_synthetic_S ..), never looked at while the fallback rules were designed.
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import sys
import time

import numpy as np
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import starter_data as recipe  # noqa: E402  (the clip extraction and teacher labelling of the starter recipe)
from common import machine  # noqa: E402

from stdpose_infer import Pipeline  # noqa: E402
from stdpose_infer.adapt import AdaptSettings  # noqa: E402
from stdpose_infer.annotation import read_labels  # noqa: E402
from stdpose_infer.annotation.point_tracking import LabelTracks  # noqa: E402
from stdpose_infer.data import SyntheticConfig, write_clip  # noqa: E402
from stdpose_infer.data.posetrack_folder import frame_order, read_image  # noqa: E402
from stdpose_infer.evaluation import interpolate_labels, score_predictions  # noqa: E402
from stdpose_infer.evaluation.predict import sparse_labels, write_predictions  # noqa: E402
from stdpose_infer.label import MoveNetPose  # noqa: E402
from stdpose_infer.pipeline import Fallback  # noqa: E402

CLIPS = {
    "sports2d_heldout": ("real_videos/sports2d/demo.mp4", 120, 230),
    "sports2d_full": ("real_videos/sports2d/demo.mp4", 0, 230),
    "sports2d_train": ("real_videos/sports2d/demo.mp4", 0, 110),  # training only (the starter's frames too)
    **{f"pose2sim_cam0{i}": (f"real_videos/pose2sim_multiperson/videos/cam0{i}.mp4", 0, 100) for i in range(1, 5)},
}


SYNTHETIC = {f"{i:06d}_synthetic": i for i in range(4)}  # Table 4's test set, one clip per video


def data(work: Path, seed: int = 200) -> None:
    for name, i in SYNTHETIC.items():
        name = name if seed == 200 else f"{name}_{seed}"
        if not (work / "clips" / name / "annotations" / f"{name}.json").is_file():
            config = SyntheticConfig(seed=seed * 1000 + i, frames=29, width=384, height=288, people=3)
            write_clip(config, work / "clips" / name, name, i + 1)
    pose = MoveNetPose(recipe.DATA / "models" / "movenet_thunder.onnx")
    for name, (video, first, last) in CLIPS.items():
        root = work / "clips" / name
        if (root / "annotations" / f"{name}.json").is_file():
            continue
        t = time.time()
        recipe.extract(recipe.DATA / video, first, last, root / "images" / name)
        print(name, recipe.label_clip(root, name, 512, pose), f"{time.time() - t:.0f} s", flush=True)


def read_clip(work: Path, name: str, T: int, images: bool = True) -> tuple[Path, list, list, dict]:
    """A clip's folder, its frames in order, their images (empty unless ``images``) and the labels given on
    every T-th frame (the truth's poses there)."""
    root = work / "clips" / name
    doc = json.loads((root / "annotations" / f"{name}.json").read_text())
    order = frame_order(doc["images"])
    frames = [read_image(root / im["file_name"]) for im in order] if images else []
    return root, order, frames, sparse_labels(doc, order, T)


def _score(results: list, order: list, root: Path, out: Path, T: int) -> float:
    write_predictions(results, order, out / f"{root.name}.json")
    return score_predictions(root, out, "propagate", T).groups


def _with_fallback(results: list, fallback: Fallback, table: dict, images: list | None = None) -> list:
    """``fallback`` applied to copies of ``results`` (in frame order); a carry by tracking reads ``images``."""
    tracks = None
    if fallback.carry == "tracking":
        tracks = LabelTracks(table)  # frames in, then each gap tracked once as the results ask for it in order
        for i, image in enumerate(images):
            tracks.add(i, image)
    return [fallback.apply(copy.deepcopy(r), table, tracks) for r in results]


def run_clip(work: Path, name: str, T: int, minutes: float, settings: AdaptSettings, weights) -> dict:
    root, order, images, given = read_clip(work, name, T)
    out = work / "eval" / f"{name}_T{T}_{settings.trains}_{minutes:g}"
    base = Pipeline(weights, backend="torch", detector=None, fallback="none")
    table = read_labels(given, [f"frame/{i:06d}" for i in range(len(images))], base.keypoint_format)
    rows = {}
    interpolate_labels(root, out / "interp", T)
    rows["labels interpolated"] = score_predictions(root, out / "interp", "propagate", T).groups
    before = list(base.propagate(images, given))
    rows["base model only"] = _score(before, order, root, out / "base", T)
    rows["base, joint fallback"] = _score(_with_fallback(before, Fallback("joint"), table), order, root, out / "base_joint", T)
    rows["point tracking"] = _score(_with_fallback(before, Fallback("interpolate", carry="tracking"), table, images),
                                    order, root, out / "tracking", T)  # fmt: skip
    rows["base, track fallback"] = _score(_with_fallback(before, Fallback.for_model("track"), table, images), order,
                                          root, out / "base_track", T)  # fmt: skip
    start = time.perf_counter()
    adapted = base.adapt(images, given, minutes, settings)
    seconds = time.perf_counter() - start
    report = adapted.adaptation
    decided = adapted.fallback if adapted is not base else Fallback("joint")  # what adapt decided
    adapted.fallback = Fallback("none")  # the model's own points; each fallback is applied to them below
    after = list(adapted.propagate(images, given))
    with open(out / "adapted.pkl", "wb") as f:  # the adapted model's own points and report: `rescore` reads them
        pickle.dump({"after": after, "report": report, "T": T}, f)
    rows["adapted model only"] = _score(after, order, root, out / "adapted", T)
    rows["adapted, decided fallback"] = _score(_with_fallback(after, decided, table, images), order, root,
                                               out / "adapted_decided", T)  # fmt: skip
    if report and report.model_from:  # the earlier "decided" rule, a switch at a threshold, on the same points
        rule = Fallback("decided", model_from=tuple(float("inf") if v is None else v for v in report.model_from))
        rows["adapted, threshold rule"] = _score(_with_fallback(after, rule, table), order, root, out / "rule", T)
    rows["adapted, joint fallback"] = _score(_with_fallback(after, Fallback("joint"), table), order, root,
                                             out / "adapted_joint", T)  # fmt: skip
    estimate = list(adapted.estimate(images, {t: r.boxes for t, r in enumerate(after)}))
    rows["adapted, estimate mode (propagation's boxes)"] = _score(estimate, order, root, out / "adapted_est", T)
    return {
        "clip": name, "T": T, "minutes": minutes, "frames": len(images),
        "settings": f"{settings.trains}, lr {settings.lr:g}" + (", augmented" if settings.augment else "")
        + ("" if settings.estimate_share == 0.5 else f", estimate share {settings.estimate_share}")
        + ("" if settings.key_occlusion == AdaptSettings.key_occlusion else f", key occlusion {settings.key_occlusion}"),
        "adapt_seconds": round(seconds, 1), "labeled_poses": report.labeled_poses if report else 0,
        "seconds_per_labeled_pose": round(seconds / report.labeled_poses, 2) if report else None,
        "steps": report.steps if report else 0, "summary": report.summary() if report else "not adapted",
        "heldout_pck": report.heldout_pck if report else {}, "scores": rows,
    }  # fmt: skip


def rescore(work: Path, names: list[str], T_values: list[int], minutes: float, settings: AdaptSettings) -> dict:
    """The fallback rules on one adapted run's saved points (``run`` keeps them): the blend the run returned, with
    and without its gate; with plain and robust mean squares (where the run kept its held-out errors); and the
    threshold rule, all on the same adapted model (PoseTrack mAP, Total)."""
    import stdpose_infer.pipeline.fallback as fallback_module
    from stdpose_infer.adapt.heldout import blend_terms
    from experiments.blend_variants import interpolation_terms, offset_correlation
    from stdpose_infer.annotation.interpolation import SPAN_EXPONENT

    rows = {}
    for name in names:
        for T in T_values:
            root, order, _, given = read_clip(work, name, T, images=False)
            out = work / "eval" / f"{name}_T{T}_{settings.trains}_{minutes:g}"
            saved = pickle.loads((out / "adapted.pkl").read_bytes())
            table = read_labels(given, [f"frame/{i:06d}" for i in range(len(order))],
                                saved["after"][0].keypoint_format)  # fmt: skip
            report, scores = saved["report"], {}
            report.heldout = getattr(report, "heldout", {})  # runs before the report kept its held-out errors
            blend = Fallback.for_model("auto", type("M", (), {"provenance": report.provenance()})())
            gate = fallback_module.GATE
            for label, g in (("blend as run, gated", gate), ("blend as run, no gate", float("inf"))):
                fallback_module.GATE = g
                scored = _score(_with_fallback(saved["after"], blend, table), order, root, out / "rescore", T)
                scores[label] = scored["Total"]
            fallback_module.GATE = gate
            held = getattr(report, "heldout", None)
            for robust in (False, True) if held else ():  # the weights recomputed from the held-out errors
                m, r = blend_terms(held["model"], held["interpolation"], len(report.slot_model_mse), robust=robust)
                again = Fallback("blend", model_mse=tuple(map(float, m)), interpolation_rate=tuple(map(float, r)))
                label = f"blend, gated, {'robust' if robust else 'plain'} mean squares, held-out interpolation"
                scores[label] = _score(_with_fallback(saved["after"], again, table), order, root, out / "rescore",
                                       T)["Total"]  # fmt: skip
                if not robust:  # the same weights, the two sources' held-out errors correlated (tried, not adopted)
                    rho = offset_correlation(held["model"], held["interpolation"])
                    again = Fallback("blend", model_mse=again.model_mse, interpolation_rate=again.interpolation_rate,
                                     correlation=rho)  # fmt: skip
                    scores["blend, gated, plain, correlated"] = _score(_with_fallback(saved["after"], again, table),
                                                                       order, root, out / "rescore", T)["Total"]  # fmt: skip
                    scores["correlation"] = round(rho, 3)
            # interpolation's error from every label against its neighbours' interpolation
            # (experiments/blend_variants.py), its growth measured on them or the span law; the model's held-out mean
            # squares as run (tried, not adopted)
            rate, exponent, tested = interpolation_terms(table, len(report.slot_model_mse))
            labels_blend = Fallback("blend", model_mse=tuple(float("nan") if v is None else float(v) for v in report.slot_model_mse),
                                    interpolation_rate=tuple(map(float, rate)), span_exponent=exponent)  # fmt: skip
            scores["blend, interpolation error from every label"] = _score(
                _with_fallback(saved["after"], labels_blend, table), order, root, out / "rescore", T)["Total"]
            scores["measured exponent"] = exponent
            rate, _, _ = interpolation_terms(table, len(report.slot_model_mse), exponent=SPAN_EXPONENT)
            fixed = Fallback("blend", model_mse=labels_blend.model_mse, interpolation_rate=tuple(map(float, rate)))
            scores["blend, interpolation error from every label, span law"] = _score(
                _with_fallback(saved["after"], fixed, table), order, root, out / "rescore", T)["Total"]
            rule = Fallback("decided", model_from=tuple(float("inf") if v is None else v for v in report.model_from))
            scores["threshold rule"] = _score(_with_fallback(saved["after"], rule, table), order, root,
                                              out / "rescore", T)["Total"]  # fmt: skip
            scores["model alone"] = _score(saved["after"], order, root, out / "rescore", T)["Total"]
            rows[f"{name} T={T}"] = {k: round(v, 1) for k, v in scores.items()}
            print(f"{name} T={T}", rows[f"{name} T={T}"], flush=True)
    return rows


def curve(work: Path, name: str, T: int, settings: AdaptSettings, steps: int, every: int, weights) -> dict:
    """The held-out fold's learning curve: held-out mean error (person sizes) and PCK every ``every`` steps."""
    from stdpose_infer import load_model
    from stdpose_infer.adapt.adapt import _heatmap_fn
    from stdpose_infer.adapt.finetune import finetune
    from stdpose_infer.adapt.folder import read_labeled_video, write_label_folder
    from stdpose_infer.adapt.heldout import interpolation_errors, model_errors, split_labels
    from stdpose_infer.defaults import default_weights
    from stdpose_infer.keypoints import get_format

    _, _, images, given = read_clip(work, name, T)
    model = load_model(weights or default_weights()).eval()
    fmt, c = get_format(model.config.keypoint_format), model.config
    count, frames, table = read_labeled_video(images, given, fmt)
    kept, held = split_labels(table)
    folder = work / "curves" / f"{name}_T{T}"
    write_label_folder(folder, "video", frames, count, {"annotations_fold": kept}, fmt)

    inner = sorted(kept)[1:-1]

    def score(m) -> list:
        """held-out error and PCK, then the error on the training labels (each inner kept frame propagated from
        its kept neighbours, as a propagation sample at gap 2T reads them)"""
        e = model_errors(_heatmap_fn(m), frames, kept, held, c.input_wh, c.heatmap_wh)
        fit = [model_errors(_heatmap_fn(m), frames, {t: v for t, v in kept.items() if t != k}, {k: kept[k]},
                            c.input_wh, c.heatmap_wh).mean() for k in inner]  # fmt: skip
        return [round(e.mean(), 4), round(e.pck(), 3), round(float(np.mean(fit)), 4)]

    interp = interpolation_errors(kept, held)
    out = {"clip": name, "T": T, "settings": asdict(settings), "interpolation": [round(interp.mean(), 4),
           round(interp.pck(), 3)], "curve": [[0, *score(model)]]}  # fmt: skip
    tuned, start = copy.deepcopy(model), time.perf_counter()

    def after_step(n: int) -> None:
        if n % every == 0:
            modes = [m.training for m in tuned.modules()]
            tuned.eval()
            out["curve"].append([n, *score(tuned), round(time.perf_counter() - start)])
            for m, mode in zip(tuned.modules(), modes):
                m.training = mode
            print(out["curve"][-1], flush=True)

    finetune(tuned, folder, "annotations_fold", T, 0, settings, steps=steps, progress=False, after_step=after_step)
    return out


def report(out: Path) -> None:
    results = json.loads(out.with_suffix(".json").read_text())
    groups = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")
    lines = ["# Adaptation to a video's own labels", "", results["header"], "", *goals(results["runs"])]
    for run in results["runs"]:
        lines += [f"## {run['clip']}, T = {run['T']}, trains {run['settings']}, {run['minutes']:g} min budget", "",
                  f"{run['frames']} frames; adaptation {run['adapt_seconds']} s, {run.get('steps', '?')} steps "
                  f"({run['seconds_per_labeled_pose']} s per labelled pose). Console: `{run['summary']}`", "",
                  "| | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|",
                  *[f"| {k} | " + " | ".join(f"{g[x]:.1f}" for x in groups) + " |" for k, g in run["scores"].items()],
                  ""]  # fmt: skip
    md = out.with_suffix(".md")
    written = md.read_text() if md.is_file() else ""
    summary = written[written.index("## Summary") :] if "## Summary" in written else ""  # written by hand: kept
    md.write_text("\n".join(lines) + "\n" + summary)
    plot(results["runs"], out.with_suffix(".png"))


def goals(runs: list) -> list[str]:
    """The goals per run: the decided fallback >= the best single source (interpolation, point tracking where the
    run measured it, the adapted model alone) - 0.5; the adapted model alone against interpolation."""
    lines = ["## Against the goals (total mAP)", "", "| clip | T | interpolated | point tracking | base alone | "
             "adapted alone | decided | decided - best single source | >= -0.5 | adapted - interp | threshold rule |",
             "|---" * 11 + "|"]  # fmt: skip
    for run in runs:
        total = {k: v["Total"] for k, v in run["scores"].items()}
        interp, alone = total["labels interpolated"], total["adapted model only"]
        tracking = total.get("point tracking", float("nan"))
        decided = total["adapted, decided fallback"]
        margin = decided - max(interp, alone, tracking if tracking == tracking else interp)
        rule = total.get("adapted, threshold rule")
        lines.append(f"| {run['clip']} | {run['T']} | {interp:.1f} | {tracking:.1f} | {total['base model only']:.1f} | "
                     f"{alone:.1f} | {decided:.1f} | {margin:+.1f} | {'yes' if margin >= -0.5 else 'no'} | "
                     f"{alone - interp:+.1f} | {'' if rule is None else f'{rule:.1f}'} |")  # fmt: skip
    return [*lines, ""]


def plot(runs: list, path: Path) -> None:
    """Total mAP per run: interpolation, the model alone before and after adaptation, and the decided fallback."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = ("labels interpolated", "point tracking", "base model only", "adapted model only",
            "adapted, decided fallback")  # fmt: skip
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(runs)), 3.6))
    width = 0.8 / len(bars)
    for k, name in enumerate(bars):
        values = [run["scores"].get(name, {}).get("Total", float("nan")) for run in runs]
        ax.bar([i + k * width for i in range(len(runs))], values, width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(runs))])
    ax.set_xticklabels([f"{r['clip'].replace('sports2d_', 's2d ').replace('pose2sim_', 'p2s ')}\nT={r['T']}"
                        for r in runs], fontsize=8)  # fmt: skip
    ax.set_ylabel("PoseTrack mAP, propagated frames")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("stage", choices=["data", "run", "report", "curve", "rescore"])
    p.add_argument("--steps", type=int, default=60, help="curve: steps")
    p.add_argument("--every", type=int, default=20, help="curve: score every N steps")
    p.add_argument("--work", type=Path, default=Path("/tmp/adapt_work"))
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--clips", nargs="*", default=["sports2d_heldout"])
    p.add_argument("--T", nargs="*", type=int, default=[7])
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--trains", default="head+temporal")
    p.add_argument("--estimate-share", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=AdaptSettings.lr)
    p.add_argument("--key-occlusion", type=float, default=AdaptSettings.key_occlusion,
                   help="share of propagation samples whose key frame is hidden")
    p.add_argument("--augment", action="store_true", help="the trainer's augmentation (off by default)")
    p.add_argument("--weights", help="default: the shipped starter")
    p.add_argument("--synthetic-seed", type=int, default=200, help="data: the synthetic videos' seed")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/adaptation"))
    args = p.parse_args()
    recipe.DATA = args.data
    if args.stage == "data":
        return data(args.work, args.synthetic_seed)
    if args.stage == "report":
        return report(args.out)
    settings = AdaptSettings(trains=args.trains, estimate_share=args.estimate_share, lr=args.lr,
                             augment=args.augment, key_occlusion=args.key_occlusion)
    if args.stage == "rescore":
        rows = rescore(args.work, args.clips, args.T, args.minutes, settings)
        path = args.out.with_suffix(".rescore.json")
        path.write_text(json.dumps({**(json.loads(path.read_text()) if path.is_file() else {}), **rows}, indent=1))
        return None
    if args.stage == "curve":
        result = curve(args.work, args.clips[0], args.T[0], settings, args.steps, args.every, args.weights)
        path = args.out.with_suffix(".json")
        runs = json.loads(path.read_text()) if path.is_file() else []
        path.write_text(json.dumps([*runs, result], indent=1))
        return None
    path = args.out.with_suffix(".json")
    results = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    results["header"] = (f"{time.strftime('%Y-%m-%d')}; {machine()}; commands: `python benchmarks/adaptation.py"
                         f" run --work W --clips ... --T ... [--trains ...] --out {args.out}`")  # fmt: skip
    for name in args.clips:
        for T in args.T:
            run = run_clip(args.work, name, T, args.minutes, settings, args.weights)
            run["command"] = " ".join(sys.argv)
            results["runs"].append(run)
            print(json.dumps({k: v for k, v in run.items() if k != "scores"}), flush=True)
            print({k: round(v["Total"], 1) for k, v in run["scores"].items()}, flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1))
            report(args.out)


if __name__ == "__main__":
    main()
