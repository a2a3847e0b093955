"""Temporal Feature Fusion (TFF, paper Sec. 3.1): three frames' ViT features -> one fused feature.

A learnable position embedding per (frame, token) is added to F_l, F_t, F_r; the 3 x N tokens are
concatenated and pass through ``depth`` transformer blocks, so every token attends across frames;
an MLP then aggregates each token position's three encodings into F~_t.
"""

from __future__ import annotations

import torch
from torch import nn

from .vit import Block, LayerNorm


class TemporalFeatureFusion(nn.Module):
    def __init__(self, num_tokens: int, dim: int, depth: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, 3, num_tokens, dim))
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = LayerNorm(dim)
        self.aggregate = nn.Sequential(nn.Linear(3 * dim, dim), nn.GELU(), nn.Linear(dim, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, 3, N, C) tokens of [left, key, right] -> (B, N, C) fused tokens F~_t."""
        b, t, n, c = features.shape
        x = (features + self.pos_embed).reshape(b, t * n, c)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x).view(b, t, n, c).permute(0, 2, 1, 3).reshape(b, n, t * c)
        return self.aggregate(x)
