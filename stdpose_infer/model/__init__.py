"""The STDPose network: ViT backbone, TFF, TKS, DAM, STDA and their configuration."""

from .config import VARIANTS, STDPoseConfig
from .dam import dynamic_aware_mask, modified_sigmoid
from .stdpose import STDPose, baseline_config, build_model

__all__ = [
    "VARIANTS",
    "STDPose",
    "STDPoseConfig",
    "baseline_config",
    "build_model",
    "dynamic_aware_mask",
    "modified_sigmoid",
]
