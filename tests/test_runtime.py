"""Backends: one interface, the same heatmaps, clear errors for what a machine cannot run."""

from __future__ import annotations

import json

import pytest
import torch

from stdpose_infer import build_model
from stdpose_infer.errors import InputError, MissingDependencyError, require
from stdpose_infer.runtime import load_backend, resolve_device


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(3)
    return torch.randn(8, 3, 3, 256, 192, generator=g), torch.rand(8, 2, 17, 64, 48, generator=g)


def test_torch_and_onnxruntime_agree(tiny, tiny_graphs, inputs):
    frames, aux = inputs
    torch_backend = load_backend(tiny, "torch", device="cpu")
    graphs = {"estimate": tiny_graphs[("estimate", "fp32")], "propagate": tiny_graphs[("propagate", "fp32")]}
    ort_backend = load_backend(graphs, "onnxruntime", device="cpu")
    assert ort_backend.info.backend == "onnxruntime" and "portable" in ort_backend.info.dam_path
    for aux_in in (None, aux):
        want = torch_backend.infer(frames, aux_in)
        assert want.dtype == torch.float32 and want.shape == (8, 17, 64, 48)
        torch.testing.assert_close(ort_backend.infer(frames.numpy(), aux_in), want, rtol=0, atol=1e-4)


def test_torch_and_openvino_agree(tiny, tiny_graphs, inputs):
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    frames, aux = inputs
    torch_backend = load_backend(tiny, "torch", device="cpu")
    graphs = {"estimate": tiny_graphs[("estimate", "fp32")], "propagate": tiny_graphs[("propagate", "fp32")]}
    ov_backend = load_backend(graphs, "openvino", device="cpu", max_batch=5)  # 8 = 5 + 3: two shapes
    assert ov_backend.info.backend == "openvino"
    for aux_in in (None, aux):
        torch.testing.assert_close(ov_backend.infer(frames, aux_in), torch_backend.infer(frames, aux_in), rtol=0,
                                   atol=1e-4)  # fmt: skip
    import openvino as ov

    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        with pytest.raises(InputError, match="this CPU has no BF16 units"):
            load_backend(graphs, "openvino", device="cpu", precision="bf16")
    with pytest.raises(InputError, match="runs on the CPU"):
        load_backend(graphs, "openvino", device="cuda:0" if torch.cuda.is_available() else "meta")


def test_batch_splitting_changes_nothing(tiny, inputs):
    frames, aux = inputs
    whole = load_backend(tiny, "torch", device="cpu").infer(frames, aux)
    split = load_backend(tiny, "torch", device="cpu", max_batch=3).infer(frames, aux)
    torch.testing.assert_close(split, whole, rtol=0, atol=1e-5)
    assert load_backend(tiny, "torch", device="cpu").infer(frames[:0]).shape == (0, 17, 64, 48)


def test_load_backend_exports_and_caches(tiny, tmp_path, inputs):
    backend = load_backend(tiny, "onnxruntime", device="cpu", modes=("estimate",), cache_dir=tmp_path)
    graphs = sorted(p.name for p in tmp_path.rglob("*.onnx*"))
    assert graphs == ["estimate-fp32.onnx", "estimate-fp32.onnx.data"]
    again = load_backend(tiny, "onnxruntime", device="cpu", modes=("estimate",), cache_dir=tmp_path)
    assert again.info.detail["graphs"] == backend.info.detail["graphs"]
    with pytest.raises(InputError, match="no propagate graph.*--mode propagate"):
        backend.infer(*inputs)


def test_bf16_autocast_runs_and_stays_close_to_fp32(tiny, inputs):
    frames, aux = inputs
    fp32 = load_backend(tiny, "torch", device="cpu")
    bf16 = load_backend(tiny, precision="bf16", device="cpu")  # "auto" picks torch: the one BF16 backend
    assert bf16.info.backend == "torch" and bf16.info.precision == "bf16" and "BF16" in bf16.info.detail["auto"]
    assert bf16.info.dam_path == "reference torch ops (FP32)"
    assert bf16.model is not tiny and next(tiny.parameters()).dtype == torch.float32  # the caller's model untouched
    for aux_in in (None, aux):
        want, got = fp32.infer(frames, aux_in), bf16.infer(frames, aux_in)
        assert got.dtype == torch.float32
        error = (got - want).abs().max().item()
        # BF16 keeps 8 mantissa bits: a real but small difference (none would mean autocast never ran)
        assert 0 < error < 0.03 * want.abs().max().item()
        # weights stored in BF16 ahead of time give exactly what autocast over FP32 weights gives
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            plain = tiny(frames, aux_in).float()
        torch.testing.assert_close(got, plain, rtol=0, atol=0)


def test_bf16_without_cpu_units_warns(tiny, monkeypatch, caplog):
    import stdpose_infer.runtime.torch_backend as torch_backend

    monkeypatch.setattr(torch_backend, "cpu_has_bf16_units", lambda: False)
    load_backend(tiny, "torch", device="cpu", precision="bf16")
    assert "emulates BF16" in caplog.text


def test_clear_errors(tiny, tiny_graphs, inputs):
    frames, _ = inputs
    backend = load_backend(tiny, "torch", device="cpu")
    with pytest.raises(InputError, match="frames must be"):
        backend.infer(frames[:, :2])
    with pytest.raises(InputError, match="aux_heatmaps must be"):
        backend.infer(frames, torch.rand(8, 2, 17, 32, 24))
    with pytest.raises(InputError, match="float"):
        backend.infer(frames.to(torch.uint8))
    with pytest.raises(InputError, match="backend must be"):
        load_backend(tiny, "tensorflow")
    with pytest.raises(InputError, match="not an exported graph"):
        load_backend(tiny_graphs[("estimate", "fp32")], "torch")
    with pytest.raises(InputError, match="FP32 graphs"):
        load_backend(tiny_graphs[("estimate", "fp16")], "onnxruntime", device="cpu")
    with pytest.raises(InputError, match="precision must be one of"):
        load_backend(tiny, "torch", device="cpu", precision="int8")
    with pytest.raises(InputError, match="bf16' runs on the torch.*backend='torch'"):
        load_backend(tiny, "onnxruntime", device="cpu", precision="bf16")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="sees no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(InputError, match="CUDA GPU.*SM89"):
            load_backend(tiny, "tensorrt", device="cpu")
        with pytest.raises(InputError, match="FP16.*CUDA only"):
            load_backend(tiny, "torch", device="cpu", precision="fp16")
        with pytest.raises(InputError, match="CUDA kernel"):
            load_backend(tiny, "torch", device="cpu", fused_dam=True)
    with pytest.raises(MissingDependencyError, match=r'pip install "stdpose-infer\[gpu\]"'):
        require("no_such_module_xyz", "gpu", "a test feature")


def test_auto_on_the_cpu_runs_the_backend_measured_fastest_and_remembers(tiny, tmp_path, monkeypatch):
    from stdpose_infer.runtime import cpu_choice

    names = cpu_choice.installed_cpu_backends("fp32", graphs_only=False)
    assert names[0] == "torch" and "onnxruntime" in names  # both are core dependencies
    chosen = load_backend(tiny, device="cpu", modes=("estimate",), cache_dir=tmp_path, max_batch=2)
    (entry,) = json.loads((tmp_path / "cpu_choice.json").read_text()).values()
    assert set(entry["ms_per_triplet"]) | set(entry["skipped"]) == set(names) and entry["batch"] == 2
    ms = entry["ms_per_triplet"]
    assert chosen.info.backend == entry["fastest"] and ms[entry["fastest"]] <= min(ms.values()) * 1.05
    earlier = names[: names.index(entry["fastest"])]  # preferred on a tie: chosen only where not within 5 %
    assert all(ms[n] > min(ms.values()) * 1.05 for n in earlier if n in ms)
    assert "measured fastest" in chosen.info.detail["auto"] and str(tmp_path) in chosen.info.detail["auto"]
    assert f"{chosen.info.backend} on cpu, fp32" in str(chosen)

    # the next load reads the answer: no timing; an answer written for this machine is what runs
    monkeypatch.setattr(cpu_choice, "measure", lambda *a: pytest.fail("measured twice"))
    path = tmp_path / "cpu_choice.json"
    for name in names:
        path.write_text(json.dumps({k: {**e, "fastest": name} for k, e in json.loads(path.read_text()).items()}))
        assert load_backend(tiny, device="cpu", modes=("estimate",), cache_dir=tmp_path).info.backend == name
    # another architecture is another question
    monkeypatch.setattr(cpu_choice, "measure", lambda *a: {**entry, "fastest": "torch"})
    assert load_backend(build_model("t", depth=1), device="cpu", cache_dir=tmp_path).info.backend == "torch"
    assert len(json.loads(path.read_text())) == 2


def test_auto_given_graph_files_picks_among_graph_runtimes(tiny_graphs, tmp_path):
    graph = tiny_graphs[("estimate", "fp32")]
    chosen = load_backend(graph, device="cpu", cache_dir=tmp_path)  # torch cannot run a graph: not a candidate
    assert chosen.info.backend in ("onnxruntime", "openvino") and "measured fastest" in chosen.info.detail["auto"]
    (entry,) = json.loads((tmp_path / "cpu_choice.json").read_text()).values()
    assert "torch" not in entry["ms_per_triplet"]
