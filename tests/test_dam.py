"""The Dynamic-Aware Mask: eq. 3 and the reference math every fast path is checked against."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stdpose_infer import render_heatmaps
from stdpose_infer.model import dynamic_aware_mask, modified_sigmoid
from stdpose_infer.model.dam import DynamicAwareMask


@pytest.mark.parametrize("k, theta", [(1.5, 0.5), (0.5, 0.0), (5.0, 0.7)])
def test_modified_sigmoid_matches_eq_3(k, theta):
    xs = [-3.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 3.0]
    got = modified_sigmoid(torch.tensor(xs, dtype=torch.float64), k, theta)
    want = [1 / (1 + math.exp(-k * (abs(x) - theta))) for x in xs]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_modified_sigmoid_defaults_and_symmetry():
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    assert torch.equal(modified_sigmoid(x), modified_sigmoid(-x))
    # value at 0 is small but not zero (the paper's intent): 1 / (1 + e^0.75) with k=1.5, theta=0.5
    assert modified_sigmoid(torch.zeros(1, dtype=torch.float64)).item() == pytest.approx(1 / (1 + math.exp(0.75)))
    assert modified_sigmoid(torch.tensor([0.5])).item() == pytest.approx(0.5)


def _moving_peaks(b: int = 3, j: int = 17, shift: float = 6.0) -> tuple[torch.Tensor, ...]:
    """Realistic heatmaps: Gaussian joints moving right by ``shift`` px per frame."""
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(10, 30, (b, j)), rng.uniform(10, 50, (b, j))], axis=-1)
    vis = np.ones((b, j))
    maps = [torch.from_numpy(render_heatmaps(pts + [dx, 0], vis)) for dx in (-shift, 0.0, shift)]
    return tuple(maps)


@pytest.mark.parametrize("case", ["random", "moving"])
def test_mask_is_a_spatial_distribution(case):
    if case == "random":
        g = torch.Generator().manual_seed(0)
        hl, ht, hr = (torch.rand(3, 17, 64, 48, generator=g) for _ in range(3))
    else:
        hl, ht, hr = _moving_peaks()
    dam = DynamicAwareMask(17)
    m = dam(hl, ht, hr)
    assert m.shape == (3, 1, 64, 48) and m.dtype == torch.float32
    torch.testing.assert_close(m.sum(dim=(1, 2, 3)), torch.ones(3), rtol=0, atol=1e-5)
    # M * H * W has mean 1: the scale at which STDA applies it
    torch.testing.assert_close((m * 64 * 48).mean(dim=(1, 2, 3)), torch.ones(3), rtol=0, atol=1e-5)


def test_mask_highlights_where_the_pose_moved():
    hl, ht, hr = _moving_peaks(shift=6.0)
    still = DynamicAwareMask(17)(ht, ht, ht)
    moving = DynamicAwareMask(17)(hl, ht, hr)
    torch.testing.assert_close(still * 64 * 48, torch.ones_like(still), rtol=0, atol=1e-5)  # no motion: uniform
    # Where the key frame has a peak that moved, the mask is above its mean; where nothing is, below.
    # At initialisation the contrast is gentle by design (a few %: DAM starts near the identity and
    # training sharpens it through the learned weights), so the test checks the direction.
    scaled = moving * 64 * 48
    key_peak = ht.amax(dim=1, keepdim=True) > 0.9
    empty = (torch.stack([hl, ht, hr]).amax(dim=(0, 2)) < 1e-3).unsqueeze(1)
    assert scaled[key_peak].mean() > 1.02 and scaled[empty].mean() < 1.0


def test_reference_math_matches_a_direct_transcription():
    """dynamic_aware_mask == residuals -> Sig_m -> weighted forward/backward -> 1x1 compress -> softmax."""
    g = torch.Generator().manual_seed(3)
    hl, ht, hr = (torch.randn(2, 5, 8, 6, generator=g, dtype=torch.float64) for _ in range(3))
    w = torch.rand(5, generator=g, dtype=torch.float64)
    fwd = (1 / (1 + torch.exp(-1.5 * ((ht - hl).abs() - 0.5))) * w[None, :, None, None]).sum(1)
    bwd = (1 / (1 + torch.exp(-1.5 * ((ht - hr).abs() - 0.5))) * w[None, :, None, None]).sum(1)
    logits = (0.7 * fwd + 0.2 * bwd).reshape(2, -1)
    want = (logits.exp() / logits.exp().sum(1, keepdim=True)).reshape(2, 1, 8, 6)
    got = dynamic_aware_mask(hl, ht, hr, w, 0.7, 0.2)
    torch.testing.assert_close(got, want.float(), rtol=1e-6, atol=0)


def test_mask_stays_fp32_under_autocast():
    hl, ht, hr = (h.to(torch.bfloat16) for h in _moving_peaks())
    dam = DynamicAwareMask(17)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        m = dam(hl, ht, hr)
    assert m.dtype == torch.float32
    ref = dam(hl.float(), ht.float(), hr.float())
    torch.testing.assert_close(m, ref, rtol=0, atol=0)


def test_fixed_compression_and_weighting_are_buffers():
    dam = DynamicAwareMask(17, compression="mean", weighting="equal")
    assert list(dict(dam.named_parameters())) == []
    assert set(dict(dam.named_buffers())) == {"channel_weights", "direction_weights"}
