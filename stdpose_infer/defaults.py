"""The model files shipped inside the package (``assets/``): the starter STDPose checkpoint and the default detector.

``Pipeline()`` and ``stdpose-infer run VIDEO`` use them when no weights or detector are named; ``assets/README.md``
says where each came from, its licence, and what the starter model was trained on and scores.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

ASSETS = Path(__file__).resolve().parent / "assets"
STARTER_WEIGHTS = ASSETS / "stdpose-s14-starter.safetensors"
NANODET_FILE = ASSETS / "nanodet.onnx"  # NanoDet (COCO objects; its person class), Apache-2.0
# The default detector's settings, chosen by measurement (benchmarks/results/*_default_detector.md): NanoDet on the
# whole frame with its longer side at 800, person score >= 0.3. Recall and end-to-end mAP on real 1080p crowds meet
# the goals; 416 at >= 0.2 scored alike there but put twice the false boxes on street furniture, which halved the
# pipeline's frame rate (every box is a pose crop).
DEFAULT_DETECTOR = {"input_side": 800, "score_threshold": 0.3}


def default_weights() -> Path:
    """The shipped starter checkpoint, or a clear error when this installation lacks it."""
    if not STARTER_WEIGHTS.is_file():
        raise InputError(
            f"no weights given and the starter model is not installed ({STARTER_WEIGHTS} is missing). "
            "Reinstall stdpose-infer, or pass weights: an STDPose .safetensors checkpoint "
            "(`stdpose-infer import-vitpose` makes one from official ViTPose weights)"
        )
    return STARTER_WEIGHTS


def shipped_detector_file(path: Path = NANODET_FILE) -> Path:
    """The shipped detector's file (NanoDet), or a clear error when it is missing."""
    if not path.is_file():
        raise InputError(
            f"the shipped detector {path.name} is not installed ({path} is missing); reinstall stdpose-infer, or "
            "name one: detector='hog' (needs no weights), 'nanodet:PATH.onnx', 'movenet:PATH.onnx' or 'yolo:PATH.onnx'"
        )
    return path
