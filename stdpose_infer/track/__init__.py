"""Track ids across frames (``IouTracker``)."""

from .iou_tracker import IouTracker

__all__ = ["IouTracker"]
