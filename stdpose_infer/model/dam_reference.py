"""The Dynamic-Aware Mask's reference math (DAM, paper Sec. 3.2): where did the pose move between frames?

Forward and backward pose residuals (H_t - H_l, H_t - H_r) go through the modified sigmoid of
eq. 3 per channel, are compressed to one channel, added with weights, and a softmax over the
spatial positions gives the mask M_t (B, 1, h, w), which sums to 1 per sample.

``dynamic_aware_mask`` is the reference math, written once: the fused CUDA kernel and every
exported graph are tested against it. It always runs in FP32 (residuals are small differences,
and the softmax over 3,072 positions underflows in FP16).
"""

from __future__ import annotations

import torch


def modified_sigmoid(x: torch.Tensor, k: float = 1.5, theta: float = 0.5) -> torch.Tensor:
    """Eq. 3: ``1 / (1 + exp(-k * (|x| - theta)))``: responds to change of either sign."""
    return torch.sigmoid(k * (x.abs() - theta))


def dynamic_aware_mask(
    h_left: torch.Tensor,
    h_key: torch.Tensor,
    h_right: torch.Tensor,
    channel_weights: torch.Tensor,
    forward_weight: torch.Tensor | float,
    backward_weight: torch.Tensor | float,
    k: float = 1.5,
    theta: float = 0.5,
) -> torch.Tensor:
    """Reference DAM: three (B, J, h, w) heatmaps -> mask M (B, 1, h, w) in FP32, summing to 1.

    ``channel_weights`` (J,) compress the channels (a 1x1 conv without bias); the forward and
    backward maps are then added as ``forward_weight * fwd + backward_weight * bwd``.
    """
    with torch.autocast(device_type=h_key.device.type, enabled=False):
        h_left, h_key, h_right = h_left.float(), h_key.float(), h_right.float()
        moved = forward_weight * modified_sigmoid(h_key - h_left, k, theta) + backward_weight * modified_sigmoid(
            h_key - h_right, k, theta
        )
        logits = (moved * channel_weights.float()[:, None, None]).sum(dim=1)  # 1x1 conv, no bias
        b, h, w = logits.shape
        return logits.reshape(b, h * w).softmax(dim=-1).reshape(b, 1, h, w)


def dam_mask_reference(
    h_left: torch.Tensor,
    h_key: torch.Tensor,
    h_right: torch.Tensor,
    channel_weights: torch.Tensor,
    direction_weights: torch.Tensor,
    k: float,
    theta: float,
) -> torch.Tensor:
    """``dynamic_aware_mask`` with the learned (2,) [forward, backward] weights as the module stores them."""
    w = direction_weights.float()
    return dynamic_aware_mask(h_left, h_key, h_right, channel_weights, w[0], w[1], k, theta)
