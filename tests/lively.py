"""Random weights whose heatmaps are O(1): for parity checks between backends, never for poses.

Freshly initialised heads output near-zero heatmaps (~1e-6), against which a 1e-4 tolerance
proves nothing; with O(1) outputs the same tolerance can fail. The result is still untrained.
"""

from __future__ import annotations

import torch
from torch import nn


def lively_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Re-randomise every parameter and BN statistic in place (deterministic from ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 0 or "pos_embed" in name or "norm" in name:
                continue
            fan_in = p[0].numel() if p.ndim > 1 else 1
            fresh = (
                torch.randn(p.shape, generator=g) * (1.0 / fan_in) ** 0.5
                if p.ndim > 1
                else p.cpu() + 0.1 * torch.randn(p.shape, generator=g)
            )
            p.copy_(fresh)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model.eval()
