"""Evaluation: PoseTrack mAP as the official poseval computes it."""

from .posetrack_json import JOINTS, FramePoses, load_video
from .posetrack_map import GROUPS, PoseTrackAP, evaluate, evaluate_frames, write_json

__all__ = ["GROUPS", "JOINTS", "FramePoses", "PoseTrackAP", "evaluate", "evaluate_frames", "load_video", "write_json"]
