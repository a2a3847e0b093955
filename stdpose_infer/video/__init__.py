"""Video and frame I/O: ``read_frames`` (every kind of source), ``VideoWriter`` (overlays), ``ContactSheet`` (a PNG
of a few overlay frames)."""

from .contact_sheet import ContactSheet
from .sources import Frame, TruncatedVideoError, as_bgr, read_frames, video_fps
from .writer import VideoWriter

__all__ = ["ContactSheet", "Frame", "TruncatedVideoError", "VideoWriter", "as_bgr", "read_frames", "video_fps"]
