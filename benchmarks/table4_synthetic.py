"""The paper's Table 4 (component ablation) on the synthetic sparse-label benchmark, as evidence of ordering.

Rows: single-frame baseline, full STDPose, and full minus each of TFF, TKS, DAM, MI; for propagation
(labels every T = 7 frames, only the propagated frames scored) and for estimation (every frame, at the
ground-truth boxes); plus full STDPose trained for propagation with predicted aux heatmaps (the
paper-literal variant) next to label-rendered ones. Every row is trained from scratch with several
seeds (initialisation, sample order and augmentation) and scored with the PoseTrack evaluator on held-out
synthetic videos. The baseline is one single-frame model per seed, scored in both tasks (in propagation it
estimates each unlabeled frame at the interpolated label boxes; it cannot read the labels).

    python benchmarks/table4_synthetic.py --work /tmp/table4 --out benchmarks/results/DATE_table4_synthetic

Resumable: a job whose score file exists is not rerun. Results: OUT.md, OUT.json, OUT.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

GROUPS = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")
ROWS = {  # name -> (training mode, ablations, aux heatmaps in propagation training)
    "baseline": ("estimate", ("baseline",), "labels"),
    "full": (None, (), "labels"),
    "-TFF": (None, ("tff",), "labels"),
    "-TKS": (None, ("tks",), "labels"),
    "-DAM": (None, ("dam",), "labels"),
    "-MI": (None, ("mi",), "labels"),
    "full, predicted aux": ("propagate", (), "predicted"),
}
TASKS = ("propagate", "estimate")
REFERENCE = "labels interpolated"


def reference(work: Path, T: int) -> dict:
    """The no-model propagation reference, as a table row (one deterministic value per group)."""
    from stdpose_infer.evaluation import interpolate_labels, score_predictions

    interpolate_labels(work / "test", work / "interpolated", T)
    groups = score_predictions(work / "test", work / "interpolated", "propagate", T).groups
    return {g: (groups[g], 0.0, [groups[g]]) for g in GROUPS}


def jobs(args) -> list[dict]:
    """One job per (row, training task, seed); each lists the tasks its checkpoint is scored in."""
    out = []
    for seed in args.seeds:
        for row, (mode, ablate, aux) in ROWS.items():
            train_modes = [mode] if mode else list(TASKS)
            for train_mode in train_modes:
                scored = list(TASKS) if row == "baseline" else [train_mode]
                name = f"{row.replace(', ', '_').replace(' ', '_').replace('-', 'minus_')}_{train_mode}_s{seed}"
                out.append({"row": row, "train_mode": train_mode, "ablate": ablate, "aux": aux, "seed": seed, "scored": scored,
                                "run": str(Path(args.work) / "runs" / name)})  # fmt: skip
    return out


def run_job(job: dict, args_dict: dict) -> dict:
    """Train one checkpoint and score it; returns the job with its scores and timings."""
    import torch

    from stdpose_infer.evaluation import score_dataset
    from stdpose_infer.train import TrainConfig, train

    torch.set_num_threads(args_dict["threads"])
    run = Path(job["run"])
    done = run / "scores.json"
    if done.is_file():
        return json.loads(done.read_text())
    work = Path(args_dict["work"])
    config = TrainConfig(
        data=str(work / "train"), out=str(run), variant=args_dict["variant"], mode=job["train_mode"],
        aux_heatmaps=job["aux"], max_gap=args_dict["T"] - 1 if job["train_mode"] == "propagate" else args_dict["est_gap"],
        ablate=tuple(job["ablate"]), epochs=args_dict["epochs"], batch_size=args_dict["batch_size"], lr=args_dict["lr"],
        lr_steps=tuple(args_dict["lr_steps"]), seed=job["seed"], device=args_dict["device"],
    )  # fmt: skip
    losses, timing = run / "losses.json", run / "train_seconds.txt"
    history = json.loads(losses.read_text()) if losses.is_file() else {"epoch": []}
    if len(history["epoch"]) == config.epochs and (run / "last.safetensors").is_file():  # trained, not scored
        train_s = float(timing.read_text()) if timing.is_file() else float("nan")
    else:
        start = time.perf_counter()
        history = train(config, progress=False)
        train_s = time.perf_counter() - start
        timing.write_text(f"{train_s:.1f}\n")
    scores = {}
    start = time.perf_counter()
    for task in job["scored"]:
        result = score_dataset(run / "last.safetensors", work / "test", run / f"pred_{task}", task, args_dict["T"],
                               backend="torch", progress=False)  # fmt: skip
        scores[task] = result.to_dict()
    record = {**job, "config": dataclasses.asdict(config), "final_mse": history["mse"][-1], "train_s": train_s,
              "score_s": time.perf_counter() - start, "scores": scores}  # fmt: skip
    done.write_text(json.dumps(record, indent=1, default=list))
    return record


def summarize(records: list[dict], T: int) -> dict:
    """{task: {row: {group: (mean, sd, [per seed])}}}."""
    table: dict = {}
    for task in TASKS:
        for row in ROWS:
            per_seed = [r["scores"][task]["groups"] for r in records if r["row"] == row and task in r["scores"]]
            if not per_seed:
                continue
            stats = {}
            for g in GROUPS:
                values = [s[g] for s in per_seed]
                sd = statistics.stdev(values) if len(values) > 1 else float("nan")
                stats[g] = (statistics.fmean(values), sd, values)
            table.setdefault(task, {})[row] = stats
    return table


def markdown(table: dict, records: list[dict], args) -> str:
    lines = [
        "# Table 4 on the synthetic sparse-label benchmark (component ablation, ordering evidence)",
        "",
        (
            f"Machine: {platform.node()} ({platform.processor() or platform.machine()}), device {args.device}, "
            f"{args.workers} processes x {args.threads} thread(s) side by side; date {time.strftime('%Y-%m-%d')}; "
            f"{len(records)} runs."
        ),
        f"Command: `python {shlex.join(sys.argv)}`",
        "",
        (
            f"Data: `stdpose-train synth` train {args.train_videos} videos, test {args.test_videos} videos, "
            f"{args.frames} frames each, {args.size}, {args.people} people, seeds 100 (train) / 200 (test)."
        ),
        (
            f"Training: variant {args.variant} from scratch, {args.epochs} epochs, batch {args.batch_size}, AdamW lr "
            f"{args.lr} (x0.1 at epochs {args.lr_steps}), weight decay 0.1, the paper's augmentation, alpha 0.1, "
            f"beta 0.01; estimation aux gap 1..{args.est_gap}, propagation aux gap 1..{args.T - 1} (labels rendered "
            f"as inference renders them unless the row says predicted). Seeds {args.seeds}."
        ),
        (
            f"Scoring: PoseTrack mAP (stdpose-eval) on the test videos. Propagation: labels given every T = {args.T} "
            "frames, only the propagated frames are scored; person boxes interpolated from the given frames. "
            "Estimation: every frame at the ground-truth boxes, aux frames t-1, t+1."
        ),
        (
            "Spread = sample standard deviation over seeds. A difference to `full` is marked * only where "
            "|difference| exceeds the sum of the two rows' spreads."
        ),
        (
            f"Reference, no model: `{REFERENCE}` (each track's joints interpolated linearly between the given "
            "frames; deterministic, so no spread)."
        ),
        "",
    ]
    for task in TASKS:
        if task not in table:
            continue
        title = f"Propagation (T = {args.T})" if task == "propagate" else "Estimation"
        lines += [f"## {title}", "", "| row | " + " | ".join(GROUPS) + " | Total vs full |",
                  "|---|" + "---|" * (len(GROUPS) + 1)]  # fmt: skip
        full = table[task].get("full")
        for row, stats in table[task].items():
            cells = [f"{m:.1f} ± {s:.1f}" for m, s, _ in (stats[g] for g in GROUPS)]
            vs = ""
            if full and row != "full":
                d = stats["Total"][0] - full["Total"][0]
                mark = "*" if abs(d) > stats["Total"][1] + full["Total"][1] else ""
                vs = f"{d:+.1f}{mark}"
            lines.append(f"| {row} | " + " | ".join(cells) + f" | {vs} |")
        lines.append("")
        lines.append("Per seed, Total: " + "; ".join(
            f"{row} {', '.join(f'{v:.1f}' for v in stats['Total'][2])}" for row, stats in table[task].items()))  # fmt: skip
        lines.append("")
    train_s = [r["train_s"] for r in records if r["train_s"] == r["train_s"]]  # NaN: time not recorded
    lines += [
        (
            f"Training time per run: median {statistics.median(train_s):.0f} s (min {min(train_s):.0f}, max "
            f"{max(train_s):.0f}) over the {len(train_s)} of {len(records)} runs whose time was recorded."
        ),
        "",
        (
            "These are tiny models trained for minutes on synthetic people: the numbers say which components "
            "help on this benchmark at this budget, not what STDPose-B scores on PoseTrack."
        ),
    ]
    return "\n".join(lines) + "\n"


def plot(table: dict, path: Path, T: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if t in table]
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = [r for r in table[task] if r != REFERENCE]
        if REFERENCE in table[task]:
            ax.axhline(table[task][REFERENCE]["Total"][0], color="#b5482d", ls="--", lw=1.2,
                       label=f"{REFERENCE} (no model)")  # fmt: skip
            ax.legend(fontsize=8, loc="upper right")
        means = [table[task][r]["Total"][0] for r in rows]
        sds = [table[task][r]["Total"][1] for r in rows]
        ax.bar(range(len(rows)), means, yerr=sds, capsize=4, color="#8fb3d9", edgecolor="#2c5d8f")
        for i, r in enumerate(rows):
            seeds = table[task][r]["Total"][2]
            ax.plot([i] * len(seeds), seeds, "k.", ms=5)
        ax.set_xticks(range(len(rows)), rows, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("mAP (Total), mean ± sd, dots = seeds")
        ax.set_title(f"propagation, T = {T} (propagated frames)" if task == "propagate" else "estimation",
                     fontsize=9)  # fmt: skip
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("STDPose component ablation on the synthetic benchmark (tiny models, from scratch)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default="/tmp/table4", help="data and runs (large; not in the repository)")
    p.add_argument("--out", required=True, help="results path without extension (.md, .json, .png)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--variant", default="t")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-steps", type=int, nargs="*", default=[5])
    p.add_argument("--T", type=int, default=7, help="propagation: labels every T frames")
    p.add_argument("--est-gap", type=int, default=2, help="estimation training: aux frames 1..N away")
    p.add_argument("--train-videos", type=int, default=12)
    p.add_argument("--test-videos", type=int, default=4)
    p.add_argument("--frames", type=int, default=29)
    p.add_argument("--size", default="384x288")
    p.add_argument("--people", type=int, default=3)
    p.add_argument("--device", default="auto", help="training device: auto (CUDA when present), cpu, cuda")
    p.add_argument("--workers", type=int, default=2, help="runs in parallel (processes)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    args = p.parse_args()

    from stdpose_infer.data import write_benchmark

    work = Path(args.work)
    w, h = (int(v) for v in args.size.split("x"))
    for split, videos, seed in (("train", args.train_videos, 100), ("test", args.test_videos, 200)):
        if not (work / split / "annotations").is_dir():
            write_benchmark(work / split, videos=videos, seed=seed, width=w, height=h, frames=args.frames,
                            people=args.people)  # fmt: skip
    todo = [j for j in jobs(args) if j["row"] in args.rows]
    records = []
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_job, j, vars(args)) for j in todo]
        for i, f in enumerate(futures, 1):
            r = f.result()
            records.append(r)
            totals = ", ".join(f"{t} {s['Total']:.1f}" for t, s in r["scores"].items())
            print(f"[{i}/{len(todo)}] {Path(r['run']).name}: {totals} (train {r['train_s']:.0f} s)", flush=True)
    table = summarize(records, args.T)
    table["propagate"][REFERENCE] = reference(work, args.T)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(markdown(table, records, args))
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "command": shlex.join(sys.argv),
                                                    "table": table, "runs": records}, indent=1, default=list))  # fmt: skip
    plot(table, out.with_suffix(".png"), args.T)
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
