"""The SDK: ``Pipeline`` (estimate and propagate modes) and the interpolation fallback of propagation."""

from .fallback import FALLBACKS, Fallback
from .pipeline import Pipeline

__all__ = ["FALLBACKS", "Fallback", "Pipeline"]
