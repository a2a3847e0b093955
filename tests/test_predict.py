"""A checkpoint over a PoseTrack-format folder (``score_dataset``, ``stdpose-eval --weights``): which frames are
predicted and scored, labels passing through, the single-frame baseline in propagate mode. Random weights:
nothing here says anything about pose quality."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from lively import lively_weights

from stdpose_infer.cli.evaluate import main as eval_main
from stdpose_infer.data import write_benchmark
from stdpose_infer.errors import InputError
from stdpose_infer.evaluation import evaluate, predict_dataset, score_dataset
from stdpose_infer.model import build_model
from stdpose_infer.weights import save_weights

CLIP = {"width": 192, "height": 160, "frames": 7, "people": 2, "occluders": 1}
NAME = "000000_synthetic.json"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_benchmark(root, videos=1, seed=3, **CLIP)
    return root


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    return save_weights(lively_weights(build_model("t")), path, {"training_data": "none (random weights for a test)"})


def _images(path):
    return json.loads(path.read_text())["images"]


def test_propagate_scores_only_the_propagated_frames(synth, weights, tmp_path):
    """Labels every 3rd frame: frames 0, 3, 6 are given (and pass through exactly), 1, 2, 4, 5 are scored."""
    result = score_dataset(weights, synth, tmp_path / "p", "propagate", label_every=3, progress=False)
    assert result.num_frames == 4
    doc = json.loads((tmp_path / "p" / NAME).read_text())
    assert [im["file_name"] for im in doc["images"]] == [
        im["file_name"] for im in _images(synth / "annotations" / NAME)
    ]
    by_image = {}
    for ann in doc["annotations"]:
        by_image.setdefault(ann["image_id"], set()).add(ann["origin"])
    frames = [by_image.get(im["id"], set()) for im in doc["images"]]
    assert [f == {"given"} for f in frames] == [True, False, False, True, False, False, True]
    scored = {im["file_name"] for i, im in enumerate(doc["images"]) if i % 3}
    given_only = evaluate(synth / "annotations", tmp_path / "p", exclude={NAME: scored})
    assert given_only.num_frames == 3 and given_only.total == pytest.approx(100.0)  # labels pass through


def test_estimate_predicts_every_frame_at_the_label_boxes(synth, weights, tmp_path):
    files = predict_dataset(weights, synth, tmp_path / "e", "estimate", progress=False)
    doc = json.loads(files[0].read_text())
    gt = json.loads((synth / "annotations" / NAME).read_text())
    assert len(doc["annotations"]) == sum(1 for a in gt["annotations"] if a.get("keypoints"))
    assert {a["origin"] for a in doc["annotations"]} == {"estimated"}
    assert score_dataset(weights, synth, tmp_path / "e", progress=False).num_frames == 7


@pytest.mark.filterwarnings("ignore:these weights are untrained")
def test_single_frame_baseline_propagates_at_interpolated_boxes(synth, tmp_path):
    torch.manual_seed(0)
    baseline = build_model("t", use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    with pytest.warns(UserWarning, match="ignores the labels' heatmaps"):
        files = predict_dataset(baseline, synth, tmp_path / "b", "propagate", label_every=3, progress=False)
    origins = {a["origin"] for a in json.loads(files[0].read_text())["annotations"]}
    assert origins == {"given", "propagated"}


def test_eval_cli_with_weights(synth, weights, tmp_path, capsys):
    out = tmp_path / "map.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = eval_main(["--weights", str(weights), "--data", str(synth), "--mode", "propagate", "--label-every",
                          "3", "--out", str(tmp_path / "pred"), "--json", str(out), "--precision", "bf16"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "propagated frames only" in printed and "torch on cpu, bf16" in printed
    assert json.loads(out.read_text())["num_frames"] == 4
    with pytest.raises(SystemExit):
        eval_main(["--weights", str(weights)])  # no --data
    with pytest.raises(InputError, match="label_every >= 2"):
        predict_dataset(weights, synth, tmp_path / "x", "propagate", label_every=1, progress=False)


def test_interpolated_labels_reference(synth, tmp_path):
    """The no-model reference: given frames pass through exactly, propagated frames are close but not exact
    (the synthetic people move)."""
    from stdpose_infer.evaluation import interpolate_labels, score_predictions

    files = interpolate_labels(synth, tmp_path / "i", label_every=3)
    doc = json.loads(files[0].read_text())
    assert {a["origin"] for a in doc["annotations"]} == {"given", "interpolated"}
    propagated = score_predictions(synth, tmp_path / "i", "propagate", label_every=3)
    assert propagated.num_frames == 4 and 0.0 < propagated.total < 100.0  # people move: not exact, not useless
    scored = {im["file_name"] for i, im in enumerate(doc["images"]) if i % 3}
    assert evaluate(synth / "annotations", tmp_path / "i", exclude={NAME: scored}).total == pytest.approx(100.0)


@pytest.mark.filterwarnings("ignore:these weights are untrained")
def test_flip_test_reaches_the_pipeline(synth, weights, tmp_path):
    plain = predict_dataset(weights, synth, tmp_path / "a", "estimate", progress=False)[0]
    flipped = predict_dataset(weights, synth, tmp_path / "b", "estimate", progress=False, flip_test=True)[0]
    a, b = (np.array([x["keypoints"] for x in json.loads(f.read_text())["annotations"]]) for f in (plain, flipped))
    assert a.shape == b.shape and np.abs(a - b).max() > 0.1  # the mirrored crops' heatmaps were averaged in
