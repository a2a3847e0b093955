"""The bench report as a terminal/Markdown table, JSON, and a PNG of latency and throughput vs batch size."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import require
from .timing import STAGES


def _f(x, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def markdown(report: dict) -> str:
    """The report as Markdown: the run's header, the model table, each pipeline run, the targets."""
    lines = _header(report) + _model_table(report) + _pipeline_sections(report) + _targets(report)
    return "\n".join(lines) + "\n"


def _header(report: dict) -> list[str]:
    m, fl = report["machine"], report["flops"]
    lines = [
        f"# stdpose-bench: STDPose-{report['variant'].upper()}",
        "",
        f"- date: {report['date']}",
        f"- command: `{report['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), device {m['device']}"
        + (f", GPU {m['gpu']}" if m.get("gpu") else ""),
        "- versions: "
        + ", ".join(f"{k} {m[k]}" for k in ("python", "torch", "onnxruntime", "openvino", "tensorrt", "tensorrt_rtx") if m.get(k)),
        f"- weights: {report['weights']['source']}; {report['weights']['note']}",
        f"- FLOPs: STDPose triplet {fl['stdpose_triplet_gflop']:.2f} GFLOP, single-frame baseline (ViTPose) "
        f"{fl['baseline_frame_gflop']:.2f} GFLOP, ratio {fl['ratio']:.2f}",
    ]
    if report.get("peak_fp16_tflops") and m["device"].startswith("cuda"):
        lines.append(f"- dense FP16 peak used for the GPU fraction: {report['peak_fp16_tflops']} TFLOPS")
    if report.get("cpu_matmul_tflops"):
        ceiling = ", ".join(f"{p} {t:.3f} TFLOPS" for p, t in report["cpu_matmul_tflops"].items())
        lines.append(
            f"- CPU matmul ceiling measured in this run (torch 2048x2048 GEMM, same threads, best of 10 before and "
            f"10 after the model rows): {ceiling}; a CPU row's peak % is against its precision's ceiling"
        )
    return lines


def _model_table(report: dict) -> list[str]:
    lines: list[str] = []
    if report["model"]:
        lines += [
            "",
            "## Triplet model alone",
            "",
            "| backend | precision | batch | STDPose median ms | p90 | p99 | persons/s | ViTPose median ms | "
            "time ratio | FLOP ratio | vs torch eager | TFLOPS | peak % | host MB | GPU MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in report["model"]:
            if r["status"] != "ok":
                lines.append(f"| {r['backend']} | {r['precision']} | - | {r['status']} |" + " |" * 11)
                continue
            s, b = r["stdpose"], r["baseline"]
            pf = None if r["peak_fraction"] is None else 100 * r["peak_fraction"]
            lines.append(
                f"| {r['backend']} | {r['precision']} | {r['batch']} | {s['median_ms']:.2f} | {s['p90_ms']:.2f} | "
                f"{s['p99_ms']:.2f} | {r['persons_per_s']:.1f} | {b['median_ms']:.2f} | {r['time_ratio']:.2f} | "
                f"{r['flop_ratio']:.2f} | {_f(r.get('speedup_vs_torch_eager'), '.2f')} | "
                f"{r['achieved_tflops']:.3f} | {_f(pf)} | {s['host_peak_mb']:.0f} | {_f(s['gpu_peak_mb'], '.0f')} |"
            )
        legend = (
            "vs torch eager: speed relative to torch eager at the same batch and precision (torch's own FP16/BF16 "
            "rows: relative to its FP32 row). TFLOPS: the model's counted FLOPs per second."
        )
        lines += ["", legend]
    return lines


def _pipeline_sections(report: dict) -> list[str]:
    lines: list[str] = []
    for r in report["pipeline"]:
        reuse = ", feature reuse" if r.get("reuse_features") else ""
        lines += ["", f"## Pipeline: {r['backend']} {r['precision']}, batch {r['batch_size']}{reuse}", ""]
        if r["status"] != "ok":
            lines.append(r["status"])
            continue
        if r.get("reuse_features"):
            lines.append(f"- feature reuse: {r['passes_per_person_frame']:.2f} backbone passes per person-frame (3 "
                         "without)" + (f"; {r['speedup_vs_no_reuse']:.2f}x the persons/s of the same backend without "
                         "reuse in this run" if "speedup_vs_no_reuse" in r else "")
                         + (f" (the FLOP bound at this pass count is {r['reuse_flop_bound']:.2f}x: reuse saves frame "
                            "passes, not the temporal half)" if "reuse_flop_bound" in r else ""))  # fmt: skip
        lines += [
            f"- video: {r['video']}; {r['frames']} frames, {r['persons']} persons; backend: {r['info']}",
            f"- throughput: {r['frames_per_s']:.2f} frames/s, {r['persons_per_s']:.2f} persons/s "
            f"({r['total_s']:.2f} s); peak memory: host {r['host_peak_mb']:.0f} MB"
            + (f", GPU {r['gpu_peak_mb']:.0f} MB" if r.get("gpu_peak_mb") is not None else ""),
            f"- frame latency (read to result; batching makes a frame wait for later ones): median "
            f"{r['frame_latency']['median_ms']:.1f} ms, p90 {r['frame_latency']['p90_ms']:.1f}, "
            f"p99 {r['frame_latency']['p99_ms']:.1f}",
        ]
        if "note" in r:
            lines.append(f"- {r['note']}; the detector found {r['detector_found_per_frame']:.1f} per frame")
        detect = r["stages"].get("detect", {}).get("total_s", 0.0)
        if detect and r["total_s"] > 0:
            lines.append(f"- the detector: {100 * detect / r['total_s']:.1f} % of the frame time "
                         f"({1e3 * detect / max(r['frames'], 1):.0f} ms a frame)")  # fmt: skip
        lines += [
            "",
            "| stage | calls | median ms | p90 ms | p99 ms | total s | share of time | items/s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in STAGES:
            s = r["stages"].get(name, {"n": 0})
            if not s.get("n"):
                lines.append(f"| {name} | 0 | - | - | - | - | - | - |")
                continue
            share = 100 * s["total_s"] / r["total_s"] if r["total_s"] > 0 else float("nan")
            lines.append(
                f"| {name} | {s['n']} | {s['median_ms']:.2f} | {s['p90_ms']:.2f} | {s['p99_ms']:.2f} | "
                f"{s['total_s']:.3f} | {share:.1f} % | {s['per_second']:.1f} |"
            )
    return lines


def _targets(report: dict) -> list[str]:
    lines: list[str] = []
    if report.get("targets"):
        lines += ["", "## Targets (ratios from this run)", "", "| target | value | limit | met |", "|---|---|---|---|"]
        for t in report["targets"]:
            verdict = "yes" if t["met"] else f"**no** ({t['by']:.2f} x the limit)"
            verdict += f": {t['note']}" if t.get("note") else ""
            lines.append(f"| {t['target']} | {t['value']:.3f} | {t['limit']:.3f} | {verdict} |")
    return lines


def plot(report: dict, path: str | Path) -> Path:
    """Latency and throughput vs batch size, one line per backend and precision (dashed: ViTPose baseline)."""
    require("matplotlib", "bench", "the benchmark plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, (ax_lat, ax_thr) = plt.subplots(1, 2, figsize=(11, 4.8))
    series: dict = {}
    for r in report["model"]:
        if r["status"] == "ok":
            series.setdefault(f"{r['backend']} {r['precision']}", []).append(r)
    for i, (label, rows) in enumerate(sorted(series.items())):
        rows.sort(key=lambda r: r["batch"])
        batch = [r["batch"] for r in rows]
        color = f"C{i}"
        ax_lat.plot(batch, [r["stdpose"]["median_ms"] for r in rows], "o-", color=color, label=f"STDPose, {label}")
        ax_lat.plot(batch, [r["baseline"]["median_ms"] for r in rows], "s--", color=color, alpha=0.6,
                    label=f"ViTPose, {label}")  # fmt: skip
        ax_thr.plot(batch, [r["persons_per_s"] for r in rows], "o-", color=color, label=f"STDPose, {label}")
        ax_thr.plot(batch, [b / (r["baseline"]["median_ms"] / 1e3) for b, r in zip(batch, rows)], "s--",
                    color=color, alpha=0.6, label=f"ViTPose, {label}")  # fmt: skip
    batches = sorted({r["batch"] for rows in series.values() for r in rows})
    for ax, title, unit in ((ax_lat, "latency per batch (median)", "ms"), (ax_thr, "throughput", "persons / s")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xlabel("batch size")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    handles, labels = ax_lat.get_legend_handles_labels()  # one legend for both panels, below them
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    m = report["machine"]
    fig.suptitle(f"STDPose-{report['variant'].upper()} on {m.get('gpu') or m['cpu'] + ' CPU'} "
                 f"({report['date']}; {'untrained' if report['weights']['untrained'] else 'given'} weights)",
                 fontsize=10)  # fmt: skip
    rows = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, 0.05 * rows + 0.02, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(report: dict, folder: str | Path, name: str = "bench", plot_png: bool = True) -> dict[str, Path]:
    """``NAME.json``, ``NAME.md`` and (when there are model timings, unless ``plot_png`` is False) ``NAME.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / f"{name}.json", "md": folder / f"{name}.md"}
    paths["json"].write_text(json.dumps(report, indent=2, default=str))
    paths["md"].write_text(markdown(report))
    if plot_png and report["model"] and any(r["status"] == "ok" for r in report["model"]):
        paths["png"] = plot(report, folder / f"{name}.png")
    return paths
