"""``load_backend``: one entry point from a model, checkpoint, ONNX graph or engine to a ready backend.

"auto" picks, in this order: on a CUDA GPU, TensorRT when ``tensorrt`` or ``tensorrt_rtx`` is
installed, else torch with FP16 autocast; on the CPU, torch eager (measured on the 2-core CPU
machine: onnxruntime ran the B triplet at batch 8 at 0.92x and 0.97x torch's speed in two runs;
see benchmarks/results/). The chosen backend says why in ``backend.info.detail["auto"]``.
Graphs and engines made on the way are cached under ``cache_dir`` (default ``engines/``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import InputError, MissingDependencyError
from ..export.onnx_graph import MODES, export_onnx, onnx_files, read_onnx_info
from ..model.stdpose import STDPose
from .base import Backend

log = logging.getLogger(__name__)
BACKENDS = ("auto", "torch", "onnxruntime", "tensorrt")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


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
    cached ``.engine``, or a dict {mode: path} of graphs or engines. ``precision`` "auto" is FP16
    on a GPU and FP32 on the CPU; "bf16" (torch autocast) is the fast choice on CPUs with AMX.
    ``modes`` are the graphs to prepare for ONNX/TensorRT (default: estimate, plus propagate when
    the model reads aux heatmaps). ``options`` go to the backend:
    torch ``compile``/``fused_dam``, onnxruntime ``threads``, TensorRT ``cuda_graphs``/``profile``/``flavour``.
    """
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = resolve_device(device)
    reason = None
    if backend == "auto":
        backend, reason = ("torch", "BF16 runs on the torch backend") if precision == "bf16" else _choose(device)
    if precision == "bf16" and backend != "torch":
        raise InputError(
            f"precision='bf16' runs on the torch backend (autocast); the {backend} backend runs the fp32 or fp16 "
            "graphs that stdpose-export writes. Use backend='torch', or precision='fp32'/'fp16'"
        )
    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
    graphs = _given_graphs(model_or_path)

    if backend == "torch":
        from .torch_backend import TorchBackend

        if graphs is not None:
            raise InputError(
                "the torch backend runs a model or .safetensors checkpoint, not an exported graph or engine"
            )
        result = TorchBackend(_model(model_or_path), device, precision, max_batch=max_batch, **options)
    elif backend == "onnxruntime":
        from .onnxruntime_backend import OnnxRuntimeBackend

        if graphs is None:
            graphs = _export_all(_model(model_or_path), modes, precision, cache_dir)
        result = OnnxRuntimeBackend(graphs, device, max_batch=max_batch, **options)
    else:
        if device.type != "cuda":
            raise InputError(
                "the TensorRT backend runs on a CUDA GPU and this device is the CPU. To build engines ahead of time "
                "without one, use `stdpose-export ... --engine --target SM89` (TensorRT-RTX)"
            )
        from .tensorrt_backend import TensorRTBackend
        from .tensorrt_engine import DEFAULT_PROFILE, build_engine

        profile = tuple(options.pop("profile", DEFAULT_PROFILE))
        flavour = options.pop("flavour", "auto")
        if precision != "fp16":
            log.warning("TensorRT engines here are built from the %s ONNX as asked; FP16 is the fast path", precision)
        if graphs is None:
            graphs = _export_all(_model(model_or_path), modes, precision, cache_dir)
        engines = {}
        for mode, path in graphs.items():
            path = Path(path)
            engines[mode] = path if path.suffix == ".engine" else build_engine(path, cache_dir, profile, flavour)
        config = _engine_config(engines)
        result = TensorRTBackend(engines, config, device, **options)
    if reason:
        result.info.detail["auto"] = reason
    log.info("backend: %s", result.info)
    return result


def _choose(device: torch.device) -> tuple[str, str]:
    if device.type == "cuda":
        try:
            from .tensorrt_engine import import_tensorrt

            trt = import_tensorrt()
            return "tensorrt", f"CUDA GPU and {trt.__name__} {trt.__version__} installed"
        except MissingDependencyError:
            return "torch", "CUDA GPU without TensorRT: torch with FP16 autocast"
    return "torch", "CPU: torch eager (onnxruntime measured 0.92-0.97x torch for the B triplet on the CPU machine)"


def _given_graphs(model_or_path) -> dict[str, Path] | None:
    """{mode: path} when the caller gave exported graphs or engines, else None."""
    if isinstance(model_or_path, dict):
        unknown = set(model_or_path) - set(MODES)
        if unknown:
            raise InputError(f"graph dict keys must be modes {MODES}, got {sorted(unknown)}")
        return {m: Path(p) for m, p in model_or_path.items()}
    if isinstance(model_or_path, (str, Path)) and Path(model_or_path).suffix in (".onnx", ".engine"):
        path = Path(model_or_path)
        if path.suffix == ".onnx":
            return {read_onnx_info(path).mode: path}
        from .tensorrt_engine import read_engine_sidecar

        return {read_engine_sidecar(path)["mode"]: path}
    return None


def _model(model_or_path) -> STDPose:
    if isinstance(model_or_path, STDPose):
        return model_or_path
    if isinstance(model_or_path, (str, Path)):
        from ..weights.native import load_model

        return load_model(model_or_path)
    raise InputError(
        f"expected an STDPose model, a .safetensors/.onnx/.engine path or a {{mode: path}} dict; "
        f"got {type(model_or_path).__name__}"
    )


def model_digest(model: STDPose) -> str:
    """SHA-256 of the config and every weight: the key exported graphs are cached under."""
    digest = hashlib.sha256(model.config.to_json().encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def _export_all(model: STDPose, modes, precision: str, cache_dir) -> dict[str, Path]:
    if modes is None:
        modes = MODES if model.config.uses_aux_heatmaps else ("estimate",)
    folder = Path(cache_dir) / "onnx" / f"{model.config.variant}-{model_digest(model)}"
    graphs = {}
    for mode in modes:
        path = folder / f"{mode}-{precision}.onnx"
        if not path.is_file():
            log.info("exporting the %s graph (%s) to %s", mode, precision, path)
            staging = folder / f".partial-{os.getpid()}"
            files = onnx_files(export_onnx(model, staging / path.name, mode, precision).path)
            for file in reversed(files):  # side files first, the graph last: no half-written cache entry
                file.replace(folder / file.name)
            staging.rmdir()
        graphs[mode] = path
    return graphs


def _engine_config(engines: dict[str, Path]):
    from ..model.config import STDPoseConfig
    from .tensorrt_engine import read_engine_sidecar

    configs = {read_engine_sidecar(p)["config"] for p in engines.values()}
    if len(configs) != 1:
        raise InputError("the engines given are of different models: give engines exported from one checkpoint")
    return STDPoseConfig.from_json(configs.pop())
