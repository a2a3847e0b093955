"""Errors stdpose-infer raises on bad input: each message names the problem and the fix."""

from __future__ import annotations


class StdposeError(Exception):
    """Base class of every error this package raises on purpose."""


class CheckpointError(StdposeError, ValueError):
    """A weights file that is missing, unreadable, or does not fit the model."""


class InputError(StdposeError, ValueError):
    """An input tensor or array with the wrong shape, dtype or layout."""


class MissingDependencyError(StdposeError, ImportError):
    """An optional package a feature needs is not installed; the message names the extra."""


class EngineError(StdposeError, RuntimeError):
    """A TensorRT engine that cannot be built, or was built for another GPU or TensorRT version."""


def require(module: str, extra: str, feature: str):
    """Import an optional module, or raise MissingDependencyError naming the pip extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the Python module {module!r}, which is not installed ({exc}). "
            f'Install it with: pip install "stdpose-infer[{extra}]"'
        ) from exc
