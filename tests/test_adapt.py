"""Adaptation to a video's own labels: it moves the model and lowers the held-out error (tiny synthetic case), the
decided fallback picks the better source per joint, training reads annotation tools' files, bad input is refused
in one line and propagation goes on. Tiny model, synthetic clip: seconds on 2 cores."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SignalAfter

from stdpose_infer import Pipeline, build_model, save_weights
from stdpose_infer.adapt import AdaptReport, AdaptSettings, NothingToAdapt, adapt, folder_from_label_files
from stdpose_infer.adapt.heldout import (
    SPAN_EXPONENT,
    HeldOutErrors,
    TrackingErrors,
    blend_terms,
    blended_errors,
    decided_errors,
    interpolation_errors,
    model_from,
    split_labels,
)
from stdpose_infer.annotation import cvat_xml, label_studio_tasks, read_labels, review_rows
from stdpose_infer.cli.main import main as infer_main
from stdpose_infer.cli.train import main as train_main
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.errors import InputError
from stdpose_infer.evaluation.predict import sparse_labels
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.pipeline import Fallback
from stdpose_infer.pipeline.fallback import model_share
from stdpose_infer.results import PoseResult, coco_json, write_json, write_text
from stdpose_infer.video import read_frames

SETTINGS = AdaptSettings(trains="head+temporal", lr=1e-3, batch_size=4)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(image folder, its PoseTrack doc with labels on every frame) of a 19-frame synthetic clip with 2 people."""
    root = tmp_path_factory.mktemp("adapt_clip")
    write_benchmark(root, videos=1, seed=3, width=256, height=192, frames=19, people=2, occluders=0)
    path = next((root / "annotations").glob("*.json"))
    return root / "images" / path.stem, json.loads(path.read_text())


def every(doc: dict, T: int) -> dict:
    return sparse_labels(doc, frame_order(doc["images"]), T)


def test_adaptation_moves_the_model_and_lowers_the_held_out_error(clip):
    source, doc = clip
    torch.manual_seed(0)
    model = build_model("t")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    done = adapt(model, source, every(doc, 3), steps=8, settings=SETTINGS, progress=False)
    report = done.report
    assert report.labeled_frames == 7 and report.heldout_frames == 2 and report.steps == 8 and report.kept
    assert report.heldout_error["adapted model"] < report.heldout_error["base model"]
    after = done.model.state_dict()
    assert all(torch.equal(before[k], model.state_dict()[k]) for k in before)  # the caller's model is untouched
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("backbone."))  # frozen
    assert not torch.equal(before["keypoint_head.final_layer.weight"], after["keypoint_head.final_layer.weight"])
    assert report.heldout_error["blend"] < report.heldout_error["adapted model"]  # so the blend propagates
    assert done.fallback.mode == "blend" and len(done.fallback.model_mse) == len(done.fallback.interpolation_rate) == 17
    assert "mid-gap the model's point weighs" in report.summary()
    assert {"interpolation", "point tracking"} <= set(report.heldout_pck) and "point tracking" in report.summary()
    better = min(("interpolation", "point tracking"), key=report.heldout_error.get)
    assert done.fallback.carry == report.carry == {"point tracking": "tracking"}.get(better, "interpolation")
    assert "adaptation" in done.model.provenance and "adapted" in done.model.provenance["source"]


def test_adaptation_progress_in_a_log_is_a_few_lines(clip, tmp_path, monkeypatch):
    """Off a terminal the adaptation's bars (a loss per step) are redrawn as rarely as any other bar."""
    source, doc = clip
    log = tmp_path / "adapt.log"
    with log.open("w") as f:
        monkeypatch.setattr("sys.stderr", f)
        adapt(build_model("t"), source, every(doc, 3), steps=12, settings=SETTINGS, progress=True)
    text = log.read_text()
    assert "adapt" in text and text.count("\r") + text.count("\n") <= 8, repr(text)


def test_held_out_point_tracks_score_the_joints_interpolation_scores(clip):
    source, doc = clip
    names = [f"frame/{i:06d}" for i in range(19)]
    kept, held = split_labels(read_labels(every(doc, 3), names, POSETRACK))
    tracking = TrackingErrors(kept, held)
    for frame in read_frames(source):
        tracking.add(frame.index, frame.image)
    tracked, interp = tracking.errors(), interpolation_errors(kept, held)
    np.testing.assert_array_equal(tracked.slots, interp.slots)  # the same joints, in the same order
    np.testing.assert_array_equal(tracked.spans, interp.spans)
    assert len(tracked.errors) and not np.allclose(tracked.errors, interp.errors)  # the tracks moved joints


def test_split_keeps_the_ends_and_holds_out_every_third_inner_frame(clip):
    _, doc = clip
    table = read_labels(every(doc, 3), [f"{i:06d}.jpg" for i in range(19)], POSETRACK)
    kept, held = split_labels(table)
    assert sorted(held) == [6, 15] and min(kept) == 0 and max(kept) == 18 and not set(kept) & set(held)


def _errors(rows):
    slots, errors, spans = zip(*rows)
    return HeldOutErrors(np.array(slots), np.array(errors, float), np.array(spans, float))


def test_decided_fallback_uses_the_better_source_per_joint():
    """Held-out: the model beats interpolation on joint 0 (0.05 vs 0.2 at span 16), loses on joint 1 (0.3 vs 0.1),
    and joint 2 has too few held-out joints to decide. The rule: joint 0 from the model where the span reaches
    16 x (0.05 / 0.2) ** (1 / 0.6) = 1.6, joints 1 and 2 never; applied to a frame, each joint comes from the source
    the rule names."""
    model = _errors([(0, 0.05, 16)] * 3 + [(1, 0.3, 16)] * 3 + [(2, 0.0, 16)])
    interp = _errors([(0, 0.2, 16)] * 3 + [(1, 0.1, 16)] * 3 + [(2, 0.5, 16)])
    threshold = model_from(model, interp, 3)
    assert threshold[0] == pytest.approx(16 * (0.05 / 0.2) ** (1 / SPAN_EXPONENT)) and np.isinf(threshold[1:]).all()
    assert decided_errors(model, interp, threshold).mean() == pytest.approx((3 * 0.05 + 3 * 0.1 + 0.5) / 7)
    lucky = _errors([(0, 0.0, 16), (0, 0.0, 16), (0, 0.15, 16)])  # mean 0.05, but 0.13 at the top of its interval
    assert np.isinf(model_from(lucky, _errors([(0, 0.1, 16)] * 3), 1)).all()

    labels = read_labels(_two_labels(), [f"{i:06d}.jpg" for i in range(9)], POSETRACK)
    result = Fallback("decided", model_from=(threshold[0], *[float("inf")] * 16)).apply(_propagated(4), labels)
    assert np.allclose(result.keypoints[0, 0], [55, 55])  # span 4 x 4 = 16 >= 1.6: the model's point
    assert np.allclose(result.keypoints[0, 5], [15, 20])  # joint 5 (never trusted): interpolated
    early = Fallback("decided", model_from=(20.0, *[float("inf")] * 16)).apply(_propagated(4), labels)
    assert np.allclose(early.keypoints[0, 0], [15, 20])  # span 16 < 20: interpolation


def _offsets(rows):
    """HeldOutErrors from (slot, (dx, dy) / person size, span) rows."""
    slots, offsets, spans = zip(*rows)
    offsets = np.array(offsets, float)
    return HeldOutErrors(np.array(slots), np.linalg.norm(offsets, axis=1), np.array(spans, float), offsets)


def test_blend_weighs_each_source_by_its_held_out_error():
    """Held-out at span 16: the model errs 0.05 on joint 0 and 0.3 on joint 1, interpolation 0.2 and 0.1 (in
    other directions). The blend leans to the model on joint 0 and to interpolation on joint 1, and its held-out
    error is below both sources'. On a frame: mid-gap the model weighs more than next to a label, and a model point
    the joint rule calls a failure (too far from the interpolation) gets no weight."""
    model = _offsets([(0, (0.05, 0), 16)] * 3 + [(1, (0.3, 0), 16)] * 3)
    interp = _offsets([(0, (0, 0.2), 16)] * 3 + [(1, (0, 0.1), 16)] * 3)
    mse, rate = blend_terms(model, interp, 17)
    share = model_share(mse, rate, 16)
    assert share[0] > 0.5 > share[1] > 0
    blended = blended_errors(model, interp, mse, rate)
    assert blended.mean() < min(model.mean(), interp.mean())
    pooled = (3 * 0.05**2 + 3 * 0.3**2) / 6  # joint 0's mean square, shrunk by 3 pseudo-joints toward all joints'
    assert mse[0] == pytest.approx((3 * 0.05**2 + 3 * pooled) / 6) and mse[5] == pytest.approx(pooled)
    robust, _ = blend_terms(model, interp, 17, robust=True)  # from the median square: / ln 2
    assert robust[5] == pytest.approx(np.median([0.05**2] * 3 + [0.3**2] * 3) / np.log(2))

    labels = read_labels(_two_labels(), [f"{i:06d}.jpg" for i in range(9)], POSETRACK)
    blend = Fallback("blend", model_mse=tuple(mse), interpolation_rate=tuple(rate))
    mid, near = _propagated(4), _propagated(1)
    mid.keypoints[0, 0] = near.keypoints[0, 0] = [30, 40]  # within 0.4 x 100 px x 1 frame of the interpolation
    mid, near = blend.apply(mid, labels), blend.apply(near, labels)
    w = model_share(mse, rate, 16)[0]
    assert np.allclose(mid.keypoints[0, 0], w * np.array([30, 40]) + (1 - w) * np.array([15, 20]))
    assert 0 < (near.keypoints[0, 0, 1] - 20) / 20 < w  # span 7: less of the model's point
    apart = _propagated(4)
    apart.keypoints[0, :2] = [15, 90]  # 70 px off: more than both expected errors explain (GATE), within the shift
    gated = blend.apply(apart, labels).keypoints[0]
    assert np.allclose(gated[0], [15, 90]) and np.allclose(gated[1], [15, 20])  # the better source whole
    strayed = _propagated(1)
    strayed.keypoints[0, 0] = [99, 99]  # 83 px from the interpolation, over 0.4 x 100 px x 1 frame: a failure
    assert np.allclose(blend.apply(strayed, labels).keypoints[0, 0], [11.25, 20])  # interpolation at frame 1
    with pytest.raises(InputError, match="blend"):
        Fallback("blend")


def test_review_ranks_by_the_held_out_expected_error():
    """After an adaptation, the review list adds the error the held-out labels expect at each propagated frame: in
    the middle of a gap (span 16) interpolation is expected to be worse than next to a label (span 7)."""
    labels = _two_labels()
    given = read_labels(labels, [f"{i:06d}.jpg" for i in range(9)], POSETRACK)
    results = []
    for t in range(9):
        if t in given:
            lab = given[t]
            results.append(PoseResult(t, f"{t:06d}.jpg", lab.boxes, lab.track_ids, lab.keypoints,
                                      lab.visible.astype(float), np.array(["given"]), POSETRACK, (100, 100)))  # fmt: skip
        else:
            results.append(Fallback("interpolate").apply(_propagated(t), given))
    report = AdaptReport("base", "", 2, 2, 0, 8, 0, 0.0, {}, model_from=[None] * 17, slot_model_error=[None] * 17,
                         slot_interpolation_rate=[0.01] * 17)  # fmt: skip
    plain = {row["frame"]: row for row in review_rows(results)}
    rows = {row["frame"]: row for row in review_rows(results, report)}
    assert rows[4]["heldout_expected_error"] == pytest.approx(0.01 * 16**SPAN_EXPONENT, abs=1e-4)  # rounded
    assert rows[1]["heldout_expected_error"] == pytest.approx(0.01 * 7**SPAN_EXPONENT, abs=1e-4)
    assert rows[4]["priority"] - plain[4]["priority"] > rows[1]["priority"] - plain[1]["priority"] > 0
    report.slot_model_mse, report.slot_interpolation_mse_rate = [0.0004] * 17, [0.0001] * 17  # after a blend
    blended = 1 / np.sqrt(1 / 0.0004 + 1 / (0.0001 * 16 ** (2 * SPAN_EXPONENT)))  # two independent estimates
    assert report.expected_error(0, 16) == pytest.approx(blended)


def _two_labels() -> dict:
    """A person labeled on frames 0 and 8 (PoseTrack JSON), every joint moving 10 px right."""
    anns = []
    for t, dx in ((0, 0), (8, 10)):
        kps = np.zeros((17, 3))
        kps[:, 0], kps[:, 1], kps[:, 2] = 10 + dx, 20, 1
        kps[[3, 4]] = 0
        anns.append({"id": t + 1, "image_id": t + 1, "track_id": 1, "keypoints": kps.ravel().tolist(),
                     "bbox": [0, 0, 100, 100]})  # fmt: skip
    images = [{"id": t + 1, "file_name": f"{t:06d}.jpg", "frame_index": t, "is_labeled": t in (0, 8)} for t in range(9)]
    return {"images": images, "annotations": anns, "categories": [{"keypoints": list(POSETRACK.keypoints)}]}


def _propagated(t: int) -> PoseResult:
    points = np.full((1, 17, 2), 55.0)
    return PoseResult(t, f"{t:06d}.jpg", np.array([[0, 0, 100, 100.0]]), np.array([1]), points, np.ones((1, 17)),
                      np.array(["propagated"]), POSETRACK, (100, 100))  # fmt: skip


def test_adapted_weights_bring_their_fallback(clip, tmp_path):
    source, doc = clip
    torch.manual_seed(0)
    done = adapt(build_model("t"), source, every(doc, 3), steps=2, settings=SETTINGS, progress=False)
    path = save_weights(done.model, tmp_path / "adapted.safetensors")
    pipe = Pipeline(path, backend="torch", detector=None, device="cpu")
    assert pipe.fallback == done.fallback
    assert Pipeline(path, backend="torch", detector=None, device="cpu", fallback="joint").fallback.mode == "joint"


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda doc: every(doc, 100), "1 labeled frame"),
        (lambda doc: _one_person_each(doc), "no person is labeled on two frames"),
    ],
)
def test_labels_that_cannot_teach_are_refused_in_one_line(clip, tiny, labels, message):
    source, doc = clip
    with pytest.raises(NothingToAdapt, match=message):
        adapt(tiny, source, labels(doc), steps=1, progress=False)
    with pytest.raises(NothingToAdapt, match="budget of 0"):
        adapt(tiny, source, every(doc, 3), minutes=0, progress=False)
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu")
    with pytest.warns(UserWarning, match=message):
        same = pipe.adapt(source, labels(doc), steps=1, progress=False)
    assert same is pipe and len(list(same.propagate(source, every(doc, 3)))) == 19  # propagation goes on


def _one_person_each(doc: dict) -> dict:
    """Labels on frames 0 and 9, a different person (track) on each, far apart."""
    sparse = every(doc, 9)
    firsts, anns = set(), []
    for ann in sparse["annotations"]:
        if ann["image_id"] not in firsts:
            firsts.add(ann["image_id"])
            anns.append({**ann, "track_id": 100 + len(anns)})
    first = anns[0]
    anns[1]["bbox"] = [0, 0, 1, 1] if first["bbox"][0] > 10 else [200, 150, 1, 1]  # no overlap: not linked
    return {**sparse, "annotations": anns}


def test_labels_on_frames_the_video_lacks_are_refused(clip, tiny):
    source, doc = clip
    labels = every(doc, 3)
    labels["images"] = [*labels["images"], {"id": 999, "file_name": "000040.jpg", "frame_index": 40,
                                             "is_labeled": True}]  # fmt: skip
    labels["annotations"] = [*labels["annotations"], {**labels["annotations"][0], "id": 999, "image_id": 999}]
    with pytest.raises(InputError, match="000040.jpg|frame"):
        adapt(tiny, source, labels, steps=1, progress=False)


def _results(doc: dict, T: int) -> list[PoseResult]:
    """The clip's labels on every T-th frame as given results (what annotation tools' writers take)."""
    labels = every(doc, T)
    table = read_labels(labels, [f"{i:06d}.jpg" for i in range(19)], POSETRACK)
    out = []
    for t in range(19):
        lab = table.get(t)
        if lab is None:
            out.append(PoseResult(t, f"{t:06d}.jpg", np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros((0, 17, 2)),
                                  np.zeros((0, 17)), np.zeros(0, "<U10"), POSETRACK, (192, 256)))  # fmt: skip
            continue
        keep = lab.visible.sum(1) >= 2  # a skeleton (CVAT) has no box: it is made from two joints or more
        out.append(PoseResult(t, f"{t:06d}.jpg", lab.boxes[keep], lab.track_ids[keep], lab.keypoints[keep],
                              lab.visible[keep].astype(float), np.full(keep.sum(), "given"), POSETRACK, (192, 256)))
    return out


def test_training_folder_and_fit_from_cvat_coco_and_label_studio(clip, tmp_path):
    source, doc = clip
    results = _results(doc, 3)
    files = {
        "cvat": write_text(cvat_xml([r for r in results], task_name="clip"), tmp_path / "labels.xml"),
        "coco": write_json(coco_json(results), tmp_path / "labels_coco.json"),
        "label_studio": write_json([{**t, "annotations": [{"result": p["result"]} for p in t["predictions"][:1]]}
                                    for t in label_studio_tasks(results)], tmp_path / "labels_ls.json"),  # completed
    }
    expected = {r.frame_index: r for r in results if len(r)}
    for name, path in files.items():
        root = folder_from_label_files([(path, source)], tmp_path / name, POSETRACK, neighbours=1)
        written = json.loads((root / "annotations" / f"{source.name}.json").read_text())
        labeled = sorted(im["frame_index"] for im in written["images"] if im["is_labeled"])
        assert labeled == sorted(expected), name
        assert len(written["annotations"]) == sum(len(r) for r in expected.values())
        jpgs = sorted(int(p.stem) for p in (root / "images" / source.name).glob("*.jpg"))
        assert jpgs == sorted({t + d for t in expected for d in (-1, 0, 1) if 0 <= t + d < 19})
        first = [np.array(a["keypoints"]).reshape(17, 3) for a in written["annotations"] if a["image_id"] == 1]
        given = expected[0]
        for i in range(len(given)):  # each person of frame 0 is one of the written poses (ids may be renumbered);
            vis = given.scores[i] > 0  # COCO has no head_bottom / head_top: compare the joints the file kept
            assert any(np.allclose(k[vis & kept, :2], given.keypoints[i][vis & kept], atol=0.01)
                       for k in first for kept in [np.any(k != 0, axis=1)] if (vis & kept).sum() >= 8), name
    out = tmp_path / "run"
    code = train_main(["fit", "--labels", str(files["cvat"]), "--video", str(source), "--labels", str(files["coco"]),
                       "--video", str(source), "--out", str(out), "--variant", "t", "--epochs", "1",
                       "--steps-per-epoch", "1", "--batch-size", "2", "--max-gap", "1"])  # fmt: skip
    assert code in (0, None) and (out / "last.safetensors").is_file()
    assert len(list((out / "data" / "annotations").glob("*.json"))) == 2  # one file per (labels, video) pair
    assert train_main(["fit", "--labels", str(files["cvat"]), "--out", str(out)]) == 2  # a --labels without --video


def test_cli_propagate_adapt_writes_weights_and_results(clip, tmp_path, capsys):
    source, doc = clip
    torch.manual_seed(0)
    weights = save_weights(build_model("t"), tmp_path / "t.safetensors", {"source": "test", "licence": "none",
                                                                          "training_data": "untrained"})  # fmt: skip
    labels = write_json(every(doc, 3), tmp_path / "labels.json")
    args = ["propagate", str(source), "--labels", str(labels), "--weights", str(weights), "--backend", "torch",
            "--device", "cpu", "--json", str(tmp_path / "out.json")]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert infer_main([*args, "--adapt", "--adapt-minutes", "0.02", "--save-weights",
                           str(tmp_path / "adapted.safetensors")]) in (0, None)  # fmt: skip
    printed = capsys.readouterr().out
    assert "held-out PCK" in printed and (tmp_path / "adapted.safetensors").is_file()
    assert len(json.loads((tmp_path / "out.json").read_text())["images"]) == 19
    one = write_json(every(doc, 100), tmp_path / "one.json")  # one labeled frame: a line, then plain propagation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert infer_main([*args[:3], str(one), *args[4:], "--adapt"]) in (0, None)
    assert "propagating without adaptation" in capsys.readouterr().out
    assert infer_main([*args, "--save-weights", str(tmp_path / "x.safetensors")]) == 2  # needs --adapt
    assert Path(tmp_path / "out.json").is_file()


def test_cli_adapt_interrupted_resumes_with_the_same_adapted_model(clip, tmp_path, monkeypatch, capsys):
    import signal

    import tqdm

    source, doc = clip
    torch.manual_seed(0)
    weights = save_weights(build_model("t"), tmp_path / "t.safetensors")
    labels = write_json(every(doc, 3), tmp_path / "labels.json")
    args = ["propagate", str(source), "--labels", str(labels), "--weights", str(weights), "--backend", "torch",
            "--device", "cpu", "--json", str(tmp_path / "out.json"), "--adapt", "--adapt-minutes", "0.02",
            "--review", str(tmp_path / "review.csv")]  # fmt: skip
    monkeypatch.setattr(tqdm, "tqdm", SignalAfter(signal.SIGINT, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert infer_main(args) == 130
    kept = tmp_path / "out.incomplete.safetensors"
    assert kept.is_file() and "after 6 frames" in capsys.readouterr().err
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert infer_main([*args, "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "resuming at frame 6" in printed and "held-out PCK" not in printed  # not adapted a second time
    assert "adapted" in printed.split("model: ")[1].splitlines()[0]  # the kept adapted model propagates
    assert "heldout_expected_error" in (tmp_path / "review.csv").read_text()  # its report came with it
    assert len(json.loads((tmp_path / "out.json").read_text())["images"]) == 19 and not kept.exists()


def test_blend_follows_a_given_span_exponent():
    """A caller that measured how interpolation's error grows on its video passes the exponent: at span 16 with
    exponent 1, interpolation's expected square is 1e-4 x 16^2 = 0.0256, the model's 0.0256: equal weights."""
    labels = read_labels(_two_labels(), [f"{i:06d}.jpg" for i in range(9)], POSETRACK)
    mse, rate = (0.0256,) * 17, (1e-4,) * 17
    assert model_share(np.array(mse), np.array(rate), 16, exponent=1.0)[0] == pytest.approx(0.5)
    mid = _propagated(4)
    mid.keypoints[0, 0] = [30, 40]
    for exponent, w in ((1.0, 0.5), (SPAN_EXPONENT, model_share(np.array(mse), np.array(rate), 16)[0])):
        blend = Fallback("blend", model_mse=mse, interpolation_rate=rate, span_exponent=exponent)
        point = blend.apply(copy.deepcopy(mid), labels).keypoints[0, 0]
        assert np.allclose(point, w * np.array([30, 40]) + (1 - w) * np.array([15, 20]))


def test_blend_weighs_correlated_errors_toward_the_better_source():
    """Errors the two sources share cancel in neither: the least-squares weight moves toward the better source
    (model 0.01, interpolation 0.04 expected squares: 0.8 independent, 0.875 at correlation 0.25, 1 from 0.5)."""
    m, i = np.array([0.01]), np.array([0.04])
    shares = [model_share(m, i, 1, correlation=rho)[0] for rho in (0.0, 0.25, 0.5, 0.9)]
    assert shares == pytest.approx([0.8, 0.875, 1.0, 1.0])


def test_the_model_alone_propagates_where_it_carried_the_held_out_labels_better_than_the_blend():
    """A label_prior model reads the carried labels itself; where the held-out labels say its blend with them is no
    better, ``auto`` after adaptation is the model alone, and the report says so."""
    from stdpose_infer.adapt import AdaptReport
    from stdpose_infer.pipeline import Fallback

    report = AdaptReport(base="b", labels_sha256="x", labeled_frames=8, labeled_poses=16, heldout_frames=3,
                         label_gap=7, steps=10, seconds=1.0, settings={},
                         heldout_pck={"interpolation": 0.43, "point tracking": 0.52, "base model": 0.65,
                                      "adapted model": 0.43, "blend": 0.64, "decided": 0.65},
                         heldout_error={"base model": 0.139, "adapted model": 0.23, "blend": 0.141, "decided": 0.139},
                         slot_model_error=[0.1] * 17, slot_model_mse=[0.02] * 17,
                         slot_interpolation_mse_rate=[0.001] * 17, mid_gap_share=0.2, kept=False, fallback="none")  # fmt: skip
    model = type("M", (), {"provenance": report.provenance()})()
    assert Fallback.for_model("auto", model).mode == "none"
    assert "the model alone propagates" in report.summary()
    assert report.expected_error(0, 12) == pytest.approx(0.1)  # the model's own held-out error, not the blend's
    blend = type("M", (), {"provenance": AdaptReport(**{**report.__dict__, "fallback": "blend"}).provenance()})()
    assert Fallback.for_model("auto", blend).mode == "blend"


def test_a_label_prior_model_propagates_alone_after_adaptation(clip):
    """It reads the carried labels itself, so no blend with them again (measured: the blend lost to it)."""
    source, doc = clip
    torch.manual_seed(0)
    done = adapt(build_model("t", label_prior=True, propagate_modules=True), source, every(doc, 3), steps=4,
                 settings=SETTINGS, progress=False)  # fmt: skip
    assert done.report.fallback == "none" and done.fallback.mode == "none"
    assert "blend" in done.report.heldout_pck  # the blend is still scored, for the report
