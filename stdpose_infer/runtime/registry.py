"""The backends there are: every ``runtime/*_backend.py`` registers its ``Backend`` subclass by name on import."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .base import Backend


def _discover() -> dict[str, type[Backend]]:
    """Import every runtime/*_backend.py: each registers its Backend subclass by name."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.endswith("_backend"):
            importlib.import_module(f"{__package__}.{module.name}")
    return dict(sorted(Backend.registry.items()))


BACKEND_CLASSES = _discover()
BACKENDS = ("auto", *BACKEND_CLASSES)
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
