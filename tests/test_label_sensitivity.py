"""Whether propagation reads its labels (``evaluation.label_sensitivity``): every label moved d px, the share of d
the propagated joints follow. Sources that carry the labels follow all of it; the shipped starter's model alone
does not (issue 37: its temporal half places joints from the key frame's pixels)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stdpose_infer import Pipeline
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.evaluation import label_sensitivity
from stdpose_infer.evaluation.predict import sparse_labels
from stdpose_infer.video import read_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(frames, labels on every 4th frame) of a 9-frame synthetic clip with 2 people."""
    root = tmp_path_factory.mktemp("sensitivity_clip")
    write_benchmark(root, videos=1, seed=5, width=256, height=192, frames=9, people=2, occluders=0)
    path = next((root / "annotations").glob("*.json"))
    doc = json.loads(path.read_text())
    frames = [f.image for f in read_frames(root / "images" / path.stem)]
    return frames, sparse_labels(doc, frame_order(doc["images"]), 4)


def test_sources_that_carry_the_labels_follow_them(clip, tiny):
    frames, labels = clip
    interpolated = Pipeline(tiny, backend="torch", detector=None, device="cpu", fallback="interpolate")
    assert label_sensitivity(interpolated, frames, labels, d=10.0) == pytest.approx(1.0, abs=1e-6)
    # tracking follows the pixels at the moved labels, which need not move as the person does: most of d
    tracked = Pipeline(tiny, backend="torch", detector=None, device="cpu", fallback="track")
    assert 0.5 <= label_sensitivity(tracked, frames, labels, d=10.0) <= 1.1


@pytest.mark.xfail(strict=True, reason="a known limit of the v3 starter: it follows 0.74 of a 10 px label shift on the "
                   "held-out real clip (4.5 % of its people's height) but 0.27 here, where 10 px is 11 % of a person: "
                   "it keeps shifts of up to ~3 % of a person's height as the labels' convention and pulls larger ones "
                   "back toward the pixels (benchmarks/results/2026-12-06_label_sensitivity.md); when a model follows "
                   "here, this passes and the mark must go")
def test_the_shipped_model_alone_follows_its_labels(clip):
    frames, labels = clip
    pipe = Pipeline(backend="torch", detector=None, device="cpu", fallback="none")
    assert label_sensitivity(pipe, frames, labels, d=10.0) >= 0.5


def _label_prior_model():
    """The tiny model as a ``label_prior`` model whose STDA starts at zero: it equals its carried labels."""
    import torch

    from stdpose_infer import build_model

    torch.manual_seed(0)
    model = build_model("t", label_prior=True)
    torch.nn.init.zeros_(model.stda.head.final_layer.weight)
    torch.nn.init.zeros_(model.stda.head.final_layer.bias)
    return model


def test_a_label_prior_model_is_its_carried_labels_plus_a_correction(frames):
    import torch

    from stdpose_infer import build_model

    model = _label_prior_model()
    aux = torch.rand(len(frames), 2, 17, 64, 48)
    with torch.no_grad():
        out = model(frames, aux)
        torch.testing.assert_close(out, aux.mean(1))  # STDA at zero: exactly the carried labels
        torch.nn.init.normal_(model.stda.head.final_layer.weight, std=0.01)
        whole = model(frames, aux)
        feats, heat = model.frame_features(frames.flatten(0, 1))
        heat = heat.unflatten(0, (len(frames), 3))
        heatmaps = torch.stack([aux[:, 0], heat[:, 1], aux[:, 1]], dim=1)
        split = model.temporal(feats.unflatten(0, (len(frames), 3)), heatmaps, propagate=True)
        torch.testing.assert_close(whole, split, atol=1e-5, rtol=1e-4)  # feature reuse's path gives the same
        plain = build_model("t")
        plain.load_state_dict(model.state_dict())
        torch.testing.assert_close(model(frames), plain(frames))  # estimate mode is unchanged


def test_a_label_prior_model_follows_its_labels_in_the_pipeline(clip):
    frames, labels = clip
    pipe = Pipeline(_label_prior_model(), backend="torch", detector=None, device="cpu", fallback="none")
    assert label_sensitivity(pipe, frames, labels, d=10.0) == pytest.approx(1.0, abs=0.1)


def test_a_label_prior_model_scores_its_joints_by_the_labels_behind_them(clip):
    """Its own fallback by default ("none": it starts from the carried labels itself), and the scores say how many
    labels carry each joint: a joint copied from one label scores half of one carried between two."""
    frames, labels = clip
    pipe = Pipeline(_label_prior_model(), backend="torch", detector=None, device="cpu")
    assert pipe.fallback.mode == "none"
    results = {r.frame_index: r for r in pipe.propagate(frames, labels)}
    # frame 2: person 2 is labeled on frames 0 and 4, person 1 on frame 4 only
    r = results[2]
    one_side = r.scores[r.track_ids == 1][0]
    both_sides = r.scores[r.track_ids == 2][0]
    labeled = both_sides > 0
    assert 0.8 < np.median(both_sides[labeled]) <= 1.0
    carried = one_side > 0.1  # the joints labeled there (the rest: the untrained model's own, near 0)
    assert carried.sum() >= 3 and np.all((one_side[carried] > 0.4) & (one_side[carried] <= 0.5))
