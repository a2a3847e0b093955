"""The classic heatmap head (SimpleBaseline / ViTPose ``TopdownHeatmapSimpleHead``).

Two [ConvTranspose2d 4x4 stride 2 (no bias) -> BatchNorm -> ReLU] stages upsample the 16 x 12
tokens to 64 x 48, then a 1x1 conv gives one heatmap per keypoint. The attribute names match
ViTPose's ``keypoint_head.deconv_layers.{0,1,3,4}`` and ``final_layer`` so checkpoints load as is.
"""

from __future__ import annotations

import torch
from torch import nn


class HeatmapHead(nn.Module):
    def __init__(self, in_channels: int, num_keypoints: int, channels: int = 256) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in in (in_channels, channels):
            layers += [
                nn.ConvTranspose2d(c_in, channels, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(channels, num_keypoints, kernel_size=1)
        for m in self.modules():  # ViTPose's head initialisation
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) features -> (N, J, 4h, 4w) heatmaps."""
        return self.final_layer(self.deconv_layers(x))
