"""Video and frame I/O: ``read_frames`` (every kind of source), ``LiveSource`` (cameras and streams, the newest
frame first), ``VideoWriter`` (overlays), ``ContactSheet`` (a PNG of a few overlay frames)."""

from .contact_sheet import ContactSheet
from .live import LiveSource, is_live
from .sources import Frame, TruncatedVideoError, as_bgr, read_frames, video_fps
from .writer import VideoWriter

__all__ = ["ContactSheet", "Frame", "LiveSource", "TruncatedVideoError", "VideoWriter", "as_bgr", "is_live",
           "read_frames", "video_fps"]  # fmt: skip
