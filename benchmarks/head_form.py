"""The heatmap head's two transposed convolutions as exported before (ConvTranspose) and now (a 2x2 convolution and
a pixel shuffle, ``model.head.PhaseDeconvolution``): the whole estimate graph on OpenVINO, FP32 and BF16, both
forms in one run, alternating, best of N; and the two graphs' outputs against each other.

    python benchmarks/head_form.py --out OUT [--variants s14 b] [--batch 8] [--iterations 5]

s14 is the shipped starter model (its weights); b is STDPose-B with random weights (timings do not depend on them).
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

from stdpose_infer import build_model  # noqa: E402
from stdpose_infer.defaults import default_weights  # noqa: E402
from stdpose_infer.export import onnx_graph  # noqa: E402
from stdpose_infer.weights import load_model  # noqa: E402


def export(model, folder: Path, phase: bool) -> Path:
    """The estimate graph with the head as exported now (``phase``) or as before (transposed convolutions)."""
    rewrite = onnx_graph.phase_deconvolutions
    if not phase:
        onnx_graph.phase_deconvolutions = lambda net: net
    try:
        return onnx_graph.export_onnx(model, folder / f"estimate-{'phase' if phase else 'deconv'}.onnx").path
    finally:
        onnx_graph.phase_deconvolutions = rewrite


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variants", nargs="+", default=["s14", "b"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    import openvino as ov

    core = ov.Core()
    precisions = ["f32"] + (["bf16"] if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            model = load_model(default_weights()) if variant == "s14" else build_model(variant)
            model.eval()
            graphs = {phase: export(model, Path(tmp) / variant, phase) for phase in (False, True)}
            frames = torch.randn(args.batch, 3, 3, *model.config.image_size).numpy()
            for precision in precisions:
                compiled = {phase: core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                                         "PERFORMANCE_HINT": "LATENCY"})
                            for phase, path in graphs.items()}  # fmt: skip
                outputs = {phase: c(frames)[c.output(0)] for phase, c in compiled.items()}  # and a warm-up each
                times = {False: [], True: []}
                for _ in range(args.iterations):
                    for phase, c in compiled.items():
                        start = time.perf_counter()
                        c(frames)
                        times[phase].append(time.perf_counter() - start)
                old, new = min(times[False]) * 1000, min(times[True]) * 1000
                rows.append({"variant": variant, "precision": precision, "batch": args.batch,
                             "deconvolution_ms": round(old, 1), "phase_ms": round(new, 1), "speedup": round(old / new, 3),
                             "max_abs_difference": float(np.abs(outputs[True] - outputs[False]).max()),
                             "max_abs_heatmap": float(np.abs(outputs[False]).max())})  # fmt: skip
                print(rows[-1])
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
              "openvino": ov.__version__, "rows": rows}  # fmt: skip
    lines = [
        "# The head's transposed convolutions: ConvTranspose (before) vs 2x2 convolution + pixel shuffle (now)", "",
        f"{result['date']}; {result['machine']}; OpenVINO {ov.__version__}. Command: `{result['command']}`.", "",
        f"The whole estimate graph (a batch of {args.batch} triplets), best of {args.iterations}, both forms "
        "alternating in one run.", "",
        "| model | precision | ConvTranspose | 2x2 conv + shuffle | speed-up | largest difference (largest heatmap value) |",
        "|---|---|---|---|---|---|",
        *[f"| {r['variant']} | {r['precision']} | {r['deconvolution_ms']} ms | {r['phase_ms']} ms | {r['speedup']:.2f}x | "
          f"{r['max_abs_difference']:.1e} ({r['max_abs_heatmap']:.2f}) |" for r in rows], "",
    ]  # fmt: skip
    save_results(args.out, result, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
