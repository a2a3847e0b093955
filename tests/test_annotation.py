"""Annotation round trips: labels in from CVAT XML, COCO, PoseTrack and Label Studio; poses out for review, checked
with the tools' own libraries (label-studio-sdk, datumaro, cvat-sdk) offline."""

from __future__ import annotations

import csv
import json
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import shared_data

from stdpose_infer.annotation import (
    cvat_xml,
    label_studio_tasks,
    labeling_config,
    read_labels,
    review_rows,
    review_summary,
    write_review_csv,
)
from stdpose_infer.annotation.interpolation import interpolated_pose
from stdpose_infer.errors import InputError
from stdpose_infer.keypoints import COCO, POSETRACK
from stdpose_infer.pipeline import Fallback
from stdpose_infer.results import PoseResult, coco_json, write_json, write_text
from stdpose_infer.video import read_frames

CLIP = ("posetrack18_sample", "videos", "000001_mpiinew_test")
NAMES = [f"clip/{i:06d}" for i in range(6)]  # six frames of a video


def _pose(frame: int, tids, origin="given", shift=0.0, fmt=POSETRACK, scores=None) -> PoseResult:
    """People standing in a row, moving right by 4 px a frame; points on a 1/100-px grid (CVAT writes 2 decimals)."""
    n = len(tids)
    base = np.stack(np.meshgrid(np.linspace(0, 40, 17), [0.0]), -1).reshape(17, 2) + [[0, 5.0 * j] for j in range(17)]
    kps = np.round(np.array([base + [60 + 100 * k + 4 * frame + shift, 20] for k in range(n)]), 2)
    s = np.ones((n, 17)) if scores is None else scores
    s = s * fmt.valid_mask
    boxes = np.array([[k.min(0)[0] - 5, k.min(0)[1] - 5, k.max(0)[0] + 5, k.max(0)[1] + 5] for k in kps])
    return PoseResult(frame, NAMES[frame], boxes, np.array(tids), kps, s, np.full(n, origin), fmt, (240, 480))


def _labels(frames=(0, 2, 4)) -> list[PoseResult]:
    return [_pose(t, [7, 9]) for t in frames]


# ------------------------------------------------------------------ CVAT
def test_cvat_round_trip_keeps_the_keyframes_exactly(tmp_path):
    path = write_text(cvat_xml(_labels(), task_name="t"), tmp_path / "a.xml")
    table = read_labels(path, NAMES[:5], POSETRACK)
    assert sorted(table) == [0, 2, 4]
    for r in _labels():
        got = table[r.frame_index]
        order = np.argsort(got.track_ids)
        np.testing.assert_array_equal(
            got.keypoints[order][:, POSETRACK.valid_mask], r.keypoints[:, POSETRACK.valid_mask]
        )
        assert got.visible[order].tolist() == (r.scores > 0).tolist()
        assert len(set(got.track_ids.tolist())) == 2


def test_cvat_layout_follows_the_documented_format(tmp_path):
    results = _labels((0, 1, 2)) + [_pose(3, [7])]  # track 9 leaves after frame 2
    root = ET.fromstring(cvat_xml(results))
    assert root.findtext("version") == "1.1" and root.findtext("meta/task/size") == "4"
    labels = root.findall("meta/task/labels/label")
    assert labels[0].findtext("name") == "person" and labels[0].findtext("type") == "skeleton"
    joints = [lab.findtext("name") for lab in labels[1:]]
    assert joints == [n for i, n in enumerate(POSETRACK.keypoints) if i not in POSETRACK.empty_slots]
    assert all(lab.findtext("parent") == "person" and lab.findtext("type") == "points" for lab in labels[1:])
    assert labels[0].find("attributes/attribute").findtext("mutable") == "True"
    svg = ET.fromstring(f"<svg>{labels[0].findtext('svg')}</svg>")
    assert {c.get("data-label-name") for c in svg.iter("circle")} == set(joints)
    tracks = root.findall("track")
    assert [t.get("source") for t in tracks] == ["auto", "auto"]
    for track in tracks:
        assert all(s.get("keyframe") == "1" for s in track.iter("skeleton"))
        assert all(len(s.findall("points")) == len(joints) for s in track.iter("skeleton"))
    frames = [(s.get("frame"), s.get("outside")) for s in tracks[1].iter("skeleton")]
    assert frames == [("0", "0"), ("1", "0"), ("2", "0"), ("3", "1")]  # outside where it leaves: no interpolation
    assert tracks[0].find("skeleton/attribute[@name='origin']").text == "given"


def test_cvat_label_spec_matches_cvat_sdk():
    from cvat_sdk.auto_annotation import keypoint_spec, skeleton_label_spec

    root = ET.fromstring(cvat_xml(_labels((0,))))
    joints = [lab.findtext("name") for lab in root.findall("meta/task/labels/label") if lab.findtext("parent")]
    spec = skeleton_label_spec("person", 0, [keypoint_spec(name, i) for i, name in enumerate(joints)])
    assert spec.type == "skeleton" and [s.name for s in spec.sublabels] == joints
    assert all(s.type == "points" for s in spec.sublabels)


CVAT_MADE = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
<meta><task><size>6</size><mode>interpolation</mode></task></meta>
<track id="3" label="person" source="manual">
  <skeleton frame="0" keyframe="1" outside="0" z_order="0">
    <points label="Nose" outside="0" occluded="0" keyframe="1" points="10.50,20.25"/>
    <points label="Left Shoulder" outside="0" occluded="1" keyframe="1" points="30.00,40.00"/>
    <points label="left-hip" outside="1" occluded="0" keyframe="1" points="1.00,1.00"/>
  </skeleton>
  <skeleton frame="2" keyframe="0" outside="0" z_order="0">
    <points label="Nose" outside="0" occluded="0" keyframe="0" points="11.00,21.00"/>
    <points label="Left Shoulder" outside="0" occluded="0" keyframe="0" points="31.00,41.00"/>
    <points label="left-hip" outside="0" occluded="0" keyframe="0" points="2.00,2.00"/>
  </skeleton>
  <skeleton frame="4" keyframe="1" outside="0" z_order="0">
    <points label="Nose" outside="0" occluded="0" keyframe="1" points="12.00,22.00"/>
    <points label="Left Shoulder" outside="0" occluded="0" keyframe="1" points="32.00,42.00"/>
    <points label="left-hip" outside="0" occluded="0" keyframe="1" points="3.00,3.00"/>
  </skeleton>
  <skeleton frame="5" keyframe="1" outside="1" z_order="0">
    <points label="Nose" outside="0" occluded="0" keyframe="1" points="12.00,22.00"/>
    <points label="Left Shoulder" outside="0" occluded="0" keyframe="1" points="32.00,42.00"/>
    <points label="left-hip" outside="0" occluded="0" keyframe="1" points="3.00,3.00"/>
  </skeleton>
</track>
<track id="4" label="person" source="manual">
  <points frame="1" keyframe="1" outside="0" occluded="0" points="{coco}"/>
</track>
</annotations>
"""


def test_cvat_reads_keyframes_only_and_names_by_joint(tmp_path):
    coco = ";".join(f"{100 + j},{50 + j}" for j in range(17))
    path = write_text(CVAT_MADE.replace("{coco}", coco), tmp_path / "cvat.xml")
    table = read_labels(path, NAMES, POSETRACK)
    assert sorted(table) == [0, 1, 4]  # frame 2 is CVAT's interpolation, frame 5 is outside
    nose, shoulder, hip = (POSETRACK.keypoints.index(n) for n in ("nose", "left_shoulder", "left_hip"))
    first = table[0]
    assert first.keypoints[0, nose].tolist() == [10.5, 20.25] and first.visible[0, shoulder]  # occluded is labeled
    assert not first.visible[0, hip]  # outside: not labeled
    assert table[1].visible[0].sum() == 13  # a plain 17-point track in COCO order: eyes and ears have no PoseTrack slot
    assert table[1].keypoints[0, shoulder].tolist() == [105.0, 55.0]


def test_bad_cvat_files_say_what_does_not_fit(tmp_path):
    coco = ";".join(f"{100 + j},{50 + j}" for j in range(17))
    good = CVAT_MADE.replace("{coco}", coco)
    with pytest.raises(InputError, match="the CVAT task has 6 frames but the source has 5"):
        read_labels(write_text(good, tmp_path / "a.xml"), NAMES[:5], POSETRACK)
    with pytest.raises(InputError, match=r"'Left Elbw'\] are not COCO or PoseTrack keypoints"):
        read_labels(write_text(good.replace("Left Shoulder", "Left Elbw"), tmp_path / "b.xml"), NAMES, POSETRACK)
    with pytest.raises(InputError, match=r"labels on frame\(s\) \[9\]"):
        read_labels(
            write_text(good.replace('frame="4"', 'frame="9"').replace("<size>6</size>", ""), tmp_path / "c.xml"),
            NAMES,
            POSETRACK,
        )
    with pytest.raises(InputError, match="cannot read CVAT XML"):
        read_labels(write_text("<annotations>", tmp_path / "d.xml"), NAMES, POSETRACK)


# ------------------------------------------------------------------ COCO and PoseTrack
def test_coco_export_imports_into_datumaro(tmp_path):
    import datumaro as dm

    results = _labels((0, 1)) + [_pose(2, [7], "propagated", scores=np.full((1, 17), 0.8))]
    folder = tmp_path / "coco" / "annotations"
    (tmp_path / "coco" / "images" / "default").mkdir(parents=True)  # datumaro's COCO layout wants it, even empty
    write_json(coco_json(results), folder / "person_keypoints_default.json")
    dataset = dm.Dataset.import_from(str(tmp_path / "coco"), "coco_person_keypoints")
    points = [a for item in dataset for a in item.annotations if a.type == dm.AnnotationType.points]
    assert len(points) == 5
    assert {a.attributes["origin"] for a in points} == {"given", "propagated"}
    assert sorted({a.attributes["track_id"] for a in points}) == [7, 9]
    labels = dataset.categories()[dm.AnnotationType.points]
    assert list(labels.items[0].labels) == list(COCO.keypoints)


def test_coco_round_trip_maps_joints_by_name(tmp_path):
    doc = coco_json(_labels())
    for image in doc["images"]:
        image["file_name"] = f"{image['file_name'].split('/')[-1]}.jpg"
    table = read_labels(write_json(doc, tmp_path / "c.json"), NAMES, POSETRACK)
    r = _labels()[1]
    shoulder = POSETRACK.keypoints.index("left_shoulder")
    np.testing.assert_allclose(table[2].keypoints[:, shoulder], r.keypoints[:, shoulder], atol=1e-3)
    assert not table[2].visible[:, 1:3].any()  # head_bottom/head_top: COCO has no such joints
    doc["annotations"] = [
        {k: v for k, v in a.items() if k not in ("track_id", "attributes")} for a in doc["annotations"]
    ]
    linked = read_labels(doc, NAMES, POSETRACK)  # no track ids: linked by box overlap across labeled frames
    assert [sorted(lab.track_ids.tolist()) for lab in linked.values()] == [[1, 2]] * 3
    assert linked[0].keypoints[np.argmin(linked[0].boxes[:, 0]), shoulder, 0] < 100
    assert linked[4].keypoints[linked[4].track_ids == linked[0].track_ids[np.argmin(linked[0].boxes[:, 0])],
                               shoulder, 0][0] < 100  # fmt: skip


# ------------------------------------------------------------------ Label Studio
def _predictions_as_annotations(tasks):
    return [{**t, "annotations": [{"result": p["result"]} for p in t["predictions"][:1]]} for t in tasks]


def test_label_studio_predictions_validate_and_round_trip(tmp_path):
    from label_studio_sdk.label_interface import LabelInterface

    results = _labels((0,)) + [_pose(1, [7, 9], "propagated", scores=np.full((2, 17), 0.6))] + _labels((2,))
    tasks = label_studio_tasks(results, "/data/local-files/?d=frames/{name}")
    config = LabelInterface(labeling_config(POSETRACK))
    assert len(tasks) == 3 and tasks[1]["data"]["image"].endswith("000001.jpg")
    for task in tasks:
        for prediction in task["predictions"]:
            assert config.validate_prediction(prediction, return_errors=True) == []
    assert [p["model_version"] for p in tasks[1]["predictions"]] == ["propagated"]
    assert tasks[1]["predictions"][0]["score"] == pytest.approx(0.6)
    table = read_labels(write_json(_predictions_as_annotations([tasks[0], tasks[2]]), tmp_path / "ls.json"), NAMES,
                        POSETRACK)  # fmt: skip
    assert sorted(table) == [0, 2]
    got = table[2]
    assert sorted(got.track_ids.tolist()) == [7, 9]
    want = results[2].keypoints[:, POSETRACK.valid_mask]
    np.testing.assert_allclose(got.keypoints[np.argsort(got.track_ids)][:, POSETRACK.valid_mask], want, atol=1e-6)
    bad = {"from_name": "keypoints", "to_name": "image", "type": "keypointlabels", "value": {"x": 1, "y": 1,
           "keypointlabels": ["left_eye"]}}  # fmt: skip
    assert config.validate_prediction({"result": [bad]}) is False  # the validator is not a rubber stamp


def test_label_studio_without_parents_or_sizes_is_refused(tmp_path):
    region = {"type": "keypointlabels", "original_width": 100, "original_height": 100,
              "value": {"x": 10, "y": 10, "keypointlabels": ["nose"]}}  # fmt: skip
    twice = [{"data": {"image": "000001.jpg"}, "annotations": [{"result": [region, region]}]}]
    with pytest.raises(InputError, match="two 'nose' points in one person"):
        read_labels(twice, NAMES, POSETRACK)
    sizeless = [{"data": {"image": "000001.jpg"}, "annotations": [{"result": [{**region, "original_width": None}]}]}]
    with pytest.raises(InputError, match="without original_width"):
        read_labels(sizeless, NAMES, POSETRACK)
    with pytest.raises(InputError, match="no completed annotation"):
        read_labels([{"data": {"image": "000001.jpg"}, "annotations": []}], NAMES, POSETRACK)


# ------------------------------------------------------------------ fallback and review
def test_fallback_rules():
    labels = {t: _table_entry(_pose(t, [7])) for t in (0, 4)}
    model = _pose(2, [7], "propagated", shift=30.0, scores=np.full((1, 17), 0.9))  # 30 px off the interpolation
    model.scores[0, 0] = 0.1  # an unsure nose
    interp, _ = interpolated_pose(2, labels, 7)
    valid = POSETRACK.valid_mask
    np.testing.assert_allclose(interp[valid], _pose(2, [7]).keypoints[0][valid])
    same = Fallback("none").apply(_copy(model), labels)
    np.testing.assert_array_equal(same.keypoints, model.keypoints)
    np.testing.assert_allclose(Fallback("interpolate").apply(_copy(model), labels).keypoints[0][valid], interp[valid])
    loose = Fallback("joint", 2, min_score=0.3, max_shift=0.5).apply(_copy(model), labels)  # 30 px < 0.5 x size x 2
    np.testing.assert_allclose(loose.keypoints[0, 0], interp[0])  # the unsure nose only
    np.testing.assert_array_equal(loose.keypoints[0, 5:], model.keypoints[0, 5:])
    tight = Fallback("joint", 2, min_score=0.3, max_shift=0.1).apply(_copy(model), labels)  # 30 px > 0.1 x 67 x 2
    np.testing.assert_allclose(tight.keypoints[0][valid], interp[valid])
    near = Fallback("joint", 3, min_score=0.3, max_shift=0.5).apply(_copy(model), labels)  # 2 frames from a label
    np.testing.assert_allclose(near.keypoints[0][valid], interp[valid])
    default = Fallback().apply(_copy(model), labels)  # between two labels: the interpolation
    np.testing.assert_allclose(default.keypoints[0][valid], interp[valid])
    past = _pose(5, [7], "propagated", scores=np.full((1, 17), 0.9))  # a frame past the last label, on the person
    past.scores[0, 0] = 0.1
    kept = Fallback().apply(_copy(past), labels)
    np.testing.assert_array_equal(kept.keypoints[0, 5:], past.keypoints[0, 5:])  # the model, not a copy of frame 4
    np.testing.assert_allclose(kept.keypoints[0, 0], labels[4].keypoints[0, 0])  # its unsure nose: the copy
    with pytest.raises(InputError, match="fallback must be one of"):
        Fallback("sometimes")


def _table_entry(r: PoseResult):
    from stdpose_infer.annotation import FrameLabels

    return FrameLabels(r.track_ids, r.keypoints, r.scores > 0, r.boxes)


def _copy(r: PoseResult) -> PoseResult:
    return r[np.arange(len(r))]


def test_review_lists_the_worst_first(tmp_path):
    results = [_pose(0, [7, 9]), _pose(1, [7, 9], "propagated", scores=np.full((2, 17), 0.9)), _pose(2, [7, 9])]
    results[1].keypoints[1] += 25  # track 9 strays from the interpolation
    results[1].scores[0, 6] = 0.2
    rows = review_rows(results)
    assert [(r["frame"], r["track_id"]) for r in rows] == [(1, 9), (1, 7)]
    assert rows[0]["shift_from_interpolation"] > 0.3 > rows[1]["shift_from_interpolation"]
    assert rows[1]["weakest_joint"] == POSETRACK.keypoints[6] and rows[0]["label_motion"] > 0
    path = write_review_csv(rows, tmp_path / "review.csv")
    with path.open() as f:
        assert [int(r["track_id"]) for r in csv.DictReader(f)] == [9, 7]
    assert "review: 2 poses not given" in review_summary(rows) and "frame 1 track 9" in review_summary(rows)


# ------------------------------------------------------------------ the real clip, end to end
@pytest.mark.slow
def test_football_clip_from_cvat_labels_to_every_format(tiny, tmp_path):
    """Stand-in labels (MoveNet MultiPose's poses) on every 2nd frame of a real clip, as a CVAT file; propagated;
    written as CVAT XML (the given frames exactly, every frame a keyframe), COCO, Label Studio and review CSV."""
    from stdpose_infer.cli.main import main
    from stdpose_infer.detect import make_detector
    from stdpose_infer.weights import save_weights

    clip = shared_data(*CLIP)
    movenet = make_detector(f"movenet:{shared_data('models', 'movenet_multipose.onnx')}")  # boxes and poses
    frames = list(read_frames(clip))
    given = []
    for f in frames[::2]:
        d = movenet(f.image)
        given.append(PoseResult(f.index, f.name, d.boxes, np.arange(len(d)) + 10, np.round(d.keypoints[..., :2], 2),
                                d.keypoints[..., 2], np.full(len(d), "given"), COCO, f.image.shape[:2]))  # fmt: skip
    xml = cvat_xml(given, frames=len(frames))
    labels = write_text(xml, tmp_path / "labels.xml")
    weights = save_weights(tiny, tmp_path / "t.safetensors")
    out = {k: tmp_path / v for k, v in (("cvat", "o.xml"), ("coco", "o.json"), ("ls", "ls.json"), ("csv", "r.csv"))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["propagate", str(clip), "--labels", str(labels), "--weights", str(weights), "--cvat-xml",
                     str(out["cvat"]), "--coco-json", str(out["coco"]), "--label-studio", str(out["ls"]),
                     "--review", str(out["csv"])])  # fmt: skip
    assert code == 0
    root = ET.parse(out["cvat"]).getroot()
    shapes = [s for s in root.iter("skeleton") if s.get("outside") == "0"]
    assert all(s.get("keyframe") == "1" for s in root.iter("skeleton"))
    assert sorted({int(s.get("frame")) for s in shapes}) == list(range(len(frames)))
    origin = {s.get("frame"): s.find("attribute").text for s in shapes}
    assert {origin[str(t)] for t in range(0, len(frames), 2)} == {"given"}
    assert {origin[str(t)] for t in range(1, len(frames), 2)} == {"propagated"}
    back = read_labels(out["cvat"], [f.name for f in frames], get_posetrack())
    before = read_labels(labels, [f.name for f in frames], get_posetrack())
    for t in before:
        order_a, order_b = np.argsort(before[t].boxes[:, 0]), np.argsort(back[t].boxes[:, 0])
        np.testing.assert_array_equal(back[t].keypoints[order_b][before[t].visible[order_a]],
                                      before[t].keypoints[order_a][before[t].visible[order_a]])  # fmt: skip
    tasks = json.loads(out["ls"].read_text())
    assert len(tasks) == len(frames) and out["ls"].with_suffix(".config.xml").is_file()
    assert len(out["csv"].read_text().splitlines()) > 1


def get_posetrack():
    return POSETRACK


def test_cli_refuses_bad_labels_in_one_line(tmp_path, capsys):
    from stdpose_infer.cli.main import main

    clip = shared_data(*CLIP)
    bad = write_text(CVAT_MADE.replace("{coco}", "1,2"), tmp_path / "bad.xml")
    assert main(["propagate", str(clip), "--labels", str(bad), "--cvat-xml", str(tmp_path / "o.xml")]) == 2
    err = capsys.readouterr().err
    assert "the CVAT task has 6 frames" in err and "Traceback" not in err
    assert main(["propagate", str(clip), "--labels", str(bad)]) == 2
    assert "nothing to write" in capsys.readouterr().err
