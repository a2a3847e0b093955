"""Import official ViTPose checkpoints (.pth) into the STDPose backbone and its heatmap head.

Two key layouts are understood:

- mmpose 0.x (the ViTPose repository): ``backbone.blocks.{i}.norm1 ...``, ``keypoint_head.*``; these
  are our own names. Its ``pos_embed`` (1, 1 + patches, C) carries an unused class-token slot that
  the forward adds to every patch, so we fold it: ``pos[:, 1:] + pos[:, :1]``.
- mmpose 1.x (mmpretrain ViT): ``backbone.layers.{i}.ln1``, ``ffn.layers.0.0``, ``backbone.ln1``,
  ``head.*``; a (1, 1 + patches, C) ``pos_embed`` drops its first slot there (mmpretrain's rule).

The file is untrusted: it is read with ``torch.load(weights_only=True)``. ViTPose heads are
trained on COCO-17; they are imported as COCO, or remapped by joint name to PoseTrack's slots
(the slots COCO lacks, head_bottom and head_top, keep the model's initialisation).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..keypoints import COCO, get_format
from ..model import VARIANTS, STDPose
from .checked_load import load_checked

_MMPOSE1_RULES = [
    (r"^backbone\.patch_embed\.projection\.", "backbone.patch_embed.proj."),
    (r"^backbone\.layers\.(\d+)\.ln1\.", r"backbone.blocks.\1.norm1."),
    (r"^backbone\.layers\.(\d+)\.ln2\.", r"backbone.blocks.\1.norm2."),
    (r"^backbone\.layers\.(\d+)\.attn\.", r"backbone.blocks.\1.attn."),
    (r"^backbone\.layers\.(\d+)\.ffn\.layers\.0\.0\.", r"backbone.blocks.\1.mlp.fc1."),
    (r"^backbone\.layers\.(\d+)\.ffn\.layers\.1\.", r"backbone.blocks.\1.mlp.fc2."),
    (r"^backbone\.ln1\.", "backbone.last_norm."),
    (r"^head\.", "keypoint_head."),
]
IMPORTED = ("backbone.", "keypoint_head.")  # what a ViTPose checkpoint provides
_SPLIT_HINT = (
    "This is a ViTPose+ multi-dataset checkpoint (mixture-of-experts MLPs and one head per dataset). "
    "Split it into single-dataset checkpoints with the ViTPose repository's tools/model_split.py and "
    "import the COCO one."
)


def _read(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        raise CheckpointError(
            f"{path}: not a loadable PyTorch checkpoint (truncated, corrupt, or holding objects other than "
            f"tensors, which weights_only=True refuses). If you trust the file, keep only its tensors: "
            f"torch.save(torch.load(F, weights_only=False)['state_dict'], 'clean.pth'). Detail: {e}"
        ) from e
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: expected a dict of tensors (or {{'state_dict': ...}}); got {type(ckpt).__name__}"
        )
    return state


def vitpose_state_dict(
    state: dict[str, torch.Tensor], num_patches: int, source: str | Path = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Translate a ViTPose state dict (mmpose 0.x or 1.x names) to STDPose backbone/head names.

    ``num_patches`` is the model's token count (192 for 256 x 192): a pos_embed with one slot more
    carries the class-token slot, folded (0.x) or dropped (1.x) as each codebase does.
    """
    if any(".mlp.experts." in k or k.startswith("associate_keypoint_heads") for k in state):
        raise CheckpointError(f"{source}: {_SPLIT_HINT}")
    mmpose1 = any(k.startswith(("backbone.layers.", "head.")) for k in state)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if mmpose1:
            for pattern, repl in _MMPOSE1_RULES:
                key = re.sub(pattern, repl, key)
        if key.startswith(IMPORTED):
            out[key] = value
    pos = out.get("backbone.pos_embed")
    if pos is not None and pos.ndim == 3 and pos.shape[1] == num_patches + 1:
        out["backbone.pos_embed"] = pos[:, 1:] if mmpose1 else pos[:, 1:] + pos[:, :1]
    return out


def _describe(dim: int, depth: int) -> str:
    names = [v for v, d in VARIANTS.items() if d["embed_dim"] == dim and d["depth"] == depth]
    return (
        f"ViTPose-{names[0].upper()} (embed_dim {dim}, depth {depth})" if names else f"embed_dim {dim}, depth {depth}"
    )


def _check_architecture(model: STDPose, state: dict[str, torch.Tensor], path: Path) -> None:
    c = model.config
    proj = state.get("backbone.patch_embed.proj.weight")
    if proj is None:
        raise CheckpointError(
            f"{path}: no ViTPose backbone in it (no patch_embed weights); is it a ViTPose checkpoint?"
        )
    depth = len({k.split(".")[2] for k in state if k.startswith("backbone.blocks.")})
    if (proj.shape[0], depth) != (c.embed_dim, c.depth):
        raise CheckpointError(
            f"{path}: holds {_describe(proj.shape[0], depth)} but the model is variant {c.variant!r} "
            f"({_describe(c.embed_dim, c.depth)}); build the matching variant with build_model(...)"
        )
    final = state.get("keypoint_head.final_layer.weight")
    if final is not None and final.shape[0] != COCO.num_keypoints:
        raise CheckpointError(
            f"{path}: its head predicts {final.shape[0]} keypoints; only COCO-17 ViTPose heads can be imported "
            "(133 is COCO-WholeBody, 14 AIC, 16 MPII)"
        )


def load_vitpose(model: STDPose, path: str | Path, keypoint_format: str = "coco") -> STDPose:
    """Load an official ViTPose .pth into ``model``'s backbone and heatmap head, in place.

    ``keypoint_format="coco"`` keeps the head as trained; ``"posetrack"`` moves its channels to
    PoseTrack's slots by joint name. The model's config and provenance say which. The temporal
    modules (TFF, TKS, DAM, STDA) keep their initialisation: they still need training.
    """
    path = Path(path)
    fmt = get_format(keypoint_format)
    state = vitpose_state_dict(_read(path), model.backbone.pos_embed.shape[1], path)
    _check_architecture(model, state, path)
    if fmt.name != COCO.name:
        own = model.state_dict()
        index = COCO.index_map(fmt)
        for key in ("keypoint_head.final_layer.weight", "keypoint_head.final_layer.bias"):
            if key in state:
                remapped = own[key].clone()
                remapped[index >= 0] = state[key][index[index >= 0]].to(remapped.dtype)
                state[key] = remapped
    load_checked(model, state, path, prefix=IMPORTED)
    model.config.keypoint_format = fmt.name
    model.provenance = {
        "source": f"ViTPose checkpoint {path.name}: backbone and heatmap head; TFF, TKS, DAM, STDA untrained",
        "licence": "Apache-2.0 (ViTPose code and released weights); check the checkpoint's own terms",
        "training_data": f"COCO (ViTPose backbone and head, {fmt.name} slots); temporal modules: none (untrained)",
    }
    return model
