"""OpenVINO backend: Intel's CPU runtime, reading the exported FP32 ONNX graphs (one per mode).

FP32 everywhere; BF16 as OpenVINO's inference-precision hint, only on CPUs that have BF16 units (AMX or
AVX512-BF16: OpenVINO lists "BF16" among the CPU's optimisation capabilities), never silently emulated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, require
from ..export.onnx_graph import read_onnx_info
from .base import BackendInfo, GraphBackend


class OpenVinoBackend(GraphBackend):
    """The exported ONNX graphs (one per mode), compiled by OpenVINO for the CPU."""

    name = "openvino"
    precisions = ("fp32", "bf16")

    @classmethod
    def from_source(cls, source, device, precision, max_batch, threads: int = 0) -> OpenVinoBackend:
        return cls(source.graphs("fp32"), device, precision, threads=threads, max_batch=max_batch)

    def __init__(
        self,
        graphs: dict[str, Path],
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        threads: int = 0,
        max_batch: int = 64,
    ) -> None:
        ov = require("openvino", "openvino", "the openvino backend")
        self.device = torch.device(device)
        if self.device.type != "cpu":
            raise InputError(f"the openvino backend runs on the CPU, not {self.device}; use device='cpu'")
        infos = {mode: read_onnx_info(path) for mode, path in graphs.items()}
        if not infos:
            raise InputError("the openvino backend needs at least one ONNX graph")
        first = next(iter(infos.values()))
        if first.precision not in ("fp32", "int8"):
            raise InputError("the openvino backend reads FP32 graphs (BF16 is a compile hint) or INT8-quantized ones; "
                             "export --precision fp32")  # fmt: skip
        if first.precision == "int8":
            precision = "int8"  # the graph's QDQ pairs decide; no precision hint applies
        self._core = ov.Core()
        capabilities = self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if precision == "bf16" and "BF16" not in capabilities:
            raise InputError(
                f"this CPU has no BF16 units (OpenVINO lists {list(capabilities)}); run precision='fp32', or BF16 on "
                "a CPU with AMX or AVX512-BF16"
            )
        self.config, self.precision, self.max_batch = first.config, precision, max_batch
        self._properties = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                            "PERFORMANCE_HINT": "LATENCY"}  # fmt: skip
        if threads:
            self._properties["INFERENCE_NUM_THREADS"] = threads
        self._infos, self._compiled = infos, {}
        self.info = BackendInfo(
            "openvino", "cpu", precision,
            "standard ONNX ops (OpenVINO CPU plugin)" if self.config.use_dam else "off (no DAM in this config)",
            {"openvino": ov.__version__.split("-")[0], "graphs": {m: i.path.name for m, i in infos.items()}},
        )  # fmt: skip

    def _model(self, mode: str):
        if mode not in self._infos:
            raise InputError(f"this backend has no {mode} graph (it has {sorted(self._infos)}); "
                             f"export one with `stdpose-export --mode {mode}`")  # fmt: skip
        if mode not in self._compiled:
            self._compiled[mode] = self._core.compile_model(str(self._infos[mode].path), "CPU", self._properties)
        return self._compiled[mode]

    def _run(self, mode: str, feeds: dict[str, torch.Tensor], outputs: list[str]) -> list[torch.Tensor]:
        compiled = self._model(mode)
        result = compiled({k: v.detach().cpu().numpy().astype(np.float32, copy=False) for k, v in feeds.items()})
        return [torch.from_numpy(np.array(result[compiled.output(name)], np.float32, copy=True)) for name in outputs]
