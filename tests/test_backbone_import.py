"""The DINOv2-layout ONNX importer maps a synthetic graph of the same layout exactly (the 97 MB file is not needed)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from stdpose_infer import build_model
from stdpose_infer.errors import CheckpointError
from stdpose_infer.weights.dinov2_onnx import load_dinov2_onnx

C, HEADS, LAYERS, POS, BATCH = 16, 2, 2, 5, 2  # width, heads, depth, 5x5 position grid
H, W = 56, 42  # 14-px patches: a 4 x 3 token grid


def dinov2_graph(path, seed: int = 0) -> None:
    """A Hugging Face Dinov2Model-style ONNX (named biases and norms, anonymous (in, out) matrices in MatMul
    nodes named after their modules, key/value/query order, a 5x5 position grid resized bicubically)."""
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def tensor(name, shape, scale=0.2, offset=0.0):
        inits.append(numpy_helper.from_array((offset + scale * rng.standard_normal(shape)).astype(np.float32), name))
        return name

    def const(name, values, dtype=np.int64):
        inits.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        return name

    def node(op, inputs, name, **attrs):
        out = name + "_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    anon = iter(range(1000, 2000))
    x = node("Conv", ["input_image", tensor("backbone.embeddings.patch_embeddings.projection.weight", (C, 3, 14, 14), 0.05),
                      tensor("backbone.embeddings.patch_embeddings.projection.bias", (C,))],
             "/backbone/embeddings/patch_embeddings/projection/Conv", strides=[14, 14])  # fmt: skip
    x = node("Reshape", [x, const("shape_patches", [BATCH, C, 12])], "/backbone/embeddings/Reshape_p")
    x = node("Transpose", [x], "/backbone/embeddings/Transpose_p", perm=[0, 2, 1])
    cls = node("Expand", [tensor("backbone.embeddings.cls_token", (1, 1, C)), const("shape_cls", [BATCH, 1, C])],
               "/backbone/embeddings/Expand")  # fmt: skip
    x = node("Concat", [cls, x], "/backbone/embeddings/Concat_1", axis=1)
    grid = node("Reshape", [tensor(f"onnx::Reshape_{next(anon)}", (1, POS * POS, C)), const("s1", [1, POS, POS, C])],
                "/backbone/embeddings/Reshape_1")  # fmt: skip
    grid = node("Transpose", [grid], "/backbone/embeddings/Transpose", perm=[0, 3, 1, 2])
    grid = node("Resize", [grid, "", "", const("sizes", [1, C, 4, 3])], "/backbone/embeddings/Resize",
                mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75)  # fmt: skip
    grid = node("Transpose", [grid], "/backbone/embeddings/Transpose_1", perm=[0, 2, 3, 1])
    grid = node("Reshape", [grid, const("s2", [1, 12, C])], "/backbone/embeddings/Reshape_2")
    pos = node("Concat", [tensor(f"onnx::Concat_{next(anon)}", (1, 1, C)), grid], "/backbone/embeddings/Concat_6", axis=1)
    x = node("Add", [x, pos], "/backbone/embeddings/Add")

    def norm(x, prefix, scope):
        return node("LayerNormalization", [x, tensor(f"{prefix}.weight", (C,), 0.1, 1.0), tensor(f"{prefix}.bias", (C,))],
                    scope, epsilon=1e-6, axis=-1)  # fmt: skip

    def linear(x, scope, prefix, fan_in, fan_out):
        y = node("MatMul", [x, tensor(f"onnx::MatMul_{next(anon)}", (fan_in, fan_out), fan_in**-0.5)], f"{scope}/MatMul")
        return node("Add", [y, tensor(f"{prefix}.bias", (fan_out,))], f"{scope}/Add")

    d = C // HEADS
    for i in range(LAYERS):
        s, p = f"/backbone/encoder/layer.{i}", f"backbone.encoder.layer.{i}"
        h = norm(x, f"{p}.norm1", f"{s}/norm1/LayerNorm")
        qkv = {}
        for part in ("key", "value", "query"):  # the order of the real export
            y = linear(h, f"{s}/attention/attention/{part}", f"{p}.attention.attention.{part}", C, C)
            y = node("Reshape", [y, const(f"h{i}{part}", [BATCH, 13, HEADS, d])], f"{s}/{part}/Reshape")
            qkv[part] = node("Transpose", [y], f"{s}/{part}/Transpose", perm=[0, 2, 1, 3])
        kt = node("Transpose", [qkv["key"]], f"{s}/kT", perm=[0, 1, 3, 2])
        a = node("MatMul", [qkv["query"], kt], f"{s}/attention/attention/MatMul")
        a = node("Mul", [a, const(f"scale{i}", d**-0.5, np.float32)], f"{s}/scale")
        a = node("Softmax", [a], f"{s}/Softmax", axis=-1)
        a = node("MatMul", [a, qkv["value"]], f"{s}/attention/attention/MatMul_1")
        a = node("Transpose", [a], f"{s}/merge/Transpose", perm=[0, 2, 1, 3])
        a = node("Reshape", [a, const(f"m{i}", [BATCH, 13, C])], f"{s}/merge/Reshape")
        a = linear(a, f"{s}/attention/output/dense", f"{p}.attention.output.dense", C, C)
        a = node("Mul", [a, tensor(f"{p}.layer_scale1.lambda1", (C,), 0.3, 0.5)], f"{s}/layer_scale1/Mul")
        x = node("Add", [x, a], f"{s}/Add")
        h = norm(x, f"{p}.norm2", f"{s}/norm2/LayerNorm")
        h = linear(h, f"{s}/mlp/fc1", f"{p}.mlp.fc1", C, 4 * C)
        g = node("Div", [h, const(f"sqrt2{i}", np.sqrt(2.0), np.float32)], f"{s}/gelu/Div")
        g = node("Erf", [g], f"{s}/gelu/Erf")
        g = node("Add", [g, const(f"one{i}", 1.0, np.float32)], f"{s}/gelu/Add")
        g = node("Mul", [h, g], f"{s}/gelu/Mul")
        h = node("Mul", [g, const(f"half{i}", 0.5, np.float32)], f"{s}/mlp/activation/Mul_1")
        h = linear(h, f"{s}/mlp/fc2", f"{p}.mlp.fc2", 4 * C, C)
        h = node("Mul", [h, tensor(f"{p}.layer_scale2.lambda1", (C,), 0.3, 0.5)], f"{s}/layer_scale2/Mul")
        x = node("Add", [x, h], f"{s}/Add_1")
    out = norm(x, "backbone.layernorm", "/backbone/layernorm/Add_1")
    graph = helper.make_graph(
        nodes, "dinov2", [helper.make_tensor_value_info("input_image", TensorProto.FLOAT, [BATCH, 3, H, W])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads everywhere
    onnx.save(model, str(path))


def small_s14():
    return build_model("s14", embed_dim=C, depth=LAYERS, num_heads=HEADS, image_size=(H, W), deconv_channels=8,
                       tff_depth=1, stda_depth=1)  # fmt: skip


def test_importer_maps_a_dinov2_layout_graph_exactly(tmp_path):
    path = tmp_path / "dinov2.onnx"
    dinov2_graph(path)
    model = load_dinov2_onnx(small_s14(), path)
    x = np.random.default_rng(1).standard_normal((BATCH, 3, H, W)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (tokens,) = session.run(None, {"input_image": x})  # (B, 1 + 12, C): class token first
    want = torch.from_numpy(tokens[:, 1:]).transpose(1, 2).reshape(BATCH, C, 4, 3)
    with torch.no_grad():
        got = model.backbone(torch.from_numpy(x))
    err = (got - want).abs().max().item()
    print(f"DINOv2 import: max |torch - onnxruntime| = {err:.2e} (token scale {want.abs().max():.2f})")
    torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)
    assert "DINOv2" in model.provenance["source"] and "Apache-2.0" in model.provenance["licence"]


def test_importer_errors(tmp_path):
    path = tmp_path / "dinov2.onnx"
    dinov2_graph(path)
    with pytest.raises(CheckpointError, match="s14"):
        load_dinov2_onnx(build_model("t"), path)
    wide = build_model("s14", embed_dim=2 * C, depth=LAYERS, num_heads=HEADS, image_size=(H, W))
    with pytest.raises(CheckpointError, match="width 16"):
        load_dinov2_onnx(wide, path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a readable ONNX"):
        load_dinov2_onnx(small_s14(), tmp_path / "junk.onnx")


def test_importer_resizes_the_patch_kernel_for_another_patch_size(tmp_path):
    """FlexiViT's pseudo-inverse resize: a 16-px token sees a patch resized from 14 px as the 14-px token saw it."""
    path = tmp_path / "dinov2.onnx"
    dinov2_graph(path)
    p14 = load_dinov2_onnx(small_s14(), path).backbone.patch_embed.proj
    m16 = build_model("s14", embed_dim=C, depth=LAYERS, num_heads=HEADS, image_size=(64, 48), patch_size=16,
                      deconv_channels=8, tff_depth=1, stda_depth=1)  # fmt: skip
    p16 = load_dinov2_onnx(m16, path).backbone.patch_embed.proj
    assert p16.weight.shape[-2:] == (16, 16) and "pseudo-inverse" in m16.provenance["source"]
    patches = torch.randn(6, 3, 14, 14)
    resized = torch.nn.functional.interpolate(patches, size=(16, 16), mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(p16(resized), p14(patches), atol=1e-4, rtol=1e-4)
