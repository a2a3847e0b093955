"""ONNX export: parity with torch on ONNX Runtime, metadata, FP32 islands in FP16 graphs, side files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from stdpose_infer.errors import InputError
from stdpose_infer.export import copy_onnx, export_onnx, onnx_digest, onnx_files, read_onnx_info
from stdpose_infer.model import build_model


def _run(path, frames, aux=None):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"frames": frames.numpy()}
    if aux is not None:
        feeds["aux_heatmaps"] = aux.numpy()
    return session.run(["heatmaps"], feeds)[0]


@pytest.mark.parametrize("mode", ["estimate", "propagate"])
@pytest.mark.parametrize("batch", [1, 8])
def test_fp32_parity_with_torch(tiny, tiny_graphs, mode, batch):
    g = torch.Generator().manual_seed(batch)
    frames = torch.randn(batch, 3, 3, 256, 192, generator=g)
    aux = torch.rand(batch, 2, 17, 64, 48, generator=g) if mode == "propagate" else None
    with torch.no_grad():
        want = tiny(frames, aux).numpy()
    got = _run(tiny_graphs[(mode, "fp32")], frames, aux)
    worst = np.abs(got - want).max()
    print(f"{mode} batch {batch}: max |ORT - torch| = {worst:.2e} on heatmaps up to {np.abs(want).max():.2f}")
    assert np.abs(want).max() > 0.1  # lively weights: the tolerance below can fail
    assert worst <= 1e-4


def test_metadata_and_names(tiny, tiny_graphs):
    for (mode, precision), path in tiny_graphs.items():
        info = read_onnx_info(path)
        assert (info.mode, info.precision) == (mode, precision)
        assert info.config == tiny.config
        assert info.input_names == (("frames",) if mode == "estimate" else ("frames", "aux_heatmaps"))
        graph = onnx.load(str(path), load_external_data=False)
        assert [o.name for o in graph.graph.output] == ["heatmaps"]
        assert graph.opset_import[0].version >= 17
        assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
        onnx.checker.check_model(str(path))


def _tensor_types(path) -> dict[str, int]:
    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False)).graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input, *graph.output]}
    types.update({t.name: t.data_type for t in graph.initializer})
    return types


def _nodes(graph):
    """Every node, including those inside the exporter's local functions."""
    yield from graph.graph.node
    for function in graph.functions:
        yield from function.node


def test_attention_projects_q_k_v_apart_in_exported_graphs(tiny, tiny_graphs):
    """Three products instead of one and a Split: OpenVINO and ONNX Runtime run them faster (speed page)."""
    from stdpose_infer.model.vit import Attention

    attentions = sum(isinstance(m, Attention) for m in tiny.modules())
    graph = onnx.load(str(tiny_graphs[("estimate", "fp32")]), load_external_data=False)
    weights = [n for n in _nodes(graph) if n.op_type == "Slice" and n.input[0].endswith("attn.qkv.weight")]
    assert attentions >= 3 and len(weights) == 3 * attentions


@pytest.mark.parametrize("mode", ["estimate", "propagate"])
def test_fp16_graph_keeps_norms_softmax_and_dam_in_fp32(tiny_graphs, mode):
    path = tiny_graphs[(mode, "fp16")]
    graph = onnx.load(str(path), load_external_data=False)
    types = _tensor_types(path)
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    checked = {"LayerNormalization": 0, "Softmax": 0, "Sigmoid": 0}
    half_matmuls = 0  # the rest really is FP16, so the type lookup below is not vacuous
    for node in _nodes(graph):
        half_matmuls += node.op_type == "MatMul" and types.get(node.input[0]) == onnx.TensorProto.FLOAT16
        if node.op_type in checked and node.input[0] in types:
            assert types[node.input[0]] == onnx.TensorProto.FLOAT, f"{node.op_type} {node.name} is not FP32"
            checked[node.op_type] += 1
    print(f"{mode} FP16 graph, FP32 nodes checked: {checked}, FP16 MatMuls: {half_matmuls}")
    assert half_matmuls >= 10
    assert checked["LayerNormalization"] >= 10 and checked["Softmax"] >= 4 and checked["Sigmoid"] == 2


def test_side_file_is_listed_hashed_and_copied(tiny_graphs, tmp_path):
    path = tiny_graphs[("estimate", "fp32")]
    files = onnx_files(path)
    assert files[0] == path and len(files) == 2 and files[1].name == path.name + ".data"
    copied = copy_onnx(path, tmp_path / "copy")
    assert onnx_digest(copied) == onnx_digest(path)
    frames = torch.randn(2, 3, 3, 256, 192)
    np.testing.assert_array_equal(_run(copied, frames), _run(path, frames))
    side = tmp_path / "copy" / files[1].name
    data = bytearray(side.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    side.write_bytes(bytes(data))
    assert onnx_digest(copied) != onnx_digest(path)  # the hash covers the weights, not just the graph


def test_export_errors(tiny, tmp_path):
    with pytest.raises(InputError, match="mode"):
        export_onnx(tiny, tmp_path / "x.onnx", mode="track")
    with pytest.raises(InputError, match="precision"):
        export_onnx(tiny, tmp_path / "x.onnx", precision="int8")
    baseline = build_model("t", use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    with pytest.raises(InputError, match="aux heatmaps"):
        export_onnx(baseline, tmp_path / "x.onnx", mode="propagate")
    (tmp_path / "garbage.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(InputError, match="not a readable ONNX"):
        read_onnx_info(tmp_path / "garbage.onnx")
    foreign = tmp_path / "foreign.onnx"
    node = onnx.helper.make_node("Relu", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info
    g = onnx.helper.make_graph([node], "g", [value("x", 1, [1])], [value("y", 1, [1])])
    onnx.save(onnx.helper.make_model(g), foreign)
    with pytest.raises(InputError, match="not written by stdpose-export"):
        read_onnx_info(foreign)


def test_cli_export(tmp_path, capsys):
    from stdpose_infer.cli.export import main

    out = tmp_path / "t.onnx"
    assert main(["--variant", "t", "--random-weights", "--out", str(out)]) == 0
    assert "untrained" in capsys.readouterr().out
    assert read_onnx_info(out).mode == "estimate"
    assert main(["--weights", str(tmp_path / "missing.safetensors"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    shutil.rmtree(tmp_path)


def test_triton_repository_has_valid_configs_and_the_exported_graphs(tiny, tiny_graphs, frames, aux, tmp_path):
    """No Triton onnxruntime/TensorRT backend installs here: the configs are parsed with Triton's own ModelConfig
    protobuf and the graphs inside run (ONNX Runtime) to the model's heatmaps."""
    from stdpose_infer.export.triton_repo import write_triton_repo

    graphs = {m: tiny_graphs[(m, "fp32")] for m in ("estimate", "propagate")}
    folders = write_triton_repo(graphs, tmp_path / "repo", max_batch=16, preferred=(4, 8, 32))
    assert [f.name for f in folders] == ["stdpose", "stdpose_propagate"]
    config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="needs tritonclient[grpc]")
    from google.protobuf import text_format

    for folder, mode, feeds in ((folders[0], "estimate", {"frames": frames}),
                                (folders[1], "propagate", {"frames": frames, "aux_heatmaps": aux})):  # fmt: skip
        config = text_format.Parse((folder / "config.pbtxt").read_text(), config_pb2.ModelConfig())
        assert config.name == folder.name and config.backend == "onnxruntime" and config.max_batch_size == 16
        assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]  # 32 > max_batch_size
        assert {i.name: list(i.dims) for i in config.input} == {k: list(v.shape[1:]) for k, v in feeds.items()}
        assert [list(o.dims) for o in config.output] == [[17, 64, 48]]
        assert json.loads(config.parameters["stdpose_config"].string_value)["variant"] == "t"
        session = ort.InferenceSession(str(folder / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
        (heatmaps,) = session.run(None, {k: v.numpy() for k, v in feeds.items()})
        with torch.no_grad():
            expected = tiny(frames, aux if mode == "propagate" else None)
        np.testing.assert_allclose(heatmaps, expected.numpy(), atol=1e-4)


def test_cli_triton_repo(tmp_path, capsys):
    from stdpose_infer.cli.export import main

    assert main(["--variant", "t", "--random-weights", "--triton-repo", str(tmp_path / "repo")]) == 0
    assert "stdpose_propagate" in capsys.readouterr().out
    assert (tmp_path / "repo" / "stdpose" / "1" / "model.onnx").is_file()
    assert main(["--variant", "t", "--random-weights", "--triton-repo", str(tmp_path), "--engine"]) == 2


def test_int8_quantization_is_opt_in_close_and_runs_on_cpu_backends(tiny, tiny_graphs, frames, tmp_path):
    from stdpose_infer import Pipeline
    from stdpose_infer.cli.export import main
    from stdpose_infer.export.quantize import quantize_int8
    from stdpose_infer.runtime import load_backend

    calibration = torch.randn(8, 3, 3, 256, 192, generator=torch.Generator().manual_seed(3)).numpy()
    fp32 = tiny_graphs[("estimate", "fp32")]
    int8 = quantize_int8(fp32, calibration, tmp_path / "t-int8.onnx")
    assert read_onnx_info(int8).precision == "int8"
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    with torch.no_grad():
        expected = tiny(frames)
    for name in ("onnxruntime", "openvino"):
        backend = load_backend(int8, name, "cpu")
        assert backend.info.precision == "int8"
        got = backend.infer(frames)
        err = float((got - expected).abs().max())
        assert 0 < err < 0.15 * float(expected.abs().max()), (name, err)  # quantized: close, not equal
    assert Pipeline(str(int8), detector=None).backend.info.precision == "int8"  # an .onnx path is a model too
    with pytest.raises(InputError, match="FP32 estimate graph"):
        quantize_int8(tiny_graphs[("propagate", "fp32")], calibration, tmp_path / "p.onnx")
    with pytest.raises(InputError, match="calibration triplets"):
        quantize_int8(fp32, calibration[:, :, :, :128], tmp_path / "x.onnx")
    assert main(["--variant", "t", "--random-weights", "--precision", "int8", "--out", str(tmp_path / "y.onnx")]) == 2
