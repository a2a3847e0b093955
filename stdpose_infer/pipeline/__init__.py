"""The SDK: ``Pipeline`` (estimate and propagate modes) and the sparse-label reader."""

from .labels import FrameLabels, load_labels
from .pipeline import Pipeline

__all__ = ["FrameLabels", "Pipeline", "load_labels"]
