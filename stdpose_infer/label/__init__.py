"""Auto-annotation with real single-frame models: person boxes, a pose per box, tracks -> PoseTrack18 labels.

It labels distillation data for the starter model, and it is where an annotation team's work starts:
label a video, then review and correct, then propagate.
"""

from .auto_label import add_head_boxes, auto_label
from .movenet_pose import MoveNetPose

__all__ = ["MoveNetPose", "add_head_boxes", "auto_label"]
