"""A contact sheet: a few overlay frames spread over a run, in one PNG a person can glance at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError


class ContactSheet:
    """Offer every frame in order (``offer(index, image)``); ``close()`` writes ``count`` of them, evenly spread, in
    a grid of ``columns``, each with its frame number.

    Memory stays bounded whatever the run's length: only thumbnails of every ``stride``-th frame are kept, and the
    stride doubles whenever more than ``2 x count`` are held (so the length need not be known in advance).
    """

    def __init__(self, path: str | Path, count: int = 6, columns: int = 3, width: int = 480) -> None:
        if Path(path).suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise InputError(f"{path}: a contact sheet is an image: name it .png or .jpg")
        if count < 1 or columns < 1:
            raise InputError(f"a contact sheet needs count >= 1 and columns >= 1, got {count} and {columns}")
        self.path, self.count, self.columns, self.width = Path(path), count, columns, width
        self._kept: dict[int, np.ndarray] = {}
        self._stride = 1

    def offer(self, index: int, image: np.ndarray) -> None:
        """Keep a thumbnail of frame ``index`` (BGR) if it falls on the current stride."""
        if index % self._stride:
            return
        h, w = image.shape[:2]
        scale = min(1.0, self.width / w)
        thumb = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        cv2.putText(thumb, f"frame {index}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(thumb, f"frame {index}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
        self._kept[index] = thumb
        if len(self._kept) > 2 * self.count:
            self._stride *= 2
            self._kept = {i: v for i, v in self._kept.items() if i % self._stride == 0}

    def close(self) -> Path | None:
        """Write the sheet (None when no frame was offered)."""
        if not self._kept:
            return None
        held = sorted(self._kept)
        picks = sorted({held[round(k)] for k in np.linspace(0, len(held) - 1, min(self.count, len(held)))})
        thumbs = [self._kept[i] for i in picks]
        h, w = max(t.shape[0] for t in thumbs), max(t.shape[1] for t in thumbs)
        columns = min(self.columns, len(thumbs))
        rows = -(-len(thumbs) // columns)
        sheet = np.full((rows * h, columns * w, 3), 255, np.uint8)
        for k, t in enumerate(thumbs):
            r, c = divmod(k, columns)
            sheet[r * h : r * h + t.shape[0], c * w : c * w + t.shape[1]] = t
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(self.path), sheet):
            raise InputError(f"{self.path}: OpenCV could not write this image (check the folder and the suffix)")
        return self.path
