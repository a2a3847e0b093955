"""Data for training and benchmarks: PoseTrack-format folders, and procedurally rendered people with PoseTrack18
labels."""

from .posetrack_folder import frame_order, read_image
from .synthetic import FrameLabels, SyntheticConfig, SyntheticVideo, posetrack_document, write_benchmark, write_clip

__all__ = [
    "frame_order",
    "read_image",
    "FrameLabels", "SyntheticConfig", "SyntheticVideo", "posetrack_document", "write_benchmark", "write_clip"]
