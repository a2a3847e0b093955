"""Export STDPose to ONNX, and read back what an exported file holds.

One graph per mode: "estimate" takes ``frames`` (B, 3, 3, 256, 192); "propagate" also takes
``aux_heatmaps`` (B, 2, J, 64, 48). The output is ``heatmaps`` (B, J, 64, 48). The model's two halves
(cross-frame feature reuse) export as two more graphs: "frame_features" (``images`` (N, 3, 256, 192) ->
``features`` (N, C, 16, 12), ``frame_heatmaps`` (N, J, 64, 48)) and "temporal" (``features`` (B, 3, C, 16,
12), ``frame_heatmaps`` (B, 3, J, 64, 48) -> ``heatmaps``), which serves both modes. The batch axis is
dynamic. The model config, mode, precision and provenance go into the ONNX metadata, so a file
says what it is without its checkpoint.

FP16 graphs come from a ``.half()`` copy of the model: LayerNorm, the attention softmax and the
whole DAM path (including H~ x M) stay FP32 inside it (see ``model/vit.py`` and ``model/dam.py``),
because TensorRT builds FP16 graphs strongly typed and those overflow or underflow in FP16.

torch's exporter may write the weights to a side file (``NAME.onnx.data``): ``onnx_files`` lists
a graph's files, and hashing or copying goes through it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from onnx.external_data_helper import ExternalDataInfo, uses_external_data
from torch import nn

from .._version import __version__
from ..errors import InputError
from ..model.config import MODES, STDPoseConfig
from ..model.stdpose import STDPose

PRECISIONS = ("fp32", "fp16")
SPLIT_GRAPHS = ("frame_features", "temporal", "propagate_temporal")  # the per-crop and per-triplet halves
GRAPHS = (*MODES, *SPLIT_GRAPHS)
OPSET = 18
# What export_onnx writes for given weights; bumped when that changes, so cached graphs are exported again and the
# CPU backend choice measured again. 2: each attention's q, k and v are three products (were one and a Split).
GRAPH_FORM = 2
_META_PREFIX = "stdpose."


class _Propagate(nn.Module):
    """The model with aux heatmaps as a required second input (ONNX inputs are positional)."""

    def __init__(self, model: STDPose) -> None:
        super().__init__()
        self.model = model

    def forward(self, frames: torch.Tensor, aux_heatmaps: torch.Tensor) -> torch.Tensor:
        return self.model(frames, aux_heatmaps)


class _FrameFeatures(nn.Module):
    def __init__(self, model: STDPose) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.frame_features(images)


class _Temporal(_FrameFeatures):
    propagate = False

    def forward(self, features: torch.Tensor, frame_heatmaps: torch.Tensor) -> torch.Tensor:
        return self.model.temporal(features, frame_heatmaps, self.propagate)


class _PropagateTemporal(_Temporal):
    propagate = True


def split_graphs(config: STDPoseConfig) -> tuple[str, ...]:
    """The graphs feature reuse runs for ``config``: "frame_features" and "temporal", and "propagate_temporal" where
    propagate mode's per-triplet half differs from estimate mode's (``config.split_propagate``)."""
    return SPLIT_GRAPHS if config.split_propagate else SPLIT_GRAPHS[:2]


def temporal_graph(config: STDPoseConfig, propagate: bool) -> str:
    """The per-triplet graph a mode runs: "propagate_temporal" in propagate mode where it differs, else "temporal"."""
    return "propagate_temporal" if propagate and config.split_propagate else "temporal"


@dataclass(frozen=True)
class OnnxInfo:
    """What an exported STDPose ONNX holds (from its metadata)."""

    path: Path
    config: STDPoseConfig
    mode: str
    precision: str
    provenance: dict
    input_names: tuple[str, ...]


def export_onnx(
    model: STDPose,
    path: str | Path,
    mode: str = "estimate",
    precision: str = "fp32",
    opset: int = OPSET,
) -> OnnxInfo:
    """Write ``model`` as an ONNX graph for ``mode`` (or one half of it, see the module docstring) at
    ``precision``; checks it with onnx.checker."""
    if mode not in GRAPHS:
        raise InputError(f"mode must be one of {GRAPHS}, got {mode!r}")
    if mode in SPLIT_GRAPHS and not model.config.temporal:
        raise InputError(f"a single-frame model has no temporal half: export mode 'estimate', not {mode!r}")
    if mode == "propagate_temporal" and not model.config.split_propagate:
        raise InputError("this model's propagate mode runs the same per-triplet half as estimate mode: export "
                         "mode 'temporal', which serves both")  # fmt: skip
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if opset < 17:
        raise InputError(f"opset must be >= 17 (LayerNormalization), got {opset}")
    if mode == "propagate" and not model.config.uses_aux_heatmaps:
        raise InputError("propagate mode needs a model with use_tks or use_dam: this one ignores aux heatmaps")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in onnx_files(path):  # a stale side file would be picked up by the new graph
        old.unlink()
    _torch_export(model, path, mode, torch.float16 if precision == "fp16" else torch.float32, opset)
    graph = onnx.load(str(path), load_external_data=False)
    meta = {
        "config": model.config.to_json(),
        "mode": mode,
        "precision": precision,
        "provenance": json.dumps(getattr(model, "provenance", {})),
        "version": __version__,
    }
    for key, value in meta.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = _META_PREFIX + key, value
    onnx.save(graph, str(path))  # external-data references stay as they are
    onnx.checker.check_model(str(path))  # from the path, so side files are found
    return read_onnx_info(path)


def _torch_export(model: STDPose, path: Path, mode: str, dtype: torch.dtype, opset: int) -> None:
    """torch.onnx (dynamo) export of a copy of ``model`` in ``dtype`` with a dynamic batch axis, quietly."""
    config = model.config
    net = copy.deepcopy(model).eval().cpu().to(dtype)
    batch = torch.export.Dim("batch", min=1, max=4096)
    frames = torch.zeros(2, 3, 3, *config.image_size, dtype=dtype)
    outputs = ["heatmaps"]
    if mode == "estimate":
        args, names, shapes = (frames,), ["frames"], {"frames": {0: batch}}
    elif mode == "frame_features":
        net, args, names, outputs = _FrameFeatures(net), (frames[:, 0],), ["images"], ["features", "frame_heatmaps"]
        shapes = {"images": {0: batch}}
    elif mode in ("temporal", "propagate_temporal"):
        with torch.no_grad():
            feats, heatmaps = net.frame_features(frames.flatten(0, 1))
        net, names = (_Temporal if mode == "temporal" else _PropagateTemporal)(net), ["features", "frame_heatmaps"]
        args = (feats.unflatten(0, (2, 3)), heatmaps.unflatten(0, (2, 3)))
        shapes = {"features": {0: batch}, "frame_heatmaps": {0: batch}}
    else:
        net = _Propagate(net)
        aux = torch.zeros(2, 2, config.num_keypoints, *config.heatmap_size, dtype=dtype)
        args, names = (frames, aux), ["frames", "aux_heatmaps"]
        shapes = {"frames": {0: batch}, "aux_heatmaps": {0: batch}}
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "torchvision is not installed" chatter; errors still raise
    try:
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter
            torch.onnx.export(
                net,
                args,
                str(path),
                dynamo=True,
                input_names=names,
                output_names=outputs,
                dynamic_shapes=shapes,
                opset_version=opset,
                verbose=False,
            )
    finally:  # a failed export must not leave torch.onnx's logging silenced
        quiet.setLevel(level)


def read_onnx_info(path: str | Path) -> OnnxInfo:
    """The config, mode and precision stored in an exported graph; a clear error for other files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"ONNX file not found: {path}")
    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises several types for garbage
        raise InputError(f"{path} is not a readable ONNX file ({exc.__class__.__name__}: {exc})") from exc
    meta = {p.key[len(_META_PREFIX) :]: p.value for p in graph.metadata_props if p.key.startswith(_META_PREFIX)}
    if "config" not in meta:
        raise InputError(
            f"{path} has no stdpose metadata: it was not written by stdpose-export. "
            "Export one with `stdpose-export --weights W.safetensors --out NAME.onnx`."
        )
    return OnnxInfo(
        path=path,
        config=STDPoseConfig.from_json(meta["config"]),
        mode=meta["mode"],
        precision=meta["precision"],
        provenance=json.loads(meta.get("provenance", "{}")),
        input_names=tuple(i.name for i in graph.graph.input),
    )


def onnx_files(path: str | Path) -> list[Path]:
    """The graph file and every external-data side file it references (existing ones only)."""
    path = Path(path)
    if not path.is_file():
        return []
    graph = onnx.load(str(path), load_external_data=False).graph
    sides = {ExternalDataInfo(t).location for t in _tensors(graph) if uses_external_data(t)}
    return [path] + [path.parent / s for s in sorted(sides) if (path.parent / s).is_file()]


def _tensors(graph):
    """Every tensor of a graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _tensors(sub)


def onnx_digest(path: str | Path) -> str:
    """SHA-256 over the graph and its side files: the key engines are cached under."""
    files = onnx_files(path)
    if not files:
        raise InputError(f"ONNX file not found: {path}")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def copy_onnx(path: str | Path, dest_dir: str | Path) -> Path:
    """Copy a graph with its side files (they must stay beside it, under the same names)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    files = onnx_files(path)
    for file in files:
        shutil.copy2(file, dest_dir / file.name)
    return dest_dir / files[0].name
