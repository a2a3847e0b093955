"""Keypoints -> Gaussian heatmaps (UDP): training targets and propagation's aux heatmaps.

The inverse of decoding: a joint at heatmap coordinates (x, y) becomes
``exp(-((u - x)^2 + (v - y)^2) / (2 sigma^2))`` on the integer pixel grid (u, v), peak 1.
Invisible joints, and joints more than 3 sigma outside the heatmap, are all-zero channels,
which is how the model is told "no label here".
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError


def render_heatmaps(
    keypoints: np.ndarray | torch.Tensor,
    visible: np.ndarray | torch.Tensor,
    shape: tuple[int, int] = (64, 48),
    sigma: float = 2.0,
) -> np.ndarray | torch.Tensor:
    """(N, J, 2) heatmap coordinates (x, y) and (N, J) visibility -> (N, J, h, w) float32.

    ``shape`` is (h, w). numpy in gives numpy out; tensors stay on their device.
    """
    as_numpy = isinstance(keypoints, np.ndarray)
    k = torch.as_tensor(keypoints, dtype=torch.float32)
    vis = torch.as_tensor(visible, device=k.device)
    if k.ndim != 3 or k.shape[-1] != 2 or tuple(vis.shape) != tuple(k.shape[:2]):
        raise InputError(
            f"keypoints must be (N, J, 2) with visibility (N, J); got {tuple(k.shape)} and {tuple(vis.shape)}"
        )
    h, w = shape
    u = torch.arange(w, dtype=torch.float32, device=k.device)
    v = torch.arange(h, dtype=torch.float32, device=k.device)
    gx = torch.exp(-((u - k[..., 0:1]) ** 2) / (2 * sigma**2))  # (N, J, w)
    gy = torch.exp(-((v - k[..., 1:2]) ** 2) / (2 * sigma**2))  # (N, J, h)
    margin = 3 * sigma
    inside = (k[..., 0] > -margin) & (k[..., 0] < w - 1 + margin) & (k[..., 1] > -margin) & (k[..., 1] < h - 1 + margin)
    keep = (vis > 0) & inside
    out = gy.unsqueeze(-1) * gx.unsqueeze(-2) * keep[..., None, None]
    return out.numpy() if as_numpy else out
