"""Custom CUDA kernels: the fused DAM step (``dam_mask.cu``), compiled with NVRTC.

``dam_op`` registers ``torch.ops.stdpose.dam_mask`` (imported on demand: the core never needs it).
"""

from .nvrtc import KernelCompileError, compile_cuda, kernel_source, nvrtc_version

__all__ = ["KernelCompileError", "compile_cuda", "kernel_source", "nvrtc_version"]
