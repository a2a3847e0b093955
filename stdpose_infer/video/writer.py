"""Write frames to a video file (overlays), checking that OpenCV could open the writer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


class VideoWriter:
    """``with VideoWriter(path, fps) as out: out.write(frame)``; the size comes from the first frame."""

    def __init__(self, path: str | Path, fps: float = 25.0) -> None:
        self.path, self.fps, self._writer = Path(path), fps, None
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.suffix.lower() == ".mp4" else "MJPG"))
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                raise InputError(f"{self.path}: OpenCV cannot write this video (use .mp4 or .avi)")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
