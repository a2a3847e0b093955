"""Heatmaps -> keypoints: argmax, DCPose's quarter-pixel shift, and UDP + DARK (as ViTPose tests).

All methods are vectorised over persons and joints (torch ops; numpy in gives numpy out) and
return coordinates in heatmap pixels, (x, y), in the UDP convention of ``crops.affine``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from ..keypoints import KeypointFormat, get_format

Method = Literal["argmax", "quarter", "dark"]
Border = Literal["zeros", "reflect"]
Array = np.ndarray | torch.Tensor


def _to_tensor(heatmaps: Array) -> tuple[torch.Tensor, bool]:
    is_numpy = isinstance(heatmaps, np.ndarray)
    t = torch.from_numpy(np.ascontiguousarray(heatmaps)) if is_numpy else heatmaps
    if not isinstance(t, torch.Tensor) or t.ndim != 4:
        shape = getattr(heatmaps, "shape", type(heatmaps).__name__)
        raise InputError(f"heatmaps must be a (B, J, h, w) numpy array or tensor, got {shape}")
    return t.detach().float(), is_numpy


def _like(x: torch.Tensor, as_numpy: bool) -> Array:
    return x.cpu().numpy() if as_numpy else x


def gaussian_blur(heatmaps: torch.Tensor, kernel: int = 11, border: Border = "zeros") -> torch.Tensor:
    """cv2.GaussianBlur(hm, (k, k), 0) per channel, sigma from cv2's rule.

    ``border="reflect"`` is cv2's default (reflect-101); ``"zeros"`` pads with zeros.
    """
    g = _gaussian_kernel(kernel).to(heatmaps)
    b, j, h, w = heatmaps.shape
    x = _padded(heatmaps, kernel, border).flatten(0, 1).unsqueeze(1)
    x = F.conv2d(x, g.view(1, 1, 1, kernel))
    x = F.conv2d(x, g.view(1, 1, kernel, 1))
    return x.view(b, j, h, w)


def _padded(heatmaps: torch.Tensor, kernel: int, border: Border) -> torch.Tensor:
    """(B, J, h, w) -> (B, J, h + k - 1, w + k - 1): the border a ``kernel``-wide blur reads, zeros or reflect-101."""
    b, j, h, w = heatmaps.shape
    pad = kernel // 2
    mode = {"zeros": "constant", "reflect": "reflect"}[border]
    return F.pad(heatmaps.reshape(b * j, 1, h, w), (pad, pad, pad, pad), mode=mode).view(b, j, h + 2 * pad, w + 2 * pad)


def _gaussian_kernel(kernel: int) -> torch.Tensor:
    """cv2's 1-D Gaussian for an odd ``kernel`` size (sigma 2.0 for 11), float64."""
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    x = torch.arange(kernel, dtype=torch.float64) - (kernel - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blurred_around(t: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, kernel: int, border: Border) -> torch.Tensor:
    """(B, J, 3, 3) the blurred heatmap at the argmax and its 8 neighbours (indices clamped to the map, as a
    replicate-padded map gives), computed from a (kernel + 2)^2 window per joint instead of blurring whole maps:
    equal to ``gaussian_blur`` read at those pixels (tests check it), 40-60x cheaper."""
    b, j, h, w = t.shape
    padded = _padded(t, kernel, border)
    steps = torch.arange(-1, 2, device=t.device)
    taps = torch.arange(kernel, device=t.device)
    ys = (iy.unsqueeze(-1) + steps).clamp(0, h - 1)  # (B, J, 3) window centres; padded row y + v is row y - pad + v
    xs = (ix.unsqueeze(-1) + steps).clamp(0, w - 1)
    rows = (ys.unsqueeze(-1) + taps)[..., :, None, :, None]  # (B, J, 3, 1, k, 1)
    cols = (xs.unsqueeze(-1) + taps)[..., None, :, None, :]  # (B, J, 1, 3, 1, k)
    index = (rows * padded.shape[-1] + cols).flatten(2)
    window = padded.flatten(2).gather(2, index).view(b, j, 3, 3, kernel, kernel)
    g = _gaussian_kernel(kernel).to(t)
    return torch.einsum("bjyxvu,v,u->bjyx", window, g, g)


def dark_step(blurred: torch.Tensor) -> torch.Tensor:
    """(B, J, 3, 3) blurred heatmap around each argmax -> (B, J, 2) DARK's Newton step (x, y) on its log, clipped to
    +-1 px (a longer step means the log-heatmap is not locally concave there: flat or noisy)."""
    logs = blurred.clamp(0.001, 50).log()
    c = logs[..., 1, 1]
    xp, xm, yp, ym = logs[..., 1, 2], logs[..., 1, 0], logs[..., 2, 1], logs[..., 0, 1]
    dx, dy = 0.5 * (xp - xm), 0.5 * (yp - ym)
    dxx, dyy = xp - 2 * c + xm, yp - 2 * c + ym
    dxy = 0.5 * (logs[..., 2, 2] - xp - yp + 2 * c - xm - ym + logs[..., 0, 0])  # mmpose's post_dark_udp stencil
    eps = float(np.finfo(np.float32).eps)  # mmpose regularises the Hessian by eps * I
    a, d = dxx + eps, dyy + eps
    det = a * d - dxy * dxy
    safe = det.abs() > 1e-12
    det = torch.where(safe, det, torch.ones_like(det))
    step_x = torch.where(safe, (d * dx - dxy * dy) / det, torch.zeros_like(det))
    step_y = torch.where(safe, (a * dy - dxy * dx) / det, torch.zeros_like(det))
    return torch.stack([step_x, step_y], dim=-1).clamp(-1.0, 1.0)


def _neighbour(padded: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Values at (ix + dx, iy + dy) of a (B, J, h + 2, w + 2) map padded by one, per joint."""
    w = padded.shape[-1]
    flat = padded.flatten(2)
    return flat.gather(2, ((iy + 1 + dy) * w + (ix + 1 + dx)).unsqueeze(-1)).squeeze(-1)


def decode_heatmaps(
    heatmaps: Array, method: Method = "dark", blur_kernel: int = 11, blur_border: Border = "zeros"
) -> tuple[Array, Array]:
    """(B, J, h, w) heatmaps -> coords (B, J, 2) in heatmap pixels (x, y), scores (B, J).

    Scores are the heatmap maxima (before any blur). Methods:

    - ``"argmax"``: the brightest pixel.
    - ``"quarter"``: argmax moved 0.25 px toward the brighter neighbour on each axis (DCPose).
    - ``"dark"``: UDP + DARK as ViTPose tests: Gaussian blur (``blur_kernel``), log, then one
      Newton step from the argmax (``dark_step``), clipped to +-1 px. Only the 3 x 3 blurred pixels the
      step reads are computed (``gaussian_blur`` of the whole map gives the same values).

    ``blur_border``: ViTPose blurs with cv2's reflect-101 border (``"reflect"``), which mirrors a
    peak near the edge and drags DARK toward it: on sigma-2 Gaussians 3 px from the border the
    mean error is 0.24 px with "reflect" and 0.023 px with ``"zeros"`` (the default; both agree
    from 6 px inward). Joints at the edge of a x1.25 crop sit about 4.7 px from the border.
    """
    t, as_numpy = _to_tensor(heatmaps)
    if method not in ("argmax", "quarter", "dark"):
        raise InputError(f"unknown method {method!r}; use 'argmax', 'quarter' or 'dark'")
    h, w = t.shape[-2:]
    scores, idx = t.flatten(2).max(dim=2)
    ix, iy = idx % w, idx // w
    coords = torch.stack([ix, iy], dim=-1).to(t.dtype)
    if method == "quarter":
        padded = F.pad(t, (1, 1, 1, 1), mode="replicate")
        diff_x = _neighbour(padded, ix, iy, 1, 0) - _neighbour(padded, ix, iy, -1, 0)
        diff_y = _neighbour(padded, ix, iy, 0, 1) - _neighbour(padded, ix, iy, 0, -1)
        inside_x = (ix > 0) & (ix < w - 1)
        inside_y = (iy > 0) & (iy < h - 1)
        coords[..., 0] += 0.25 * torch.sign(diff_x) * inside_x
        coords[..., 1] += 0.25 * torch.sign(diff_y) * inside_y
    elif method == "dark":
        if blur_border not in ("zeros", "reflect"):
            raise InputError(f"blur_border must be 'zeros' or 'reflect', got {blur_border!r}")
        coords -= dark_step(_blurred_around(t, ix, iy, blur_kernel, blur_border))
    return _like(coords, as_numpy), _like(scores, as_numpy)


def flip_heatmaps(heatmaps: Array, keypoint_format: str | KeypointFormat) -> Array:
    """Heatmaps predicted on a horizontally flipped crop -> the unflipped crop's heatmaps.

    Mirrors the width axis and swaps left/right channels. In the UDP convention the mirror is
    exact (x -> w - 1 - x on both input and heatmap), so no shift is needed.
    """
    perm = get_format(keypoint_format).flip_permutation
    if isinstance(heatmaps, np.ndarray):
        return heatmaps[:, perm, :, ::-1].copy()
    return heatmaps[:, torch.as_tensor(perm, device=heatmaps.device)].flip(-1)
