"""Temporal Keypoint Synthesis (TKS, paper eq. 6): three frames' heatmaps -> merged heatmaps H~_t.

1. Per keypoint j, a conv block over its temporal slice [H_l^j, H_t^j, H_r^j] (grouped conv,
   one group per keypoint: joints' trajectories are treated independently).
2. A conv over all keypoints' temporal features (spatial relations between joints).
3. Concatenate with the raw sequence H_l, H_t, H_r and a final conv -> J heatmaps.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, groups=groups, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class TemporalKeypointSynthesis(nn.Module):
    def __init__(self, num_keypoints: int, group_channels: int = 8, channels: int = 64) -> None:
        super().__init__()
        j, g = num_keypoints, group_channels
        self.temporal = nn.Sequential(conv_block(3 * j, j * g, groups=j), conv_block(j * g, j * g, groups=j))
        self.spatial = conv_block(j * g, channels)
        self.fuse = nn.Sequential(conv_block(channels + 3 * j, channels), nn.Conv2d(channels, j, 1))

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        """(B, 3, J, h, w) heatmaps of [left, key, right] -> (B, J, h, w) merged heatmaps H~_t."""
        b, t, j, h, w = heatmaps.shape
        per_joint = heatmaps.transpose(1, 2).reshape(b, j * t, h, w)  # channel 3j + frame
        merged = self.spatial(self.temporal(per_joint))
        return self.fuse(torch.cat([merged, heatmaps.reshape(b, t * j, h, w)], dim=1))
