"""Other ways to run the STDPose-B triplet (batch 8) on the CPU, against the OpenVINO backend's way, in one run:
OpenVINO reading the model through its PyTorch frontend instead of the exported ONNX graph, and torch.compile
(inductor) with and without freezing (weights folded in as constants), static and dynamic batch; each against this
CPU's matrix-product ceiling (torch 2048^3 GEMM, best of 10 before and after, as ``stdpose-bench``).

    stdpose-bench --variant b --backends openvino --precision fp32 --batch 8 --no-pipeline   # exports the graph
    python benchmarks/cpu_ceiling_variants.py engines/onnx/b-<digest>/estimate-fp32.onnx --out OUT

Random weights (timings do not depend on them). Issue 39 part 3: where a graph-level change would lift the best
backend to 80 % of the ceiling.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer.bench.flops import matmul_tflops, model_flops  # noqa: E402
from stdpose_infer.model.stdpose import build_model  # noqa: E402

BATCH = 8


def timed(fn, runs: int = 4) -> dict:
    fn()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return {"best_ms": round(min(seconds) * 1000, 1), "median_ms": round(float(np.median(seconds)) * 1000, 1)}


def run(onnx: Path, precision: str) -> dict:
    import openvino as ov

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    ceiling = [matmul_tflops(dtype)]
    torch.manual_seed(0)
    model = build_model("b").eval()
    x = torch.randn(BATCH, 3, 3, *model.config.image_size)
    core, hint = ov.Core(), {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                             "PERFORMANCE_HINT": "LATENCY"}  # fmt: skip
    rows = {}
    compiled = core.compile_model(str(onnx), "CPU", hint)
    rows["openvino, exported ONNX graph (the backend)"] = timed(lambda: compiled(x.numpy()))
    with torch.no_grad():
        converted = ov.convert_model(model, example_input=(x,))
    compiled = core.compile_model(converted, "CPU", hint)
    rows["openvino, PyTorch frontend (ov.convert_model)"] = timed(lambda: compiled(x.numpy()))
    compiled = converted = None  # freed before the torch rows
    net, xx = (model.to(dtype), x.to(dtype)) if precision == "bf16" else (model, x)
    variants = {"torch.compile, dynamic batch": {"dynamic": True},
                "torch.compile, dynamic batch, freezing": {"dynamic": True, "options": {"freezing": True}},
                "torch.compile, static batch, freezing": {"dynamic": False, "options": {"freezing": True}}}  # fmt: skip
    with torch.inference_mode():
        for name, options in variants.items():
            torch._dynamo.reset()
            fn = torch.compile(net, **options)
            rows[name] = timed(lambda: fn(xx))
    ceiling.append(matmul_tflops(dtype))
    flop = BATCH * model_flops(build_model("b"))
    best = max(ceiling)
    for row in rows.values():
        row["tflops"] = round(flop / (row["median_ms"] / 1000) / 1e12, 3)
        row["of_ceiling"] = round(row["tflops"] / best, 3)
    return {"ceiling_tflops": [round(c, 3) for c in ceiling], "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("onnx", type=Path, help="the B estimate graph stdpose-bench exported (FP32)")
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
               "precisions": {precision: run(args.onnx, precision) for precision in args.precision}}  # fmt: skip
    lines = ["# The B triplet at batch 8 on the CPU: other graph forms against the OpenVINO backend's", "",
             f"{results['date']}; {results['machine']}. Command: `{results['command']}`.", ""]  # fmt: skip
    for precision, r in results["precisions"].items():
        lines += [f"## {precision} (ceiling before / after: {r['ceiling_tflops'][0]} / {r['ceiling_tflops'][1]} TFLOPS)",
                  "", "| way | best ms | median ms | TFLOPS (median) | of the ceiling |", "|---|---|---|---|---|",
                  *[f"| {n} | {v['best_ms']} | {v['median_ms']} | {v['tflops']} | {v['of_ceiling']:.1%} |"
                    for n, v in r["rows"].items()], ""]  # fmt: skip
    save_results(args.out, results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
