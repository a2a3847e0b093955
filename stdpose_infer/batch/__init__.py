"""Batch annotation: many videos to one pose file each, serially or on a Ray cluster (``stdpose-infer batch``)."""

from .annotate import annotate_videos
from .jobs import VideoAnnotator, VideoJob, plan

__all__ = ["VideoAnnotator", "VideoJob", "annotate_videos", "plan"]
