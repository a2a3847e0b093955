"""Which backend "auto" runs on the CPU: the one measured fastest on this machine, measured once and remembered.

CPUs differ too much for a fixed rule (on one AVX2 EPYC OpenVINO ran the B triplet 1.13x faster than torch and
ONNX Runtime no faster; AMX machines favour others), so the first ``load_backend(..., "auto")`` on a CPU times each
installed CPU backend on the model's own triplets and keeps the answer in ``CACHE_DIR/cpu_choice.json``, keyed by the
CPU, the thread count, the runtimes' versions, the precision and the network's architecture (not its weights: speed
does not depend on them). Later loads read the answer; the chosen backend says why in ``info.detail["auto"]``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import MissingDependencyError
from ..export.onnx_graph import GRAPH_FORM
from .registry import BACKEND_CLASSES

if TYPE_CHECKING:
    from .base import Backend
    from .source import BackendSource

log = logging.getLogger(__name__)

CPU_BACKENDS = ("torch", "onnxruntime", "openvino")  # the backends that run on a CPU, in order of preference on a tie
BATCH = 4  # triplets per timed call: the pipeline's calls are batches of persons, and a batch of 1 favours no one
CALLS = 2  # timed calls per backend, after one warm-up call; the fastest counts
MARGIN = 0.05  # a later backend in CPU_BACKENDS must be this much faster to win (noise; torch needs no export)


def cpu_name() -> str:
    """The CPU's model name and its matrix units (figures depend on both), e.g. "AMD EPYC (AVX2, no BF16 units)"."""
    name, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line
    except OSError:
        return name
    units = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no BF16 units"
    simd = "AVX512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name} ({simd}, {units})"


def installed_cpu_backends(precision: str, graphs_only: bool) -> list[str]:
    """The CPU backends whose runtime is installed and that run ``precision``; graph files exclude torch."""
    names = []
    for name in CPU_BACKENDS:
        if precision not in BACKEND_CLASSES[name].precisions or (graphs_only and name == "torch"):
            continue
        if _version(name) is not None:
            names.append(name)
    return names


@functools.lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _version(module: str) -> str | None:
    """The installed version of the distribution that provides ``module`` (e.g. onnxruntime-gpu for onnxruntime)."""
    for dist in _providers().get(module, []):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def choose_cpu_backend(source: BackendSource, precision: str, max_batch: int, cache_dir: Path) -> tuple[str, str]:
    """(backend name, why): the fastest installed CPU backend for ``source`` at ``precision`` on this machine."""
    names = installed_cpu_backends(precision, graphs_only=source.model is None)
    if not names:
        raise MissingDependencyError(f"no installed CPU backend runs {precision} graphs: pip install onnxruntime")
    if len(names) == 1:
        return names[0], f"CPU: {names[0]}, the one installed CPU backend that runs this {precision} input"
    key, where = _key(source, precision, names), cache_dir / "cpu_choice.json"
    entry = _read(where).get(key)
    if entry is None:
        entry = measure(source, precision, names, max_batch)
        _write(where, {**_read(where), key: entry})  # re-read: another process may have added its own
    timings = ", ".join(f"{n} {ms:.0f} ms" for n, ms in sorted(entry["ms_per_triplet"].items(), key=lambda t: t[1]))
    return entry["fastest"], (
        f"CPU: {entry['fastest']} measured fastest (ties within {MARGIN:.0%} go to torch, then onnxruntime) on this machine ({entry['cpu']}, {entry['threads']} threads, "
        f"{entry['date']}): {timings} per triplet at batch {entry['batch']}; remembered in {where}"
    )


def measure(source: BackendSource, precision: str, names: list[str], max_batch: int) -> dict:
    """Time each backend in ``names`` on random triplets of the model's shape (one warm-up call, then the fastest
    of ``CALLS``); a backend that cannot be built here is left out with its reason."""
    log.warning(
        "backend 'auto': timing the CPU backends %s once for this machine and model (saved; later runs skip this)",
        ", ".join(names),
    )
    cpu, batch = torch.device("cpu"), max(1, min(BATCH, max_batch))
    if source.model is not None:  # time the estimate graph only: no graph is exported that may never run
        source = dataclasses.replace(source, modes=("estimate",))
    ms, skipped, began = {}, {}, time.perf_counter()
    for k, name in enumerate(names, 1):
        start = time.perf_counter()
        try:
            backend = BACKEND_CLASSES[name].from_source(source, cpu, precision, batch)
        except Exception as e:  # noqa: BLE001 - a backend that cannot run this input here is not a candidate
            skipped[name] = f"{type(e).__name__}: {e}"
            log.warning("backend 'auto' [%d/%d]: %s cannot run here (%s)", k, len(names), name, skipped[name])
            continue
        ms[name] = _time_triplets(backend, batch, source) * 1e3 / batch
        log.warning("backend 'auto' [%d/%d]: %s %.0f ms per triplet (%.0f s with its set-up: graph export, build)",
                    k, len(names), name, ms[name], time.perf_counter() - start)  # fmt: skip
    log.warning("backend 'auto': the timing took %.0f s, once", time.perf_counter() - began)
    if not ms:
        raise MissingDependencyError(f"no CPU backend could run this model: {skipped}")
    best = min(ms.values())
    fastest = next(n for n in CPU_BACKENDS if n in ms and ms[n] <= best * (1 + MARGIN))
    return {"fastest": fastest, "ms_per_triplet": ms, "skipped": skipped, "batch": batch, "cpu": cpu_name(),
            "threads": torch.get_num_threads(), "date": str(date.today())}  # fmt: skip


def _time_triplets(backend: Backend, batch: int, graphs: BackendSource) -> float:
    c = backend.config
    frames = torch.randn(batch, 3, 3, *c.image_size, generator=torch.Generator().manual_seed(0))
    estimate = graphs.files is None or "estimate" in graphs.files  # else a propagate graph alone: feed aux maps
    aux = None if estimate else torch.zeros(batch, 2, c.num_keypoints, *c.heatmap_size)
    backend.infer(frames, aux)
    best = float("inf")
    for _ in range(CALLS):
        start = time.perf_counter()
        backend.infer(frames, aux)
        best = min(best, time.perf_counter() - start)
    return best


def _key(source: BackendSource, precision: str, names: list[str]) -> str:
    versions = {n: _version(n) for n in names}
    if source.model is not None:  # the architecture: the config without provenance or weights
        what = source.model.config.to_json() + f" graph form {GRAPH_FORM}"
    else:  # graph files: their names and sizes (their config is inside; precision differs by file)
        what = json.dumps({m: [str(p), Path(p).stat().st_size] for m, p in sorted(source.files.items())})
    digest = hashlib.sha256(what.encode()).hexdigest()[:16]
    return json.dumps([cpu_name(), torch.get_num_threads(), precision, versions, digest])


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write(path: Path, known: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(known, indent=1))
    partial.replace(path)  # atomic: a concurrent reader sees the old file or the new one
