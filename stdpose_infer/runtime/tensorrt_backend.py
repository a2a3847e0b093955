"""TensorRT backend: FP16 engines on torch's current CUDA stream, torch CUDA tensors as I/O buffers.

One engine per mode (estimate, propagate) and, for cross-frame feature reuse, one per model half
(frame_features, temporal).

Inputs stay on the GPU (no host round trip); the batch is dynamic within the engine's profile
and larger batches are split. With ``cuda_graphs=True`` each batch size is captured once into a
CUDA graph and replayed. Engines keep DAM as standard ops, which TensorRT fuses (no plugin yet).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..errors import EngineError, InputError
from ..export.onnx_graph import split_graphs
from ..model.config import STDPoseConfig
from .base import Backend, BackendInfo
from .tensorrt_engine import (
    DEFAULT_PROFILE,
    build_engine,
    check_engine,
    import_tensorrt,
    read_engine_sidecar,
    trt_logger,
)

log = logging.getLogger(__name__)


class _Engine:
    """One deserialised engine (one mode or model half) with its execution context."""

    def __init__(self, path: Path, device: torch.device) -> None:
        self.meta = check_engine(path)
        trt = import_tensorrt(self.meta["flavour"])
        with torch.cuda.device(device):
            self.engine = trt.Runtime(trt_logger(trt)).deserialize_cuda_engine(path.read_bytes())
            if self.engine is None:
                raise EngineError(f"{trt.__name__} could not deserialise {path} (see its log above)")
            self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]
        self.dtypes = {n: _TORCH_DTYPES[self.engine.get_tensor_dtype(n).name] for n in names}
        self.max_batch = self.meta["profile"][2]
        self.graphs: dict[int, tuple] = {}

    def run(self, feeds: dict[str, torch.Tensor], use_graph: bool) -> dict[str, torch.Tensor]:
        """Enqueue on torch's current stream (no sync); the outputs, by name, are new tensors."""
        if use_graph:
            return self._replay(feeds)
        return self._enqueue(self._bind(feeds))

    def _bind(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        for name in self.inputs:
            tensor = feeds[name]
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        device = next(iter(feeds.values())).device
        outs = {
            name: torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=self.dtypes[name], device=device)
            for name in self.outputs
        }
        for name, out in outs.items():
            self.context.set_tensor_address(name, out.data_ptr())
        return outs

    def _enqueue(self, outs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.context.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise EngineError("TensorRT execute_async_v3 failed (see its log above)")
        return outs

    def _replay(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        batch = next(iter(feeds.values())).shape[0]
        if batch not in self.graphs:  # static buffers, one warm-up run, then capture (torch's side stream)
            static = {n: t.clone() for n, t in feeds.items()}
            self._enqueue(self._bind(static))
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                outs = self._enqueue(self._bind(static))
            self.graphs[batch] = (graph, static, outs)
        graph, static, outs = self.graphs[batch]
        for name, tensor in feeds.items():
            static[name].copy_(tensor)
        graph.replay()
        return {name: out.clone() for name, out in outs.items()}


_TORCH_DTYPES = {"FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16, "INT32": torch.int32}


class TensorRTBackend(Backend):
    """TensorRT (or TensorRT-RTX) engines built from the exported graphs, on a CUDA GPU."""

    name = "tensorrt"
    precisions = ("fp32", "fp16")
    splits_model = True  # when given (or building) the frame_features and temporal engines

    @classmethod
    def from_source(
        cls, source, device, precision, max_batch, profile=DEFAULT_PROFILE, flavour="auto", cuda_graphs=False
    ) -> TensorRTBackend:
        if device.type != "cuda":
            raise InputError(
                "the TensorRT backend runs on a CUDA GPU and this device is the CPU. To build engines ahead of time "
                "without one, use `stdpose-export ... --engine --target SM89` (TensorRT-RTX)"
            )
        if precision != "fp16":
            log.warning("TensorRT engines here are built from the %s ONNX as asked; FP16 is the fast path", precision)
        engines = {
            mode: path if path.suffix == ".engine" else build_engine(path, source.cache_dir, tuple(profile), flavour)
            for mode, path in ((m, Path(p)) for m, p in source.graphs(precision).items())
        }
        configs = {read_engine_sidecar(p)["config"] for p in engines.values()}
        if len(configs) != 1:
            raise InputError("the engines given are of different models: give engines exported from one checkpoint")
        return cls(engines, STDPoseConfig.from_json(configs.pop()), device, cuda_graphs=cuda_graphs)

    def __init__(
        self,
        engines: dict[str, Path],
        config: STDPoseConfig,
        device: str | torch.device = "cuda",
        cuda_graphs: bool = False,
    ) -> None:
        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise InputError("the TensorRT backend runs on a CUDA GPU; use device='cuda' or another backend")
        self.config, self.cuda_graphs = config, cuda_graphs
        self.engines = {mode: _Engine(Path(path), self.device) for mode, path in engines.items()}
        first = next(iter(self.engines.values()))
        self.max_batch = min(e.max_batch for e in self.engines.values())
        self.info = BackendInfo(
            "tensorrt",
            str(self.device),
            first.meta["precision"],
            "standard ops fused by TensorRT (no plugin)" if config.use_dam else "off (no DAM in this config)",
            {
                "flavour": f"{first.meta['flavour']} {first.meta['trt_version']}",
                "target": first.meta["target"],
                "profile": first.meta["profile"],
                "cuda_graphs": cuda_graphs,
                "engines": {m: Path(p).name for m, p in engines.items()},
            },
        )

    def check_split(self) -> None:
        super().check_split()
        missing = [g for g in split_graphs(self.config) if g not in self.engines]
        if missing:
            raise InputError(
                f"feature reuse runs the model's two halves, and this backend has no {' or '.join(missing)} engine: "
                "give the checkpoint (engines are built on demand) or build them with `stdpose-export --engine "
                f"--mode {' / '.join(split_graphs(self.config))}`"
            )

    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        feeds = {"frames": frames} if aux is None else {"frames": frames, "aux_heatmaps": aux}
        return self._run("estimate" if aux is None else "propagate", feeds)["heatmaps"]

    def _frame_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outs = self._run("frame_features", {"images": images})
        return outs["features"], outs["frame_heatmaps"]

    def _temporal(self, features: torch.Tensor, heatmaps: torch.Tensor, graph: str) -> torch.Tensor:
        return self._run(graph, {"features": features, "frame_heatmaps": heatmaps})["heatmaps"]

    def _run(self, graph: str, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One engine call: inputs moved to the GPU in the engine's dtypes, float32 outputs by name."""
        if graph not in self.engines:
            raise InputError(f"this backend has no {graph} engine (it has {sorted(self.engines)})")
        engine = self.engines[graph]
        feeds = {n: t.to(self.device, engine.dtypes[n], non_blocking=True).contiguous() for n, t in feeds.items()}
        with torch.cuda.device(self.device):
            return {name: out.float() for name, out in engine.run(feeds, self.cuda_graphs).items()}
