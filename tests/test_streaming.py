"""Propagation streams: the labels are read first, the video decoded once, and only one gap between labels is held;
a folder, a list of frames and a generator give the same poses; an interrupted pass resumed from its resume point
gives the poses of one uninterrupted pass (both modes). Tiny model, synthetic clip."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
from conftest import SignalAfter

from stdpose_infer import Pipeline
from stdpose_infer.annotation import read_labels
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order, read_image
from stdpose_infer.evaluation.predict import _label_boxes, sparse_labels
from stdpose_infer.errors import InputError
from stdpose_infer.pipeline import batcher
from stdpose_infer.pipeline.propagate_mode import propagate_stream
from stdpose_infer.pipeline.resume import ResumePoint
from stdpose_infer.track import IouTracker
from stdpose_infer.video import TruncatedVideoError, read_frames

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
    last = max(range(0, FRAMES, T))  # the last labeled frame: after it no frame waits for a label
    assert max(held[last + 2 :]) <= pipe.aux_gap + 3


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


@pytest.mark.parametrize("reuse", [False, True])
def test_long_gap_waits_as_crops(clip, tiny, monkeypatch, reuse):
    """Past ``gap_memory_mb`` a gap's frames wait as person crops: the poses of the whole-frame pass (an unlabeled
    person estimated too), with the frames held down to the gap's ends and the neighbours' look-ahead."""
    folder, labels, files = clip
    stranger = np.array([[2, 2, 30, 50]])
    boxes = {t: np.vstack([b, stranger]) for t, b in _boxes(files).items()}
    held = []
    add = batcher.Batcher.add_frame

    def counting(self, frame):
        add(self, frame)
        held.append(len(self.frames))

    def run(mb):
        pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4, gap_memory_mb=mb,
                        reuse_features=reuse, fallback="joint")  # fmt: skip
        return list(pipe.propagate(folder, labels, boxes))  # (point tracking keeps grey frames: not under 0 MB)

    whole = run(512)
    monkeypatch.setattr(batcher.Batcher, "add_frame", counting)
    with pytest.warns(UserWarning, match="wait as person crops"):
        cropped = run(0)
    _equal_runs(whole, cropped)
    assert any("estimated" in r.origin for r in cropped)
    assert max(held) <= 6 < T + 2  # the labeled frame before, frames t - 1 .. t + 1, the one decoded, the label after


def test_long_gap_cut_short_keeps_its_frames(clip, tiny):
    """A video that stops mid-gap with the gap's frames waiting as crops: every decoded frame comes out (they read
    the label before twice), then the truncation is raised."""
    folder, labels, _ = clip
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4, gap_memory_mb=0)
    table = read_labels(labels, [f.name for f in read_frames(folder)], pipe.keypoint_format)

    def cut_short():
        for frame in read_frames(folder):
            if frame.index == 21:  # in the gap 16 .. 24
                raise TruncatedVideoError("decoding stopped at frame 21")
            yield frame

    got = []
    with pytest.warns(UserWarning, match="wait as person crops"), pytest.raises(TruncatedVideoError):
        for result in propagate_stream(pipe, cut_short(), table, None):
            got.append(result)
    assert [r.frame_index for r in got] == list(range(21))
    assert all(len(r) == len(table[16].track_ids) and np.isfinite(r.keypoints).all() for r in got[17:])


def _equal_runs(whole: list, parts: list, off: list | None = None) -> None:
    """``parts`` (an interrupted pass and its resumption) give ``whole``'s people and poses. Under feature reuse
    (``off``: the same pass without reuse) the crops an aux frame reads may differ at the resume point, so the poses
    may differ by what reuse itself moves them, and no more."""
    assert [r.frame_index for r in parts] == [r.frame_index for r in whole]
    atol = 1e-3  # batches differ: float rounding only
    if off is not None:
        atol += max(float(np.abs(a.keypoints - b.keypoints).max(initial=0)) for a, b in zip(whole, off))
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        np.testing.assert_array_equal(a.origin, b.origin)
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=atol)


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


@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("stop", [1, 13, 17])  # the first frame; mid-gap; next to a label (T = 8)
def test_estimate_resumes_as_one_pass(clip, tiny, stop, reuse):
    folder, labels, files = clip
    boxes = _boxes(files)

    def make(reuse=reuse):  # smoothing and tracking carry state across the interruption
        return Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4, smooth=True,
                        reuse_features=reuse)  # fmt: skip

    whole = list(make().estimate(folder, boxes))
    done, point = _interrupted(make, stop, mode="estimate", source=folder, boxes=boxes)
    assert point.next_frame == stop and point.smooth
    rest = list(pipe_call(make(), "estimate", folder, boxes=boxes, resume=point))
    _equal_runs(whole, done + rest, list(make(False).estimate(folder, boxes)) if reuse else None)
    assert len({int(i) for r in whole for i in r.track_ids}) >= 2


@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("stop", [5, 16, 30])
def test_propagate_resumes_as_one_pass(clip, tiny, stop, reuse):
    folder, labels, files = clip
    strangers = np.array([[2, 2, 30, 50], [160, 110, 190, 158]])  # two people the labels lack, listed in turn
    boxes = {t: np.vstack([b, strangers[:: 1 if t % 2 else -1]]) for t, b in _boxes(files).items()}

    def make(reuse=reuse):
        return Pipeline(tiny, backend="torch", detector=None, device="cpu", batch_size=4, reuse_features=reuse)

    whole = list(make().propagate(folder, labels, boxes))
    assert any("estimated" in r.origin for r in whole)  # the unlabeled person: tracked across the interruption
    done, point = _interrupted(make, stop, mode="propagate", source=folder, labels=labels, boxes=boxes)
    rest = list(pipe_call(make(), "propagate", folder, labels, boxes, resume=point))
    _equal_runs(whole, done + rest, list(make(False).propagate(folder, labels, boxes)) if reuse else None)


def test_resume_refusals(clip, tiny):
    folder, labels, files = clip
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu")
    point = ResumePoint("estimate", 3, IouTracker().state())
    with pytest.raises(InputError, match="from estimate mode, not propagate"):
        pipe.propagate(folder, labels, resume=point)
    with pytest.raises(InputError, match="not a resume point"):
        ResumePoint.from_dict({"mode": "estimate"})


def _boxes(files) -> dict:
    """The clip's labelled person boxes per frame, listed in another order on odd frames: ids must come from the
    tracker's state, not from the order."""
    doc = json.loads(next(files[0].parents[2].glob("annotations/*.json")).read_text())
    return {t: b[:: -1 if t % 2 else 1] for t, b in _label_boxes(doc, frame_order(doc["images"])).items()}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_interrupted_then_resumed(clip, tiny, tmp_path, monkeypatch, capsys, signum):
    import tqdm

    from stdpose_infer.cli.main import main
    from stdpose_infer.weights import save_weights

    folder, labels, _ = clip
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    weights = save_weights(tiny, tmp_path / "t.safetensors")
    args = ["propagate", str(folder), "--labels", str(tmp_path / "labels.json"), "--weights", str(weights),
            "--backend", "torch", "--batch-size", "4"]  # fmt: skip
    assert main([*args, "--json", str(tmp_path / "whole.json")]) == 0
    out = tmp_path / "out.json"
    monkeypatch.setattr(tqdm, "tqdm", SignalAfter(signum, 11))
    assert main([*args, "--json", str(out), "--contact-sheet", str(tmp_path / "s.png")]) == 130
    err = capsys.readouterr().err
    assert "after 11 frames" in err and "--resume" in err and not out.exists()  # kept aside, not half-written
    kept = json.loads((tmp_path / "out.incomplete.json").read_text())
    assert len(kept["images"]) == 11  # the done frames, readable as PoseTrack18
    monkeypatch.undo()
    assert main([*args, "--json", str(out), "--contact-sheet", str(tmp_path / "s.png"), "--resume"]) == 0
    assert "resuming at frame 11" in capsys.readouterr().out
    assert not (tmp_path / "out.incomplete.json").exists() and (tmp_path / "s.png").is_file()
    whole, resumed = json.loads((tmp_path / "whole.json").read_text()), json.loads(out.read_text())
    assert [im["file_name"] for im in resumed["images"]] == [im["file_name"] for im in whole["images"]]
    assert len(resumed["annotations"]) == len(whole["annotations"])
    # feature reuse is on by default: the resumed run may differ by what reuse itself moves the poses, no more
    assert main([*args, "--json", str(tmp_path / "off.json"), "--no-reuse-features"]) == 0
    off = json.loads((tmp_path / "off.json").read_text())["annotations"]
    shift = max(np.abs(np.subtract(a["keypoints"], b["keypoints"])).max() for a, b in zip(whole["annotations"], off))
    for a, b in zip(whole["annotations"], resumed["annotations"]):
        assert (a["image_id"], a["track_id"]) == (b["image_id"], b["track_id"])
        np.testing.assert_allclose(a["keypoints"], b["keypoints"], atol=0.01 + shift)


def test_cli_resume_refusals(clip, tiny, tmp_path, capsys):
    from stdpose_infer.cli.main import main
    from stdpose_infer.weights import save_weights

    folder, labels, _ = clip
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    weights = save_weights(tiny, tmp_path / "t.safetensors")
    args = ["propagate", str(folder), "--labels", str(tmp_path / "labels.json"), "--weights", str(weights),
            "--json", str(tmp_path / "out.json"), "--resume"]  # fmt: skip
    assert main(args) == 2
    assert "no " + str(tmp_path / "out.incomplete.json") in capsys.readouterr().err
    (tmp_path / "out.incomplete.json").write_text(json.dumps({"images": [], "stdpose_resume": {
        "fingerprint": {"command": "run"}, "point": {}, "results": []}}))  # fmt: skip
    assert main(args) == 2
    assert "made by another run (command" in capsys.readouterr().err
