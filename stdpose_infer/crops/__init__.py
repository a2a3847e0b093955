"""Person crops: the UDP affine geometry shared by cropping, rendering and decoding."""

from .affine import (
    HEATMAP_SIZE,
    INPUT_SIZE,
    box_to_center_scale,
    get_affine,
    heatmap_to_image,
    image_to_heatmap,
    invert_affine,
    transform_points,
)

__all__ = [
    "HEATMAP_SIZE",
    "INPUT_SIZE",
    "box_to_center_scale",
    "get_affine",
    "heatmap_to_image",
    "image_to_heatmap",
    "invert_affine",
    "transform_points",
]
