"""Export a variant in both modes and precisions; check FP32 ONNX Runtime parity and the TensorRT-RTX build.

The suite does this for the tiny variant; this script records it for the real sizes (too slow for CI):

    python benchmarks/export_check.py --variant b --out benchmarks/results/<date>_export_check_b.md
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from stdpose_infer import __version__, build_model
from stdpose_infer.export import export_onnx, onnx_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from lively import lively_weights  # noqa: E402  (a test helper: O(1) random heatmaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", default="b")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--target", default="SM89", help="TensorRT-RTX ahead-of-time target")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model = lively_weights(build_model(args.variant))  # O(1) heatmaps so the tolerance means something
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("estimate", "propagate"):
            for precision in ("fp32", "fp16"):
                start = time.perf_counter()
                info = export_onnx(model, Path(tmp) / f"{mode}-{precision}.onnx", mode, precision)
                export_s = time.perf_counter() - start
                size = sum(f.stat().st_size for f in onnx_files(info.path)) / 1e6
                parity = []
                if precision == "fp32":
                    session = ort.InferenceSession(str(info.path), providers=["CPUExecutionProvider"])
                    for batch in args.batches:
                        g = torch.Generator().manual_seed(batch)
                        frames = torch.randn(batch, 3, 3, 256, 192, generator=g)
                        aux = torch.rand(batch, 2, 17, 64, 48, generator=g) if mode == "propagate" else None
                        with torch.no_grad():
                            want = model(frames, aux).numpy()
                        feeds = {"frames": frames.numpy()} | ({"aux_heatmaps": aux.numpy()} if aux is not None else {})
                        got = session.run(["heatmaps"], feeds)[0]
                        parity.append(f"b{batch}: {np.abs(got - want).max():.1e} (max |h| {np.abs(want).max():.2f})")
                engine = "-"
                try:
                    from stdpose_infer.runtime import build_engine

                    start = time.perf_counter()
                    path = build_engine(info.path, Path(tmp) / "engines", target=args.target)
                    engine = f"{time.perf_counter() - start:.1f} s, {path.stat().st_size / 1e6:.0f} MB"
                except Exception as exc:  # recorded, not hidden
                    engine = f"failed: {exc}"
                rows.append(
                    f"| {mode} | {precision} | {export_s:.1f} | {size:.0f} | {'; '.join(parity) or '-'} | {engine} |"
                )
                print(rows[-1], flush=True)
    import tensorrt_rtx

    text = "\n".join(
        [
            f"# Export check: STDPose-{args.variant.upper()} (lively random weights)",
            "",
            f"- date: {datetime.date.today()}; machine: {platform.node()}, {torch.get_num_threads()} CPU threads, no GPU",
            f"- versions: stdpose-infer {__version__}, torch {torch.__version__}, onnxruntime {ort.__version__}, "
            f"tensorrt_rtx {tensorrt_rtx.__version__}",
            f"- command: `python {' '.join(sys.argv)}`",
            f"- ONNX Runtime CPU vs torch FP32 on the same random input (bound 1e-4); engines built ahead of time for "
            f"{args.target} with profile 1/16/64 (not run: no GPU here)",
            "",
            "| mode | precision | export s | files MB | max abs heatmap diff | TensorRT-RTX build |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
