"""PyTorch backend: eager, optionally ``torch.compile``d; FP16 autocast and the fused DAM kernel on CUDA;
BF16 autocast on CUDA and on CPUs with native BF16 matrix units (AMX, AVX512-BF16).

Autocast runs the matrix products in the lower precision; LayerNorm, the softmaxes and the whole
DAM path stay FP32 (see ``model/vit.py`` and ``model/dam.py``).
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

from ..errors import InputError
from ..model.stdpose import STDPose
from .base import Backend, BackendInfo

log = logging.getLogger(__name__)
AUTOCAST = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


class TorchBackend(Backend):
    """The model itself in torch: any device, FP32, FP16 autocast (CUDA), BF16 autocast."""

    name = "torch"
    precisions = ("fp32", "fp16", "bf16")
    splits_model = True

    @classmethod
    def from_source(cls, source, device, precision, max_batch, **options) -> TorchBackend:
        return cls(source.require_model(cls.name), device, precision, max_batch=max_batch, **options)

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
        if precision not in AUTOCAST:
            raise InputError(f"precision must be one of {sorted(AUTOCAST)}, got {precision!r}")
        if precision == "fp16" and self.device.type != "cuda":
            raise InputError(
                "the torch backend runs FP16 (autocast) on CUDA only; on the CPU use precision='fp32', "
                "or 'bf16' where the CPU has BF16 units (AMX / AVX512-BF16)"
            )
        if precision == "bf16":
            _check_bf16(self.device)
        if fused_dam and self.device.type != "cuda":
            raise InputError("the fused DAM kernel is a CUDA kernel; fused_dam=True needs device='cuda'")
        if fused_dam and precision == "bf16":
            raise InputError("the fused DAM kernel takes FP32 or FP16 heatmaps; use precision='fp16' with fused_dam")
        self.config = model.config
        if precision == "bf16" and self.device.type == "cpu":
            model = matmul_weights_in(model, torch.bfloat16)
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
        with self._autocast():
            return self._run(frames, aux).float()

    @torch.inference_mode()
    def _frame_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with self._autocast():
            feats, heatmaps = self.model.frame_features(images.to(self.device, torch.float32, non_blocking=True))
        return feats.float(), heatmaps.float()

    @torch.inference_mode()
    def _temporal(self, features: torch.Tensor, heatmaps: torch.Tensor, graph: str) -> torch.Tensor:
        features = features.to(self.device, torch.float32, non_blocking=True)
        heatmaps = heatmaps.to(self.device, torch.float32, non_blocking=True)
        with self._autocast():
            return self.model.temporal(features, heatmaps, graph == "propagate_temporal").float()

    def _autocast(self):
        dtype = AUTOCAST[self.precision]
        return torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def matmul_weights_in(model: STDPose, dtype: torch.dtype) -> STDPose:
    """A copy of ``model`` with its Linear and conv weights stored in ``dtype`` (norms, biases, DAM untouched).

    Autocast casts those weights to ``dtype`` on every call anyway, so the outputs are the same bits;
    measured on the 2-core CPU, the casts were a fifth of the B triplet's BF16 time at batch 1.
    """
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            module.weight.data = module.weight.data.to(dtype)
    return model


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies BF16 natively (AMX tiles or AVX512-BF16); elsewhere torch emulates it, slowly."""
    cpu = torch.cpu
    return any(getattr(cpu, name, lambda: False)() for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def _check_bf16(device: torch.device) -> None:
    if device.type == "cuda":
        if not torch.cuda.is_bf16_supported(including_emulation=False):
            name = torch.cuda.get_device_name(device)
            raise InputError(f"{name} has no BF16 tensor cores (needs compute capability 8.0+); use precision='fp16'")
    elif not cpu_has_bf16_units():
        log.warning(
            "this CPU has no AMX or AVX512-BF16: torch emulates BF16, which can be slower than precision='fp32' "
            "(compare both with `stdpose-bench --backends torch --precision fp32 bf16`)"
        )
