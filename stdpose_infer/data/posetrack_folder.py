"""A PoseTrack-format data folder (annotations/VIDEO.json + the frames they name): frame order and frame reads,
shared by training, evaluation and pseudo-labelling."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


def frame_order(images: list[dict]) -> list[dict]:
    """A PoseTrack file's images in frame order (frame_index, else frame_id, else id)."""
    return sorted(images, key=lambda im: (im.get("frame_index", im.get("frame_id", im["id"])), im["id"]))


@functools.lru_cache(maxsize=48)
def read_image(path: Path) -> np.ndarray:
    """A frame as BGR uint8 (the last 48 are cached: a triplet reads each frame up to three times)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read the frame {path}")
    return image
