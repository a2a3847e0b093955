"""A ``label_prior`` model with propagate mode's own TKS, DAM and STDA (``propagate_modules``): estimate mode is the
model without them, exactly; propagate mode starts from the carried labels (the key frame's heatmap where a joint
has none) and runs its own modules, the same through the whole graph, the torch halves and the ONNX halves."""

from __future__ import annotations

import pytest
import torch

from lively import lively_weights as make_lively
from stdpose_infer import build_model, load_backend
from stdpose_infer.errors import InputError
from stdpose_infer.export import export_onnx
from stdpose_infer.model.stdpose import label_prior_heatmaps


@pytest.fixture(scope="module")
def pair():
    """(plain tiny model, the same with its own propagate modules, lively and different from estimate mode's)."""
    torch.manual_seed(0)
    plain = make_lively(build_model("t"))
    own = build_model("t", label_prior=True, propagate_modules=True)
    missing, unexpected = own.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("propagation.") for k in missing)
    make_lively(own.propagation, seed=1)
    return plain, own


def test_estimate_mode_is_the_model_without_them(pair, frames):
    plain, own = pair
    with torch.no_grad():
        torch.testing.assert_close(own(frames), plain(frames), rtol=0, atol=0)


def test_propagate_mode_runs_its_own_modules_and_the_halves_agree(pair, frames, aux):
    plain, own = pair
    with torch.no_grad():
        whole = own(frames, aux)
        feats, heat = own.frame_features(frames.flatten(0, 1))
        feats, heat = feats.unflatten(0, (len(frames), 3)), heat.unflatten(0, (len(frames), 3))
        heatmaps = torch.stack([aux[:, 0], heat[:, 1], aux[:, 1]], dim=1)
        torch.testing.assert_close(own.temporal(feats, heatmaps, propagate=True), whole, atol=1e-5, rtol=1e-4)
        shared = label_prior_heatmaps(own.temporal(feats, heatmaps), heatmaps)  # estimate mode's modules instead
        fused = own.tff(feats.flatten(3).transpose(2, 3))  # training caches TFF's output and calls refine on it
        torch.testing.assert_close(own.refine(fused, heatmaps, propagate=True)[0], whole, atol=1e-5, rtol=1e-4)
    assert (whole - shared).abs().max() > 1e-3  # a wiring that ignored the own modules would show


def test_the_prior_is_the_carried_labels_else_the_key_heatmap(frames):
    model = make_lively(build_model("t", label_prior=True, propagate_modules=True), seed=2)
    torch.nn.init.zeros_(model.propagation["stda"].head.final_layer.weight)  # correction 0: the prior alone
    torch.nn.init.zeros_(model.propagation["stda"].head.final_layer.bias)
    aux = torch.rand(len(frames), 2, 17, 64, 48)
    aux[:, :, 3] = 0  # joint 3 labeled on neither side
    with torch.no_grad():
        out = model(frames, aux)
        key = model.frame_features(frames[:, 1])[1]
    seen = [j for j in range(17) if j != 3]
    torch.testing.assert_close(out[:, seen], aux.mean(1)[:, seen])
    torch.testing.assert_close(out[:, 3], key[:, 3], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["onnxruntime"])  # openvino here crashed a later test (SIGINT) with a segfault
def test_onnx_runs_the_propagate_half_as_its_own_graph(pair, frames, aux, tmp_path, name):
    pytest.importorskip(name)
    plain, own = pair
    modes = ("estimate", "propagate", "frame_features", "temporal", "propagate_temporal")
    backend = load_backend(own, name, "cpu", "fp32", modes, tmp_path)
    assert "propagate_temporal" in backend._infos
    feats, heat = backend.frame_features(frames.flatten(0, 1))
    feats, heat = feats.unflatten(0, (len(frames), 3)), heat.unflatten(0, (len(frames), 3))
    heatmaps = torch.stack([aux[:, 0], heat[:, 1], aux[:, 1]], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(backend.temporal(feats, heatmaps, propagate=True), own(frames, aux),
                                   atol=1e-4, rtol=1e-4)  # fmt: skip
        torch.testing.assert_close(backend.temporal(feats, heat), own(frames), atol=1e-4, rtol=1e-4)
    # a model whose propagate mode is estimate mode's has no such graph, and says which one serves
    plain_backend = load_backend(plain, name, "cpu", "fp32", modes, tmp_path)
    assert "propagate_temporal" not in plain_backend._infos
    with pytest.raises(InputError, match="export mode 'temporal'"):
        export_onnx(plain, tmp_path / "p.onnx", "propagate_temporal")

