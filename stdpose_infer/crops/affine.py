"""Crop geometry in the UDP convention (unbiased data processing), the one ViTPose is trained with.

Pixel centres sit on integer coordinates, and a crop of size (w, h) pixels in the image maps onto
the output's (W - 1, H - 1) span: image point ``c + (x - c)`` lands on ``(W - 1) / 2 + (x - c) *
(W - 1) / w``. Heatmaps obey the same rule at their own size, so one function gives the
image -> input, image -> heatmap and (inverted) heatmap -> image maps; crops, rendered Gaussians
and decoding all go through it. Sizes here are (width, height), as in cv2.
"""

from __future__ import annotations

import numpy as np

INPUT_SIZE = (192, 256)  # (w, h) of the model input
HEATMAP_SIZE = (48, 64)  # (w, h) of the heatmaps


def box_to_center_scale(
    boxes: np.ndarray, aspect_ratio: float = INPUT_SIZE[0] / INPUT_SIZE[1], padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) xyxy boxes -> centres (N, 2) and crop sizes (N, 2) = (w, h) in image pixels.

    The box is grown to the input's aspect ratio (3:4 for 192 x 256), keeping its centre, then
    enlarged by ``padding`` (x1.25, as the paper and DCPose crop).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    w, h = np.maximum(w, h * aspect_ratio), np.maximum(h, w / aspect_ratio)
    return center, np.stack([w, h], axis=1) * padding


def get_affine(
    center: np.ndarray,
    scale: np.ndarray,
    output_size: tuple[int, int] = INPUT_SIZE,
    rotation: np.ndarray | float = 0.0,
    inverse: bool = False,
) -> np.ndarray:
    """(N, 2, 3) UDP affines from the image to an output of ``output_size`` (w, h) pixels.

    ``rotation`` in degrees turns the crop counter-clockwise (training augmentation); ``inverse``
    gives output -> image. Vectorised over N crops.
    """
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1, 2)
    theta = np.deg2rad(np.broadcast_to(np.asarray(rotation, dtype=np.float64), center.shape[:1]))
    cos, sin = np.cos(theta), np.sin(theta)
    sx = (output_size[0] - 1.0) / scale[:, 0]
    sy = (output_size[1] - 1.0) / scale[:, 1]
    cx, cy = center[:, 0], center[:, 1]
    m = np.empty((center.shape[0], 2, 3))
    m[:, 0, 0], m[:, 0, 1] = cos * sx, -sin * sx
    m[:, 0, 2] = sx * (-cx * cos + cy * sin + 0.5 * scale[:, 0])
    m[:, 1, 0], m[:, 1, 1] = sin * sy, cos * sy
    m[:, 1, 2] = sy * (-cx * sin - cy * cos + 0.5 * scale[:, 1])
    return invert_affine(m) if inverse else m


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of (N, 2, 3) affines."""
    a = m[:, :, :2]
    a_inv = np.linalg.inv(a)
    return np.concatenate([a_inv, -a_inv @ m[:, :, 2:]], axis=2)


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply (N, 2, 3) affines to (N, ..., 2) points, one affine per leading index."""
    points = np.asarray(points, dtype=np.float64)
    flat = points.reshape(points.shape[0], -1, 2)
    out = flat @ m[:, :, :2].transpose(0, 2, 1) + m[:, None, :, 2]
    return out.reshape(points.shape)


def heatmap_to_image(
    coords: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    heatmap_size: tuple[int, int] = HEATMAP_SIZE,
    rotation: np.ndarray | float = 0.0,
) -> np.ndarray:
    """(N, J, 2) heatmap coordinates of N crops -> image coordinates."""
    return transform_points(coords, get_affine(center, scale, heatmap_size, rotation, inverse=True))


def image_to_heatmap(
    points: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    heatmap_size: tuple[int, int] = HEATMAP_SIZE,
    rotation: np.ndarray | float = 0.0,
) -> np.ndarray:
    """(N, J, 2) image points -> heatmap coordinates of the N crops (where to render Gaussians)."""
    return transform_points(points, get_affine(center, scale, heatmap_size, rotation))
