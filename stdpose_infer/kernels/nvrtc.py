"""Compile this package's CUDA sources with NVRTC (``cuda.bindings.nvrtc``): no GPU, no toolkit.

NVRTC runs without a GPU, so CI compiles every kernel (``compile_cuda(..., "sm_80")``) and a
compile error fails the suite. At run time kernels are compiled to a cubin for the GPU they run
on: PTX from an NVRTC newer than the driver's CUDA version does not load
(CUDA_ERROR_UNSUPPORTED_PTX_VERSION), a cubin for the exact architecture does.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from ..errors import InputError, StdposeError, require


class KernelCompileError(StdposeError, RuntimeError):
    """NVRTC rejected a kernel source; the message carries NVRTC's log."""


def kernel_source(name: str) -> str:
    """The text of a ``.cu`` file shipped in this package (e.g. ``"dam_mask.cu"``)."""
    return resources.files(__package__).joinpath(name).read_text()


def nvrtc_version() -> tuple[int, int]:
    nvrtc = _nvrtc()
    err, major, minor = nvrtc.nvrtcVersion()
    _check(nvrtc, err, "nvrtcVersion")
    return major, minor


def _nvrtc():
    return require("cuda.bindings.nvrtc", "gpu", "compiling CUDA kernels")


def _check(nvrtc, err, what: str) -> None:
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise KernelCompileError(f"{what} failed: {err}")


@cache
def compile_cuda(name: str, arch: str, output: str = "cubin") -> bytes:
    """Compile ``name`` (a packaged .cu) for ``arch`` ("sm_90") to a cubin, or to PTX (``output="ptx"``)."""
    if output not in ("cubin", "ptx"):
        raise InputError(f"output must be 'cubin' or 'ptx', got {output!r}")
    if not arch.startswith("sm_") or not arch[3:].isdigit():
        raise InputError(f"arch must look like 'sm_90', got {arch!r}")
    nvrtc = _nvrtc()
    source = kernel_source(name).encode()
    err, prog = nvrtc.nvrtcCreateProgram(source, name.encode(), 0, [], [])
    _check(nvrtc, err, "nvrtcCreateProgram")
    # A real architecture (sm_XX) makes NVRTC emit SASS (a cubin) as well as PTX.
    target = arch if output == "cubin" else "compute_" + arch[3:]
    options = [f"--gpu-architecture={target}".encode(), b"--std=c++17"]
    try:
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(options), options)
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            _, size = nvrtc.nvrtcGetProgramLogSize(prog)
            log = b" " * size
            nvrtc.nvrtcGetProgramLog(prog, log)
            raise KernelCompileError(f"NVRTC could not compile {name} for {arch}:\n{log.decode(errors='replace')}")
        get_size, get = (
            (nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN)
            if output == "cubin"
            else (nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX)
        )
        err, size = get_size(prog)
        _check(nvrtc, err, "nvrtcGet" + output.upper() + "Size")
        image = b" " * size
        (err,) = get(prog, image)
        _check(nvrtc, err, "nvrtcGet" + output.upper())
        return image
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
