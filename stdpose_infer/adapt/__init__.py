"""Adaptation: fine-tune the model on one video's own labels before propagating, and let held-out labels decide
where the model is trusted over interpolation (``Pipeline.adapt``, ``stdpose-infer propagate --adapt``)."""

from .adapt import Adaptation, AdaptReport, NothingToAdapt, adapt
from .finetune import TRAINS, AdaptSettings
from .folder import folder_from_label_files

__all__ = ["TRAINS", "AdaptReport", "AdaptSettings", "Adaptation", "NothingToAdapt", "adapt", "folder_from_label_files"]
