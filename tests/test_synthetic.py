"""The procedural sparse-label benchmark: deterministic, labels that match the pixels, readable by our loaders."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from stdpose_infer.data import SyntheticConfig, SyntheticVideo, write_benchmark
from stdpose_infer.errors import InputError
from stdpose_infer.evaluation.posetrack_map import evaluate
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.annotation import read_labels

SMALL = dict(width=192, height=160, frames=6, people=3)


def test_same_seed_same_pixels_and_labels():
    a = list(SyntheticVideo(SyntheticConfig(seed=5, **SMALL)))
    b = list(SyntheticVideo(SyntheticConfig(seed=5, **SMALL)))
    c = list(SyntheticVideo(SyntheticConfig(seed=6, **SMALL)))
    for (fa, la), (fb, lb) in zip(a, b):
        assert np.array_equal(fa, fb) and np.array_equal(la.keypoints, lb.keypoints)
    assert not np.array_equal(a[0][0], c[0][0])
    assert a[0][0].shape == (160, 192, 3) and a[0][0].dtype == np.uint8


def test_labels_follow_posetrack_and_the_pixels():
    video = SyntheticVideo(SyntheticConfig(width=320, height=240, frames=20, people=4, seed=1, occluders=3))
    occluded = visible = 0
    moved = []
    for t, (frame, lab) in enumerate(video):
        k = lab.keypoints
        assert k.shape[1:] == (17, 3)
        assert np.all(k[:, [3, 4]] == 0), "ears are never annotated in PoseTrack"
        given = ~np.all(k == 0, axis=-1)
        inside = (k[..., 0] >= 0) & (k[..., 0] <= 319) & (k[..., 1] >= 0) & (k[..., 1] <= 239)
        assert np.all(inside[given])
        visible += int((k[..., 2] == 1).sum())
        occluded += int((given & (k[..., 2] == 0)).sum())
        for person, box, head in zip(k, lab.boxes, lab.head_boxes):
            vis = person[:, 2] == 1
            assert np.all(person[vis, 0] >= box[0] - 3) and np.all(person[vis, 0] <= box[2] + 3)
            assert np.all(person[vis, 1] >= box[1] - 3) and np.all(person[vis, 1] <= box[3] + 3)
            assert head[2] > 4 and head[3] > 4
        if t in (0, 10):
            moved.append(dict(zip(lab.track_ids.tolist(), k[:, 11, :2])))
    assert visible > 300 and occluded > 10, (visible, occluded)  # people hide each other and behind objects
    common = set(moved[0]) & set(moved[1])
    assert any(np.linalg.norm(moved[0][i] - moved[1][i]) > 3 for i in common), "people (or the camera) move"


def test_written_benchmark_reads_back(tmp_path):
    paths = write_benchmark(tmp_path, videos=2, seed=3, label_every=3, **SMALL)
    assert [p.name for p in paths] == ["000000_synthetic.json", "000001_synthetic.json"]
    doc = json.loads(paths[0].read_text())
    assert doc["categories"][0]["keypoints"] == list(POSETRACK.keypoints)
    labeled = [im["frame_index"] for im in doc["images"] if im["is_labeled"]]
    assert labeled == [0, 3] and len(doc["images"]) == 6
    first = cv2.imread(str(tmp_path / doc["images"][0]["file_name"]))
    assert first.shape == (160, 192, 3)
    names = [im["file_name"] for im in doc["images"]]
    table = read_labels(paths[0], names, POSETRACK)  # the pipeline's propagate-mode reader
    assert sorted(table) == [0, 3] and len(table[0].track_ids) >= 1
    pred = tmp_path / "pred"
    pred.mkdir()
    for p in paths:  # ground truth scored as predictions: 100 (the evaluator reads what we write)
        shutil.copy(p, pred / p.name)
    with pytest.warns(UserWarning, match="no 'scores'"):
        assert evaluate(tmp_path / "annotations", pred).total == pytest.approx(100.0)


def test_bad_config_is_refused():
    with pytest.raises(InputError, match="width, height >= 64"):
        SyntheticVideo(SyntheticConfig(width=32))
