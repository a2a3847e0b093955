"""ONNX Runtime backend: the CPU provider, or the CUDA provider where onnxruntime-gpu is installed.

One graph per mode (estimate, propagate), and optionally the model's two halves (frame_features,
temporal: cross-frame feature reuse); a backend holds whichever graphs it was given or exported and
opens each session on first use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, MissingDependencyError, require
from ..export.onnx_graph import read_onnx_info
from .base import BackendInfo, GraphBackend


class OnnxRuntimeBackend(GraphBackend):
    """The exported ONNX graphs (one per mode) in ONNX Runtime."""

    name = "onnxruntime"
    precisions = ("fp32", "fp16")

    @classmethod
    def from_source(cls, source, device, precision, max_batch, threads: int = 0) -> OnnxRuntimeBackend:
        return cls(source.graphs(precision), device, threads=threads, max_batch=max_batch)

    def __init__(
        self, graphs: dict[str, Path], device: str | torch.device = "cpu", threads: int = 0, max_batch: int = 64
    ) -> None:
        ort = require("onnxruntime", "test", "the onnxruntime backend")
        self.device = torch.device(device)
        infos = {mode: read_onnx_info(path) for mode, path in graphs.items()}
        if not infos:
            raise InputError("the onnxruntime backend needs at least one ONNX graph")
        first = next(iter(infos.values()))
        self.config, self.precision = first.config, first.precision
        if self.device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise MissingDependencyError(
                    "onnxruntime on CUDA needs onnxruntime-gpu (the CPU build is installed: it has only "
                    f"{ort.get_available_providers()}). Replace it: pip uninstall onnxruntime && pip install onnxruntime-gpu"
                )
            self.providers = [("CUDAExecutionProvider", {"device_id": self.device.index or 0}), "CPUExecutionProvider"]
        else:
            if self.precision not in ("fp32", "int8"):
                raise InputError("on the CPU the onnxruntime backend runs FP32 graphs (or INT8-quantized ones); "
                                 "export with --precision fp32")  # fmt: skip
            self.providers = ["CPUExecutionProvider"]
        self._ort, self._threads, self._infos, self._sessions = ort, threads, infos, {}
        self.max_batch = max_batch
        self.info = BackendInfo(
            "onnxruntime",
            str(self.device),
            self.precision,
            "standard ONNX ops (portable graph)" if self.config.use_dam else "off (no DAM in this config)",
            {"provider": _name(self.providers[0]), "graphs": {m: i.path.name for m, i in infos.items()}},
        )

    def _session(self, mode: str):
        if mode not in self._infos:
            raise InputError(
                f"this backend has no {mode} graph (it has {sorted(self._infos)}); "
                f"export one with `stdpose-export --mode {mode}`"
            )
        if mode not in self._sessions:
            options = self._ort.SessionOptions()
            if self._threads:
                options.intra_op_num_threads = self._threads
            self._sessions[mode] = self._ort.InferenceSession(
                str(self._infos[mode].path), options, providers=self.providers
            )
        return self._sessions[mode]

    def _run(self, mode: str, feeds: dict[str, torch.Tensor], outputs: list[str]) -> list[torch.Tensor]:
        session = self._session(mode)
        dtype = np.float16 if self.precision == "fp16" else np.float32
        arrays = {k: v.detach().cpu().numpy().astype(dtype, copy=False) for k, v in feeds.items()}
        return [torch.from_numpy(a.astype(np.float32, copy=False)).to(self.device) for a in session.run(outputs, arrays)]


def _name(provider) -> str:
    return provider[0] if isinstance(provider, tuple) else provider
