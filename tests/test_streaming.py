"""Propagation streams: the labels are read first, the video decoded once, and only one gap between labels is held;
a folder, a list of frames and a generator give the same poses; an interrupted pass resumed from its resume point
gives the poses of one uninterrupted pass (both modes). Tiny model, synthetic clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stdpose_infer import Pipeline
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order, read_image
from stdpose_infer.evaluation.predict import sparse_labels
from stdpose_infer.errors import InputError
from stdpose_infer.pipeline import batcher
from stdpose_infer.pipeline.resume import ResumePoint
from stdpose_infer.track import IouTracker

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


def _equal_runs(whole: list, parts: list) -> None:
    assert [r.frame_index for r in parts] == [r.frame_index for r in whole]
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        np.testing.assert_array_equal(a.origin, b.origin)
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)  # batches differ: float rounding only


def _interrupted(make, stop: int, **kw) -> tuple[list, ResumePoint]:
    """The first ``stop`` results of a pass, then where it stood (as a JSON file would keep it)."""
    pipe = make()
    done = []
    for result in pipe_call(pipe, **kw):
        done.append(result)
        if len(done) == stop:
            break
    return done, ResumePoint.from_dict(json.loads(json.dumps(pipe.resume_point.as_dict())))


def pipe_call(pipe, mode, source, labels=None, boxes=None, resume=None):
    if mode == "estimate":
        return pipe.estimate(source, boxes, resume=resume)
    return pipe.propagate(source, labels, boxes, resume=resume)


@pytest.mark.parametrize("stop", [1, 13, 17])  # the first frame; mid-gap; next to a label (T = 8)
def test_estimate_resumes_as_one_pass(clip, tiny, stop):
    folder, labels, files = clip
    boxes = _boxes(files)

    def make():  # smoothing and tracking carry state across the interruption
        return Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4, smooth=True)

    whole = list(make().estimate(folder, boxes))
    done, point = _interrupted(make, stop, mode="estimate", source=folder, boxes=boxes)
    assert point.next_frame == stop and point.smooth
    rest = list(pipe_call(make(), "estimate", folder, boxes=boxes, resume=point))
    _equal_runs(whole, done + rest)
    assert len({int(i) for r in whole for i in r.track_ids}) >= 2


@pytest.mark.parametrize("stop", [5, 16, 30])
def test_propagate_resumes_as_one_pass(clip, tiny, stop):
    folder, labels, files = clip
    strangers = np.array([[2, 2, 30, 50], [160, 110, 190, 158]])  # two people the labels lack, listed in turn
    boxes = {t: np.vstack([b, strangers[:: 1 if t % 2 else -1]]) for t, b in _boxes(files).items()}

    def make():
        return Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4)

    whole = list(make().propagate(folder, labels, boxes))
    assert any("estimated" in r.origin for r in whole)  # the unlabeled person: tracked across the interruption
    done, point = _interrupted(make, stop, mode="propagate", source=folder, labels=labels, boxes=boxes)
    rest = list(pipe_call(make(), "propagate", folder, labels, boxes, resume=point))
    _equal_runs(whole, done + rest)


def test_resume_refusals(clip, tiny):
    folder, labels, files = clip
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu")
    point = ResumePoint("estimate", 3, IouTracker().state())
    with pytest.raises(InputError, match="from estimate mode, not propagate"):
        pipe.propagate(folder, labels, resume=point)
    with pytest.raises(InputError, match="feature reuse"):
        Pipeline(tiny, backend="torch", detector=None, device="cpu", reuse_features=True).estimate(
            folder, _boxes(files), resume=point)
    with pytest.raises(InputError, match="not a resume point"):
        ResumePoint.from_dict({"mode": "estimate"})


def _boxes(files) -> dict:
    doc = json.loads(next(files[0].parents[2].glob("annotations/*.json")).read_text())
    order = {im["id"]: i for i, im in enumerate(frame_order(doc["images"]))}
    boxes = {i: [] for i in range(len(order))}
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[order[a["image_id"]]].append([x, y, x + w, y + h])
    # listed in another order on odd frames: ids must come from the tracker's state, not from the order
    return {t: np.asarray(b[:: -1 if t % 2 else 1], np.float64).reshape(-1, 4) for t, b in boxes.items()}
