"""Weights: native safetensors round trip, ViTPose import, and every bad file's error."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from stdpose_infer import CheckpointError, build_model, load_model, load_vitpose, load_weights, save_weights
from stdpose_infer.keypoints import COCO, POSETRACK
from lively import lively_weights as make_lively
from stdpose_infer.weights import average_checkpoints, read_checkpoint

# --------------------------------------------------------------------------- native format


def test_round_trip_is_bit_exact(tmp_path, tiny, frames):
    path = save_weights(tiny, tmp_path / "tiny.safetensors")
    loaded = load_model(path)
    assert loaded.config == tiny.config
    original = tiny.state_dict()
    for key, value in loaded.state_dict().items():
        assert value.dtype == original[key].dtype and torch.equal(value, original[key]), key
    with torch.no_grad():
        assert torch.equal(loaded(frames[:2]), tiny(frames[:2]))


def test_metadata_carries_config_and_provenance(tmp_path):
    model = build_model("t", keypoint_format="coco", use_dam=False)
    path = save_weights(
        model, tmp_path / "m.safetensors", provenance={"source": "unit test", "licence": "CC0", "training_data": "none"}
    )
    config, provenance, _ = read_checkpoint(path)
    assert config.keypoint_format == "coco" and config.use_dam is False
    assert provenance == {"source": "unit test", "licence": "CC0", "training_data": "none"}
    assert load_model(path).provenance["source"] == "unit test"
    untrained = read_checkpoint(save_weights(build_model("t"), tmp_path / "u.safetensors"))[1]
    assert "untrained" in untrained["training_data"]


def test_save_refuses_missing_provenance(tmp_path):
    model = build_model("t")
    model.provenance = {"source": "somewhere"}
    with pytest.raises(ValueError, match=r"provenance needs \['licence', 'training_data'\]"):
        save_weights(model, tmp_path / "x.safetensors")


def test_average_checkpoints_is_the_mean_of_the_weights(tmp_path):
    torch.manual_seed(0)
    paths = [save_weights(build_model("t"), tmp_path / f"{i}.safetensors") for i in range(3)]
    states = [load_model(p).state_dict() for p in paths]
    soup = average_checkpoints(paths)
    for key, value in soup.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, sum(s[key] for s in states) / 3, atol=1e-7), key
        else:
            assert torch.equal(value, states[0][key]), key
    assert "mean of 3 checkpoints" in soup.provenance["source"]
    other = save_weights(build_model("t", use_dam=False), tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="config differs"):
        average_checkpoints([paths[0], other])


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(build_model("t"), path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file.*import-vitpose"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_file(tmp_path, saved_tiny):
    data = saved_tiny.read_bytes()
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.safetensors: not a readable safetensors file"):
        load_model(bad)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "notes.safetensors"
    bad.write_text("these are not weights")
    with pytest.raises(CheckpointError, match="notes.safetensors: not a readable safetensors file"):
        load_model(bad)


def test_pth_given_to_load_model_points_to_the_importer(tmp_path):
    pth = tmp_path / "vitpose.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, pth)
    with pytest.raises(CheckpointError, match="a PyTorch pickle.*stdpose-infer import-vitpose"):
        load_model(pth)


def test_header_length_that_starts_like_a_pickle_still_loads(tmp_path):
    """A safetensors file starts with its header's length; one of 0x..80 bytes begins with 0x80, a pickle's first
    byte. Such checkpoints were refused as pickles (found when an ablation's checkpoint hit it)."""
    model = build_model("t")
    for pad in range(1, 400):
        path = save_weights(model, tmp_path / "m.safetensors", {"training_data": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length with low byte 0x80")
    assert set(load_model(path).state_dict()) == set(model.state_dict())
    legacy = tmp_path / "legacy.pth"
    torch.save({"w": torch.zeros(1)}, legacy, _use_new_zipfile_serialization=False)  # starts with 0x80 0x02
    with pytest.raises(CheckpointError, match="a PyTorch pickle"):
        load_model(legacy)


def test_foreign_safetensors(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="without stdpose-infer metadata"):
        load_model(path)


def test_wrong_variant_and_keypoints_requested(saved_tiny):
    with pytest.raises(CheckpointError, match="holds variant 't'.*variant 'b' was asked for"):
        load_model(saved_tiny, variant="b")
    with pytest.raises(CheckpointError, match="has 17 keypoints, but 15 were asked for"):
        load_model(saved_tiny, num_keypoints=15)
    with pytest.raises(CheckpointError, match="holds variant 't'"):
        load_weights(build_model("s"), saved_tiny)


def test_tensors_that_do_not_fit_the_config_are_listed(tmp_path):
    """A file whose tensors disagree with its own config (edited, or mixed up) names every problem."""
    model = build_model("t")
    tensors = {k: v.contiguous() for k, v in model.state_dict().items() if not k.startswith("tff.")}
    tensors["keypoint_head.final_layer.weight"] = torch.zeros(15, 32, 1, 1)
    tensors["extra.weight"] = torch.zeros(1)
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={"format": "stdpose-infer/1", "config": model.config.to_json()})
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    text = str(err.value)
    assert "edited.safetensors: the checkpoint does not fit the model" in text
    assert "keypoint_head.final_layer.weight: file (15, 32, 1, 1) vs model (17, 32, 1, 1)" in text
    assert "missing from the file (" in text and "\n    tff." in text
    assert "in the file but not in the model (1):\n    extra.weight" in text


# --------------------------------------------------------------------------- ViTPose import


def official_vitpose_state_dict(dim: int, depth: int, joints: int = 17, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with exactly the key names and shapes of ViTPose's released checkpoints."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, std: float = 0.02) -> torch.Tensor:
        return torch.randn(shape, generator=g) * std

    sd = {
        "backbone.patch_embed.proj.weight": rnd(dim, 3, 16, 16),
        "backbone.patch_embed.proj.bias": rnd(dim),
        "backbone.pos_embed": rnd(1, 16 * 12 + 1, dim),
    }
    for i in range(depth):
        p = f"backbone.blocks.{i}."
        sd |= {
            p + "norm1.weight": 1 + rnd(dim),
            p + "norm1.bias": rnd(dim),
            p + "attn.qkv.weight": rnd(3 * dim, dim),
            p + "attn.qkv.bias": rnd(3 * dim),
            p + "attn.proj.weight": rnd(dim, dim),
            p + "attn.proj.bias": rnd(dim),
            p + "norm2.weight": 1 + rnd(dim),
            p + "norm2.bias": rnd(dim),
            p + "mlp.fc1.weight": rnd(4 * dim, dim),
            p + "mlp.fc1.bias": rnd(4 * dim),
            p + "mlp.fc2.weight": rnd(dim, 4 * dim),
            p + "mlp.fc2.bias": rnd(dim),
        }
    sd |= {"backbone.last_norm.weight": 1 + rnd(dim), "backbone.last_norm.bias": rnd(dim)}
    h = "keypoint_head."
    for conv, bn, c_in in ((0, 1, dim), (3, 4, 256)):
        sd |= {
            f"{h}deconv_layers.{conv}.weight": rnd(c_in, 256, 4, 4, std=0.05),
            f"{h}deconv_layers.{bn}.weight": 1 + rnd(256, std=0.1),
            f"{h}deconv_layers.{bn}.bias": rnd(256, std=0.1),
            f"{h}deconv_layers.{bn}.running_mean": rnd(256, std=0.1),
            f"{h}deconv_layers.{bn}.running_var": 0.5 + torch.rand(256, generator=g),
            f"{h}deconv_layers.{bn}.num_batches_tracked": torch.tensor(1000),
        }
    sd |= {h + "final_layer.weight": rnd(joints, 256, 1, 1, std=0.1), h + "final_layer.bias": rnd(joints)}
    return sd


def vitpose_reference_forward(sd: dict[str, torch.Tensor], image: torch.Tensor, heads: int) -> torch.Tensor:
    """ViTPose's forward transcribed from its code (mmpose 0.x vit.py + TopdownHeatmapSimpleHead)."""
    x = F.conv2d(image, sd["backbone.patch_embed.proj.weight"], sd["backbone.patch_embed.proj.bias"], 16, 2)
    b, c, hp, wp = x.shape
    x = x.flatten(2).transpose(1, 2)
    pos = sd["backbone.pos_embed"]
    x = x + pos[:, 1:] + pos[:, :1]
    depth = len({k.split(".")[2] for k in sd if k.startswith("backbone.blocks.")})
    for i in range(depth):
        p = f"backbone.blocks.{i}."
        y = F.layer_norm(x, (c,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], eps=1e-6)
        qkv = F.linear(y, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(b, -1, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(b, -1, c)
        x = x + F.linear(y, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        y = F.layer_norm(x, (c,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], eps=1e-6)
        y = F.linear(
            F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])),
            sd[p + "mlp.fc2.weight"],
            sd[p + "mlp.fc2.bias"],
        )
        x = x + y
    x = F.layer_norm(x, (c,), sd["backbone.last_norm.weight"], sd["backbone.last_norm.bias"], eps=1e-6)
    x = x.permute(0, 2, 1).reshape(b, c, hp, wp)
    h = "keypoint_head.deconv_layers."
    for conv, bn in ((0, 1), (3, 4)):
        x = F.conv_transpose2d(x, sd[f"{h}{conv}.weight"], stride=2, padding=1)
        x = F.batch_norm(
            x,
            sd[f"{h}{bn}.running_mean"],
            sd[f"{h}{bn}.running_var"],
            sd[f"{h}{bn}.weight"],
            sd[f"{h}{bn}.bias"],
            training=False,
            eps=1e-5,
        ).relu()
    return F.conv2d(x, sd["keypoint_head.final_layer.weight"], sd["keypoint_head.final_layer.bias"])


@pytest.fixture(scope="module")
def vitpose_b(tmp_path_factory):
    """(state dict, path) of a ViTPose-B checkpoint as released: {'state_dict': ..., 'meta': ...}."""
    sd = official_vitpose_state_dict(768, 12)
    path = tmp_path_factory.mktemp("vitpose") / "vitpose_base_coco_256x192.pth"
    torch.save({"meta": {"epoch": 210}, "state_dict": sd}, path)
    return sd, path


def test_import_vitpose_b_matches_vitpose_forward(vitpose_b):
    sd, path = vitpose_b
    model = load_vitpose(build_model("b"), path)
    assert model.config.keypoint_format == "coco"
    assert "ViTPose checkpoint vitpose_base_coco_256x192.pth" in model.provenance["source"]
    assert "untrained" in model.provenance["source"] + model.provenance["training_data"]
    torch.testing.assert_close(
        model.backbone.pos_embed, sd["backbone.pos_embed"][:, 1:] + sd["backbone.pos_embed"][:, :1]
    )
    image = torch.randn(2, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.keypoint_head(model.backbone(image))
        reference = vitpose_reference_forward(sd, image, heads=12)
    assert reference.abs().max() > 0.1, "reference too small for the comparison to mean anything"
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-4)


def _to_mmpose1(sd: dict[str, torch.Tensor], fold_pos: bool) -> dict[str, torch.Tensor]:
    rules = [
        ("backbone.patch_embed.proj.", "backbone.patch_embed.projection."),
        (".norm1.", ".ln1."),
        (".norm2.", ".ln2."),
        (".mlp.fc1.", ".ffn.layers.0.0."),
        (".mlp.fc2.", ".ffn.layers.1."),
        ("backbone.blocks.", "backbone.layers."),
        ("backbone.last_norm.", "backbone.ln1."),
        ("keypoint_head.", "head."),
    ]
    out = {}
    for key, value in sd.items():
        for a, b in rules:
            key = key.replace(a, b)
        out[key] = value
    if fold_pos:
        pos = sd["backbone.pos_embed"]
        out["backbone.pos_embed"] = pos[:, 1:] + pos[:, :1]
    return out


def test_import_mmpose1_key_names(tmp_path, vitpose_b):
    sd, path = vitpose_b
    ref = load_vitpose(build_model("b"), path).state_dict()
    p1 = tmp_path / "mmpose1.pth"
    torch.save({"state_dict": _to_mmpose1(sd, fold_pos=True)}, p1)
    got = load_vitpose(build_model("b"), p1).state_dict()
    for key in ref:
        if key.startswith(("backbone.", "keypoint_head.")):
            assert torch.equal(got[key], ref[key]), key
    # mmpretrain's rule for a (1, 1 + patches, C) pos_embed: drop the first slot
    torch.save({"state_dict": _to_mmpose1(sd, fold_pos=False)}, p1)
    got = load_vitpose(build_model("b"), p1)
    assert torch.equal(got.backbone.pos_embed, sd["backbone.pos_embed"][:, 1:])


def test_import_remaps_the_head_to_posetrack_slots(vitpose_b):
    sd, path = vitpose_b
    model = build_model("b", keypoint_format="posetrack")
    before = model.keypoint_head.final_layer.weight.detach().clone()
    load_vitpose(model, path, keypoint_format="posetrack")
    assert model.config.keypoint_format == "posetrack"
    w = model.keypoint_head.final_layer.weight.detach()
    coco_w = sd["keypoint_head.final_layer.weight"]
    for slot, name in enumerate(POSETRACK.keypoints):
        if name in COCO.keypoints and slot not in POSETRACK.empty_slots:
            assert torch.equal(w[slot], coco_w[COCO.keypoints.index(name)]), name
        else:  # head_bottom, head_top (no COCO joint) and the empty ears keep the model's init
            assert torch.equal(w[slot], before[slot]), name


def test_vitpose_plus_checkpoints_are_refused(tmp_path):
    sd = official_vitpose_state_dict(64, 1)
    sd["backbone.blocks.0.mlp.experts.0.weight"] = torch.zeros(1)
    sd["associate_keypoint_heads.0.final_layer.weight"] = torch.zeros(1)
    path = tmp_path / "vitpose+_base.pth"
    torch.save({"state_dict": sd}, path)
    with pytest.raises(CheckpointError, match=r"ViTPose\+ multi-dataset checkpoint.*model_split.py"):
        load_vitpose(build_model("t"), path)


def test_wrong_variant_is_named(tmp_path):
    path = tmp_path / "vitpose_small.pth"
    torch.save({"state_dict": official_vitpose_state_dict(384, 12)}, path)
    with pytest.raises(CheckpointError, match=r"holds ViTPose-S \(embed_dim 384, depth 12\).*variant 'b'"):
        load_vitpose(build_model("b"), path)


def test_wrong_number_of_keypoints_is_named(tmp_path):
    path = tmp_path / "wholebody.pth"
    torch.save({"state_dict": official_vitpose_state_dict(384, 12, joints=133)}, path)
    with pytest.raises(CheckpointError, match="head predicts 133 keypoints.*COCO-WholeBody"):
        load_vitpose(build_model("s"), path)


def test_missing_and_mismatched_keys_are_listed(tmp_path):
    sd = official_vitpose_state_dict(384, 12)
    del sd["backbone.blocks.3.attn.proj.bias"]
    sd["backbone.blocks.5.mlp.fc1.weight"] = torch.zeros(1000, 384)
    path = tmp_path / "damaged.pth"
    torch.save(sd, path)  # a bare state dict (no 'state_dict' wrapper) is accepted too
    with pytest.raises(CheckpointError) as err:
        load_vitpose(build_model("s"), path)
    text = str(err.value)
    assert "damaged.pth: the checkpoint does not fit the model" in text
    assert "backbone.blocks.5.mlp.fc1.weight: file (1000, 384) vs model (1536, 384)" in text
    assert "missing from the file (1):\n    backbone.blocks.3.attn.proj.bias" in text


class Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


@pytest.mark.parametrize("kind", ["garbage", "truncated", "pickled_object", "missing"])
def test_bad_pth_files(tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "garbage":
        path.write_bytes(b"\x00\x01 definitely not a checkpoint" * 10)
    elif kind == "truncated":
        torch.save({"state_dict": official_vitpose_state_dict(64, 1)}, path)
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "pickled_object":
        path.write_bytes(pickle.dumps({"state_dict": Payload()}, protocol=2))
    match = "no such file" if kind == "missing" else f"{kind}.pth: not a loadable PyTorch checkpoint"
    with pytest.raises(CheckpointError, match=match):
        load_vitpose(build_model("t"), path)


def test_lively_helper_keeps_checkpoints_loadable(tmp_path):
    """The test helper must not add or drop tensors (it only rewrites values)."""
    model = make_lively(build_model("t"))
    assert set(load_model(save_weights(model, tmp_path / "l.safetensors")).state_dict()) == set(model.state_dict())
    assert json.loads(model.config.to_json())["variant"] == "t"
