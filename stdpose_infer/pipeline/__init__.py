"""The SDK: ``Pipeline`` (estimate and propagate modes) and the interpolation fallback of propagation."""

from .fallback import FALLBACKS, Fallback
from .pipeline import Pipeline
from .windows import WindowBoxes

__all__ = ["FALLBACKS", "Fallback", "Pipeline", "WindowBoxes"]
