"""The one interface every backend implements: ``infer(frames, aux_heatmaps=None) -> heatmaps``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from ..errors import InputError
from ..model.config import STDPoseConfig
from ..export.onnx_graph import split_graphs, temporal_graph
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

    Backends with ``splits_model`` also run the model's two halves apart, for cross-frame feature reuse:
    ``frame_features`` (per crop: backbone + head) and ``temporal`` (per triplet: TFF, TKS, DAM, STDA).

    A subclass that sets ``name`` is a backend ``load_backend`` can pick by that name: it says which
    precisions it runs and how it is built (``from_source``). A new backend is one new module
    ``runtime/NAME_backend.py`` holding such a class; nothing else needs to change.
    """

    registry: ClassVar[dict[str, type[Backend]]] = {}
    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]  # what it runs ("fp32", "fp16", "bf16")
    splits_model: ClassVar[bool] = False  # runs frame_features and temporal apart (feature reuse)

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

    def frame_features(self, images) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-crop half: (N, 3, H, W) crops -> features (N, C, gh, gw) and the head's heatmaps (N, J, h, w)."""
        self.check_split()
        images = _as_tensor(images, "images")
        c = self.config
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, *c.image_size):
            raise InputError(
                f"images must be (N, 3, {c.image_size[0]}, {c.image_size[1]}) crops, got {tuple(images.shape)}"
            )
        parts = [self._frame_features(images[i : i + self.max_batch]) for i in range(0, len(images), self.max_batch)]
        if not parts:
            gh, gw = c.token_grid
            empty = torch.empty((0, c.embed_dim, gh, gw), device=self.device)
            return empty, torch.empty((0, c.num_keypoints, *c.heatmap_size), device=self.device)
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def temporal(self, features, heatmaps, propagate: bool = False) -> torch.Tensor:
        """The per-triplet half: (B, 3, C, gh, gw) features and (B, 3, J, h, w) heatmaps of [left, key, right]
        (``propagate``: the aux heatmaps are the labels' renderings) -> the key frame's heatmaps (B, J, h, w)."""
        self.check_split()
        features, heatmaps = _as_tensor(features, "features"), _as_tensor(heatmaps, "heatmaps")
        c = self.config
        gh, gw = c.token_grid
        want_f, want_h = (3, c.embed_dim, gh, gw), (3, c.num_keypoints, *c.heatmap_size)
        if (
            features.ndim != 5
            or tuple(features.shape[1:]) != want_f
            or tuple(heatmaps.shape) != (len(features), *want_h)
        ):
            raise InputError(f"temporal needs features (B, {', '.join(map(str, want_f))}) and heatmaps "
                             f"(B, {', '.join(map(str, want_h))}); got {tuple(features.shape)} and {tuple(heatmaps.shape)}")  # fmt: skip
        if len(features) == 0:
            return torch.empty((0, c.num_keypoints, *c.heatmap_size), device=self.device)
        step, graph = self.max_batch, temporal_graph(c, propagate)
        return torch.cat([
            self._temporal(features[i : i + step], heatmaps[i : i + step], graph)
            for i in range(0, len(features), step)
        ])  # fmt: skip

    def check_split(self) -> None:
        """A clear error unless this backend can run the model's two halves (``frame_features``, ``temporal``)."""
        if not self.splits_model:
            raise InputError(
                f"the {self.info.backend} backend runs the whole triplet model only, not its two halves "
                "(cross-frame feature reuse); use the torch, onnxruntime, openvino or tensorrt backend, or "
                "reuse_features=False"
            )
        if not self.config.temporal:
            raise InputError("this model is single-frame (no TFF/TKS/DAM/STDA): each frame is read once already, "
                             "so there is nothing to reuse; use reuse_features=False")  # fmt: skip

    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _frame_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _temporal(self, features: torch.Tensor, heatmaps: torch.Tensor, graph: str) -> torch.Tensor:
        """``graph``: "temporal", or "propagate_temporal" for a model whose propagate mode differs (its config's
        ``split_propagate``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.info}>"


class GraphBackend(Backend):
    """A backend of exported ONNX graphs, one per mode or model half (``self._infos``: {graph: OnnxInfo}); a
    subclass runs one graph (``_run``), and this maps the Backend calls onto the graphs' inputs and outputs."""

    splits_model = True  # when given the frame_features and temporal graphs
    _infos: dict

    def _run(self, graph: str, feeds: dict[str, torch.Tensor], outputs: list[str]) -> list[torch.Tensor]:
        raise NotImplementedError

    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        feeds = {"frames": frames} if aux is None else {"frames": frames, "aux_heatmaps": aux}
        return self._run("estimate" if aux is None else "propagate", feeds, ["heatmaps"])[0]

    def check_split(self) -> None:
        super().check_split()
        missing = [g for g in split_graphs(self.config) if g not in self._infos]
        if missing:
            raise InputError(
                f"feature reuse runs the model's two halves, and this backend has no {' or '.join(missing)} "
                "graph: give the checkpoint (graphs are exported on demand) or export them with "
                f"`stdpose-export --mode {' / '.join(split_graphs(self.config))}`"
            )

    def _frame_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(self._run("frame_features", {"images": images}, ["features", "frame_heatmaps"]))

    def _temporal(self, features: torch.Tensor, heatmaps: torch.Tensor, graph: str) -> torch.Tensor:
        return self._run(graph, {"features": features, "frame_heatmaps": heatmaps}, ["heatmaps"])[0]


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}")
    if not x.is_floating_point():
        raise InputError(f"{name} must be float (ImageNet-normalised RGB for frames), got {x.dtype}")
    return x
