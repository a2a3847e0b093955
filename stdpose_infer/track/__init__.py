"""Track ids across frames (``IouTracker``) and smoothing along tracks (``OneEuro``)."""

from .iou_tracker import IouTracker, greedy_match
from .one_euro import OneEuro

__all__ = ["IouTracker", "OneEuro", "greedy_match"]
