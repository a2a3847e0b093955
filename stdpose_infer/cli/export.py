"""``stdpose-export``: a checkpoint (or random weights, for speed work) to ONNX, optionally a TensorRT engine.

stdpose-export --weights stdpose-b.safetensors --mode estimate --precision fp16 --out engines/b-est.onnx
stdpose-export --variant t --random-weights --mode propagate --out engines/t.onnx --engine --target SM89
stdpose-export --weights stdpose-b.safetensors --triton-repo models/   # a Triton model repository (ONNX Runtime)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..errors import InputError
from ..export.onnx_graph import GRAPHS, PRECISIONS
from ..model.config import MODES, VARIANTS
from . import run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stdpose-export", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help="STDPose .safetensors checkpoint")
    source.add_argument(
        "--random-weights", action="store_true", help="untrained weights of --variant (for speed tests only)"
    )
    parser.add_argument("--variant", default="b", choices=VARIANTS, help="with --random-weights")
    parser.add_argument("--mode", default="estimate", choices=GRAPHS, help="a mode's whole graph, or one of the "
                        "model's halves that feature reuse runs (frame_features, temporal; propagate_temporal for a model whose "
                        "propagate mode has its own modules)")
    parser.add_argument("--precision", default="fp32", choices=[*PRECISIONS, "int8"],
                        help="int8: opt-in post-training quantization of the estimate graph (needs --calibrate)")
    parser.add_argument("--calibrate", help="int8: a video with people; its detected person triplets calibrate "
                        "the activation ranges (use footage like yours)")
    parser.add_argument("--calibration-count", type=int, default=64, help="int8: person triplets to calibrate on")
    parser.add_argument("--opset", type=int, default=18)
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="output .onnx (weights may go to a side file NAME.onnx.data)")
    out.add_argument("--triton-repo", help="write a Triton model repository here instead: stdpose (estimate) and, "
                     "when the model reads aux heatmaps, stdpose_propagate, each config.pbtxt + 1/model.onnx")  # fmt: skip
    parser.add_argument("--engine", action="store_true", help="also build a TensorRT engine (cached beside --out)")
    parser.add_argument("--target", help="TensorRT-RTX ahead-of-time target, e.g. SM89 (no GPU needed)")
    parser.add_argument("--profile", type=int, nargs=3, default=[1, 16, 64], metavar=("MIN", "OPT", "MAX"),
                        help="batch sizes: TensorRT's profile; --triton-repo: OPT and smaller powers of two are the "
                        "preferred batch sizes, MAX the max_batch_size")  # fmt: skip
    return parser


def _export(args: argparse.Namespace) -> None:
    from ..export import export_onnx, onnx_files
    from ..model import build_model
    from ..weights import load_model

    model = load_model(args.weights) if args.weights else build_model(args.variant)
    if args.precision == "int8":
        _int8(model, args)
        return
    if args.triton_repo:
        _triton_repo(model, args)
        return
    start = time.perf_counter()
    info = export_onnx(model, args.out, args.mode, args.precision, args.opset)
    files = ", ".join(str(f) for f in onnx_files(info.path))
    print(f"wrote {files} ({args.mode}, {args.precision}, {time.perf_counter() - start:.1f} s)")
    if args.random_weights:
        print("weights are untrained: use this graph for speed and compatibility checks, not for poses")
    if args.engine:
        from ..runtime import build_engine

        engine = build_engine(info.path, info.path.parent, tuple(args.profile), target=args.target)
        print(f"engine: {engine} (sidecar {engine.with_suffix('.json').name})")


def _int8(model, args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    from ..export import export_onnx
    from ..export.quantize import calibration_triplets, quantize_int8

    if not args.calibrate or args.mode != "estimate" or args.triton_repo or args.engine:
        raise InputError("--precision int8 quantizes the estimate graph to --out, calibrated on --calibrate VIDEO "
                         "(no --mode propagate, --triton-repo or --engine)")  # fmt: skip
    start = time.perf_counter()
    triplets = calibration_triplets(args.calibrate, count=args.calibration_count, input_wh=model.config.input_wh)
    with tempfile.TemporaryDirectory() as tmp:
        graph = export_onnx(model, Path(tmp) / "fp32.onnx", "estimate", "fp32", args.opset).path
        out = quantize_int8(graph, triplets, args.out)
    print(f"wrote {out} (INT8, calibrated on {len(triplets)} person triplets of {args.calibrate}, "
          f"{time.perf_counter() - start:.1f} s); measure its pose cost on your data before relying on it")


def _triton_repo(model, args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    from ..export import export_onnx
    from ..export.triton_repo import write_triton_repo

    if args.engine:
        raise InputError("--triton-repo writes ONNX models; build TensorRT plans on the deployment GPU (see the README)")
    modes = MODES if model.config.uses_aux_heatmaps else ("estimate",)
    _, opt, biggest = args.profile
    preferred = tuple(b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256) if opt // 4 <= b <= opt)
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {m: export_onnx(model, Path(tmp) / f"{m}.onnx", m, args.precision, args.opset).path for m in modes}
        folders = write_triton_repo(graphs, args.triton_repo, biggest, preferred)
    print(f"wrote {', '.join(str(f) for f in folders)} (config.pbtxt + 1/model.onnx; {args.precision})")


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("stdpose-export", _export, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
