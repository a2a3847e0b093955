"""What ``load_backend`` was given: a model (exported to graphs on demand, cached) or ready graphs/engines."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InputError
from ..export.onnx_graph import GRAPH_FORM, GRAPHS, export_onnx, onnx_files, read_onnx_info
from ..model.config import MODES
from ..model.stdpose import STDPose
from ..weights.native import load_model
from .tensorrt_engine import read_engine_sidecar

log = logging.getLogger(__name__)


@dataclass
class BackendSource:
    """A model, or {mode: .onnx/.engine path}; ``modes`` are the graphs to export (None: every mode the model
    runs), under ``cache_dir``."""

    model: STDPose | None
    files: dict[str, Path] | None
    modes: Sequence[str] | None = None
    cache_dir: Path = Path("engines")

    @classmethod
    def of(cls, model_or_path, modes: Sequence[str] | None = None, cache_dir: str | Path = "engines") -> BackendSource:
        files = _given_files(model_or_path)
        model = None if files is not None else _model(model_or_path)
        return cls(model, files, modes, Path(cache_dir))

    def require_model(self, backend: str) -> STDPose:
        if self.model is None:
            raise InputError(
                f"the {backend} backend runs a model or .safetensors checkpoint, not an exported graph or engine"
            )
        return self.model

    def graphs(self, precision: str) -> dict[str, Path]:
        """The given files, or the model's ONNX graphs in ``precision`` (exported once, then read from the cache)."""
        if self.files is not None:
            return self.files
        model = self.model
        modes = self.modes or (MODES if model.config.uses_aux_heatmaps else ("estimate",))
        # a model whose propagate mode runs the same per-triplet half as estimate mode has no graph of its own for it
        modes = [m for m in modes if m != "propagate_temporal" or model.config.split_propagate]
        folder = self.cache_dir / "onnx" / f"{model.config.variant}-{model_digest(model)}-form{GRAPH_FORM}"
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


def model_digest(model: STDPose) -> str:
    """SHA-256 of the config and every weight: with ``GRAPH_FORM``, the key exported graphs are cached under."""
    digest = hashlib.sha256(model.config.to_json().encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def _given_files(model_or_path) -> dict[str, Path] | None:
    """{mode: path} when the caller gave exported graphs or engines, else None."""
    if isinstance(model_or_path, dict):
        unknown = set(model_or_path) - set(GRAPHS)
        if unknown:
            raise InputError(f"graph dict keys must be among {GRAPHS}, got {sorted(unknown)}")
        return {m: Path(p) for m, p in model_or_path.items()}
    if isinstance(model_or_path, (str, Path)) and Path(model_or_path).suffix in (".onnx", ".engine"):
        path = Path(model_or_path)
        mode = read_onnx_info(path).mode if path.suffix == ".onnx" else read_engine_sidecar(path)["mode"]
        return {mode: path}
    return None


def _model(model_or_path) -> STDPose:
    if isinstance(model_or_path, STDPose):
        return model_or_path
    if isinstance(model_or_path, (str, Path)):
        return load_model(model_or_path)
    raise InputError(
        f"expected an STDPose model, a .safetensors/.onnx/.engine path or a {{mode: path}} dict; "
        f"got {type(model_or_path).__name__}"
    )
