"""SpatioTemporal Dynamics Aggregation (STDA, paper Sec. 3.2 and eq. 12-13): the pose decoder.

The masked heatmaps H~ (.) M and H~ itself are patch-embedded (4 x 4 patches: 64 x 48 -> the
same 16 x 12 grid as the ViT features) with a position embedding. N Pose Aggregation blocks
(pre-LN self-attention, cross-attention whose keys and values come from the fused feature F~_t,
FFN) refine the tokens, and a classic head upsamples them to the final heatmaps.
"""

from __future__ import annotations

import torch
from torch import nn

from .head import HeatmapHead
from .vit import Attention, LayerNorm, Mlp, _merge_heads, _split_heads, attention


class CrossAttention(nn.Module):
    """Eq. 12: Q from the heatmap tokens, K and V from the fused visual feature."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = self.num_heads
        k, v = self.kv(context).chunk(2, dim=-1)
        out = attention(_split_heads(self.q(x), h), _split_heads(k, h), _split_heads(v, h))
        return self.proj(_merge_heads(out))


class PoseAggregationBlock(nn.Module):
    """Self-attention, cross-attention to F~_t, FFN; a LayerNorm before each."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.self_attn = Attention(dim, num_heads)
        self.norm2 = LayerNorm(dim)
        self.norm_context = LayerNorm(dim)
        self.cross_attn = CrossAttention(dim, num_heads)
        self.norm3 = LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x))
        x = x + self.cross_attn(self.norm2(x), self.norm_context(context))
        return x + self.mlp(self.norm3(x))


class SpatioTemporalDynamicsAggregation(nn.Module):
    def __init__(
        self,
        num_keypoints: int,
        dim: int,
        depth: int,
        num_heads: int,
        grid: tuple[int, int],
        patch_size: int = 4,
        mlp_ratio: float = 4.0,
        head_channels: int = 256,
        mask_scale: str = "hw",
    ) -> None:
        super().__init__()
        self.mask_scale = mask_scale
        self.patch_embed = nn.Conv2d(2 * num_keypoints, dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], dim))
        self.blocks = nn.ModuleList(PoseAggregationBlock(dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = LayerNorm(dim)
        self.head = HeatmapHead(dim, num_keypoints, head_channels)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def masked_heatmaps(self, heatmaps: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """H~ (.) M in FP32, with M scaled by h * w (mean 1) unless ``mask_scale == "none"``.

        ``mask=None`` (DAM switched off) is the uniform mask.
        """
        h, w = heatmaps.shape[-2:]
        with torch.autocast(device_type=heatmaps.device.type, enabled=False):
            heatmaps = heatmaps.float()
            scale = float(h * w) if self.mask_scale == "hw" else 1.0
            if mask is None:
                return heatmaps * (scale / (h * w))
            return heatmaps * (mask.float() * scale)

    def forward(self, heatmaps: torch.Tensor, mask: torch.Tensor | None, fused: torch.Tensor) -> torch.Tensor:
        """H~_t (B, J, h, w), M_t (B, 1, h, w) or None, F~_t (B, N, C) -> final heatmaps (B, J, h, w)."""
        x = torch.cat([self.masked_heatmaps(heatmaps, mask), heatmaps.float()], dim=1)
        x = self.patch_embed(x.to(self.patch_embed.weight.dtype))
        b, c, gh, gw = x.shape
        x = x.flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x, fused)
        return self.head(self.norm(x).transpose(1, 2).reshape(b, c, gh, gw))
