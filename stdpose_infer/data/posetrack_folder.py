"""A PoseTrack-format data folder (annotations/VIDEO.json + the frames they name): frame order and frame reads,
shared by training, evaluation and pseudo-labelling."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


def read_video_file(path: Path) -> dict:
    """One PoseTrack video file (an object with ``images`` and ``annotations`` lists), or a one-line error naming it:
    a data folder's annotations hold one such file per video and nothing else."""
    import json

    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not readable as JSON ({e})") from e
    images = doc.get("images") if isinstance(doc, dict) else None
    if (not isinstance(images, list) or not isinstance(doc.get("annotations", []), list)
            or not all(isinstance(im, dict) and "id" in im for im in images)):  # fmt: skip
        raise InputError(
            f"{path}: not a PoseTrack video file (an object with 'images' [each with an 'id'] and 'annotations' "
            "lists); the annotations folder must hold one such file per video and nothing else: move the other "
            "JSON files out, or point at the folder that holds only video files (stdpose-eval --annotations)"
        )
    return doc


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
