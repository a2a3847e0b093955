"""The one interface every backend implements: ``infer(frames, aux_heatmaps=None) -> heatmaps``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from ..errors import InputError
from ..model.config import STDPoseConfig
from ..model.stdpose import check_inputs

if TYPE_CHECKING:
    from .source import BackendSource


@dataclass
class BackendInfo:
    """What a backend runs: shown in logs, the CLI and benchmark reports."""

    backend: str  # "torch" | "onnxruntime" | "tensorrt"
    device: str  # "cpu", "cuda:0"
    precision: str  # "fp32" | "fp16"
    dam_path: str  # which DAM implementation runs
    detail: dict = field(default_factory=dict)  # provider, engine file, compile, chosen-by-auto reason

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.backend} on {self.device}, {self.precision}, DAM: {self.dam_path}" + (
            f" ({extra})" if extra else ""
        )


class Backend:
    """Runs the triplet model: frames (B, 3, 3, H, W) [+ aux (B, 2, J, h, w)] -> heatmaps (B, J, h, w).

    Inputs may be torch tensors (any device) or numpy arrays; the output is a float32 torch
    tensor on ``self.device``. Batches larger than ``max_batch`` are split.

    A subclass that sets ``name`` is a backend ``load_backend`` can pick by that name: it says which
    precisions it runs and how it is built (``from_source``). A new backend is one new module
    ``runtime/NAME_backend.py`` holding such a class; nothing else needs to change.
    """

    registry: ClassVar[dict[str, type[Backend]]] = {}
    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]  # what it runs ("fp32", "fp16", "bf16")

    config: STDPoseConfig
    info: BackendInfo
    device: torch.device
    max_batch: int = 64

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            Backend.registry[cls.name] = cls

    @classmethod
    def from_source(
        cls, source: BackendSource, device: torch.device, precision: str, max_batch: int, **options
    ) -> Backend:
        """Build from what ``load_backend`` was given: ``source.require_model()`` or ``source.graphs(precision)``."""
        raise NotImplementedError

    def infer(self, frames, aux_heatmaps=None) -> torch.Tensor:
        frames = _as_tensor(frames, "frames")
        aux = None if aux_heatmaps is None else _as_tensor(aux_heatmaps, "aux_heatmaps")
        check_inputs(self.config, frames, aux)
        if frames.shape[0] == 0:
            return torch.empty((0, self.config.num_keypoints, *self.config.heatmap_size), device=self.device)
        outputs = []
        for start in range(0, frames.shape[0], self.max_batch):
            stop = start + self.max_batch
            outputs.append(self._infer(frames[start:stop], None if aux is None else aux[start:stop]))
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)

    __call__ = infer

    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.info}>"


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}")
    if not x.is_floating_point():
        raise InputError(f"{name} must be float (ImageNet-normalised RGB for frames), got {x.dtype}")
    return x
