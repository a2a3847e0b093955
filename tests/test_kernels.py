"""The fused DAM kernel compiles with NVRTC (no GPU needed); its torch op falls back to the reference math."""

from __future__ import annotations

import pytest
import torch

from stdpose_infer.model.dam import DynamicAwareMask, dynamic_aware_mask

nvrtc = pytest.importorskip("cuda.bindings.nvrtc", reason="needs cuda-bindings + nvidia-cuda-nvrtc (test extra)")


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_dam_kernel_compiles(arch):
    from stdpose_infer.kernels import compile_cuda, nvrtc_version

    cubin = compile_cuda("dam_mask.cu", arch)
    assert cubin[:4] == b"\x7fELF"
    ptx = compile_cuda("dam_mask.cu", arch, output="ptx").decode()
    assert f".target {arch}" in ptx
    for kernel in ("dam_mask_f32", "dam_mask_f16"):
        assert f".entry {kernel}(" in ptx
    print(f"NVRTC {nvrtc_version()}: {arch} cubin {len(cubin)} bytes")


def test_compile_error_carries_nvrtc_log(monkeypatch):
    from stdpose_infer.kernels import KernelCompileError, nvrtc

    monkeypatch.setattr(nvrtc, "kernel_source", lambda name: "__global__ void broken( { }")
    with pytest.raises(KernelCompileError, match="could not compile broken.cu"):
        nvrtc.compile_cuda("broken.cu", "sm_80")


def test_torch_op_off_gpu_is_the_reference():
    from stdpose_infer.kernels.dam_op import dam_mask, set_fused_dam

    g = torch.Generator().manual_seed(0)
    h = [torch.rand(3, 17, 64, 48, generator=g) for _ in range(3)]
    cw, dw = torch.rand(17, generator=g), torch.tensor([0.3, 0.7])
    got = dam_mask(*h, cw, dw, 1.5, 0.5)
    torch.testing.assert_close(got, dynamic_aware_mask(*h, cw, dw[0], dw[1], 1.5, 0.5), rtol=0, atol=0)
    result = torch.library.opcheck(torch.ops.stdpose.dam_mask.default, (*h, cw, dw, 1.5, 0.5))
    assert all(v == "SUCCESS" for v in result.values()), result
    dam = DynamicAwareMask(17)
    assert set_fused_dam(torch.nn.Sequential(dam), True) == 1 and dam.fused_kernel
    with torch.no_grad():  # on the CPU the flag changes nothing: the reference runs
        torch.testing.assert_close(dam(*h), dynamic_aware_mask(*h, dam.channel_weights, 0.5, 0.5))
