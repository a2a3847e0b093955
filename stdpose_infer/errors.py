"""Errors stdpose-infer raises on bad input: each message names the problem and the fix."""

from __future__ import annotations


class StdposeError(Exception):
    """Base class of every error this package raises on purpose."""


class CheckpointError(StdposeError, ValueError):
    """A weights file that is missing, unreadable, or does not fit the model."""


class InputError(StdposeError, ValueError):
    """An input tensor or array with the wrong shape, dtype or layout."""
