"""Frames in: a video file, a folder of images, a cv2.VideoCapture, an iterable or an (N, H, W, 3) array.

``read_frames`` yields ``Frame``s (index, name, BGR uint8 H x W x 3) and normalises what it can:
grayscale and BGRA frames become BGR. What it cannot fix gets a clear ``InputError`` (frames
of another dtype, a frame size that changes mid-stream) and a video that ends before its
header's frame count raises ``TruncatedVideoError`` *after* every decoded frame was yielded,
so callers write what they have before reporting it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class TruncatedVideoError(InputError):
    """The video stopped decoding before its last frame; the frames before it were delivered."""


@dataclass
class Frame:
    index: int
    name: str  # file name for image folders, "<video stem>/<index>" otherwise
    image: np.ndarray  # H x W x 3 uint8 BGR


def as_bgr(image, where: str) -> np.ndarray:
    """One frame as H x W x 3 uint8 BGR: grayscale and BGRA are converted, anything else is refused."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(
            f"{where}: frames must be uint8 images (0-255), got {image.dtype}; "
            "convert with (frame * 255).clip(0, 255).astype(np.uint8) if they are floats in [0, 1]"
        )
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 2:
        raise InputError(
            f"{where}: a frame must be H x W x 3 (BGR), H x W (gray) or H x W x 4 (BGRA); got {image.shape}"
        )
    return image


def _video(capture: cv2.VideoCapture, label: str) -> Iterator[np.ndarray]:
    expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    count = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            count += 1
            yield image
    finally:
        capture.release()
    if count == 0:
        raise InputError(f"{label}: no frame could be decoded (corrupt file or unsupported codec)")
    if expected > 0 and count < expected:
        raise TruncatedVideoError(
            f"{label}: decoding stopped at frame {count} of {expected} (truncated or corrupt); "
            f"the {count} decoded frames were processed"
        )


def _open_video(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"{path}: OpenCV cannot open this video (corrupt, or a codec this build lacks)")
    return capture


def _folder(path: Path) -> tuple[list[str], Iterator[np.ndarray]]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")

    def images():
        for file in files:
            image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise InputError(f"{file}: not a readable image")
            yield image

    return [f.name for f in files], images()


def read_frames(source) -> Iterator[Frame]:
    """Frames of ``source`` in order (see the module docstring for what a source can be)."""
    names: list[str] | None = None
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such video file or image folder")
        if path.is_dir():
            names, images = _folder(path)
            label = str(path)
        else:
            images, label = _video(_open_video(path), str(path)), str(path)
        stem = path.stem
    elif isinstance(source, cv2.VideoCapture):
        if not source.isOpened():
            raise InputError("the cv2.VideoCapture given is not open")
        images, label, stem = _video(source, "VideoCapture"), "VideoCapture", "video"
    elif isinstance(source, np.ndarray):
        if source.ndim not in (3, 4):
            raise InputError(f"an array source must be (N, H, W, 3) frames, got shape {source.shape}")
        images, label, stem = iter(source), "array", "frame"
    elif isinstance(source, Iterable):
        images, label, stem = iter(source), "frames", "frame"
    else:
        raise InputError(
            f"cannot read frames from {type(source).__name__}: give a video path, an image folder, a cv2.VideoCapture, "
            "an iterable of H x W x 3 uint8 BGR frames or an (N, H, W, 3) array"
        )
    size = None
    for index, image in enumerate(images):
        where = f"{label}, frame {index}"
        image = as_bgr(image, where)
        if size is None:
            size = image.shape[:2]
        elif image.shape[:2] != size:
            raise InputError(
                f"{where}: frame size changed from {size[1]}x{size[0]} to {image.shape[1]}x{image.shape[0]}; "
                "split the stream where it changes and run each part separately"
            )
        name = names[index] if names else f"{stem}/{index:06d}"
        yield Frame(index, name, image)


def frame_names(source) -> list[str] | None:
    """The frame names ``read_frames`` will give, without decoding: an image folder's file names, a video file's
    header frame count, an array's length; None for a capture or an iterable (known only by reading them)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such video file or image folder")
        if path.is_dir():
            return _folder(path)[0]
        capture = _open_video(path)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        capture.release()
        return [f"{path.stem}/{i:06d}" for i in range(count)] if count > 0 else None
    if isinstance(source, np.ndarray) and source.ndim == 4:
        return [f"frame/{i:06d}" for i in range(len(source))]
    if isinstance(source, (list, tuple)):
        return [f.name if isinstance(f, Frame) else f"frame/{i:06d}" for i, f in enumerate(source)]
    return None


def video_fps(source, default: float = 25.0) -> float:
    """The frame rate of a video file (for writing overlays), or ``default``."""
    if isinstance(source, (str, Path)) and Path(source).is_file():
        capture = cv2.VideoCapture(str(source))
        fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0
        capture.release()
        return fps if fps and fps > 0 else default
    return default
