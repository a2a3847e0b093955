"""PyTorch backend: eager, optionally ``torch.compile``d, FP16 autocast and the fused DAM kernel on CUDA."""

from __future__ import annotations

import torch

from ..errors import InputError
from ..model.stdpose import STDPose
from .base import Backend, BackendInfo


class TorchBackend(Backend):
    def __init__(
        self,
        model: STDPose,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        compile: bool = False,
        fused_dam: bool = False,
        max_batch: int = 64,
    ) -> None:
        self.device = torch.device(device)
        if precision not in ("fp32", "fp16"):
            raise InputError(f"precision must be 'fp32' or 'fp16', got {precision!r}")
        if precision == "fp16" and self.device.type != "cuda":
            raise InputError("the torch backend runs FP16 (autocast) on CUDA only; use precision='fp32' on the CPU")
        if fused_dam and self.device.type != "cuda":
            raise InputError("the fused DAM kernel is a CUDA kernel; fused_dam=True needs device='cuda'")
        self.config = model.config
        self.model = model.to(self.device).eval()
        if fused_dam:
            from ..kernels.dam_op import set_fused_dam

            set_fused_dam(self.model, True)
        self.precision, self.max_batch = precision, max_batch
        self._run = torch.compile(self.model, dynamic=True) if compile else self.model
        dam = (
            "off (no DAM in this config)"
            if not model.config.use_dam
            else ("fused CUDA kernel (torch.ops.stdpose.dam_mask)" if fused_dam else "reference torch ops (FP32)")
        )
        self.info = BackendInfo(
            "torch", str(self.device), precision, dam, {"compile": compile, "weights": model.provenance.get("source")}
        )

    @torch.inference_mode()
    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        frames = frames.to(self.device, torch.float32, non_blocking=True)
        if aux is not None:
            aux = aux.to(self.device, torch.float32, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.precision == "fp16"):
            return self._run(frames, aux).float()
