"""Measuring: stage timers the pipeline reports into, latency summaries, peak memory during a block."""

from __future__ import annotations

import resource
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

# The pipeline's stages, in data-path order: what StageTimer names and the reports list.
STAGES = ("video decode", "detect", "crop", "model", "heatmap decode")


@dataclass
class Sample:
    end: float  # time.perf_counter() when the stage finished
    seconds: float
    items: int  # frames or persons the call handled


class StageTimer:
    """Durations per named stage; ``sync`` (e.g. torch.cuda.synchronize) runs at each boundary on GPUs,
    so asynchronous work is charged to the stage that launched it."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.sync = sync
        self.samples: dict[str, list[Sample]] = defaultdict(list)

    @contextmanager
    def stage(self, name: str, items: int = 1) -> Iterator[None]:
        if self.sync:
            self.sync()
        start = time.perf_counter()
        yield
        if self.sync:
            self.sync()
        end = time.perf_counter()
        self.samples[name].append(Sample(end, end - start, items))


def summarize(seconds: list[float] | np.ndarray, items: float | None = None) -> dict:
    """Median, p90, p99 and mean latency in milliseconds; ``items``/second over the summed time if given."""
    s = np.asarray(seconds, dtype=np.float64)
    if s.size == 0:
        return {"n": 0}
    out = {
        "n": int(s.size),
        "median_ms": float(np.median(s) * 1e3),
        "p90_ms": float(np.percentile(s, 90) * 1e3),
        "p99_ms": float(np.percentile(s, 99) * 1e3),
        "mean_ms": float(s.mean() * 1e3),
        "total_s": float(s.sum()),
    }
    if items is not None:
        out["per_second"] = float(items / s.sum()) if s.sum() > 0 else float("inf")
    return out


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:  # not Linux: the process-lifetime peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """``with PeakMemory(device) as peak:`` -> ``peak.host_mb`` (RSS sampled every 5 ms: the block's peak, not the
    process's) and ``peak.gpu_mb`` (torch's allocator peak on CUDA; TensorRT's own workspace is not in it)."""

    def __init__(self, device: torch.device | str = "cpu", interval: float = 0.005) -> None:
        self.device, self.interval = torch.device(device), interval
        self.host_mb = 0.0
        self.gpu_mb: float | None = None

    def __enter__(self) -> PeakMemory:
        self._peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.host_mb = max(self._peak, _rss_bytes()) / 2**20
        if self.device.type == "cuda":
            self.gpu_mb = torch.cuda.max_memory_allocated(self.device) / 2**20


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int, iterations: int) -> list[float]:
    """Seconds per call of ``fn``; CUDA events on a GPU (the GPU's time between launches, synchronised once)."""
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        events = [
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iterations)
        ]
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in events]
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
