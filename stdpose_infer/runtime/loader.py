"""``load_backend``: one entry point from a model, checkpoint, ONNX graph or engine to a ready backend.

The backends are the ``Backend`` subclasses of ``runtime/*_backend.py`` (each says what it runs and
how it is built); ``load_backend`` looks the name up. "auto" picks, in this order: on a CUDA GPU,
TensorRT when ``tensorrt`` or ``tensorrt_rtx`` is installed, else torch with FP16 autocast; on the
CPU, torch for BF16, else the installed CPU backend measured fastest on this machine (``cpu_choice``:
timed once, remembered). The chosen backend says why in ``backend.info.detail["auto"]``. Graphs,
engines and that measurement are cached under ``cache_dir`` (default ``engines/``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import InputError, MissingDependencyError
from ..model.stdpose import STDPose
from .base import Backend
from .cpu_choice import choose_cpu_backend
from .registry import BACKEND_CLASSES, BACKENDS, PRECISIONS
from .source import BackendSource, model_digest
from .tensorrt_engine import import_tensorrt
from .triton_backend import SCHEME

log = logging.getLogger(__name__)
__all__ = ["BACKENDS", "BACKEND_CLASSES", "PRECISIONS", "load_backend", "model_digest", "resolve_device"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> the first CUDA GPU when torch sees one, else the CPU; a clear error for a missing GPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={str(device)!r} but torch sees no CUDA GPU (torch {torch.__version__}); use 'cpu'")
    return device


def load_backend(
    model_or_path: STDPose | str | Path | dict[str, str | Path],
    backend: str = "auto",
    device: str | torch.device = "auto",
    precision: str = "auto",
    modes: Sequence[str] | None = None,
    cache_dir: str | Path = "engines",
    max_batch: int = 64,
    **options,
) -> Backend:
    """A backend that runs ``model_or_path``; see the module docstring for "auto".

    ``model_or_path``: an ``STDPose``, a ``.safetensors`` checkpoint, an exported ``.onnx``, a
    cached ``.engine``, a dict {mode: path} of graphs or engines, or a server "triton://HOST:PORT/stdpose". ``precision`` "auto" is FP16
    on a GPU and FP32 on the CPU; "bf16" (torch autocast) is the fast choice on CPUs with AMX.
    ``modes`` are the graphs to prepare for ONNX/TensorRT (default: estimate, plus propagate when
    the model reads aux heatmaps). ``options`` go to the backend:
    torch ``compile``/``fused_dam``, onnxruntime ``threads``, TensorRT ``cuda_graphs``/``profile``/``flavour``.
    """
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if isinstance(model_or_path, str) and model_or_path.startswith(SCHEME):  # a Triton server runs the model
        if backend not in ("auto", "triton"):
            raise InputError(f"{model_or_path} is served by Triton: use backend='triton' (or 'auto'), not {backend!r}")
        return BACKEND_CLASSES["triton"](model_or_path, max_batch=max_batch)
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = resolve_device(device)
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    source = BackendSource.of(model_or_path, modes, cache_dir)
    reason = None
    if backend == "auto":
        backend, reason = _choose(device, precision, source, max_batch)
    cls = BACKEND_CLASSES[backend]
    if precision not in cls.precisions:
        others = sorted((n for n, c in BACKEND_CLASSES.items() if precision in c.precisions), key=lambda n: n != "torch")
        raise InputError(
            f"precision={precision!r} runs on the {' / '.join(others)} backend; the {backend} backend runs "
            f"{', '.join(cls.precisions)}. Use backend={others[0]!r}, or precision={cls.precisions[0]!r}"
        )
    result = cls.from_source(source, device, precision, max_batch, **options)
    if reason:
        result.info.detail["auto"] = reason
    log.info("backend: %s", result.info)
    return result


def _choose(device: torch.device, precision: str, source: BackendSource, max_batch: int) -> tuple[str, str]:
    if precision == "bf16":
        return "torch", "BF16 runs on the torch backend"
    if device.type == "cuda":
        try:
            trt = import_tensorrt()
            return "tensorrt", f"CUDA GPU and {trt.__name__} {trt.__version__} installed"
        except MissingDependencyError:
            return "torch", "CUDA GPU without TensorRT: torch with FP16 autocast"
    return choose_cpu_backend(source, precision, max_batch, source.cache_dir)
