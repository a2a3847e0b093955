"""The errors stdpose-infer raises on purpose: each message names the problem and the fix.

Every one derives from ``StdposeError``, which the command-line tools print as one line (exit 2)
instead of a traceback; each also derives from the matching built-in (ValueError, ImportError,
RuntimeError), so ``except ValueError`` in callers keeps working.
"""

from __future__ import annotations


class StdposeError(Exception):
    """Base class of every error this package raises on purpose."""


class CheckpointError(StdposeError, ValueError):
    """A weights file that is missing, unreadable, or does not fit the model."""


class InputError(StdposeError, ValueError):
    """Bad input: an argument, config field, file, tensor or array of the wrong value, shape or layout."""


class MissingDependencyError(StdposeError, ImportError):
    """An optional package a feature needs is not installed; the message names the extra."""


class EngineError(StdposeError, RuntimeError):
    """GPU code that cannot be built, loaded or run: a TensorRT engine (or one built for another GPU or
    TensorRT version), the fused DAM kernel."""


class Interrupted(StdposeError, KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM after keeping what was done; the message says how to resume."""

    exit_code = 130  # the shell's code for a run ended by Ctrl-C


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
