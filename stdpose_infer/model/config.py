"""Model configuration: ViTPose dimensions per variant, and every choice the paper leaves open.

The config travels inside each checkpoint (safetensors metadata), so a file always rebuilds the
network it was saved from. Choices the paper does not pin down, and why we made them:

- ``tff_depth = 2``: the paper says "cascaded Transformer blocks" over 3 x 192 tokens. Two blocks
  let every token attend across frames twice for ~1/6 of the three backbone passes' cost.
- ``stda_depth = 2``: N Pose Aggregation blocks is unspecified; two keep the decoder lighter than
  one ViT-B block per frame while stacking self- and cross-attention twice.
- ``dam_compression = "conv1x1"``: "compress the channels into a single channel" is read as the
  usual learned 1x1 convolution (no bias: a constant shifts nothing under the softmax),
  initialised to the channel mean.
- ``dam_weighting = "learned"``: forward and backward maps are added with two learned scalars
  (init 0.5 each). Their magnitude doubles as the softmax temperature, so no extra one is needed.
- ``dam_scale = "hw"``: a spatial softmax over 64 x 48 = 3,072 positions leaves M near 3e-4, so
  H~ (.) M would vanish (and underflow in FP16). STDA uses H~ (.) (M * H * W): the mask has mean
  1 and a uniform mask is the identity, which is exactly what "DAM off" means.
- ``residual_heatmaps = True`` for new models (``build_model``): the final heatmaps are the key frame's
  own heatmaps plus STDA's output, and STDA's last layer starts at zero. An untrained temporal part is
  then the identity, so imported single-frame weights (ViTPose, a pretrained backbone) give their
  single-frame poses from step 0 and training only adds. Checkpoints saved before it load with False
  (the paper's form: STDA alone gives the heatmaps). Rows without STDA (Table 4 b, c) ignore it.
- ``label_prior`` (propagate mode, with ``residual_heatmaps``): the pipeline renders both aux slots from the labels
  carried to the key frame (point tracking, else interpolation), and the final heatmaps are those carried labels
  (the mean of the two slots) plus STDA's output, instead of the key frame's heatmaps plus it. With STDA's last
  layer at zero the model then equals its carried labels, and training adds what the pixels show (issue 37's
  "a residual over the labels"). A joint the labels have on neither side keeps the key frame's own heatmap as its
  base. Estimate mode is unchanged in form. ``label_prior_heatmaps`` is the one formula.
- ``propagate_modules`` (with ``label_prior``): propagate mode runs its own copy of TKS, DAM and STDA (TFF, the
  backbone and the head stay shared), so training propagation leaves estimate mode's weights, and its poses,
  exactly as they were. Such a model's propagate-mode per-triplet half exports as its own graph
  ("propagate_temporal"); +3.9 M parameters for STDPose-S14.
- ``cls_token``, ``layer_scale``: backbone details of DINOv2-style ViTs (a class token that attends with
  the patches and is dropped at the output; per-channel residual scales). Off for ViTPose.
- ``tks_group_channels = 8``, ``tks_channels = 64``: width of TKS's per-keypoint temporal convs
  and of its cross-keypoint conv (eq. 6); heatmaps are low-level signals, so narrow convs suffice.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..keypoints import get_format

MODES = ("estimate", "propagate")  # estimate: aux frames read by the model; propagate: aux heatmaps given

# ViTPose backbone dimensions; "t" is a tiny variant for tests.

VARIANTS: dict[str, dict[str, Any]] = {
    "t": dict(
        embed_dim=64,
        depth=2,
        num_heads=2,
        deconv_channels=32,
        tff_depth=1,
        stda_depth=1,
        tks_group_channels=2,
        tks_channels=16,
    ),
    "s": dict(embed_dim=384, depth=12, num_heads=12, drop_path_rate=0.3),
    # DINOv2 ViT-S/14's layout (`stdpose-infer import-backbone`): 14-px patches at 224 x 168 give
    # ViTPose's 16 x 12 token grid and 64 x 48 heatmaps. Narrower heads and one TFF / STDA block keep the
    # FP16 checkpoint under 64 MB (the package budget) and the CPU cost low.
    "s14": dict(
        embed_dim=384, depth=12, num_heads=6, image_size=(224, 168), patch_size=14, patch_padding=0,
        cls_token=True, layer_scale=True, drop_path_rate=0.1, deconv_channels=128, tff_depth=1, stda_depth=1,
    ),
    "b": dict(embed_dim=768, depth=12, num_heads=12, drop_path_rate=0.3),
    "l": dict(embed_dim=1024, depth=24, num_heads=16, drop_path_rate=0.5),
    "h": dict(embed_dim=1280, depth=32, num_heads=16, drop_path_rate=0.55),
}


@dataclass
class STDPoseConfig:
    """Every hyper-parameter of an STDPose network; serialisable to JSON."""

    variant: str = "b"
    num_keypoints: int = 17
    keypoint_format: str = "posetrack"
    image_size: tuple[int, int] = (256, 192)  # (H, W); heatmaps are image_size / 4
    # ViT backbone (ViTPose)
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    patch_padding: int = 2
    drop_path_rate: float = 0.0  # training only; eval() disables it
    cls_token: bool = False  # DINOv2: a class token joins the patches (dropped at the output)
    layer_scale: bool = False  # DINOv2: per-channel scales on each residual branch
    # classic heatmap head (2 x deconv 4x4/2 + BN + ReLU, then 1x1 conv)
    deconv_channels: int = 256
    # ablation switches (paper Table 4); all False = single-frame ViTPose baseline
    use_tff: bool = True
    use_tks: bool = True
    use_dam: bool = True
    use_stda: bool = True
    # TFF
    tff_depth: int = 2
    # TKS
    tks_group_channels: int = 8
    tks_channels: int = 64
    # DAM (eq. 3: k, theta)
    dam_k: float = 1.5
    dam_theta: float = 0.5
    dam_compression: str = "conv1x1"
    dam_weighting: str = "learned"
    dam_scale: str = "hw"
    # STDA
    stda_depth: int = 2
    stda_patch_size: int = 4
    residual_heatmaps: bool = False  # final = key-frame heatmaps + STDA (True for new models; see above)
    label_prior: bool = False  # propagate mode: final = the labels carried to the key frame + STDA (see above)
    propagate_modules: bool = False  # propagate mode runs its own TKS, DAM and STDA (see above)

    def __post_init__(self) -> None:
        self.image_size = tuple(int(s) for s in self.image_size)  # JSON gives lists
        fmt = get_format(self.keypoint_format)
        if fmt.num_keypoints != self.num_keypoints:
            raise InputError(
                f"keypoint_format {fmt.name!r} has {fmt.num_keypoints} slots but num_keypoints="
                f"{self.num_keypoints}; use keypoint_format matching the head"
            )
        h, w = self.image_size
        if h % self.patch_size or w % self.patch_size:
            raise InputError(f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}")
        if self.embed_dim % self.num_heads:
            raise InputError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.use_dam and not self.use_stda:
            raise InputError("use_dam=True needs use_stda=True: the dynamic-aware mask is consumed by STDA")
        if self.label_prior and not (self.residual_heatmaps and self.use_stda):
            raise InputError("label_prior=True needs residual_heatmaps=True and use_stda=True: the carried labels "
                             "are the base that STDA corrects")  # fmt: skip
        if self.propagate_modules and not self.label_prior:
            raise InputError("propagate_modules=True needs label_prior=True: propagate mode's own modules correct "
                             "the labels carried to the key frame")  # fmt: skip
        if self.dam_scale not in ("hw", "none"):
            raise InputError(f"dam_scale must be 'hw' or 'none', got {self.dam_scale!r}")
        if self.dam_compression not in ("conv1x1", "mean"):
            raise InputError(f"dam_compression must be 'conv1x1' or 'mean', got {self.dam_compression!r}")
        if self.dam_weighting not in ("learned", "equal"):
            raise InputError(f"dam_weighting must be 'learned' or 'equal', got {self.dam_weighting!r}")

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(H, W) of the heatmaps: the head upsamples the token grid 4x (64 x 48 for 256 x 192 / 16)."""
        gh, gw = self.token_grid
        return gh * 4, gw * 4

    @property
    def input_wh(self) -> tuple[int, int]:
        """(W, H) of the input crop, the order cv2 and the crop geometry use."""
        return self.image_size[1], self.image_size[0]

    @property
    def heatmap_wh(self) -> tuple[int, int]:
        """(W, H) of the heatmaps."""
        return self.heatmap_size[1], self.heatmap_size[0]

    @property
    def token_grid(self) -> tuple[int, int]:
        """(H, W) of the ViT token grid: 16 x 12 for a 256 x 192 input."""
        return self.image_size[0] // self.patch_size, self.image_size[1] // self.patch_size

    @property
    def temporal(self) -> bool:
        """False for the single-frame baseline, which reads the key frame only."""
        return self.use_tff or self.use_tks or self.use_stda

    @property
    def uses_aux_heatmaps(self) -> bool:
        """Whether propagation-mode aux heatmaps reach the output (through TKS or DAM)."""
        return self.use_tks or self.use_dam

    @property
    def split_propagate(self) -> bool:
        """Whether propagate mode's per-triplet half differs from estimate mode's (``label_prior``): it is then its
        own split graph, "propagate_temporal"."""
        return self.label_prior

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> STDPoseConfig:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown config fields {unknown}: saved by a newer stdpose-infer?")
        return cls(**data)

    @classmethod
    def for_variant(cls, variant: str = "b", **overrides: Any) -> STDPoseConfig:
        if variant not in VARIANTS:
            raise InputError(f"unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unknown config overrides {unknown}")
        return cls(variant=variant, **{"residual_heatmaps": True, **VARIANTS[variant], **overrides})
