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
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8  # 2.0 for kernel 11
    x = torch.arange(kernel, dtype=torch.float64) - (kernel - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = (g / g.sum()).to(heatmaps)
    b, j, h, w = heatmaps.shape
    pad = kernel // 2
    mode = {"zeros": "constant", "reflect": "reflect"}[border]
    x = F.pad(heatmaps.reshape(b * j, 1, h, w), (pad, pad, pad, pad), mode=mode)
    x = F.conv2d(x, g.view(1, 1, 1, kernel))
    x = F.conv2d(x, g.view(1, 1, kernel, 1))
    return x.view(b, j, h, w)


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
      Newton step from the argmax. A step longer than 1 px means the log-heatmap is not locally
      concave there (flat or noisy), so the step is clipped to +-1 px.

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
        logs = gaussian_blur(t, blur_kernel, blur_border).clamp(0.001, 50).log()
        p = F.pad(logs, (1, 1, 1, 1), mode="replicate")
        c = _neighbour(p, ix, iy, 0, 0)
        xp, xm = _neighbour(p, ix, iy, 1, 0), _neighbour(p, ix, iy, -1, 0)
        yp, ym = _neighbour(p, ix, iy, 0, 1), _neighbour(p, ix, iy, 0, -1)
        dx, dy = 0.5 * (xp - xm), 0.5 * (yp - ym)
        dxx, dyy = xp - 2 * c + xm, yp - 2 * c + ym
        # mmpose's post_dark_udp stencil for the cross derivative
        dxy = 0.5 * (_neighbour(p, ix, iy, 1, 1) - xp - yp + 2 * c - xm - ym + _neighbour(p, ix, iy, -1, -1))
        eps = float(np.finfo(np.float32).eps)  # mmpose regularises the Hessian by eps * I
        a, d = dxx + eps, dyy + eps
        det = a * d - dxy * dxy
        safe = det.abs() > 1e-12
        det = torch.where(safe, det, torch.ones_like(det))
        step_x = torch.where(safe, (d * dx - dxy * dy) / det, torch.zeros_like(det))
        step_y = torch.where(safe, (a * dy - dxy * dx) / det, torch.zeros_like(det))
        coords -= torch.stack([step_x, step_y], dim=-1).clamp(-1.0, 1.0)
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
