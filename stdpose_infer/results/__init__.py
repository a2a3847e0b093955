"""Pose results per frame (``PoseResult``) and their JSON forms (PoseTrack18, COCO)."""

from .json_files import coco_json, posetrack_json, write_json, write_text
from .pose_result import ORIGINS, PoseResult

__all__ = ["ORIGINS", "PoseResult", "coco_json", "posetrack_json", "write_json", "write_text"]
