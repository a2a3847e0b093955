"""The shipped starter model and default detector: present, documented, and producing poses on real people."""

from __future__ import annotations

import json
import logging

import numpy as np
from conftest import shared_data

from stdpose_infer import Pipeline, load_model
from stdpose_infer.cli.main import main
from stdpose_infer.defaults import NANODET_FILE, STARTER_WEIGHTS

PACKAGE_BUDGET_MB = 100  # the shipped model files together


def test_shipped_files_fit_the_budget_and_say_where_they_come_from():
    shipped = sorted(p.name for p in STARTER_WEIGHTS.parent.iterdir() if p.suffix in (".onnx", ".safetensors"))
    assert shipped == sorted([STARTER_WEIGHTS.name, NANODET_FILE.name]), shipped  # the starter and one detector
    sizes = sum(f.stat().st_size for f in (STARTER_WEIGHTS, NANODET_FILE))
    assert sizes / 2**20 <= PACKAGE_BUDGET_MB, sizes / 2**20
    model = load_model(STARTER_WEIGHTS)
    for key in ("source", "licence", "training_data", "accuracy"):
        assert model.provenance.get(key), key
    assert "untrained" not in model.provenance["training_data"]
    assert "PoseTrack" in model.provenance["accuracy"]


def test_pipeline_without_weights_runs_the_starter_model_on_real_people(caplog):
    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test", "000001_mpiinew_test.mp4")
    with caplog.at_level(logging.INFO, logger="stdpose_infer"):
        pipe = Pipeline(batch_size=16)
    assert "starter model" in caplog.text  # it says which model runs
    results = list(pipe(clip))
    assert len(results) == 5
    people = [r for r in results if len(r)]
    assert len(people) >= 4, "the default detector finds the footballers"
    inside = []
    for r in people:
        for box, kps, scores in zip(r.boxes, r.keypoints, r.scores):
            x1, y1, x2, y2 = box
            pad = 0.15 * max(x2 - x1, y2 - y1)
            ok = r.keypoint_format.valid_mask
            inside.append(((kps[ok, 0] > x1 - pad) & (kps[ok, 0] < x2 + pad) & (kps[ok, 1] > y1 - pad)
                           & (kps[ok, 1] < y2 + pad)).mean())  # fmt: skip
    assert np.mean(inside) > 0.9, inside


def test_info_shows_the_starter_model(capsys):
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["file"].endswith("stdpose-s14-starter.safetensors")
    assert "MoveNet" in info["provenance"]["source"] and "mAP" in info["provenance"]["accuracy"]


def test_a_missing_starter_model_is_a_clear_error(monkeypatch, tmp_path):
    import pytest

    from stdpose_infer import InputError, defaults

    monkeypatch.setattr(defaults, "STARTER_WEIGHTS", tmp_path / "gone.safetensors")
    with pytest.raises(InputError, match="starter model is not installed"):
        Pipeline()
    with pytest.raises(InputError, match="gone.onnx is not installed.*hog"):
        defaults.shipped_detector_file(tmp_path / "gone.onnx")
