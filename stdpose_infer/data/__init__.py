"""Data for training and benchmarks: procedurally rendered people with PoseTrack18 labels."""

from .synthetic import FrameLabels, SyntheticConfig, SyntheticVideo, posetrack_document, write_benchmark, write_clip

__all__ = ["FrameLabels", "SyntheticConfig", "SyntheticVideo", "posetrack_document", "write_benchmark", "write_clip"]
