"""``stdpose-bench``: how fast is STDPose here? Per-stage latency, throughput, FLOP and baseline ratios.

stdpose-bench --variant b --backends torch onnxruntime --batch 1 8 32 --out benchmarks/results/cpu-b
stdpose-bench --variant b --device cuda --backends torch torch-compile onnxruntime tensorrt --precision fp32 fp16
stdpose-bench --weights stdpose-b.safetensors --video match.mp4 --no-model
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..model.config import VARIANTS
from . import resolution, run_command


def build_parser() -> argparse.ArgumentParser:
    from ..bench import BACKEND_SPECS
    from ..runtime.loader import PRECISIONS

    p = argparse.ArgumentParser(prog="stdpose-bench", description=__doc__.split("\n")[0])
    p.add_argument("--variant", default="t", choices=VARIANTS, help="random weights of this size")
    p.add_argument("--weights", help="a .safetensors checkpoint instead of random weights")
    p.add_argument("--server", help="for --backends triton: a server serving the same model, "
                   "triton://HOST:PORT/stdpose (start one with stdpose-infer serve)")  # fmt: skip
    p.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"], choices=sorted(BACKEND_SPECS))
    p.add_argument("--precision", nargs="+", default=["fp32"], choices=[p for p in PRECISIONS if p != "auto"])
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8, 32], help="batch sizes for the model timings")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--video", help="time the pipeline on this video instead of a generated one")
    p.add_argument("--resolution", type=resolution, default=(1280, 720), help="generated video size, WxH")
    p.add_argument("--people", type=int, default=4, help="people in the generated video")
    p.add_argument("--frames", type=int, default=48, help="frames of the generated video")
    p.add_argument("--detector", default="default", help="default (what Pipeline() runs), nanodet, movenet:PATH, hog, "
                   "yolo:PATH.onnx")
    p.add_argument("--pipeline-batch", type=int, default=32, help="the pipeline's batch size")
    p.add_argument("--reuse-features", action="store_true", help="time each pipeline row also with cross-frame "
                   "feature reuse (window boxes), in the same run")
    p.add_argument("--no-model", action="store_true", help="skip the model-alone timings")
    p.add_argument("--no-pipeline", action="store_true", help="skip the whole-pipeline timings")
    p.add_argument("--peak-tflops", type=float, help="dense FP16 peak of a GPU the built-in table lacks")
    p.add_argument("--cache-dir", default="engines", help="where exported graphs and engines are cached")
    p.add_argument("--out", default="bench-results", help="folder for bench.json, bench.md, bench.png")
    p.add_argument("--name", default="bench", help="file name stem of the outputs")
    p.add_argument("--no-plot", action="store_true", help="skip bench.png (no matplotlib needed)")
    return p


def _bench(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from ..bench import BenchConfig, markdown, run_bench, write_report
    from ..errors import InputError
    from ..progress import progress as progress_bar

    if not args.no_plot and not args.no_model:  # say so before the run, not after it
        from ..errors import require

        try:
            require("matplotlib", "bench", "the benchmark plot (bench.png)")
        except ImportError as e:
            raise InputError(f"{e} -- or pass --no-plot for the JSON and Markdown only") from e
    if min(args.batch) < 1 or args.iterations < 1 or args.warmup < 0 or args.frames < 2 or args.people < 0:
        raise InputError("need batch sizes >= 1, --iterations >= 1, --warmup >= 0, --frames >= 2, --people >= 0")
    config = BenchConfig(
        variant=args.variant, weights=args.weights, backends=tuple(args.backends), precisions=tuple(args.precision),
        batch_sizes=tuple(args.batch), device=args.device, warmup=args.warmup, iterations=args.iterations,
        model=not args.no_model, pipeline=not args.no_pipeline, video=args.video, resolution=args.resolution,
        people=args.people, frames=args.frames, detector=args.detector, pipeline_batch=args.pipeline_batch,
        reuse=args.reuse_features, peak_tflops=args.peak_tflops, cache_dir=args.cache_dir, server=args.server,
    )  # fmt: skip
    pipeline_rows = int(config.pipeline) * (2 if config.reuse else 1)
    steps = len(config.backends) * len(config.precisions) * ((len(config.batch_sizes) if config.model else 0)
                                                             + pipeline_rows)  # fmt: skip
    with progress_bar(total=steps, desc="stdpose-bench", unit="run", file=sys.stderr) as bar:

        def progress(message: str) -> None:
            bar.set_postfix_str(message, refresh=False)
            if message.startswith(("model:", "pipeline:")):
                bar.update(1)
            elif message.startswith("skipped"):
                tqdm.write(message, file=sys.stderr)

        report = run_bench(config, progress)
    print(markdown(report))
    paths = write_report(report, args.out, args.name, plot_png=not args.no_plot)
    print("wrote " + ", ".join(str(p) for p in paths.values()))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("stdpose-bench", _bench, args)


if __name__ == "__main__":
    sys.exit(main())
