"""``torch.ops.stdpose.dam_mask``: the DAM step as one torch op, fused on CUDA, reference math elsewhere.

Inference only: the op has no autograd formula, so ``DynamicAwareMask`` calls it only when
``fused_kernel`` is set, the tensors are on a GPU and gradients are off; training always runs the
reference math (``model/dam_reference.py``). The CUDA implementation launches ``dam_mask.cu`` (compiled by
NVRTC to a cubin for the current GPU) on torch's current stream, so it needs no host sync.
"""

from __future__ import annotations

import ctypes

import torch

from ..errors import EngineError, InputError, require
from ..model.dam_reference import dam_mask_reference
from .nvrtc import compile_cuda

THREADS = 256  # a multiple of 32: the kernel's warp shuffles use the full mask
_MAX_SHARED_BYTES = 48 * 1024  # logits of one sample live in shared memory


# The op's default implementation (any device without a kernel) is the reference math itself.
dam_mask = torch.library.custom_op("stdpose::dam_mask", dam_mask_reference, mutates_args=())


@dam_mask.register_fake
def _(h_left, h_key, h_right, channel_weights, direction_weights, k, theta):
    b, _, h, w = h_key.shape
    return h_key.new_empty((b, 1, h, w), dtype=torch.float32)


@dam_mask.register_kernel("cuda")
def _(h_left, h_key, h_right, channel_weights, direction_weights, k, theta):
    b, j, h, w = h_key.shape
    if h_key.dtype not in (torch.float32, torch.float16):
        raise InputError(f"the fused DAM kernel takes FP32 or FP16 heatmaps, got {h_key.dtype}")
    if h * w * 4 > _MAX_SHARED_BYTES:
        raise InputError(f"the fused DAM kernel holds one sample's {h}x{w} logits in 48 KiB of shared memory")
    dtype = h_key.dtype
    inputs = [t.to(dtype).contiguous() for t in (h_left, h_key, h_right)]
    cw = channel_weights.float().contiguous()
    dw = direction_weights.float().contiguous()
    mask = torch.empty((b, 1, h, w), dtype=torch.float32, device=h_key.device)
    if b == 0:
        return mask
    function = _function(h_key.device, "dam_mask_f16" if dtype == torch.float16 else "dam_mask_f32")
    driver = _driver()
    pointer = ctypes.c_void_p
    args = (
        (
            *(t.data_ptr() for t in inputs),
            cw.data_ptr(),
            dw.data_ptr(),
            float(k),
            float(theta),
            j,
            h * w,
            mask.data_ptr(),
        ),
        (
            pointer,
            pointer,
            pointer,
            pointer,
            pointer,
            ctypes.c_float,
            ctypes.c_float,
            ctypes.c_int,
            ctypes.c_int,
            pointer,
        ),
    )
    stream = driver.CUstream(torch.cuda.current_stream(h_key.device).cuda_stream)
    (err,) = driver.cuLaunchKernel(function, b, 1, 1, THREADS, 1, 1, h * w * 4, stream, args, 0)
    if err != driver.CUresult.CUDA_SUCCESS:
        raise EngineError(f"launching the fused DAM kernel failed: {err}")
    return mask


def _driver():
    return require("cuda.bindings.driver", "gpu", "the fused DAM kernel")


_FUNCTIONS: dict[tuple[int, str], object] = {}


def _function(device: torch.device, name: str):
    """The kernel ``name`` loaded on ``device`` (compiled and loaded once per device)."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    key = (index, name)
    if key not in _FUNCTIONS:
        driver = _driver()
        major, minor = torch.cuda.get_device_capability(index)
        cubin = compile_cuda("dam_mask.cu", f"sm_{major}{minor}")
        with torch.cuda.device(index):
            torch.cuda.init()  # makes torch's primary context current on this thread
            (err,) = driver.cuInit(0)
            err, module = driver.cuModuleLoadData(cubin)
            if err != driver.CUresult.CUDA_SUCCESS:
                raise EngineError(f"loading the fused DAM kernel on sm_{major}{minor} failed: {err}")
            for kernel in ("dam_mask_f32", "dam_mask_f16"):
                err, function = driver.cuModuleGetFunction(module, kernel.encode())
                if err != driver.CUresult.CUDA_SUCCESS:
                    raise EngineError(f"kernel {kernel} not found in the DAM module: {err}")
                _FUNCTIONS[(index, kernel)] = function
    return _FUNCTIONS[key]


def set_fused_dam(model: torch.nn.Module, enabled: bool = True) -> int:
    """Switch the fused kernel on or off for every DAM in ``model``; returns how many were set."""
    count = 0
    for module in model.modules():
        if hasattr(module, "fused_kernel"):
            module.fused_kernel = enabled
            count += 1
    return count
