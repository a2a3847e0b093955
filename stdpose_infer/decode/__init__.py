"""Heatmap codec: decoding heatmaps to keypoints, rendering keypoints to heatmaps, flip test."""

from .heatmaps import decode_heatmaps, flip_heatmaps, gaussian_blur
from .render import render_heatmaps

__all__ = ["decode_heatmaps", "flip_heatmaps", "gaussian_blur", "render_heatmaps"]
