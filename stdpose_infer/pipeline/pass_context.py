"""What a pass over a video (``estimate_mode``, ``propagate_mode``) reads of the ``Pipeline`` that runs it, as a
Protocol: the passes depend on these few members, not on the Pipeline module that imports them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..model.config import STDPoseConfig
from ..track import IouTracker
from ..video import Frame
from .batcher import Batcher, Reuse
from .crop_policies import CropPolicy
from .fallback import Fallback
from .model_calls import ModelCalls
from .resume import ResumePoint

Boxes = Sequence[np.ndarray] | dict[int, np.ndarray]  # per-frame (N, 4) xyxy boxes, by position or frame index


class PassContext(Protocol):
    """The options and steps of a Pipeline that its passes use (``Pipeline`` is the one implementation)."""

    config: STDPoseConfig
    calls: ModelCalls
    detector: Any  # a callable frame -> Detections, or None
    crop_policy: CropPolicy | None
    fallback: Fallback
    aux_gap: int
    gap_memory_mb: float
    pose_nms: bool
    reuse: Reuse | None  # set by the pass: its feature reuse
    resume_point: ResumePoint | None  # set by the pass after each result

    def _batcher(self, reuse: Reuse | None = None, max_delay: int | None = None) -> Batcher: ...

    def _people(self, frame: Frame, boxes: Boxes | None, tracker: IouTracker) -> tuple[np.ndarray, np.ndarray]: ...
