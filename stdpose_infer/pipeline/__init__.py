"""The SDK: ``Pipeline`` (estimate and propagate modes) and the interpolation fallback of propagation."""

from .crop_policies import CropPolicy, NeighbourCrops, WindowBoxes
from .fallback import FALLBACKS, NAMED_FALLBACKS, Fallback
from .pipeline import Pipeline

__all__ = ["FALLBACKS", "NAMED_FALLBACKS", "CropPolicy", "Fallback", "NeighbourCrops", "Pipeline", "WindowBoxes"]
