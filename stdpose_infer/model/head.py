"""The classic heatmap head (SimpleBaseline / ViTPose ``TopdownHeatmapSimpleHead``).

Two [ConvTranspose2d 4x4 stride 2 (no bias) -> BatchNorm -> ReLU] stages upsample the 16 x 12
tokens to 64 x 48, then a 1x1 conv gives one heatmap per keypoint. The attribute names match
ViTPose's ``keypoint_head.deconv_layers.{0,1,3,4}`` and ``final_layer`` so checkpoints load as is.

``PhaseDeconvolution`` is the same 4x4 stride-2 transposed convolution written as one 2x2 convolution (each of
the four output phases its own kernels) and a pixel shuffle: exported graphs use it (``phase_deconvolutions``)
because OpenVINO's CPU plugin runs transposed convolutions in FP32 even when asked for BF16 (4.8x and 2.4x slower
than this form for the head's two layers in BF16 on an AMX CPU, and 5-15 % slower in FP32).
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


class PhaseDeconvolution(nn.Module):
    """``ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False)`` as a 2x2 convolution giving the four
    output phases (even/odd row, even/odd column) side by side in channels, then a pixel shuffle. The same
    function to float rounding; the weights are the transposed convolution's, rearranged."""

    def __init__(self, deconvolution: nn.ConvTranspose2d) -> None:
        super().__init__()
        w = deconvolution.weight.detach()  # (c_in, c_out, 4, 4)
        c_in, c_out = w.shape[:2]
        self.c_out = c_out
        self.conv = nn.Conv2d(c_in, 4 * c_out, 2, padding=1, bias=False).to(w.dtype)
        phases = torch.zeros(2, 2, c_out, c_in, 2, 2, dtype=w.dtype)
        # output row 2m + a reads input rows m - 1 + a (kernel row 3 - a) and m + a (kernel row 1 - a); same for columns
        for a in range(2):
            for b in range(2):
                for r in range(2):
                    for c in range(2):
                        phases[a, b, :, :, r, c] = w[:, :, 3 - a - 2 * r, 3 - b - 2 * c].T
        self.conv.weight.data = phases.reshape(4 * c_out, c_in, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        y = self.conv(x)  # (N, 4 c_out, h + 1, w + 1): phase (a, b) is its window starting at (a, b)
        c = self.c_out
        parts = [y[:, (2 * a + b) * c : (2 * a + b + 1) * c, a : a + h, b : b + w] for a in range(2) for b in range(2)]
        return nn.functional.pixel_shuffle(torch.stack(parts, 2).flatten(1, 2), 2)


def phase_deconvolutions(model: nn.Module) -> nn.Module:
    """``model`` with every 4x4 stride-2 transposed convolution (the heads') replaced by ``PhaseDeconvolution``,
    in place: the form exported graphs use."""
    for name, child in model.named_children():
        if (isinstance(child, nn.ConvTranspose2d) and child.kernel_size == (4, 4) and child.stride == (2, 2)
                and child.padding == (1, 1) and child.output_padding == (0, 0) and child.dilation == (1, 1)
                and child.groups == 1 and child.bias is None):  # fmt: skip
            setattr(model, name, PhaseDeconvolution(child))
        else:
            phase_deconvolutions(child)
    return model
