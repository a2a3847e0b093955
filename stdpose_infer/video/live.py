"""Live sources: a camera (by index) or a network stream (rtsp://, http://, ...) read on a thread of its own, so
a pipeline slower than the source never falls behind it: only the newest frame waits (the latest frame wins),
older ones are dropped and counted, and each frame's capture time is kept to measure latency.

    with LiveSource("rtsp://camera/stream") as live:
        for result in Pipeline()(live):
            ...
        print(live.summary())
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import InputError

SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


def is_live(source) -> bool:
    """A camera index (an int, or a string of digits) or a stream URL, not a file or folder."""
    if isinstance(source, bool):
        return False
    if isinstance(source, int):
        return True
    return isinstance(source, str) and (source.isdigit() or source.lower().startswith(SCHEMES))


class LiveSource:
    """Frames of a camera or stream, newest first: iterate it for BGR images (what ``read_frames`` reads), in the
    order they were captured, with frames the reader could not take in time dropped. ``received``, ``dropped``
    and ``latency(index)`` (seconds from a yielded frame's capture to now) say how it kept up; ``image(index)``
    gives a recently yielded frame back (for drawing). Stops at the stream's end, ``close()``, or ``max_frames``."""

    def __init__(self, source: int | str, max_frames: int | None = None, keep: int = 64) -> None:
        if not is_live(source):
            raise InputError(f"{source!r} is not a camera index or a stream URL ({', '.join(SCHEMES)})")
        self.source = int(source) if isinstance(source, str) and source.isdigit() else source
        self.capture = cv2.VideoCapture(self.source)
        if not self.capture.isOpened():
            what = f"camera {self.source}" if isinstance(self.source, int) else f"stream {self.source}"
            raise InputError(f"cannot open {what}: check that it is connected and serving (OpenCV's FFmpeg reads "
                             "rtsp, http and udp streams)")  # fmt: skip
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps: float | None = fps if fps and 0 < fps < 1000 else None
        self.max_frames = max_frames
        self.received = self.dropped = self.yielded = 0
        self._latest: tuple[int, float, np.ndarray] | None = None
        self._captured: dict[int, float] = {}
        self._images: deque[tuple[int, np.ndarray]] = deque(maxlen=keep)
        self._ended = False
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="stdpose-live", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ok, image = self.capture.read()
            stamp = time.monotonic()
            with self._ready:
                if not ok or (self.max_frames is not None and self.received >= self.max_frames):
                    self._ended = True
                    self._ready.notify_all()
                    return
                if self._latest is not None:  # the reader has not taken the last one: it is dropped
                    self.dropped += 1
                self._latest = (self.received, stamp, image)
                self.received += 1
                self._ready.notify_all()

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            with self._ready:
                while self._latest is None and not self._ended and not self._stop.is_set():
                    self._ready.wait(0.5)
                if self._latest is None:
                    return
                _, stamp, image = self._latest
                self._latest = None
            self._captured[self.yielded] = stamp
            self._images.append((self.yielded, image))
            self.yielded += 1
            yield image

    def latency(self, index: int) -> float | None:
        """Seconds from the capture of yielded frame ``index`` to now (None for a frame not yielded)."""
        stamp = self._captured.pop(index, None)
        return None if stamp is None else time.monotonic() - stamp

    def image(self, index: int) -> np.ndarray | None:
        """Yielded frame ``index`` if it is among the last ``keep`` yielded, else None."""
        return next((image for i, image in self._images if i == index), None)

    def summary(self) -> str:
        share = self.yielded / self.received if self.received else 0.0
        return (f"live: {self.received} frames received, {self.yielded} processed ({share:.0%}), {self.dropped} "
                "dropped to keep up")  # fmt: skip

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.capture.release()

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
