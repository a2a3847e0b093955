"""The native checkpoint: safetensors (no pickle) with the model config and provenance inside.

Metadata keys: ``format`` ("stdpose-infer/1"), ``config`` (STDPoseConfig as JSON), ``provenance``
(JSON: source, licence, training_data), ``stdpose_infer_version``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .._version import __version__
from ..errors import CheckpointError, InputError
from ..model import STDPose, STDPoseConfig
from .checked_load import load_checked

FORMAT = "stdpose-infer/1"
PROVENANCE_KEYS = ("source", "licence", "training_data")


def save_weights(model: STDPose, path: str | Path, provenance: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` (.safetensors); ``provenance`` updates ``model.provenance``."""
    prov = {**model.provenance, **(provenance or {})}
    missing = [k for k in PROVENANCE_KEYS if not prov.get(k)]
    if missing:
        raise InputError(f"provenance needs {missing}: say where the weights came from, their licence and data")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": model.config.to_json(),
        "provenance": json.dumps(prov, sort_keys=True),
        "stdpose_infer_version": __version__,
    }
    save_file(tensors, str(path), metadata=metadata)
    return path


def _looks_like_pickle(path: Path) -> bool:
    """A torch zip archive or a legacy pickle. A safetensors file starts with its header's length (8 bytes,
    little-endian: any first byte, 0x80 included) and then the header's '{'."""
    with path.open("rb") as f:
        head = f.read(9)
    if head[8:9] == b"{":
        return False
    return head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))


def read_checkpoint(path: str | Path) -> tuple[STDPoseConfig, dict[str, Any], dict[str, torch.Tensor]]:
    """(config, provenance, tensors) of a native checkpoint, with a clear error for any other file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no such file. Make weights with build_model + save_weights, or import "
            "ViTPose with `stdpose-infer import-vitpose`."
        )
    if _looks_like_pickle(path):
        raise CheckpointError(
            f"{path}: a PyTorch pickle (.pth), not an stdpose-infer safetensors file. If it is an official ViTPose "
            "checkpoint, convert it: `stdpose-infer import-vitpose FILE.pth --variant b --out FILE.safetensors`."
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file (truncated or corrupt?): {e}") from e
    if metadata.get("format") != FORMAT or "config" not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file without stdpose-infer metadata (format {FORMAT!r} and a "
            "config); it was not written by save_weights"
        )
    try:
        config = STDPoseConfig.from_json(metadata["config"])
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: invalid model config in the metadata: {e}") from e
    return config, provenance, tensors


def _expect(path: Path, config: STDPoseConfig, variant: str | None, num_keypoints: int | None) -> None:
    if variant is not None and config.variant != variant:
        raise CheckpointError(
            f"{path}: holds variant {config.variant!r} (embed_dim {config.embed_dim}, depth "
            f"{config.depth}), but variant {variant!r} was asked for"
        )
    if num_keypoints is not None and config.num_keypoints != num_keypoints:
        raise CheckpointError(f"{path}: has {config.num_keypoints} keypoints, but {num_keypoints} were asked for")


def load_model(
    path: str | Path,
    *,
    variant: str | None = None,
    num_keypoints: int | None = None,
    device: str | torch.device = "cpu",
) -> STDPose:
    """Rebuild the network saved in ``path`` and load its weights bit-exactly (eval mode).

    ``variant`` / ``num_keypoints``, when given, are checked against the file.
    """
    config, provenance, tensors = read_checkpoint(path)
    _expect(Path(path), config, variant, num_keypoints)
    model = STDPose(config)
    load_checked(model, tensors, path, hint="The tensors do not match the config in the file's metadata.")
    model.provenance = provenance
    return model.to(device).eval()


def load_weights(model: STDPose, path: str | Path) -> STDPose:
    """Load a native checkpoint into an existing model whose config must match the file's."""
    config, provenance, tensors = read_checkpoint(path)
    _expect(Path(path), config, model.config.variant, model.config.num_keypoints)
    load_checked(model, tensors, path, hint=f"The file was saved from config {config.to_json()}")
    model.config.keypoint_format = config.keypoint_format
    model.provenance = provenance
    return model


def average_checkpoints(paths: list[str | Path]) -> STDPose:
    """The mean of several checkpoints' weights (a "model soup", Wortsman et al. 2022): fine-tuned runs from one
    initialisation, averaged, often generalise better than each. The files must share one config; integer buffers
    (batch-norm step counts) come from the first."""
    if not paths:
        raise InputError("average_checkpoints needs at least one checkpoint")
    first = load_model(paths[0])
    state = {k: v.clone() for k, v in first.state_dict().items()}
    for path in paths[1:]:
        config, _, tensors = read_checkpoint(path)
        if config.to_json() != first.config.to_json():
            raise CheckpointError(f"{path}: its config differs from {paths[0]}'s; only runs of one network average")
        for k, v in state.items():
            if v.is_floating_point():
                v += tensors[k].to(v.dtype)
    for v in state.values():
        if v.is_floating_point():
            v /= len(paths)
    first.load_state_dict(state)
    first.provenance = {**first.provenance, "source": f"mean of {len(paths)} checkpoints: "
                        + "; ".join(str(p) for p in paths)}  # fmt: skip
    return first
