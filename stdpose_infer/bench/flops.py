"""FLOPs of a model call (counted by torch), the dense FP16 tensor peak of common NVIDIA GPUs, and a
measured matrix-product ceiling for CPUs (which have no datasheet figure that fits every machine)."""

from __future__ import annotations

import subprocess

import torch
from torch.ops import aten
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from ..model.stdpose import STDPose
from .timing import time_calls

# Dense (no sparsity) FP16 tensor-core TFLOPS with FP32 accumulation, from NVIDIA's datasheets, keyed by
# the name nvidia-smi prints. A GPU missing here gets no peak fraction unless --peak-tflops is given.
DENSE_FP16_TFLOPS = {
    "NVIDIA H100 80GB HBM3": 989.4,  # H100 SXM5
    "NVIDIA H100 PCIe": 756.5,
    "NVIDIA H100 NVL": 835.5,
    "NVIDIA H200": 989.4,  # H200 SXM
    "NVIDIA H200 NVL": 835.5,
    "NVIDIA A100-SXM4-80GB": 312.0,
    "NVIDIA A100-SXM4-40GB": 312.0,
    "NVIDIA A100 80GB PCIe": 312.0,
    "NVIDIA A100-PCIE-40GB": 312.0,
    "NVIDIA L40S": 362.05,
    "NVIDIA L4": 121.0,
    "NVIDIA A10": 125.0,
    "NVIDIA GeForce RTX 4090": 165.2,
    "Tesla T4": 65.0,
}


def flop_counter() -> FlopCounterMode:
    """torch's FLOP counter, also counting the CPU's fused attention kernel (torch counts the CUDA ones only).

    Without it a CPU count leaves out every attention's two products (4.8 % of the B triplet's FLOPs), so
    a CPU figure's share of the ceiling read low; it now counts what the MATH attention's products count.
    """
    return FlopCounterMode(display=False, custom_mapping={aten._scaled_dot_product_flash_attention_for_cpu: _attention})


def _attention(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def model_flops(model: STDPose, propagate: bool = False) -> int:
    """FLOPs (2 per multiply-add) of one sample through ``model``: a triplet, or one frame for the baseline."""
    return sum(flops_by_op(model, propagate).values())


def flops_by_op(model: STDPose, propagate: bool = False) -> dict[str, int]:
    """``model_flops`` by the torch op that does them (e.g. "aten.addmm"; the CPU attention kernel's name holds
    "scaled_dot_product"): what profiles split between matrix products and attention."""
    c, device = model.config, next(model.parameters()).device
    frames = torch.zeros(1, 3, 3, *c.image_size, device=device)
    aux = torch.zeros(1, 2, c.num_keypoints, *c.heatmap_size, device=device) if propagate else None
    with flop_counter() as counter, torch.inference_mode():
        model(frames, aux)
    return {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}


def gpu_name(index: int = 0) -> str | None:
    """The GPU model as nvidia-smi names it (falls back to torch's name), None without a GPU."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--id={index}", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        )  # fmt: skip
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return torch.cuda.get_device_name(index) if torch.cuda.is_available() else None


def matmul_tflops(dtype: torch.dtype = torch.float32, n: int = 2048, iterations: int = 10) -> float:
    """Measured TFLOPS of an n x n x n CPU matrix product in ``dtype`` (the fastest of ``iterations``).

    The ceiling a model's GEMMs can approach on this CPU with these threads: what a CPU row's
    "peak %" is measured against, and why a backend cannot beat another that already sits near it.
    """
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g).to(dtype), torch.randn(n, n, generator=g).to(dtype)
    seconds = time_calls(lambda: a @ b, torch.device("cpu"), warmup=2, iterations=iterations)
    return 2 * n**3 / min(seconds) / 1e12
