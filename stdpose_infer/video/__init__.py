"""Video and frame I/O: ``read_frames`` (every kind of source) and ``VideoWriter`` (overlays)."""

from .sources import Frame, TruncatedVideoError, as_bgr, read_frames, video_fps
from .writer import VideoWriter

__all__ = ["Frame", "TruncatedVideoError", "VideoWriter", "as_bgr", "read_frames", "video_fps"]
