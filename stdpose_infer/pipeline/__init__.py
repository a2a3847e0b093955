"""The SDK: ``Pipeline`` (estimate and propagate modes) and the interpolation fallback of propagation."""

from .fallback import FALLBACKS, Fallback
from .pipeline import Pipeline
from .windows import CropPolicy, NeighbourCrops, WindowBoxes

__all__ = ["FALLBACKS", "Fallback", "CropPolicy", "NeighbourCrops", "Pipeline", "WindowBoxes"]
