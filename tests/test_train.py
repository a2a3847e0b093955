"""Training: the dataset's encoding matches inference's, a few steps lower the loss, resume is exact,
pseudo-labels validate. All on a tiny synthetic clip (seconds on 2 cores)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from stdpose_infer.crops.affine import box_to_center_scale, heatmap_to_image
from stdpose_infer.data import write_benchmark
from stdpose_infer.decode import decode_heatmaps
from stdpose_infer.errors import CheckpointError, InputError
from stdpose_infer.evaluation.posetrack_json import load_video
from stdpose_infer.train import TrainConfig, TripletDataset, heatmap_mse, mi_terms, train
from stdpose_infer.train.trainer import STEP_LOG, make_model
from stdpose_infer.weights import load_model

CLIP = dict(width=192, height=160, frames=6, people=2, occluders=1)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_benchmark(root, videos=1, seed=2, **CLIP)
    return root


def test_targets_decode_back_to_the_labels(synth):
    """Without augmentation the rendered targets decode (in the crop) to the labeled joints: the dataset
    uses the same UDP geometry and Gaussian encoding as inference."""
    data = TripletDataset(synth, "propagate", max_gap=2, augment=False)
    video = data.videos[0]
    for i in range(4):
        sample = data[i]
        _, t, tid = data.items[i]
        person = video.labels[t][tid]
        coords, _ = decode_heatmaps(sample["target"][None].numpy())
        from stdpose_infer.crops.affine import box_to_center_scale

        center, scale = box_to_center_scale(person.box[None])
        back = heatmap_to_image(coords, center, scale)[0]
        use = sample["weight"].numpy() > 0
        assert use.sum() >= 3
        assert np.abs(back[use] - person.keypoints[use, :2]).max() < 0.5  # image pixels
        assert sample["aux"].shape == (2, 17, 64, 48) and sample["aux"].amax() > 0.9
        assert np.all(sample["weight"].numpy()[[3, 4]] == 0)  # ears: never supervised


def test_augmented_samples_are_reproducible(synth):
    a, b = TripletDataset(synth, seed=1), TripletDataset(synth, seed=1)
    assert torch.equal(a[3]["frames"], b[3]["frames"])
    a.set_epoch(1)
    assert not torch.equal(a[3]["frames"], b[3]["frames"])


def test_feature_reuse_crop_augmentations(synth):
    """Window crops keep the padded box inside a crop up to 1 / min_fill times the usual size; aux jitter changes
    the aux frames' crops only (the key frame and the target stay those of the plain sample)."""
    from stdpose_infer.train.dataset import window_crop

    rng = np.random.default_rng(0)
    box = np.array([100.0, 50.0, 140.0, 170.0])  # narrow: room to move sideways
    for _ in range(50):
        factor, shift = window_crop(box, 0.75, rng)
        assert 1.25 <= factor <= 1 / 0.7
        _, size = box_to_center_scale(box[None])
        crop_half = size[0] * factor / 2
        assert np.all(np.abs(shift) + (box[2:] - box[:2]) * 1.25 / 2 <= crop_half + 1e-9)
    plain, jitter = TripletDataset(synth, seed=3), TripletDataset(synth, seed=3, aux_jitter=0.2)
    a, b = plain[2], jitter[2]
    assert torch.equal(a["frames"][1], b["frames"][1]) and torch.equal(a["target"], b["target"])
    assert not torch.equal(a["frames"][0], b["frames"][0]) and not torch.equal(a["frames"][2], b["frames"][2])
    windowed = TripletDataset(synth, seed=3, window_crops=1.0)
    assert not torch.equal(windowed[2]["frames"][1], a["frames"][1])
    with pytest.raises(InputError, match="window_crops"):
        TripletDataset(synth, window_crops=2)


def test_key_occlusion_erases_the_key_frame_only(synth):
    """Propagation samples with key occlusion: part of the key frame is erased to the mean colour (0 once
    normalised), the aux frames, the labels' heatmaps and the target are those of the plain sample."""
    plain = TripletDataset(synth, "propagate", max_gap=2, seed=3)
    hidden = TripletDataset(synth, "propagate", max_gap=2, seed=3, key_occlusion=1.0)
    for i in range(3):
        a, b = plain[i], hidden[i]
        for name in ("target", "weight", "aux"):
            assert torch.equal(a[name], b[name])
        assert torch.equal(a["frames"][[0, 2]], b["frames"][[0, 2]])
        erased = (b["frames"][1] == 0).all(0) & (a["frames"][1] != 0).any(0)
        assert erased.float().mean() > 0.03  # at least one rectangle of 20-50 % x 20-50 % of the crop
        assert torch.equal(b["frames"][1][:, ~erased], a["frames"][1][:, ~erased])
    estimate = TripletDataset(synth, seed=3, key_occlusion=1.0)[0]["frames"]  # estimation samples: untouched
    assert torch.equal(estimate, TripletDataset(synth, seed=3)[0]["frames"])
    with pytest.raises(InputError, match="key_occlusion"):
        TripletDataset(synth, "propagate", max_gap=2, key_occlusion=1.5)


def test_photometric_changes_colour_alike_in_the_three_frames(synth):
    """Photometric augmentation: the same geometry, target and weights; the frames change, all three by the same
    change (single-frame samples, whose three frames are one, stay three equal frames); values stay in range."""
    from stdpose_infer.crops.triplets import MEAN, STD

    plain = TripletDataset(synth, max_gap=1, seed=5)
    coloured = TripletDataset(synth, max_gap=1, seed=5, photometric=1.0)
    for i in range(3):
        a, b = plain[i], coloured[i]
        for name in ("target", "weight"):
            assert torch.equal(a[name], b[name])
        assert not torch.allclose(a["frames"], b["frames"], atol=1e-3)
        low, high = torch.tensor(-MEAN / STD)[:, None, None], torch.tensor((1 - MEAN) / STD)[:, None, None]
        assert ((b["frames"] >= low - 1e-5) & (b["frames"] <= high + 1e-5)).all()
    single = TripletDataset(synth, max_gap=0, seed=5, photometric=1.0)
    for i in range(3):
        frames = single[i]["frames"]
        assert torch.equal(frames[0], frames[1]) and torch.equal(frames[2], frames[1])
    with pytest.raises(InputError, match="photometric"):
        TripletDataset(synth, photometric=2.0)


def test_mi_terms_are_positive_when_the_fused_side_is_better():
    target = torch.zeros(2, 17, 8, 6)
    target[:, :, 4, 3] = 1
    weight = torch.ones(2, 17)
    head = torch.nn.Identity()
    parts = {"key_features": torch.zeros_like(target), "fused_features": target * 0.9,
             "key_heatmaps": torch.zeros_like(target), "merged_heatmaps": target.clone()}  # fmt: skip
    terms = mi_terms(parts, head, target, weight)
    single = heatmap_mse(torch.zeros_like(target), target, weight)
    assert terms["mi_features"] == pytest.approx(float(single - heatmap_mse(target * 0.9, target, weight)))
    assert terms["mi_heatmaps"] == pytest.approx(float(single)) and terms["mi_features"] > 0


def test_steps_lower_the_loss_and_resume_is_exact(synth, tmp_path):
    torch.set_num_threads(2)
    common = dict(data=str(synth), variant="t", mode="propagate", max_gap=2, batch_size=4, lr=2e-3,
                  augment=False, seed=0, device="cpu")  # fmt: skip
    straight = train(TrainConfig(out=str(tmp_path / "a"), epochs=4, **common), progress=False)
    mse = straight["mse"]
    assert all(b < a for a, b in zip(mse, mse[1:])) and mse[-1] < 0.9 * mse[0], mse
    train(TrainConfig(out=str(tmp_path / "b"), epochs=2, **common), progress=False)
    resumed = train(TrainConfig(out=str(tmp_path / "b"), epochs=4, resume=True, **common), progress=False)
    assert resumed["loss"] == pytest.approx(straight["loss"], rel=1e-5)
    a, b = load_model(tmp_path / "a" / "last.safetensors"), load_model(tmp_path / "b" / "last.safetensors")
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(pa, pb, atol=1e-6), name
    assert "stdpose-train" in a.provenance["source"] and "untrained" not in a.provenance["training_data"]
    assert (tmp_path / "a" / "loss.png").stat().st_size > 1000
    steps = json.loads((tmp_path / "a" / "losses.json").read_text())["steps"]
    per_epoch = len(TripletDataset(synth, "propagate", max_gap=2)) // 4
    ends = [e * per_epoch for e in range(1, 5)]
    expected = sorted({*ends, *(e - per_epoch + k for e in ends for k in range(STEP_LOG, per_epoch, STEP_LOG))})
    assert [s for s, _ in steps] == expected
    assert [s for s, _ in resumed["steps"]] == expected  # the log continues across a resume
    assert [v for _, v in resumed["steps"]] == pytest.approx([v for _, v in steps], rel=1e-5)
    with pytest.raises(CheckpointError, match="max_gap"):
        train(TrainConfig(out=str(tmp_path / "b"), epochs=5, resume=True, **{**common, "max_gap": 1}), progress=False)


def test_bf16_training_runs_its_forward_in_bf16_and_learns(synth, tmp_path, monkeypatch):
    """precision="bf16": the forward's matmuls run in BF16 (autocast), the weights stay FP32, the loss falls."""
    seen = set()
    original = torch.nn.Linear.forward

    def spy(self, x):
        out = original(self, x)
        seen.add(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    config = TrainConfig(data=str(synth), out=str(tmp_path / "bf16"), variant="t", mode="propagate", max_gap=2,
                         batch_size=4, lr=2e-3, augment=False, seed=0, device="cpu", epochs=4, precision="bf16")  # fmt: skip
    mse = train(config, progress=False)["mse"]
    assert seen == {torch.bfloat16}
    assert mse[-1] < 0.9 * mse[0], mse
    model = load_model(tmp_path / "bf16" / "last.safetensors")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    with pytest.raises(InputError, match="precision"):
        train(TrainConfig(data=str(synth), out=str(tmp_path / "x"), precision="fp16"), progress=False)


def test_pseudo_labels_validate_and_feed_training(synth, tmp_path):
    from stdpose_infer.cli.train import main

    run = tmp_path / "run"
    common = ["--data", str(synth), "--batch-size", "4", "--device", "cpu", "--no-augment"]
    assert main(["fit", "--out", str(run), "--mode", "propagate", "--max-gap", "2", "--epochs", "1", *common]) == 0
    assert main(["pseudo-labels", "--weights", str(run / "last.safetensors"), "--data", str(synth),
                 "--label-every", "3"]) == 0  # fmt: skip
    pseudo = synth / "annotations_pseudo" / "000000_synthetic.json"
    frames = load_video(pseudo)  # the evaluator's reader accepts it
    doc = json.loads(pseudo.read_text())
    gt = json.loads((synth / "annotations" / "000000_synthetic.json").read_text())
    assert [im["file_name"] for im in doc["images"]] == [im["file_name"] for im in gt["images"]]
    assert len(frames) == 6 and all(f.num_people >= 1 for f in frames.values())
    origins = {a["origin"] for a in doc["annotations"]}
    assert origins == {"given", "propagated"}
    assert main(["fit", "--out", str(tmp_path / "est"), "--annotations", "annotations_pseudo", "--epochs", "1",
                 "--photometric", "0.5", "--precision", "bf16", *common]) == 0  # fmt: skip


def test_bad_training_setups(synth, tmp_path):
    with pytest.raises(InputError, match="no training samples"):
        TripletDataset(synth, "propagate", label_every=3, max_gap=2)  # labeled frames too far apart
    with pytest.raises(InputError, match="no annotations"):
        TripletDataset(tmp_path)
    with pytest.raises(InputError, match="unknown ablation"):
        train(TrainConfig(data=str(synth), out=str(tmp_path / "x"), ablate=("nope",)), progress=False)
    with pytest.raises(CheckpointError, match="no train_state"):
        train(TrainConfig(data=str(synth), out=str(tmp_path / "y"), resume=True), progress=False)


def test_staged_training_freezes_and_carries_the_shared_parts(synth, tmp_path):
    """Stage A (single frame, first block frozen) then stage B (temporal modules only, both tasks) from its file:
    frozen parameters do not move, and stage B starts from stage A's backbone and head."""
    common = dict(data=str(synth), variant="t", epochs=1, batch_size=4, device="cpu", augment=False)
    stage_a = TrainConfig(out=str(tmp_path / "a"), ablate=("baseline",), max_gap=0, freeze_blocks=1, **common)
    train(stage_a)
    single = load_model(tmp_path / "a" / "last.safetensors")
    assert not single.config.use_stda
    fresh = make_model(stage_a)  # the same initialisation (seeded)
    torch.testing.assert_close(single.backbone.blocks[0].attn.qkv.weight, fresh.backbone.blocks[0].attn.qkv.weight)
    assert not torch.equal(single.backbone.blocks[1].attn.qkv.weight, fresh.backbone.blocks[1].attn.qkv.weight)
    train(TrainConfig(out=str(tmp_path / "b"), init=str(tmp_path / "a" / "last.safetensors"), mode="propagate",
                      max_gap=2, estimate_every=2, freeze=("backbone.", "keypoint_head."), **common))  # fmt: skip
    full = load_model(tmp_path / "b" / "last.safetensors")
    assert full.config.use_stda and full.config.residual_heatmaps
    for name, value in single.state_dict().items():  # backbone and head (BN statistics too) as stage A left them
        torch.testing.assert_close(full.state_dict()[name], value, msg=name)
    assert full.stda.head.final_layer.weight.abs().max() > 0  # the temporal part trained away from zero
    with pytest.raises(InputError, match="every parameter is frozen"):
        train(TrainConfig(out=str(tmp_path / "c"), freeze=("",), **common))
