"""stdpose-infer: STDPose video pose estimation and propagation, from PyTorch to deployment.

The public API (one screen):

    build_model(variant, ...)         a randomly initialised STDPose ("t", "s", "b", "l", "h")
    load_model(path)                  a saved checkpoint (.safetensors) -> STDPose
    save_weights(model, path)         write a checkpoint with its config and provenance
    load_vitpose(model, path)         import an official ViTPose .pth into backbone + head
    decode_heatmaps(heatmaps, method) heatmaps -> keypoints (heatmap pixels) and scores
    render_heatmaps(keypoints, vis)   keypoints -> Gaussian heatmaps (training, propagation)
    flip_heatmaps(heatmaps, format)   undo a horizontal flip (flip test)
    box_to_center_scale / get_affine / heatmap_to_image   the UDP crop geometry
"""

from ._version import __version__
from .crops import box_to_center_scale, get_affine, heatmap_to_image, image_to_heatmap
from .decode import decode_heatmaps, flip_heatmaps, render_heatmaps
from .errors import CheckpointError, InputError, StdposeError
from .export import export_onnx
from .keypoints import COCO, POSETRACK, KeypointFormat, convert_keypoints, get_format
from .model import STDPose, STDPoseConfig, build_model
from .pipeline import Pipeline
from .results import PoseResult
from .runtime import load_backend
from .weights import load_model, load_vitpose, load_weights, save_weights

__all__ = [
    "COCO",
    "POSETRACK",
    "CheckpointError",
    "InputError",
    "KeypointFormat",
    "Pipeline",
    "PoseResult",
    "STDPose",
    "STDPoseConfig",
    "StdposeError",
    "__version__",
    "box_to_center_scale",
    "build_model",
    "convert_keypoints",
    "decode_heatmaps",
    "export_onnx",
    "flip_heatmaps",
    "get_affine",
    "get_format",
    "heatmap_to_image",
    "image_to_heatmap",
    "load_backend",
    "load_model",
    "load_vitpose",
    "load_weights",
    "render_heatmaps",
    "save_weights",
]
