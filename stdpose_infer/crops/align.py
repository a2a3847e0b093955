"""Aux crops brought onto the key crop's region, for cross-frame feature reuse.

Without reuse all three frames of a triplet are cut at the key frame's box, and that is what the temporal half
is trained on: a joint that does not move sits at the same place in all three heatmaps. Under reuse an aux frame
may be read through its own crop (``NeighbourCrops``: a box up to a tolerance apart from the key frame's), so a
still joint would appear to move by the boxes' difference. Resampling the aux crop's heatmaps and token grid onto
the key crop's region removes that difference; what stays is the image content the aux crop never saw (filled with
zeros in heatmaps, with the nearest border token in features).

Both crops are axis-aligned with one aspect ratio, so the map between them is a scale and a shift, the same at
every resolution in coordinates normalised to [-1, 1] across the crop: ``g_aux = g_key * s_key / s_aux +
2 (c_key - c_aux) / s_aux`` (c the crop centre, s its size, per axis).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .affine import box_to_center_scale


def key_in_crops(boxes: np.ndarray, input_wh: tuple[int, int]) -> torch.Tensor:
    """(B, 3, 4) xyxy boxes each frame of a triplet was cropped at -> (B, 3, 2, 3) affines from the key crop's
    normalised coordinates to each frame's crop's (the identity for the key frame and for aux frames cut at its box)."""
    boxes = np.asarray(boxes, np.float64)
    center, scale = box_to_center_scale(boxes.reshape(-1, 4), input_wh[0] / input_wh[1])
    center, scale = center.reshape(*boxes.shape[:2], 2), scale.reshape(*boxes.shape[:2], 2)
    theta = np.zeros((*boxes.shape[:2], 2, 3))
    theta[..., 0, 0], theta[..., 1, 1] = (scale[:, 1:2] / scale).transpose(2, 0, 1)
    theta[..., :, 2] = 2 * (center[:, 1:2] - center) / scale
    return torch.from_numpy(theta).float()


def align_to_key(maps: torch.Tensor, theta: torch.Tensor, kind: str, mirrored: bool = False) -> torch.Tensor:
    """(B, 3, C, h, w) maps computed on each frame's own crop -> the same maps over the key crop's region.

    ``kind``: "heatmaps" (UDP: pixel centres span the crop) or "features" (a token grid: cells tile the crop).
    ``mirrored``: the maps are of the horizontally flipped crops (flip test). Frames whose affine is the identity
    pass through unchanged (bit for bit)."""
    if kind not in ("heatmaps", "features"):
        raise ValueError(f"kind is 'heatmaps' or 'features', got {kind!r}")
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    moved = (theta != identity).flatten(2).any(-1)  # (B, 3)
    if not moved.any():
        return maps
    theta = theta[moved].to(maps.device)
    if mirrored:  # x -> -x on both sides: the shift changes sign
        theta = theta.clone()
        theta[:, 0, 2] = -theta[:, 0, 2]
    picked = maps[moved].float()
    udp = kind == "heatmaps"
    grid = F.affine_grid(theta, list(picked.shape), align_corners=udp)
    warped = F.grid_sample(picked, grid, mode="bilinear", padding_mode="zeros" if udp else "border", align_corners=udp)
    out = maps.clone()
    out[moved] = warped.to(maps.dtype)
    return out
