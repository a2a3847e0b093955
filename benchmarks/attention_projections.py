"""Exported graph form 2 against form 1 on the CPU runtimes, in one run: each attention's q, k and v as three
products (form 2, what ``export_onnx`` writes now) or as one product and a Split (form 1, before), for the B triplet
at batch 8 on OpenVINO (FP32, BF16) and ONNX Runtime (FP32). Calls alternate between the two forms so that the
machine's drift falls on both.

    python benchmarks/attention_projections.py --out OUT

Random weights (timings do not depend on them); both graphs are checked to give the same heatmaps.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer.export import export_onnx  # noqa: E402
from stdpose_infer.model import vit  # noqa: E402
from stdpose_infer.model.stdpose import build_model  # noqa: E402

BATCH = 8


def one_product(self: vit.Attention, x: torch.Tensor) -> torch.Tensor:
    """Graph form 1's attention: the fused qkv product, chunked."""
    q, k, v = self.qkv(x).chunk(3, dim=-1)
    h = self.num_heads
    return self.proj(vit._merge_heads(vit.attention(*(vit._split_heads(t, h) for t in (q, k, v)))))


def export_both(folder: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    model = build_model("b").eval()
    paths = {"form 2: q, k, v apart": folder / "form2.onnx", "form 1: one product + Split": folder / "form1.onnx"}
    export_onnx(model, paths["form 2: q, k, v apart"])
    current = vit.Attention.forward
    vit.Attention.forward = one_product
    try:
        export_onnx(model, paths["form 1: one product + Split"])
    finally:
        vit.Attention.forward = current
    return paths


def sessions(paths: dict[str, Path], runtime: str, precision: str) -> dict:
    """{form: a call taking the frames and returning the heatmaps} on ``runtime``."""
    if runtime == "openvino":
        import openvino as ov

        core, hint = ov.Core(), {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
        compiled = {name: core.compile_model(str(p), "CPU", hint) for name, p in paths.items()}
        return {name: (lambda x, c=c: c(x)[0]) for name, c in compiled.items()}
    import onnxruntime as ort

    runs = {name: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for name, p in paths.items()}
    return {name: (lambda x, s=s: s.run(None, {"frames": x})[0]) for name, s in runs.items()}


def alternate(calls: dict, x: np.ndarray, rounds: int) -> dict:
    first, second = (call(x) for call in calls.values())  # also the warm-up
    seconds = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call(x)
            seconds[name].append(time.perf_counter() - start)
    rows = {name: {"median_ms": round(float(np.median(s)) * 1e3, 1), "best_ms": round(min(s) * 1e3, 1)}
            for name, s in seconds.items()}  # fmt: skip
    (a, b) = rows.values()
    return {"rows": rows, "form1_over_form2": round(b["median_ms"] / a["median_ms"], 3),
            "max_abs_diff": float(np.abs(first - second).max())}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=6, help="timed calls of each form (alternating)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    x = np.random.default_rng(0).standard_normal((BATCH, 3, 3, 256, 192)).astype(np.float32)
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
               "batch": BATCH, "runs": {}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="stdpose-forms-") as folder:
        paths = export_both(Path(folder))
        for runtime, precision in (("openvino", "bf16"), ("openvino", "f32"), ("onnxruntime", "fp32")):
            calls = sessions(paths, runtime, precision)
            rounds = args.rounds if precision == "bf16" else max(2, args.rounds // 2)
            results["runs"][f"{runtime} {precision}"] = alternate(calls, x, rounds)
            print(runtime, precision, results["runs"][f"{runtime} {precision}"], flush=True)
            del calls
    lines = ["# Attention projections in the exported graph: q, k, v apart (form 2) or one product + Split (form 1)",
             "", f"{results['date']}; {results['machine']}. Command: `{results['command']}`. B triplet, batch {BATCH}, "
             "random weights; calls alternate between the forms.", "",
             "| runtime | form | median ms | best ms |", "|---|---|---|---|"]  # fmt: skip
    for run, r in results["runs"].items():
        lines += [f"| {run} | {name} | {v['median_ms']} | {v['best_ms']} |" for name, v in r["rows"].items()]
    lines += ["", *[f"- {run}: form 1 takes {r['form1_over_form2']:.3f}x form 2's time (heatmaps differ by at most "
                    f"{r['max_abs_diff']:.1e})" for run, r in results["runs"].items()], ""]  # fmt: skip
    save_results(args.out, results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
