"""Plain ViT backbone as in ViTPose (``mmpose/models/backbones/vit.py``), with its state-dict names.

Patch 16 with padding 2 turns 256 x 192 into 16 x 12 tokens; pre-norm blocks; a final LayerNorm;
tokens come out as a (B, C, 16, 12) map. Attention, MLP and the block are reused by TFF and STDA.
Two options give DINOv2's layout (patch 14 at 224 x 168 gives the same 16 x 12 grid): a class token
and per-channel layer scales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError


class LayerNorm(nn.LayerNorm):
    """ViTPose's norm (eps 1e-6), always computed in FP32: FP16 statistics over C channels overflow.

    Under FP32 or autocast this is plain ``nn.LayerNorm``; in a ``.half()`` model (and so in the
    FP16 ONNX that TensorRT builds strongly typed) it casts around the normalisation.
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:
            return super().forward(x)
        w, b = self.weight.float(), self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, w, b, self.eps).to(x.dtype)


class DropPath(nn.Module):
    """Stochastic depth per sample (training only)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.view(b, n, heads, c // heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention over (B, heads, N, d); the softmax is FP32 in exported FP16 graphs.

    Eager PyTorch uses SDPA (its fused kernels keep the softmax in FP32 already); an ONNX export of a
    half model spells the softmax out in FP32, because TensorRT builds FP16 graphs strongly typed.
    """
    if q.dtype == torch.float32 or not torch.onnx.is_in_onnx_export():
        return F.scaled_dot_product_attention(q, k, v)
    logits = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    return logits.float().softmax(dim=-1).to(q.dtype) @ v


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection (ViTPose names: qkv, proj)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            # three products in exported graphs (graph form 2): one product and a Split (a reference kernel in
            # OpenVINO) ran the B triplet 6 % slower on OpenVINO BF16, 3 % FP32, 5 % on ONNX Runtime FP32
            # (benchmarks/attention_projections.py); the state dict keeps ViTPose's fused qkv
            w, b, c = self.qkv.weight, self.qkv.bias, x.shape[-1]
            q, k, v = (F.linear(x, w[i * c : (i + 1) * c], b[i * c : (i + 1) * c]) for i in range(3))
        else:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        h = self.num_heads
        out = attention(_split_heads(q, h), _split_heads(k, h), _split_heads(v, h))
        return self.proj(_merge_heads(out))


class LayerScale(nn.Module):
    """Per-channel scale of a residual branch (DINOv2, CaiT); timm's name ``gamma``."""

    def __init__(self, dim: int, init: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)) (each optionally layer-scaled)."""

    def __init__(
        self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0, layer_scale: bool = False
    ) -> None:
        super().__init__()
        self.norm1 = LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.drop_path = DropPath(drop_path)
        self.norm2 = LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls1 = LayerScale(dim) if layer_scale else nn.Identity()
        self.ls2 = LayerScale(dim) if layer_scale else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.ls1(self.attn(self.norm1(x))))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, padding: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class ViT(nn.Module):
    """ViTPose backbone: images (N, 3, H, W) -> features (N, C, H/patch, W/patch).

    ``pos_embed`` holds one entry per patch. ViTPose stores (1, 1 + patches, C) with an unused
    class-token slot and adds ``pos_embed[:, 1:] + pos_embed[:, :1]``; the importer folds that sum.
    With ``cls_token`` (DINOv2) a class token, its position already added, is prepended to the
    patches and dropped after the last block.
    """

    def __init__(
        self,
        grid: tuple[int, int],
        embed_dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        patch_size: int = 16,
        patch_padding: int = 2,
        drop_path_rate: float = 0.0,
        cls_token: bool = False,
        layer_scale: bool = False,
    ) -> None:
        super().__init__()
        self.grid = grid
        self.patch_embed = PatchEmbed(patch_size, patch_padding, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], embed_dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if cls_token else None
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]  # linear decay rule
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio, r, layer_scale) for r in rates)
        self.last_norm = LayerNorm(embed_dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        b, c, hp, wp = x.shape
        if (hp, wp) != self.grid:
            raise InputError(f"patch grid {hp}x{wp} does not match the configured {self.grid[0]}x{self.grid[1]}")
        x = x.flatten(2).transpose(1, 2) + self.pos_embed
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(b, -1, -1).to(x.dtype), x], dim=1)
        for block in self.blocks:
            x = block(x)
        if self.cls_token is not None:
            x = x[:, 1:]
        return self.last_norm(x).transpose(1, 2).reshape(b, c, hp, wp)


def init_transformer_weights(module: nn.Module) -> None:
    """ViTPose initialisation: truncated normal for linear layers, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
