"""Evaluation: PoseTrack mAP as the official poseval computes it."""

from .jitter import jitter
from .posetrack_json import JOINTS, FramePoses, load_video
from .posetrack_map import GROUPS, PoseTrackAP, evaluate, evaluate_frames, write_json
from .predict import detector_recall, interpolate_labels, predict_dataset, score_dataset, score_predictions
from .sensitivity import label_sensitivity

__all__ = ["GROUPS", "JOINTS", "FramePoses", "PoseTrackAP", "detector_recall", "evaluate", "evaluate_frames", "interpolate_labels",
           "jitter", "label_sensitivity", "load_video", "predict_dataset", "score_dataset", "score_predictions", "write_json"]  # fmt: skip
