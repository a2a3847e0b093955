"""A Triton model repository for a GPU (or CPU) Triton deployment: one model per mode, the ONNX Runtime backend.

    REPO/stdpose/config.pbtxt            (estimate: frames -> heatmaps)
    REPO/stdpose/1/model.onnx            (+ its external-data file when the graph has one)
    REPO/stdpose_propagate/...           (propagate: frames + aux_heatmaps -> heatmaps; when the model reads them)

config.pbtxt: dynamic batching (preferred sizes, queue delay), max_batch_size = the batch profile's maximum, the
inputs and outputs as the graph declares them, and the STDPose config as the parameter ``stdpose_config``. For
Triton's TensorRT backend build the plan on the deployment GPU from the same graph (``trtexec --onnx=model.onnx
--saveEngine=model.plan``) and set ``platform: "tensorrt_plan"``: engines are specific to a GPU and TensorRT version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx

from ..errors import InputError
from .onnx_graph import onnx_files, read_onnx_info

_TYPES = {onnx.TensorProto.FLOAT: "TYPE_FP32", onnx.TensorProto.FLOAT16: "TYPE_FP16"}
MODEL_NAMES = {"estimate": "stdpose", "propagate": "stdpose_propagate"}


def _tensors(values) -> list[tuple[str, str, list[int]]]:
    out = []
    for v in values:
        t = v.type.tensor_type
        if t.elem_type not in _TYPES:
            raise InputError(f"{v.name}: element type {t.elem_type} has no Triton mapping here")
        dims = [d.dim_value for d in t.shape.dim][1:]  # the first dimension is the batch (Triton adds it)
        out.append((v.name, _TYPES[t.elem_type], dims))
    return out


def config_pbtxt(name: str, graph: Path, max_batch: int, preferred: tuple[int, ...], delay_us: int) -> str:
    """The model's config.pbtxt (protobuf text format of Triton's ModelConfig)."""
    info = read_onnx_info(graph)
    proto = onnx.load(str(graph), load_external_data=False).graph
    lines = [f'name: "{name}"', 'backend: "onnxruntime"', f"max_batch_size: {max_batch}"]
    for kind, values in (("input", proto.input), ("output", proto.output)):
        for tensor, dtype, dims in _tensors(values):
            lines.append(f'{kind} [{{ name: "{tensor}" data_type: {dtype} dims: [{", ".join(map(str, dims))}] }}]')
    sizes = ", ".join(str(b) for b in preferred if b <= max_batch)
    lines.append(f"dynamic_batching {{ {f'preferred_batch_size: [{sizes}] ' if sizes else ''}"
                 f"max_queue_delay_microseconds: {delay_us} }}")  # fmt: skip
    lines.append(f"parameters {{ key: \"stdpose_config\" value {{ string_value: {json.dumps(info.config.to_json())} }} }}")
    return "\n".join(lines) + "\n"


def write_triton_repo(graphs: dict[str, Path], repo: str | Path, max_batch: int = 64,
                      preferred: tuple[int, ...] = (8, 16, 32), delay_us: int = 2000) -> list[Path]:  # fmt: skip
    """REPO/<model>/config.pbtxt and REPO/<model>/1/model.onnx for each {mode: exported graph}; the written folders."""
    repo = Path(repo)
    folders = []
    for mode, graph in graphs.items():
        info = read_onnx_info(graph)
        if info.mode != mode:
            raise InputError(f"{graph} is a {info.mode} graph, given as the {mode} one")
        folder = repo / MODEL_NAMES[mode]
        version = folder / "1"
        version.mkdir(parents=True, exist_ok=True)
        graph_file, *side_files = onnx_files(graph)
        shutil.copyfile(graph_file, version / "model.onnx")
        for side in side_files:  # external data keeps its name: the graph refers to it by that relative path
            shutil.copyfile(side, version / side.name)
        (folder / "config.pbtxt").write_text(config_pbtxt(MODEL_NAMES[mode], graph, max_batch, preferred, delay_us))
        folders.append(folder)
    return folders
