"""Where OpenVINO spends a triplet batch's time (issue 39 part 3: the CPU ceiling): per node type, per kernel, and
for the matrix products per shape with their rate, beside torch's GEMM at the same shapes and at 2048^3 (the bench's
ceiling), all in one run.

    stdpose-bench --variant b --backends openvino --precision fp32 --batch 8 --no-pipeline   # exports the graph
    python benchmarks/openvino_profile.py engines/onnx/b-*/estimate-fp32.onnx --batch 8 --out OUT

OpenVINO's performance counters (``PERF_COUNT``) time every executed node; the best of three inferences is kept.
Each precision also gets a bound: the share of the ceiling the graph would reach if every matrix-product node
(FullyConnected, convolutions) ran at the ceiling and every other node (attention, norms, reshapes) took the share of
the time it takes now; below 80 %, no faster product kernel alone reaches the goal.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer.bench.flops import flops_by_op  # noqa: E402
from stdpose_infer.export import read_onnx_info  # noqa: E402
from stdpose_infer.model.stdpose import STDPose  # noqa: E402

PRODUCTS = ("FullyConnected", "Convolution", "ConvolutionBackpropData", "GroupConvolution")  # attention: Subgraph


def product_flops(path: Path, batch: int) -> tuple[int, int]:
    """(all FLOPs, those of the matrix-product nodes: all but the attention's) of a batch through the graph's model."""
    counts = flops_by_op(STDPose(read_onnx_info(path).config).eval())
    total, attention = sum(counts.values()), sum(n for op, n in counts.items() if "scaled_dot_product" in op)
    return batch * total, batch * (total - attention)


def bound(run: dict, flops: tuple[int, int], ceiling_tflops: float) -> dict:
    """The share of the ceiling with every product node at the ceiling and the other nodes' share of the wall kept."""
    total, products = flops
    rest_ms = run["wall_ms"] * sum(v for k, v in run["by_type"].items() if k not in PRODUCTS) / run["node_ms"]
    best_ms = products / ceiling_tflops / 1e9 + rest_ms
    return {"flops": total, "product_flops": products, "rest_ms": round(rest_ms, 1), "best_ms": round(best_ms, 1),
            "now_of_ceiling": round(total / (run["wall_ms"] / 1e3) / 1e12 / ceiling_tflops, 3),
            "bound_of_ceiling": round(total / (best_ms / 1e3) / 1e12 / ceiling_tflops, 3)}  # fmt: skip


def profile(path: Path, precision: str, batch: int) -> dict:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
                                                 "PERF_COUNT": True})  # fmt: skip
    inp = compiled.inputs[0]
    shape = [batch if d.is_dynamic else d.get_length() for d in inp.get_partial_shape()]
    feed = {0: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    request = compiled.create_infer_request()
    request.infer(feed)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        request.infer(feed)
        runs.append((time.perf_counter() - start, list(request.profiling_info)))
    wall, info = min(runs, key=lambda r: r[0])
    ops = {op.get_friendly_name(): op for op in compiled.get_runtime_model().get_ops()}
    by_type, by_kernel, gemms = collections.Counter(), collections.Counter(), collections.defaultdict(lambda: [0, 0.0])
    for p in info:
        seconds = p.real_time.total_seconds()
        by_type[p.node_type] += seconds
        by_kernel[f"{p.node_type} / {p.exec_type}"] += seconds
        op = ops.get(p.node_name)
        if p.node_type == "FullyConnected" and op is not None:
            a, w = (list(op.input(i).get_partial_shape().to_shape()) for i in range(2))
            gemms[(p.exec_type, tuple(a), tuple(w))][0] += 1
            gemms[(p.exec_type, tuple(a), tuple(w))][1] += seconds
    total = sum(by_type.values())
    rows = []
    for (kernel, a, w), (n, seconds) in sorted(gemms.items(), key=lambda kv: -kv[1][1]):
        m = int(np.prod(a[:-1]))
        rows.append({"kernel": kernel, "m": m, "k": a[-1], "n": w[0], "count": n, "ms": round(seconds * 1e3, 1),
                     "tflops": round(2 * m * a[-1] * w[0] * n / seconds / 1e12, 3)})  # fmt: skip
    return {"precision": precision, "wall_ms": round(wall * 1e3, 1), "node_ms": round(total * 1e3, 1),
            "by_type": {k: round(v * 1e3, 1) for k, v in by_type.most_common()},
            "by_kernel": {k: round(v * 1e3, 1) for k, v in by_kernel.most_common()}, "gemms": rows}  # fmt: skip


def torch_gemm(m: int, k: int, n: int, dtype: torch.dtype) -> float:
    """torch's best rate (TFLOPS) for an (m, k) x (k, n) product in ``dtype``."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(2):
        a @ b
    best = min(_timed(lambda: a @ b) for _ in range(8))
    return round(2 * m * k * n / best / 1e12, 3)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(results: dict) -> str:
    lines = ["# OpenVINO profile of the triplet graph", "", f"{results['date']}; {results['machine']}; "
             f"openvino {results['openvino']}. Command: `{results['command']}`", ""]  # fmt: skip
    for run in results["runs"]:
        p = run["precision"]
        lines += [f"## {p}: {run['wall_ms']:.0f} ms a batch ({run['node_ms']:.0f} ms summed over nodes)", "",
                  "| node type | ms | share |", "|---|---|---|",
                  *[f"| {k} | {v:.1f} | {100 * v / run['node_ms']:.1f} % |" for k, v in list(run["by_type"].items())[:10]],
                  "", "| matrix product (kernel) | m x k x n | count | ms | TFLOPS | torch, same shape |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for g in run["gemms"][:8]:
            lines.append(f"| {g['kernel']} | {g['m']} x {g['k']} x {g['n']} | {g['count']} | {g['ms']:.1f} | "
                         f"{g['tflops']:.3f} | {g['torch_tflops']:.3f} |")  # fmt: skip
        lines += ["", f"torch 2048^3 in {p} (the bench's ceiling), this run: {run['torch_2048']:.3f} TFLOPS", ""]
        b = run["bound"]
        lines += [f"Now: {b['now_of_ceiling']:.1%} of that ceiling ({b['flops'] / 1e9:.0f} GFLOP in {run['wall_ms']:.0f} ms). "
                  f"Bound: the product nodes' {b['product_flops'] / 1e9:.0f} GFLOP at the ceiling plus the other nodes' "
                  f"{b['rest_ms']:.0f} ms as now = {b['best_ms']:.0f} ms, **{b['bound_of_ceiling']:.1%}** of the ceiling "
                  "at most without faster non-product nodes.", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    import openvino as ov

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("graph", type=Path, help="an exported FP32 ONNX graph (stdpose-export or the bench's cache)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--precision", nargs="+", default=["f32", "bf16"], help="OpenVINO inference precision hints")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    runs, flops = [], product_flops(args.graph, args.batch)
    for precision in args.precision:
        run = profile(args.graph, precision, args.batch)
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        for g in run["gemms"][:8]:
            g["torch_tflops"] = torch_gemm(g["m"], g["k"], g["n"], dtype)
        run["torch_2048"] = torch_gemm(2048, 2048, 2048, dtype)
        run["bound"] = bound(run, flops, run["torch_2048"])
        runs.append(run)
        print(precision, run["wall_ms"], "ms", flush=True)
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "openvino": ov.__version__.split("-")[0],
               "command": "python " + " ".join(sys.argv), "batch": args.batch, "runs": runs}  # fmt: skip
    save_results(args.out, results, report(results))


if __name__ == "__main__":
    main()
