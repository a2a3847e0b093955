"""Auto-annotation: real MoveNet on real frames -> valid PoseTrack18 labels that the project's readers accept."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SignalAfter, shared_data

from stdpose_infer.cli.main import main
from stdpose_infer.evaluation import load_video
from stdpose_infer.keypoints import COCO, POSETRACK, posetrack_from_coco
from stdpose_infer.label import MoveNetPose, add_head_boxes, auto_label
from stdpose_infer.annotation import read_labels


def test_posetrack_from_coco_makes_up_the_head_joints():
    coco = np.zeros((1, 17, 2))
    c = COCO.keypoints.index
    coco[0, c("nose")] = (50, 20)
    coco[0, c("left_shoulder")], coco[0, c("right_shoulder")] = (60, 40), (40, 40)
    coco[0, c("left_eye")] = (52, 18)
    scores = np.full((1, 17), 0.9)
    scores[0, c("right_shoulder")] = 0.4
    kps, s = posetrack_from_coco(coco, scores)
    p = POSETRACK.keypoints.index
    np.testing.assert_allclose(kps[0, p("head_bottom")], (50, 40))
    np.testing.assert_allclose(kps[0, p("head_top")], (50, 0))  # one neck length above the nose
    assert s[0, p("head_bottom")] == 0.4 and s[0, p("head_top")] == 0.4
    np.testing.assert_allclose(kps[0, p("left_shoulder")], (60, 40))
    assert s[0, p("left_ear")] == 0  # PoseTrack's empty slots stay empty


def test_label_command_writes_valid_posetrack_with_real_movenet(tmp_path, capsys):
    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test")
    models = shared_data("models")
    out = tmp_path / "labels.json"
    code = main(["label", str(clip / "000001_mpiinew_test.mp4"), "--json", str(out),
                 "--detector", f"movenet:{models / 'movenet_multipose.onnx'}",
                 "--pose", f"movenet:{models / 'movenet_thunder.onnx'}"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    assert doc["categories"][0]["keypoints"] == list(POSETRACK.keypoints)
    assert len(doc["images"]) == 5 and len(doc["annotations"]) >= 5  # footballers on every frame
    for ann in doc["annotations"]:
        kps = np.reshape(ann["keypoints"], (17, 3))
        x, y, w, h = ann["bbox"]
        labeled = kps[:, 2] > 0
        assert labeled.sum() >= 5 and not labeled[[3, 4]].any()  # ears: never in PoseTrack
        inside = (kps[labeled, 0] > x - 0.3 * w) & (kps[labeled, 0] < x + 1.3 * w) & (kps[labeled, 1] > y - 0.3 * h)
        assert inside.mean() > 0.8, "the keypoints belong to the person in the box"
        assert len(ann["bbox_head"]) == 4 and ann["bbox_head"][2] > 0
    # the project's own readers accept it: as labels for propagation, and as ground truth for the evaluator
    names = [f"000001_mpiinew_test/{i:06d}" for i in range(5)]
    assert sorted(read_labels(out, names, POSETRACK)) == [0, 1, 2, 3, 4]
    assert len(load_video(out, need_head_boxes=True)) == 5


def test_auto_label_tracks_people_across_frames():
    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test")
    models = shared_data("models")
    pose = MoveNetPose(models / "movenet_thunder.onnx")
    results = list(auto_label(clip / "000001_mpiinew_test.mp4", f"movenet:{models / 'movenet_multipose.onnx'}", pose))
    first, last = set(results[0].track_ids.tolist()), set(results[-1].track_ids.tolist())
    assert first & last, "someone keeps their track id over 5 consecutive frames"


def test_label_errors(tmp_path):
    models = shared_data("models")
    with pytest.raises(Exception, match="not MoveNet SinglePose"):
        MoveNetPose(models / "movenet_multipose.onnx")
    doc = add_head_boxes({"annotations": [{"keypoints": [0] * 51}]})
    assert "bbox_head" not in doc["annotations"][0]


def test_yolo_pose_outputs_give_keypoints_inside_their_boxes():
    import cv2

    from stdpose_infer.detect import YoloDetector

    models, stills = shared_data("models"), shared_data("opencv_samples")
    det = YoloDetector(models / "yolo11n_pose.onnx", input_size=640)(cv2.imread(str(stills / "basketball1.png")))
    assert len(det) == 2 and det.keypoints.shape == (2, 17, 3)  # both players (the data README's count)
    for box, kps in zip(det.boxes, det.keypoints):
        sure = kps[:, 2] > 0.5
        assert sure.sum() >= 5
        assert ((kps[sure, 0] >= box[0] - 5) & (kps[sure, 0] <= box[2] + 5)).all()


def test_label_interrupted_then_resumed(tmp_path, monkeypatch, capsys):
    """SIGTERM keeps the done frames; --resume labels the rest with the tracker's state: the uninterrupted file."""
    import signal

    import tqdm

    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test") / "000001_mpiinew_test.mp4"
    args = ["label", str(clip), "--detector", f"movenet:{shared_data('models', 'movenet_multipose.onnx')}"]
    assert main([*args, "--json", str(tmp_path / "whole.json")]) == 0
    out = tmp_path / "out.json"
    monkeypatch.setattr(tqdm, "tqdm", SignalAfter(signal.SIGTERM, 2))
    assert main([*args, "--json", str(out)]) == 130
    assert "after 2 frames" in capsys.readouterr().err and not out.exists()
    monkeypatch.undo()
    assert main([*args, "--json", str(out), "--min-box", "20", "--resume"]) == 2  # another setting: refused
    assert main([*args, "--json", str(out), "--resume"]) == 0
    assert "resuming at frame 2" in capsys.readouterr().out and not (tmp_path / "out.incomplete.json").exists()
    whole, resumed = json.loads((tmp_path / "whole.json").read_text()), json.loads(out.read_text())
    assert resumed == whole and len({a["track_id"] for a in whole["annotations"]}) >= 2
