"""Dynamic-Aware Mask (DAM, paper Sec. 3.2), the learnable module; its math is in ``dam_reference``."""

from __future__ import annotations

import torch
from torch import nn

from .dam_reference import dam_mask_reference, dynamic_aware_mask, modified_sigmoid

__all__ = ["DynamicAwareMask", "dynamic_aware_mask", "modified_sigmoid"]


class DynamicAwareMask(nn.Module):
    """Learnable part of DAM: channel compression and forward/backward weights (see config.py).

    ``fused_kernel`` (off by default; ``kernels.dam_op.set_fused_dam`` sets it) runs the fused CUDA
    kernel for inference on a GPU; with gradients on, or on the CPU, the reference math runs.
    """

    fused_kernel = False

    def __init__(
        self,
        num_keypoints: int,
        k: float = 1.5,
        theta: float = 0.5,
        compression: str = "conv1x1",
        weighting: str = "learned",
    ) -> None:
        super().__init__()
        self.k, self.theta = k, theta
        mean = torch.full((num_keypoints,), 1.0 / num_keypoints)
        half = torch.tensor([0.5, 0.5])
        # Learned or fixed, both live in the state dict so every backend reads the same numbers.
        if compression == "conv1x1":
            self.channel_weights = nn.Parameter(mean)
        else:  # "mean"
            self.register_buffer("channel_weights", mean)
        if weighting == "learned":
            self.direction_weights = nn.Parameter(half)
        else:  # "equal"
            self.register_buffer("direction_weights", half)

    def forward(self, h_left: torch.Tensor, h_key: torch.Tensor, h_right: torch.Tensor) -> torch.Tensor:
        if self.fused_kernel and h_key.is_cuda and not torch.is_grad_enabled():
            # registered by kernels.dam_op, which set_fused_dam imports
            op = torch.ops.stdpose.dam_mask
            return op(h_left, h_key, h_right, self.channel_weights, self.direction_weights, self.k, self.theta)
        return dam_mask_reference(
            h_left, h_key, h_right, self.channel_weights, self.direction_weights, self.k, self.theta
        )
