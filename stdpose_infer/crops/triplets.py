"""Cut each person out of its three frames with one affine (the key frame's box), ready for the model.

The affine comes from the key frame's box (x1.25, 3:4, UDP) and is applied to the left aux, key
and right aux frames alike, as the paper crops. Output: (N, 3, 3, 256, 192) float32, ImageNet-
normalised RGB. Two implementations of the same warp: cv2 on the CPU, ``torch.grid_sample`` on
the GPU (no host round trip when the backend runs there); tests hold them to each other.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .affine import INPUT_SIZE, box_to_center_scale, get_affine, invert_affine

MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet, RGB
STD = np.array([0.229, 0.224, 0.225], np.float32)


def crop_affines(
    boxes: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 4) key-frame boxes -> (N, 2, 3) image->crop affines, centres (N, 2), scales (N, 2); sizes are (w, h)."""
    center, scale = box_to_center_scale(boxes, input_size[0] / input_size[1])
    return get_affine(center, scale, input_size), center, scale


def crop_triplets_cv2(
    images: list[np.ndarray], affines: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE
) -> np.ndarray:
    """Three H x W x 3 uint8 BGR frames [left, key, right], (N, 2, 3) affines -> (N, 3, 3, h, w) (256 x 192).
    (Any number F of frames gives (N, F, 3, h, w).)"""
    return normalise_crops(cut_crops(images, affines, input_size))


def cut_crops(images: list[np.ndarray], affines: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """F uint8 BGR frames, (N, 2, 3) affines -> (N, F, h, w, 3) uint8 BGR crops: a quarter of the normalised
    crops' bytes, for crops that wait (a long gap between labels)."""
    w, h = input_size
    out = np.empty((len(affines), len(images), h, w, 3), np.uint8)
    for n, m in enumerate(affines):
        for f, image in enumerate(images):
            out[n, f] = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return out


def normalise_crops(crops: np.ndarray) -> np.ndarray:
    """(..., h, w, 3) uint8 BGR crops -> (..., 3, h, w) float32 ImageNet-normalised RGB, the model's input."""
    rgb = crops[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(np.moveaxis((rgb - MEAN) / STD, -1, -3))


def crop_triplets_torch(
    images: torch.Tensor, affines: np.ndarray, input_size: tuple[int, int] = INPUT_SIZE
) -> torch.Tensor:
    """(3, H, W, 3) uint8 BGR frames on any device, (N, 2, 3) affines -> (N, 3, 3, h, w) on that device.
    (Any number F of frames gives (N, F, 3, h, w).)"""
    device = images.device
    frames = images.shape[0]
    w, h = input_size
    n = len(affines)
    height, width = images.shape[1:3]
    inverse = torch.as_tensor(invert_affine(np.asarray(affines)), dtype=torch.float32, device=device)  # crop -> image
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=device),
        torch.arange(w, dtype=torch.float32, device=device),
        indexing="ij",
    )
    grid = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # (h, w, 3) crop pixel centres
    source = torch.einsum("nij,hwj->nhwi", inverse, grid)  # (N, h, w, 2) image pixels
    size = torch.tensor([width - 1, height - 1], dtype=torch.float32, device=device)
    grid = (source / size * 2 - 1).reshape(1, n * h, w, 2)  # align_corners=True: pixel centres at +-1
    # The three frames as 9 channels of one image and the N crops stacked as one tall output:
    # one grid_sample call, and the frames are never copied per person.
    rgb = images.flip(-1).permute(0, 3, 1, 2).reshape(1, 3 * frames, height, width).float() / 255.0
    crops = F.grid_sample(rgb, grid, mode="bilinear", padding_mode="zeros", align_corners=True)  # (1, 9, N*h, w)
    crops = crops.view(frames, 3, n, h, w).permute(2, 0, 1, 3, 4)  # (N, frame, RGB, h, w)
    mean = torch.as_tensor(MEAN, device=device).view(1, 1, 3, 1, 1)
    std = torch.as_tensor(STD, device=device).view(1, 1, 3, 1, 1)
    return ((crops - mean) / std).contiguous()
