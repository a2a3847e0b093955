"""``run_bench``: the triplet model alone and the whole pipeline, per backend, precision and batch size.

Everything compared is measured in the same run: STDPose against its single-frame baseline
(ViTPose: the same backbone and head on the key frame alone) on the same backend, and every
backend against torch eager. Weights do not change timings; the report says when they are untrained.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from ..detect import Detections, make_detector
from ..errors import InputError, StdposeError
from ..export.onnx_graph import SPLIT_GRAPHS
from ..model import build_model
from ..model.stdpose import STDPose, baseline_config
from ..runtime import load_backend
from ..runtime.cpu_choice import cpu_name
from ..runtime.loader import BACKEND_CLASSES, resolve_device
from ..runtime.torch_backend import AUTOCAST
from .flops import DENSE_FP16_TFLOPS, gpu_name, matmul_tflops, model_flops
from .timing import STAGES, PeakMemory, StageTimer, summarize, time_calls

log = logging.getLogger(__name__)

# backend spec -> (load_backend name, options): every backend as it comes, plus the option variants worth timing
BACKEND_SPECS = {
    **{name: (name, {}) for name in BACKEND_CLASSES},
    "torch-compile": ("torch", {"compile": True}),
    "torch-fused-dam": ("torch", {"fused_dam": True}),
    "tensorrt-graphs": ("tensorrt", {"cuda_graphs": True}),
}


@dataclass
class BenchConfig:
    """What to measure; defaults give a short CPU run."""

    variant: str = "t"
    weights: str | None = None
    backends: tuple[str, ...] = ("torch", "onnxruntime")
    precisions: tuple[str, ...] = ("fp32",)
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    device: str = "auto"
    warmup: int = 2
    iterations: int = 10
    model: bool = True  # time the triplet model alone
    pipeline: bool = True  # time the whole pipeline on a video
    video: str | None = None  # None: a generated video
    resolution: tuple[int, int] = (1280, 720)
    people: int = 4
    frames: int = 48
    detector: str = "default"  # what Pipeline() runs
    pipeline_batch: int = 32
    reuse: bool = False  # also time each pipeline row with cross-frame feature reuse (same run: a ratio)
    peak_tflops: float | None = None
    cache_dir: str = "engines"
    server: str | None = None  # the "triton" backend's server: triton://HOST:PORT/stdpose (serving the same model)
    seed: int = 0
    command: str = field(default_factory=lambda: " ".join(["stdpose-bench", *sys.argv[1:]]))


def load_bench_model(config: BenchConfig) -> STDPose:
    if config.weights:
        from ..weights.native import load_model

        return load_model(config.weights)
    torch.manual_seed(config.seed)
    return build_model(config.variant)


def baseline_of(model: STDPose) -> STDPose:
    """The single-frame ViTPose baseline sharing ``model``'s backbone and head weights."""
    base = STDPose(baseline_config(model.config)).eval()
    shared = base.state_dict().keys()
    base.load_state_dict({k: v for k, v in model.state_dict().items() if k in shared}, strict=True)
    base.provenance = dict(model.provenance)
    return base


def machine_info(device: torch.device) -> dict:
    import onnxruntime

    info = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "device": str(device),
        "gpu": gpu_name(device.index or 0) if device.type == "cuda" else None,
    }
    for module in ("tensorrt", "tensorrt_rtx", "openvino"):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - absent or unloadable: not part of this machine's stack
            pass
    return info


def run_bench(config: BenchConfig, progress=None) -> dict:
    """Measure and return the report (a JSON-ready dict); ``progress(message)`` is told what runs."""
    say = progress or (lambda message: None)
    device = resolve_device(config.device)
    model = load_bench_model(config).to(device)
    base = baseline_of(model).to(device)
    machine = machine_info(device)
    flops, base_flops = model_flops(model), model_flops(base)
    provenance = model.provenance
    untrained = "untrained" in provenance.get("training_data", "")
    peak = config.peak_tflops or DENSE_FP16_TFLOPS.get(machine["gpu"] or "")
    cpu_ceiling = _cpu_ceiling(config, say) if device.type == "cpu" and config.model else None
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": config.command,
        "config": asdict(config),
        "variant": model.config.variant,
        "machine": machine,
        "weights": {
            "source": config.weights or f"random {config.variant} (seed {config.seed})",
            "untrained": untrained,
            "note": "timings do not depend on the weights"
            + ("; these are untrained: no pose quality is measured or implied" if untrained else ""),
        },
        "flops": {
            "stdpose_triplet_gflop": flops / 1e9,
            "baseline_frame_gflop": base_flops / 1e9,
            "ratio": flops / base_flops,
        },
        "peak_fp16_tflops": peak,
        "cpu_matmul_tflops": cpu_ceiling,
        "model": [],
        "pipeline": [],
    }
    runs = [(spec, precision) for spec in config.backends for precision in config.precisions]
    if config.model:
        gpu_peak = peak if device.type == "cuda" else None  # CPU rows: against cpu_ceiling, below
        for spec, precision in runs:
            report["model"].extend(_bench_model(model, base, spec, precision, config, device, flops, base_flops,
                                                gpu_peak, say))  # fmt: skip
        _add_ratios_to_torch(report["model"])
        if cpu_ceiling:  # measured again after the model rows: a ceiling is the best of both
            for precision, tflops in _cpu_ceiling(config, say).items():
                cpu_ceiling[precision] = max(cpu_ceiling[precision], tflops)
            for r in report["model"]:
                if r["status"] == "ok" and r["precision"] in cpu_ceiling:
                    r["peak_fraction"] = r["achieved_tflops"] / cpu_ceiling[r["precision"]]
    if config.pipeline:
        with tempfile.TemporaryDirectory(prefix="stdpose-bench-") as scratch:  # a generated video goes here
            source, boxes = _video(config, say, Path(scratch))
            for spec, precision in runs:
                for reuse in (False, True) if config.reuse else (False,):
                    row = _bench_pipeline(model, spec, precision, config, device, source, boxes, say, reuse)
                    report["pipeline"].append(row)
                    if reuse and row["status"] == "ok":
                        row["reuse_flop_bound"] = reuse_flop_bound(flops, base_flops, row["passes_per_person_frame"])
                    if reuse and row["status"] == "ok" and report["pipeline"][-2]["status"] == "ok":
                        row["speedup_vs_no_reuse"] = row["persons_per_s"] / report["pipeline"][-2]["persons_per_s"]
    report["targets"] = _targets(report)
    return report


def _cpu_ceiling(config: BenchConfig, say) -> dict[str, float]:
    """This CPU's matrix-product TFLOPS per precision benchmarked (FP32 always): what CPU rows' peak % is of."""
    say("measuring this CPU's matrix-product ceiling")
    cpu_precisions = [p for p in dict.fromkeys(("fp32", *config.precisions)) if p != "fp16"]  # no FP16 on CPU
    return {p: matmul_tflops(AUTOCAST[p] or torch.float32) for p in cpu_precisions}


def _load(model: STDPose, spec: str, precision: str, config: BenchConfig, device, max_batch: int, reuse=False):
    if spec not in BACKEND_SPECS:
        raise InputError(f"unknown backend {spec!r}; choose from {sorted(BACKEND_SPECS)}")
    name, options = BACKEND_SPECS[spec]
    if name == "triton":  # the round trip to a server that serves this model
        if not config.server:
            raise InputError("the triton backend needs the server: --server triton://HOST:PORT/stdpose")
        return load_backend(config.server, "triton", max_batch=max_batch)
    modes = ("estimate", *SPLIT_GRAPHS) if reuse else ("estimate",)
    return load_backend(model, name, device, precision, modes=modes, cache_dir=config.cache_dir,
                        max_batch=max_batch, **options)  # fmt: skip


def _bench_model(model, base, spec, precision, config, device, flops, base_flops, peak, say) -> list[dict]:
    rows = []
    largest = max(config.batch_sizes)
    try:
        backends = {
            "stdpose": _load(model, spec, precision, config, device, largest),
            "baseline": _load(base, spec, precision, config, device, largest),
        }
    except StdposeError as e:  # a backend this machine cannot run: say so, keep measuring the others
        say(f"skipped {spec} {precision}: {e}")
        return [{"backend": spec, "precision": precision, "status": f"skipped: {e}"}]
    c = model.config
    gen = torch.Generator().manual_seed(config.seed)
    for batch in config.batch_sizes:
        say(f"model: {spec} {precision} batch {batch}")
        frames = torch.randn(batch, 3, 3, *c.image_size, generator=gen).to(device)
        row = {"backend": spec, "precision": precision, "batch": batch, "status": "ok",
               "info": str(backends["stdpose"].info)}  # fmt: skip
        for key, backend in backends.items():
            with PeakMemory(device) as mem:
                seconds = time_calls(lambda b=backend, f=frames: b.infer(f), device, config.warmup, config.iterations)
            row[key] = summarize(seconds, items=batch * len(seconds))
            row[key]["host_peak_mb"], row[key]["gpu_peak_mb"] = mem.host_mb, mem.gpu_mb
        med, base_med = row["stdpose"]["median_ms"], row["baseline"]["median_ms"]
        row["time_ratio"] = med / base_med
        row["flop_ratio"] = flops / base_flops
        row["persons_per_s"] = batch / (med / 1e3)
        row["achieved_tflops"] = flops * batch / (med / 1e3) / 1e12
        row["peak_fraction"] = row["achieved_tflops"] / peak if peak else None
        rows.append(row)
    return rows


def _add_ratios_to_torch(rows: list[dict]) -> None:
    """Each row's speed relative to torch eager at the same batch: at the same precision where measured, else
    FP32; torch eager's own FP16/BF16 rows against its FP32 row (what the precision buys)."""
    eager = {(r["precision"], r["batch"]): r["stdpose"]["median_ms"] for r in rows
             if r["status"] == "ok" and r["backend"] == "torch"}  # fmt: skip
    for r in rows:
        if r["status"] != "ok":
            continue
        own = r["backend"] == "torch"
        ref = (not own and eager.get((r["precision"], r["batch"]))) or eager.get(("fp32", r["batch"]))
        r["speedup_vs_torch_eager"] = ref / r["stdpose"]["median_ms"] if ref else None


def _video(config: BenchConfig, say, folder: Path) -> tuple[str, dict | None]:
    """The source to read and, for a generated video (written in ``folder``), its true boxes per frame."""
    if config.video:
        if not Path(config.video).is_file():
            raise InputError(f"--video {config.video}: no such file")
        return config.video, None
    from ..data import SyntheticConfig, SyntheticVideo
    from ..video import VideoWriter

    w, h = config.resolution
    say(f"generating a {w}x{h} video, {config.frames} frames, {config.people} people")
    path = folder / "generated.mp4"
    boxes = {}
    synthetic = SyntheticVideo(SyntheticConfig(width=w, height=h, frames=config.frames, people=config.people,
                                               seed=config.seed, occluders=1))  # fmt: skip
    with VideoWriter(path, fps=25) as out:
        for t, (frame, labels) in enumerate(synthetic):
            out.write(frame)
            boxes[t] = labels.boxes
    return str(path), boxes


class _ReplayDetector:
    """Runs the real detector (so its time is measured) but hands on the generated video's true boxes,
    which fixes the person count whatever the detector makes of rendered people."""

    def __init__(self, detector, boxes: dict) -> None:
        self.detector, self.boxes, self.frame, self.found = detector, boxes, 0, []

    def __call__(self, image: np.ndarray) -> Detections:
        self.found.append(len(self.detector(image)))
        boxes = np.asarray(self.boxes.get(self.frame, np.zeros((0, 4))), np.float64).reshape(-1, 4)
        self.frame += 1
        return Detections(boxes, np.ones(len(boxes)))


def _bench_pipeline(model, spec, precision, config, device, source, boxes, say, reuse: bool = False) -> dict:
    from ..pipeline import Pipeline

    row = {"backend": spec, "precision": precision, "batch_size": config.pipeline_batch, "reuse_features": reuse,
           "video": config.video or f"generated {config.resolution[0]}x{config.resolution[1]}, "
                                    f"{config.frames} frames, {config.people} people"}  # fmt: skip
    try:
        backend = _load(model, spec, precision, config, device, config.pipeline_batch, reuse)
        if reuse:
            backend.check_split()
    except StdposeError as e:
        say(f"skipped pipeline {spec} {precision}{' with feature reuse' if reuse else ''}: {e}")
        return {**row, "status": f"skipped: {e}"}
    say(f"pipeline: {spec} {precision}{' with feature reuse' if reuse else ''}")
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None

    def run(limit: int | None):
        detector = make_detector(config.detector)
        if boxes is not None:
            detector = _ReplayDetector(detector, boxes)
        pipe = Pipeline(backend, detector=detector, batch_size=config.pipeline_batch, reuse_features=reuse)
        pipe.timer = StageTimer(sync)
        done = []
        for result in pipe(source):
            done.append((result.frame_index, len(result)))
            if sync:
                sync()
            pipe.timer.samples["result"].append(time.perf_counter())
            if limit and len(done) >= limit:
                break
        return pipe, done, detector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the untrained-weights warning: the report says it once
        run(min(8, config.frames))  # warm-up: first calls, allocator, caches
        with PeakMemory(device) as mem:
            pipe, done, detector = run(None)
    timer = pipe.timer
    frames, persons = len(done), sum(n for _, n in done)
    stages = {}
    for name in STAGES:
        samples = timer.samples.get(name, [])
        stages[name] = summarize([s.seconds for s in samples], items=sum(s.items for s in samples))
    decoded = [s.end for s in timer.samples["video decode"]][:frames]
    emitted = timer.samples["result"]
    latency = [e - d for d, e in zip(decoded, emitted)]
    wall = emitted[-1] - (decoded[0] - timer.samples["video decode"][0].seconds)
    row.update(
        status="ok",
        info=str(backend.info),
        frames=frames,
        persons=persons,
        stages=stages,
        frame_latency=summarize(latency),
        total_s=wall,
        frames_per_s=frames / wall,
        persons_per_s=persons / wall,
        host_peak_mb=mem.host_mb,
        gpu_peak_mb=mem.gpu_mb,
    )
    if pipe.reuse is not None:
        row["passes_per_person_frame"] = pipe.reuse.passes_per_person_frame
    if isinstance(detector, _ReplayDetector):
        row["detector_found_per_frame"] = float(np.mean(detector.found)) if detector.found else 0.0
        row["note"] = ("generated video: the detector runs and is timed on every frame, the crops use the "
                       "generator's boxes (fixed person count)")  # fmt: skip
    return row


def reuse_flop_bound(triplet_flops: float, frame_flops: float, passes: float) -> float:
    """The most feature reuse can speed up estimation at ``passes`` backbone passes per person-frame if time
    followed FLOPs: a triplet is three frame passes (backbone + head) plus the temporal half, and reuse cuts only
    the frame passes, so the temporal half's share caps the gain (about 2x for S and B even at one pass)."""
    temporal = triplet_flops - 3 * frame_flops
    return triplet_flops / (passes * frame_flops + temporal)


def _targets(report: dict) -> list[dict]:
    """The issue's targets, as ratios from this run; each says met / missed and by how much."""
    out = []
    rows = [r for r in report["model"] if r["status"] == "ok"]
    if report["variant"] == "b":
        for r in rows:
            limit = 1.15 * r["flop_ratio"]
            out.append({
                "target": f"B triplet time ratio to ViTPose-B <= 1.15 x FLOP ratio ({r['backend']} {r['precision']} "
                          f"batch {r['batch']})",
                "value": r["time_ratio"], "limit": limit, "met": r["time_ratio"] <= limit,
                "by": r["time_ratio"] / limit,
            })  # fmt: skip
        cpu = {(r["backend"], r["batch"]): r for r in rows if r["precision"] == "fp32"}
        if ("onnxruntime", 8) in cpu and ("torch", 8) in cpu and report["machine"]["device"] == "cpu":
            speedup = cpu[("onnxruntime", 8)]["speedup_vs_torch_eager"]
            target = {"target": "onnxruntime CPU >= 1.3 x torch eager, B triplet batch 8", "value": speedup,
                      "limit": 1.3, "met": speedup >= 1.3, "by": speedup / 1.3}  # fmt: skip
            eager_fraction = cpu[("torch", 8)].get("peak_fraction")
            if eager_fraction:
                target["note"] = (
                    f"torch eager runs at {eager_fraction:.0%} and onnxruntime at "
                    f"{cpu[('onnxruntime', 8)]['peak_fraction']:.0%} of this CPU's measured FP32 matmul ceiling; "
                    f"1.3 x torch would need {1.3 * eager_fraction:.0%} of it"
                )
            out.append(target)
    on_gpu = report["machine"]["device"].startswith("cuda")
    gpu_rows = [r for r in rows if on_gpu and r["batch"] == 32 and r.get("peak_fraction") is not None]
    if gpu_rows:
        best = max(gpu_rows, key=lambda r: r["peak_fraction"])
        out.append({"target": f"best backend at batch 32 >= 25 % of dense FP16 peak ({best['backend']} "
                              f"{best['precision']})", "value": best["peak_fraction"], "limit": 0.25,
                    "met": best["peak_fraction"] >= 0.25, "by": best["peak_fraction"] / 0.25})  # fmt: skip
    return out
