"""TensorRT-RTX builds every exported graph ahead of time (no GPU), caches it and refuses mismatches."""

from __future__ import annotations

import json
import os

import pytest

from stdpose_infer.errors import EngineError
from stdpose_infer.runtime import build_engine, check_engine

trt = pytest.importorskip("tensorrt_rtx", reason="needs tensorrt-rtx-cu13 (installed by the test extra)")


@pytest.mark.parametrize("mode", ["estimate", "propagate"])
def test_fp16_engine_builds_ahead_of_time_and_is_cached(tiny_graphs, tmp_path, mode):
    onnx_path = tiny_graphs[(mode, "fp16")]
    engine = build_engine(onnx_path, tmp_path, profile=(1, 16, 64), target="SM89")
    assert engine.stat().st_size > 100_000
    meta = json.loads(engine.with_suffix(".json").read_text())
    assert meta["mode"] == mode and meta["precision"] == "fp16" and meta["target"] == "SM89"
    assert meta["trt_version"] == trt.__version__ and meta["profile"] == [1, 16, 64]
    print(f"{mode}: built for SM89 in {meta['build_seconds']} s, {engine.stat().st_size / 1e6:.1f} MB")
    stamp = engine.stat().st_mtime_ns
    assert build_engine(onnx_path, tmp_path, profile=(1, 16, 64), target="SM89") == engine  # cache hit
    assert engine.stat().st_mtime_ns == stamp
    other = build_engine(onnx_path, tmp_path, profile=(1, 8, 32), target="SM89")  # new profile, new key
    assert other != engine and other.is_file()


def test_engine_mismatches_are_refused(tiny_graphs, tmp_path):
    engine = build_engine(tiny_graphs[("estimate", "fp16")], tmp_path, target="SM89")
    with pytest.raises(EngineError, match="refusing to load"):
        check_engine(engine)  # this machine has no GPU to run it, and said so
    sidecar = engine.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["trt_version"] = "0.9.0"
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(EngineError, match=f"built with tensorrt_rtx 0.9.0, this is tensorrt_rtx {trt.__version__}"):
        check_engine(engine)
    os.remove(sidecar)
    with pytest.raises(EngineError, match="has no .* beside it"):
        check_engine(engine)


def test_build_errors(tiny_graphs, tmp_path):
    with pytest.raises(EngineError, match="needs a CUDA GPU"):
        build_engine(tiny_graphs[("estimate", "fp16")], tmp_path)  # no target, no GPU here
    with pytest.raises(EngineError, match="cannot target"):
        build_engine(tiny_graphs[("estimate", "fp16")], tmp_path, target="SM42")
    with pytest.raises(ValueError, match="profile"):
        build_engine(tiny_graphs[("estimate", "fp16")], tmp_path, profile=(8, 4, 64), target="SM89")


def test_feature_reuse_engines_build_ahead_of_time(tmp_path, capsys):
    """The model's two halves (cross-frame feature reuse) build as TensorRT-RTX engines without a GPU, from the
    export CLI, each with its sidecar naming the half it runs."""
    from stdpose_infer.cli.export import main

    for mode in ("frame_features", "temporal"):
        out = tmp_path / f"t-{mode}.onnx"
        argv = ["--random-weights", "--variant", "t", "--mode", mode, "--precision", "fp16", "--out", str(out),
                "--engine", "--target", "SM89"]  # fmt: skip
        assert main(argv) == 0
        engines = list(tmp_path.glob("*.engine"))
        meta = [json.loads(e.with_suffix(".json").read_text()) for e in engines]
        assert mode in {m["mode"] for m in meta} and all(m["target"] == "SM89" for m in meta)
    assert len(list(tmp_path.glob("*.engine"))) == 2 and "engine:" in capsys.readouterr().out
