"""The poses of one triplet: crop -> model -> decode, the Pipeline's path for one key frame outside the batcher.

Serving's ``pose`` model and adaptation's held-out scoring both read people this way; the batcher does the same
steps for many frames at once (``batcher.py``), with the aux labels rendered by the same ``render_aux``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..crops.affine import heatmap_to_image, image_to_heatmap
from ..crops.triplets import crop_affines, crop_triplets_cv2
from ..decode import decode_heatmaps, render_heatmaps
from ..errors import InputError

HeatmapFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]  # crops [, aux] -> heatmaps


@dataclass
class AuxLabels:
    """The labeled poses of the aux frames of a propagation job (model slots; P persons, J joints)."""

    left_points: np.ndarray  # (P, J, 2) image pixels
    left_visible: np.ndarray  # (P, J) bool
    right_points: np.ndarray
    right_visible: np.ndarray


def render_aux(labels: AuxLabels, center: np.ndarray, scale: np.ndarray, heatmap_wh: tuple[int, int]) -> torch.Tensor:
    """(P, 2, J, h, w) Gaussians of the aux frames' labels, drawn in each key crop (``center``, ``scale``)."""

    def render(points, vis):
        w, h = heatmap_wh
        return render_heatmaps(image_to_heatmap(points, center, scale, heatmap_wh), vis, (h, w))

    left = render(labels.left_points, labels.left_visible)
    right = render(labels.right_points, labels.right_visible)
    return torch.from_numpy(np.stack([left, right], axis=1))


def triplet_poses(
    heatmaps: HeatmapFn,
    frames_bgr: Sequence[np.ndarray],
    boxes: np.ndarray,
    input_wh: tuple[int, int],
    heatmap_wh: tuple[int, int],
    aux: AuxLabels | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, J, 2) in key-frame pixels and scores (N, J) of the people in ``boxes`` (N, 4) of the key frame,
    read from three H x W x 3 uint8 BGR frames [left, key, right]; ``aux``: the aux frames' labels (propagation).
    ``heatmaps(crops, aux)`` is the model (a backend's ``infer``)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if len(frames_bgr) != 3 or any(np.ndim(f) != 3 or np.shape(f)[-1] != 3 for f in frames_bgr):
        shapes = [np.shape(f) for f in frames_bgr]
        raise InputError(f"frames_bgr must be three H x W x 3 uint8 frames [left, key, right], got {shapes}")
    if not np.all(np.isfinite(boxes)) or np.any(boxes[:, 2:] <= boxes[:, :2]):
        raise InputError("boxes must be finite x1 y1 x2 y2 with x2 > x1 and y2 > y1")
    affines, center, scale = crop_affines(boxes, input_wh)
    crops = torch.from_numpy(crop_triplets_cv2(list(frames_bgr), affines, input_wh))
    rendered = None if aux is None else render_aux(aux, center, scale, heatmap_wh)
    coords, scores = decode_heatmaps(heatmaps(crops, rendered).float().cpu().numpy())
    return heatmap_to_image(coords, center, scale, heatmap_wh).astype(np.float32), scores.astype(np.float32)
