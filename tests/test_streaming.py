"""Propagation streams: the labels are read first, the video decoded once, and only one gap between labels is held;
a folder, a list of frames and a generator give the same poses. Tiny model, synthetic clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stdpose_infer import Pipeline
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order, read_image
from stdpose_infer.evaluation.predict import sparse_labels
from stdpose_infer.pipeline import batcher

FRAMES, T = 40, 8


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream_clip")
    write_benchmark(root, videos=1, seed=4, width=192, height=160, frames=FRAMES, people=2, occluders=0)
    path = next((root / "annotations").glob("*.json"))
    doc = json.loads(path.read_text())
    order = frame_order(doc["images"])
    return root / "images" / path.stem, sparse_labels(doc, order, T), [root / im["file_name"] for im in order]


def test_propagate_holds_one_gap_not_the_video(clip, tiny, monkeypatch):
    folder, labels, _ = clip
    held = []
    add = batcher.Batcher.add_frame

    def counting(self, frame):
        add(self, frame)
        held.append(len(self.frames))

    monkeypatch.setattr(batcher.Batcher, "add_frame", counting)
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4)
    results = list(pipe.propagate(folder, labels))
    assert [r.frame_index for r in results] == list(range(FRAMES))
    assert len(held) == FRAMES and max(held) <= T + pipe.aux_gap + 1 < FRAMES  # one gap, its ends and a neighbour


def test_folder_list_and_generator_sources_propagate_alike(clip, tiny):
    folder, labels, files = clip
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4)
    images = [read_image(f) for f in files]
    runs = [list(pipe.propagate(source, labels)) for source in (folder, images, (im for im in images))]
    for other in runs[1:]:
        assert [r.frame_index for r in other] == [r.frame_index for r in runs[0]]
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a.track_ids, b.track_ids)
            np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)
