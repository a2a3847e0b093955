"""The STDPose network: ViT backbone, TFF, TKS, DAM, STDA and their configuration."""

from .config import MODES, VARIANTS, STDPoseConfig
from .dam_reference import dynamic_aware_mask, modified_sigmoid
from .stdpose import STDPose, baseline_config, build_model

__all__ = [
    "MODES",
    "VARIANTS",
    "STDPose",
    "STDPoseConfig",
    "baseline_config",
    "build_model",
    "dynamic_aware_mask",
    "modified_sigmoid",
]
