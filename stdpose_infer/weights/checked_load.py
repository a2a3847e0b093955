"""Load a state dict into a model, or report every mismatch at once, naming the file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError

_SHOW = 8  # keys listed per category before "... and N more"


def _listing(title: str, items: list[str]) -> str:
    shown = "\n".join(f"    {k}" for k in items[:_SHOW])
    more = f"\n    ... and {len(items) - _SHOW} more" if len(items) > _SHOW else ""
    return f"  {title} ({len(items)}):\n{shown}{more}"


def load_checked(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path,
    prefix: str | tuple[str, ...] = "",
    hint: str = "",
) -> None:
    """Copy ``state`` into ``model`` (exact values), or raise CheckpointError listing every
    missing key, unexpected key and shape mismatch at once.

    Only the model's entries under ``prefix`` (a string or tuple of them) are expected, for a
    partial import such as a ViTPose backbone and head.
    """
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in set(own) & set(state)
        if tuple(state[k].shape) != tuple(own[k].shape)
    )
    if not (missing or unexpected or shapes):
        model.load_state_dict(dict(state), strict=not prefix)
        return
    parts = [f"{source}: the checkpoint does not fit the model"]
    if shapes:
        parts.append(_listing("shape mismatches", shapes))
    if missing:
        parts.append(_listing("missing from the file", missing))
    if unexpected:
        parts.append(_listing("in the file but not in the model", unexpected))
    if hint:
        parts.append(hint)
    raise CheckpointError("\n".join(parts))
