"""STDPose: the whole network, wired as the paper's Figure 2 (and ARCHITECTURE.md, "The network").

    frames (B, 3 [left, key, right], 3 RGB, 256, 192)
      -> ViT backbone + head on all three frames (one batched call): F_l, F_t, F_r and H_l, H_t, H_r
      -> TFF(F) = F~_t        TKS(H) = H~_t        DAM(H) = M_t
      -> STDA(H~_t, M_t, F~_t) = final heatmaps (B, J, 64, 48)

In propagation mode ``aux_heatmaps`` (B, 2 [left, right], J, 64, 48) replace H_l and H_r.
Ablation switches in the config turn each module off; with all off the class is the
single-frame ViTPose baseline (backbone + head on the key frame only).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from ..errors import InputError
from .config import STDPoseConfig
from .dam import DynamicAwareMask
from .head import HeatmapHead
from .stda import SpatioTemporalDynamicsAggregation
from .tff import TemporalFeatureFusion
from .tks import TemporalKeypointSynthesis
from .vit import ViT, init_transformer_weights

UNTRAINED = {
    "source": "random initialisation (stdpose_infer.build_model)",
    "licence": "n/a",
    "training_data": "none: untrained, poses from these weights are meaningless",
}


def check_inputs(c: STDPoseConfig, frames: torch.Tensor, aux_heatmaps: torch.Tensor | None) -> None:
    """Clear errors for model inputs of the wrong layout (see ARCHITECTURE.md, Conventions); every backend calls it."""
    want = (3, 3, *c.image_size)
    if not isinstance(frames, torch.Tensor) or frames.ndim != 5 or tuple(frames.shape[1:]) != want:
        got = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise InputError(
            f"frames must be a tensor (B, {', '.join(map(str, want))}) = (batch, frame [left aux, key, right aux], "
            f"RGB, H, W); got {got}. Stack the three crops of each person on axis 1."
        )
    if not frames.is_floating_point():
        raise InputError(f"frames must be float (ImageNet-normalised RGB), got {frames.dtype}")
    if aux_heatmaps is None:
        return
    want_aux = (frames.shape[0], 2, c.num_keypoints, *c.heatmap_size)
    if not isinstance(aux_heatmaps, torch.Tensor) or tuple(aux_heatmaps.shape) != want_aux:
        got = tuple(aux_heatmaps.shape) if isinstance(aux_heatmaps, torch.Tensor) else type(aux_heatmaps).__name__
        raise InputError(
            f"aux_heatmaps must be (B, 2, J, h, w) = {want_aux} (batch, [left, right], keypoints, h, w); got {got}"
        )
    if not c.uses_aux_heatmaps:
        raise InputError(
            "this configuration has neither TKS nor DAM, so aux_heatmaps would be ignored; "
            "propagation needs a model with use_tks or use_dam"
        )


class STDPose(nn.Module):
    def __init__(self, config: STDPoseConfig) -> None:
        super().__init__()
        self.config = c = config
        self.provenance: dict[str, Any] = dict(UNTRAINED)
        grid = c.token_grid
        self.backbone = ViT(
            grid, c.embed_dim, c.depth, c.num_heads, c.mlp_ratio, c.patch_size, c.patch_padding, c.drop_path_rate,
            c.cls_token, c.layer_scale,
        )  # fmt: skip
        self.keypoint_head = HeatmapHead(c.embed_dim, c.num_keypoints, c.deconv_channels)
        self.tff = (
            TemporalFeatureFusion(grid[0] * grid[1], c.embed_dim, c.tff_depth, c.num_heads, c.mlp_ratio)
            if c.use_tff
            else None
        )
        self.tks, self.dam, self.stda = _heatmap_modules(c)
        # propagate mode's own TKS, DAM and STDA (config.propagate_modules): estimate mode's stay as they are
        self.propagation = nn.ModuleDict(dict(zip(("tks", "dam", "stda"), _heatmap_modules(c)))) \
            if c.propagate_modules else None  # fmt: skip
        stdas = [self.stda] + ([self.propagation["stda"]] if self.propagation is not None else [])
        for part in (self.backbone, self.tff, *stdas):
            if part is not None:  # linear layers and norms only; heads and pos embeds init themselves
                part.apply(init_transformer_weights)
        for stda in stdas:
            if c.residual_heatmaps and stda is not None:  # the temporal part starts as the identity
                nn.init.zeros_(stda.head.final_layer.weight)
                nn.init.zeros_(stda.head.final_layer.bias)

    def check_inputs(self, frames: torch.Tensor, aux_heatmaps: torch.Tensor | None) -> None:
        """Clear errors for tensors of the wrong layout (see ``check_inputs``)."""
        check_inputs(self.config, frames, aux_heatmaps)

    def forward(self, frames: torch.Tensor, aux_heatmaps: torch.Tensor | None = None) -> torch.Tensor:
        """Heatmaps (B, J, h, w) of the key frame (frames[:, 1]); see the module docstring."""
        return self.forward_parts(frames, aux_heatmaps)["heatmaps"]

    def forward_parts(self, frames: torch.Tensor, aux_heatmaps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The final heatmaps plus what training's MI objective reads: the key frame's features F_t and
        heatmaps H_t, the fused features F~_t as a feature map, and the merged heatmaps H~_t (when present)."""
        self.check_inputs(frames, aux_heatmaps)
        if not self.config.temporal:  # single-frame baseline: the aux frames are never read
            feats = self.backbone(frames[:, 1])
            key = self.keypoint_head(feats)
            return {"heatmaps": key, "key_features": feats, "key_heatmaps": key}

        b = frames.shape[0]
        feats = self.backbone(frames.flatten(0, 1)).unflatten(0, (b, 3))  # (B, 3, C, gh, gw)
        if aux_heatmaps is None:
            heatmaps = self.keypoint_head(feats.flatten(0, 1)).unflatten(0, (b, 3))  # (B, 3, J, h, w)
        else:  # propagation: only the key frame's heatmaps come from the head
            key = self.keypoint_head(feats[:, 1])
            heatmaps = torch.stack([aux_heatmaps[:, 0].to(key.dtype), key, aux_heatmaps[:, 1].to(key.dtype)], dim=1)
        return self.temporal_parts(feats, heatmaps, propagate=aux_heatmaps is not None)

    def frame_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-frame half of the model: (N, 3, H, W) crops -> backbone features (N, C, gh, gw) and the head's
        heatmaps (N, J, h, w). A frame's result depends on nothing else, so a video pipeline can compute it once
        per crop and share it between the triplets that read that crop (cross-frame reuse)."""
        feats = self.backbone(images)
        return feats, self.keypoint_head(feats)

    def temporal(self, feats: torch.Tensor, heatmaps: torch.Tensor, propagate: bool = False) -> torch.Tensor:
        """The per-triplet half: (B, 3, C, gh, gw) features and (B, 3, J, h, w) heatmaps of [left aux, key, right
        aux] (``propagate``: the aux heatmaps are the labels' renderings) -> the key frame's heatmaps.
        ``forward(frames) == temporal(*frame_features(...))`` for the three frames of each triplet."""
        return self.temporal_parts(feats, heatmaps, propagate)["heatmaps"]

    def refine(self, fused: torch.Tensor, heatmaps: torch.Tensor, propagate: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """TKS, DAM and STDA (propagate mode's own where it has them) on TFF's output ``fused`` (B, N, C) and the
        triplet's (B, 3, J, h, w) heatmaps -> (the key frame's heatmaps, TKS's merged heatmaps). A model with STDA
        only; training that caches TFF's output calls it directly."""
        own = self.propagation if propagate and self.propagation is not None else None
        tks, dam, stda = (own["tks"], own["dam"], own["stda"]) if own is not None else (self.tks, self.dam, self.stda)
        h_left, h_key, h_right = heatmaps.unbind(1)
        merged = tks(heatmaps) if tks is not None else h_key
        mask = dam(h_left, h_key, h_right) if dam is not None else None
        refined = stda(merged, mask, fused).to(merged.dtype)
        out = h_key + refined if self.config.residual_heatmaps else refined
        if propagate and self.config.label_prior:
            out = label_prior_heatmaps(out, heatmaps)
        return out, merged

    def temporal_parts(self, feats: torch.Tensor, heatmaps: torch.Tensor, propagate: bool = False) -> dict[str, torch.Tensor]:  # fmt: skip
        """``temporal`` with the intermediate parts training's MI objective reads (see ``forward_parts``)."""
        b = feats.shape[0]
        gh, gw = self.config.token_grid
        h_key = heatmaps[:, 1]
        tokens = feats.flatten(3).transpose(2, 3)  # (B, 3, N, C)
        parts = {"key_features": feats[:, 1], "key_heatmaps": h_key}
        fused = self.tff(tokens) if self.tff is not None else tokens[:, 1]
        if self.tff is not None:
            parts["fused_features"] = fused.transpose(1, 2).reshape(b, -1, gh, gw)
        if self.stda is not None:
            parts["heatmaps"], merged = self.refine(fused, heatmaps, propagate)
            if self.tks is not None:  # propagate mode's own TKS exists exactly when estimate mode's does
                parts["merged_heatmaps"] = merged
            return parts
        merged = self.tks(heatmaps) if self.tks is not None else h_key
        # Table 4 rows (b) and (c): no decoder, so each active module yields heatmaps directly.
        outputs = []
        if self.tff is not None:
            outputs.append(self.keypoint_head(parts["fused_features"]))
        if self.tks is not None:
            outputs.append(merged)
        parts["heatmaps"] = torch.stack(outputs).mean(0)
        return parts


def label_prior_heatmaps(out: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
    """A ``label_prior`` model's propagate-mode output: the temporal half's ``out`` (key heatmaps + correction)
    rebased on the carried labels, the mean of the (B, 3, J, h, w) ``heatmaps``' two aux slots; a joint whose aux
    slots are both empty (labelled on neither side) keeps the key frame's heatmap as its base (see the config)."""
    key = heatmaps[:, 1].to(out.dtype)
    carried = 0.5 * (heatmaps[:, 0] + heatmaps[:, 2]).to(out.dtype)
    seen = carried.flatten(2).amax(2)[..., None, None] > 0  # (B, J, 1, 1)
    return out - key + torch.where(seen, carried, key)


def _heatmap_modules(c: STDPoseConfig) -> tuple[nn.Module | None, nn.Module | None, nn.Module | None]:
    """The config's TKS, DAM and STDA (None where switched off): the temporal modules that read heatmaps."""
    tks = TemporalKeypointSynthesis(c.num_keypoints, c.tks_group_channels, c.tks_channels) if c.use_tks else None
    dam = DynamicAwareMask(c.num_keypoints, c.dam_k, c.dam_theta, c.dam_compression, c.dam_weighting) \
        if c.use_dam else None  # fmt: skip
    stda = SpatioTemporalDynamicsAggregation(
        c.num_keypoints, c.embed_dim, c.stda_depth, c.num_heads, c.token_grid, c.stda_patch_size, c.mlp_ratio,
        c.deconv_channels, c.dam_scale,
    ) if c.use_stda else None  # fmt: skip
    return tks, dam, stda


def build_model(variant: str = "b", num_keypoints: int = 17, **overrides: Any) -> STDPose:
    """A randomly initialised STDPose of a ViTPose size ("s", "b", "l", "h") or the tiny "t".

    ``overrides`` set any ``STDPoseConfig`` field, e.g. ``use_dam=False`` for an ablation or
    ``keypoint_format="coco"``. All four modules off gives the single-frame ViTPose baseline.
    """
    return STDPose(STDPoseConfig.for_variant(variant, num_keypoints=num_keypoints, **overrides)).eval()


def baseline_config(config: STDPoseConfig) -> STDPoseConfig:
    """The single-frame ViTPose baseline (paper Table 4 row a) with the same backbone and head."""
    return dataclasses.replace(config, use_tff=False, use_tks=False, use_dam=False, use_stda=False,
                               label_prior=False, propagate_modules=False)
