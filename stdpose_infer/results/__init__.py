"""Pose results per frame (``PoseResult``), their JSON forms (PoseTrack18, COCO) and one tidy keypoint table."""

from .json_files import coco_json, posetrack_json, write_json, write_text
from .pose_result import ORIGINS, PoseResult
from .table import COLUMNS, TableWriter, results_table

__all__ = ["COLUMNS", "ORIGINS", "PoseResult", "TableWriter", "coco_json", "posetrack_json", "results_table",
           "write_json", "write_text"]
