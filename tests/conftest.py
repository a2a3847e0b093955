"""Shared fixtures. Tests that need ../shared/data skip with a reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stdpose_infer import build_model

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test when the folder is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared test data at {path} (not part of a fresh clone)")
    return path


def make_lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Re-randomise every parameter and BN statistic so heatmaps are O(1), not ~1e-3.

    Freshly initialised heads output near-zero heatmaps, against which a 1e-5 tolerance proves
    nothing; with O(1) outputs the tolerance checks can fail.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 0 or "pos_embed" in name or "norm" in name:
                continue
            fan_in = p[0].numel() if p.ndim > 1 else 1
            p.copy_(
                torch.randn(p.shape, generator=g) * (1.0 / fan_in) ** 0.5
                if p.ndim > 1
                else p + 0.1 * torch.randn(p.shape, generator=g)
            )
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model.eval()


@pytest.fixture(scope="session")
def tiny() -> torch.nn.Module:
    """The tiny variant, all modules on, with lively random weights (shared: do not modify)."""
    torch.manual_seed(0)
    return make_lively(build_model("t"))


@pytest.fixture
def frames() -> torch.Tensor:
    return torch.randn(4, 3, 3, 256, 192, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def aux() -> torch.Tensor:
    return torch.rand(4, 2, 17, 64, 48, generator=torch.Generator().manual_seed(2))
