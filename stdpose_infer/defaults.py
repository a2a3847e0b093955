"""The model files shipped inside the package (``assets/``): the starter STDPose checkpoint and the default detector.

``Pipeline()`` and ``stdpose-infer run VIDEO`` use them when no weights or detector are named; ``assets/README.md``
says where each came from, its licence, and what the starter model was trained on and scores.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

ASSETS = Path(__file__).resolve().parent / "assets"
STARTER_WEIGHTS = ASSETS / "stdpose-s14-starter.safetensors"
DEFAULT_DETECTOR_FILE = ASSETS / "movenet_multipose.onnx"  # MoveNet MultiPose Lightning, Apache-2.0
DEFAULT_DETECTOR_SIDE = 512  # the input side it runs at (measured: benchmarks/results/*_default_detector.md)


def default_weights() -> Path:
    """The shipped starter checkpoint, or a clear error when this installation lacks it."""
    if not STARTER_WEIGHTS.is_file():
        raise InputError(
            f"no weights given and the starter model is not installed ({STARTER_WEIGHTS} is missing). "
            "Reinstall stdpose-infer, or pass weights: an STDPose .safetensors checkpoint "
            "(`stdpose-infer import-vitpose` makes one from official ViTPose weights)"
        )
    return STARTER_WEIGHTS


def default_detector_file() -> Path:
    """The shipped person detector (MoveNet MultiPose ONNX), or a clear error when this installation lacks it."""
    if not DEFAULT_DETECTOR_FILE.is_file():
        raise InputError(
            f"the default detector is not installed ({DEFAULT_DETECTOR_FILE} is missing); name one: "
            "detector='hog' (needs no weights), 'movenet:PATH.onnx' or 'yolo:PATH.onnx'"
        )
    return DEFAULT_DETECTOR_FILE
