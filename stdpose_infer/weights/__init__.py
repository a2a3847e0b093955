"""Weights: the native safetensors checkpoint, and import of official ViTPose checkpoints."""

from .native import average_checkpoints, load_model, load_weights, read_checkpoint, save_weights
from .vitpose import load_vitpose, vitpose_state_dict

__all__ = [
    "average_checkpoints",
    "load_model",
    "load_vitpose",
    "load_weights",
    "read_checkpoint",
    "save_weights",
    "vitpose_state_dict",
]
