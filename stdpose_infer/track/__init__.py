"""Track ids across frames (``IouTracker``)."""

from .iou_tracker import IouTracker, greedy_match

__all__ = ["IouTracker", "greedy_match"]
