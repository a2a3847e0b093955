"""The one interface every backend implements: ``infer(frames, aux_heatmaps=None) -> heatmaps``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError
from ..model.config import STDPoseConfig


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
    """Runs the triplet model: frames (B, 3, 3, 256, 192) [+ aux (B, 2, J, 64, 48)] -> (B, J, 64, 48).

    Inputs may be torch tensors (any device) or numpy arrays; the output is a float32 torch
    tensor on ``self.device``. Batches larger than ``max_batch`` are split.
    """

    config: STDPoseConfig
    info: BackendInfo
    device: torch.device
    max_batch: int = 64

    def infer(self, frames, aux_heatmaps=None) -> torch.Tensor:
        frames = _as_tensor(frames, "frames")
        aux = None if aux_heatmaps is None else _as_tensor(aux_heatmaps, "aux_heatmaps")
        self._check(frames, aux)
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

    def _check(self, frames: torch.Tensor, aux: torch.Tensor | None) -> None:
        c = self.config
        want = (3, 3, *c.image_size)
        if frames.ndim != 5 or tuple(frames.shape[1:]) != want:
            raise InputError(
                f"frames must be (B, {', '.join(map(str, want))}) = (batch, [left aux, key, right aux], RGB, H, W); "
                f"got {tuple(frames.shape)}"
            )
        if aux is not None:
            want_aux = (frames.shape[0], 2, c.num_keypoints, *c.heatmap_size)
            if tuple(aux.shape) != want_aux:
                raise InputError(
                    f"aux_heatmaps must be {want_aux} (batch, [left, right], J, h, w); got {tuple(aux.shape)}"
                )

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
