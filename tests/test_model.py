"""The STDPose network: shapes, axis conventions, propagation mode, ablations, batch independence."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from stdpose_infer import InputError, STDPose, STDPoseConfig, build_model
from stdpose_infer.model import VARIANTS, baseline_config
from lively import lively_weights as make_lively


def capture_inputs(module: torch.nn.Module) -> list[tuple]:
    """Record the positional inputs of every call to ``module``."""
    seen: list[tuple] = []
    module.register_forward_hook(lambda m, args, out: seen.append(args))
    return seen


@torch.no_grad()
def test_shapes_and_dtypes_in_both_modes(tiny, frames, aux):
    est = tiny(frames)
    prop = tiny(frames, aux)
    for out in (est, prop):
        assert out.shape == (4, 17, 64, 48) and out.dtype == torch.float32
        assert torch.isfinite(out).all()
    assert not torch.allclose(est, prop), "propagation mode gave the same heatmaps as estimation"


@torch.no_grad()
def test_frame_axis_is_axis_1_with_key_in_the_middle(frames):
    """A (B, RGB, frame, H, W) tensor has the same shape: the model must read axis 1 as frames."""
    torch.manual_seed(0)
    model = make_lively(build_model("t"))
    base = STDPose(baseline_config(model.config))
    base.load_state_dict(model.state_dict(), strict=False)  # shares backbone + head weights
    base.eval()
    key_only = model.keypoint_head(model.backbone(frames[:, 1]))
    torch.testing.assert_close(base(frames), key_only, rtol=0, atol=1e-6)
    assert (base(frames.transpose(1, 2)) - key_only).abs().max() > 1e-2, "swapped axes went unnoticed"

    # Estimation: H_l, H_t, H_r reaching TKS are the head's output on frames[:, 0], [:, 1], [:, 2].
    seen = capture_inputs(model.tks)
    model(frames)
    per_frame = torch.stack([model.keypoint_head(model.backbone(frames[:, i])) for i in range(3)], dim=1)
    torch.testing.assert_close(seen[-1][0], per_frame, rtol=0, atol=1e-5)


@torch.no_grad()
def test_propagation_puts_left_and_right_aux_heatmaps_in_place(tiny, frames, aux):
    seen_tks, seen_dam = capture_inputs(tiny.tks), capture_inputs(tiny.dam)
    tiny(frames, aux)
    h = seen_tks[-1][0]  # (B, 3, J, h, w)
    assert torch.equal(h[:, 0], aux[:, 0]) and torch.equal(h[:, 2], aux[:, 1])
    key = tiny.keypoint_head(tiny.backbone(frames[:, 1]))
    torch.testing.assert_close(h[:, 1], key, rtol=0, atol=1e-5)
    h_left, _, h_right = seen_dam[-1]
    assert torch.equal(h_left, aux[:, 0]) and torch.equal(h_right, aux[:, 1])


@torch.no_grad()
def test_propagation_output_depends_on_each_aux_heatmap(tiny, frames, aux):
    out = tiny(frames, aux)
    for side in (0, 1):
        changed = aux.clone()
        changed[:, side] = torch.roll(changed[:, side], shifts=7, dims=-1)
        assert (tiny(frames, changed) - out).abs().max() > 1e-3, f"aux side {side} did not reach the output"
    swapped = aux.flip(1)
    assert (tiny(frames, swapped) - out).abs().max() > 1e-3, "left and right aux heatmaps are interchangeable"


@torch.no_grad()
def test_batch_independence(tiny, frames, aux):
    """A sample's heatmaps do not depend on what else is in its batch (within 1e-5)."""
    for extra in ((), (aux,)):
        full = tiny(frames, *extra)
        assert full.abs().max() > 0.1, "outputs too small for the tolerance to mean anything"
        for i in range(frames.shape[0]):
            single = tiny(frames[i : i + 1], *(e[i : i + 1] for e in extra))
            torch.testing.assert_close(single[0], full[i], rtol=0, atol=1e-5)
        torch.testing.assert_close(tiny(frames[:2], *(e[:2] for e in extra)), full[:2], rtol=0, atol=1e-5)


@torch.no_grad()
def test_baseline_reads_only_the_key_frame(frames):
    model = build_model("t", use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    assert model.tff is None and model.tks is None and model.dam is None and model.stda is None
    changed = frames.clone()
    changed[:, 0] = torch.randn_like(changed[:, 0])
    changed[:, 2] = 0
    torch.testing.assert_close(model(frames), model(changed), rtol=0, atol=0)
    with pytest.raises(InputError, match="aux_heatmaps would be ignored"):
        model(frames, torch.zeros(4, 2, 17, 64, 48))


@pytest.mark.parametrize(
    "switches",
    [
        dict(use_tff=True, use_tks=False, use_dam=False, use_stda=False),  # Table 4 (b)
        dict(use_tff=False, use_tks=True, use_dam=False, use_stda=False),  # (c)
        dict(use_tff=True, use_tks=True, use_dam=False, use_stda=True),  # (d)
        dict(use_tff=True, use_tks=True, use_dam=True, use_stda=True),
    ],  # (e), (f): MI is a loss
)
@torch.no_grad()
def test_ablation_rows_build_and_run(switches, frames):
    torch.manual_seed(0)
    model = make_lively(build_model("t", **switches))
    for name in ("tff", "tks", "dam", "stda"):
        assert (getattr(model, name) is not None) == switches[f"use_{name}"]
    out = model(frames[:2])
    assert out.shape == (2, 17, 64, 48) and torch.isfinite(out).all()
    changed = frames[:2].clone()
    changed[:, 0] += 1.0
    assert (model(changed) - out).abs().max() > 1e-4, "temporal model ignored the left aux frame"


@torch.no_grad()
def test_dam_off_equals_a_uniform_mask(frames):
    """With dam_scale='hw', switching DAM off must equal feeding a uniform mask of mean 1."""
    torch.manual_seed(0)
    model = make_lively(build_model("t"))
    no_dam = STDPose(dataclasses.replace(model.config, use_dam=False)).eval()
    no_dam.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("dam.")})
    model.dam.forward = lambda hl, hk, hr: torch.full((hk.shape[0], 1, 64, 48), 1 / (64 * 48))
    torch.testing.assert_close(model(frames[:2]), no_dam(frames[:2]), rtol=0, atol=1e-6)


def test_config_validation_errors():
    with pytest.raises(ValueError, match="use_dam=True needs use_stda=True"):
        build_model("t", use_stda=False)
    with pytest.raises(ValueError, match="unknown variant"):
        build_model("xl")
    with pytest.raises(ValueError, match="has 17 slots but num_keypoints=14"):
        build_model("t", num_keypoints=14)
    with pytest.raises(TypeError, match="unknown config overrides"):
        build_model("t", tff_layers=3)
    cfg = STDPoseConfig.for_variant("t", keypoint_format="coco", tff_depth=2)
    assert STDPoseConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(2, 3, 3, 224, 224), r"frames must be a tensor \(B, 3, 3, 256, 192\)"),
        (torch.zeros(2, 3, 256, 192), r"got \(2, 3, 256, 192\)"),
        (torch.zeros(2, 3, 3, 256, 192, dtype=torch.uint8), "must be float"),
        ([[0.0]], "got list"),
    ],
)
def test_bad_frames_get_clear_errors(tiny, bad, match):
    with pytest.raises(InputError, match=match):
        tiny(bad)


def test_bad_aux_heatmaps_get_clear_errors(tiny, frames):
    with pytest.raises(InputError, match=r"aux_heatmaps must be \(B, 2, J, h, w\)"):
        tiny(frames, torch.zeros(4, 3, 17, 64, 48))
    with pytest.raises(InputError, match=r"aux_heatmaps must be"):
        tiny(frames, torch.zeros(2, 2, 17, 64, 48))


# ViTPose backbone sizes (REFERENCE.md / ViTPose paper), in millions of parameters.
VITPOSE_PARAMS = {"s": 21.7, "b": 85.8, "l": 303.3, "h": 630.9}


@pytest.mark.parametrize("variant", ["s", "b", "l", "h"])
def test_backbone_parameter_counts_match_vitpose(variant):
    device = "meta" if variant in ("l", "h") else "cpu"
    with torch.device(device):
        model = build_model(variant)
    count = sum(p.numel() for p in model.backbone.parameters()) / 1e6
    assert abs(count / VITPOSE_PARAMS[variant] - 1) <= 0.02, f"{variant}: {count:.1f}M vs {VITPOSE_PARAMS[variant]}M"
    cfg = model.config
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads) == tuple(
        VARIANTS[variant][k] for k in ("embed_dim", "depth", "num_heads")
    )


def test_identity_at_initialisation_then_training_moves_it():
    """A new model whose backbone and head were imported returns the single-frame baseline's heatmaps exactly,
    in both modes; a few training steps of the temporal part move it away."""
    from stdpose_infer.model.stdpose import STDPose, baseline_config

    model = build_model("t")
    assert model.config.residual_heatmaps
    make_lively(model.backbone, seed=1), make_lively(model.keypoint_head, seed=2)  # "imported" weights
    baseline = STDPose(baseline_config(model.config)).eval()
    baseline.load_state_dict(model.state_dict(), strict=False)
    frames = torch.randn(3, 3, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    aux = torch.rand(3, 2, 17, 64, 48)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: a batch of 9 crops and one of 3 round alike (two threads split them apart)
    try:
        with torch.no_grad():
            single = baseline(frames)
            assert single.abs().max() > 0.1  # O(1) heatmaps: "equal" means something
            torch.testing.assert_close(model(frames), single, atol=0, rtol=0)
            torch.testing.assert_close(model(frames, aux), single, atol=0, rtol=0)
    finally:
        torch.set_num_threads(threads)
    model.train()
    temporal = [p for n, p in model.named_parameters() if not n.startswith(("backbone.", "keypoint_head."))]
    optimizer = torch.optim.SGD(temporal, lr=0.05)
    target = torch.rand_like(single)
    for _ in range(3):
        optimizer.zero_grad()
        (model(frames, aux) - target).pow(2).mean().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        moved = (model(frames, aux) - single).abs().max().item()
    assert moved > 1e-4, moved


def test_checkpoints_without_the_residual_path_load_as_before(tmp_path):
    from stdpose_infer import load_model, save_weights

    old = make_lively(build_model("t", residual_heatmaps=False))
    path = save_weights(old, tmp_path / "old.safetensors")
    config = json.loads(safe_open_metadata(path)["config"])
    del config["residual_heatmaps"], config["cls_token"], config["layer_scale"]  # as written before these fields
    rewrite_config(path, config)
    loaded = load_model(path)
    assert not loaded.config.residual_heatmaps
    frames = torch.randn(2, 3, 3, 256, 192)
    with torch.no_grad():
        torch.testing.assert_close(loaded(frames), old(frames), atol=0, rtol=0)


def safe_open_metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def rewrite_config(path, config: dict) -> None:
    from safetensors.torch import load_file, save_file

    metadata = safe_open_metadata(path)
    metadata["config"] = json.dumps(config)
    save_file(load_file(str(path)), str(path), metadata=metadata)


def test_the_model_splits_into_per_frame_and_per_triplet_halves(tiny, frames, aux):
    """forward(frames) == temporal(frame_features(each frame)): what cross-frame feature reuse builds on."""
    with torch.no_grad():
        feats, heatmaps = tiny.frame_features(frames.flatten(0, 1))
        feats, heatmaps = feats.unflatten(0, (4, 3)), heatmaps.unflatten(0, (4, 3))
        torch.testing.assert_close(tiny.temporal(feats, heatmaps), tiny(frames), rtol=0, atol=0)
        given = torch.stack([aux[:, 0], heatmaps[:, 1], aux[:, 1]], dim=1)
        torch.testing.assert_close(tiny.temporal(feats, given), tiny(frames, aux), rtol=0, atol=0)
        shared, _ = tiny.frame_features(frames[:1, 1])  # one crop alone gives what it gave inside a batch
        torch.testing.assert_close(shared, feats[:1, 1], rtol=0, atol=1e-5)


def test_the_single_frame_baseline_of_a_label_prior_model_builds():
    """``stdpose-bench`` times the ViTPose baseline of the model it runs: the shipped starter (label_prior, its own
    propagate modules) included."""
    config = build_model("t", label_prior=True, propagate_modules=True).config
    base = baseline_config(config)
    assert not (base.temporal or base.label_prior or base.propagate_modules)
    assert STDPose(base).propagation is None and base.embed_dim == config.embed_dim
