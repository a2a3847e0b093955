"""PoseTrack mAP (poseval's definition) on the real PoseTrack18 sample annotations."""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import shared_data

from stdpose_infer import POSETRACK, InputError
from stdpose_infer.cli.evaluate import main as eval_main
from stdpose_infer.evaluation import JOINTS, FramePoses, evaluate
from stdpose_infer.evaluation.posetrack_map import match_frame, voc_ap

SLOT_NAMES = POSETRACK.keypoints  # the 17 slots of a PoseTrack18 file


@pytest.fixture
def gt_dir() -> Path:
    return shared_data("posetrack18_sample", "annotations", "val")


def load(gt_dir: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(gt_dir.glob("*.json"))}


def write(videos: dict[str, dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in videos.items():
        (folder / name).write_text(json.dumps(data))
    return folder


def as_predictions(videos: dict[str, dict], score: float = 0.5) -> dict[str, dict]:
    preds = copy.deepcopy(videos)
    for data in preds.values():
        for ann in data["annotations"]:
            ann["scores"] = [score] * 17
    return preds


def gt_counts(gt_dir: Path) -> dict[str, int]:
    """Ground-truth joints per joint type (scored as their own predictions, which have no scores)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(gt_dir, gt_dir).ground_truth_joints


def shift(ann: dict, slots: list[int], head_fraction: float) -> None:
    """Move the given slots right by ``head_fraction`` of the person's head size."""
    w, h = ann["bbox_head"][2:]
    dx = head_fraction * 0.6 * np.hypot(w, h)
    for s in slots:
        if any(ann["keypoints"][3 * s : 3 * s + 3]):
            ann["keypoints"][3 * s] += dx


def test_ground_truth_as_predictions_scores_100(gt_dir):
    with pytest.warns(UserWarning, match="no 'scores' entry"):
        result = evaluate(gt_dir, gt_dir)
    assert all(v == 100.0 for v in result.per_joint.values())
    assert result.groups == {g: 100.0 for g in result.groups} and result.total == 100.0
    assert (result.num_videos, result.num_frames) == (3, 3)


@pytest.mark.parametrize("fraction, expected", [(0.45, 100.0), (0.55, 0.0)])
def test_threshold_is_half_the_head_size(tmp_path, gt_dir, fraction, expected):
    """One person, no ignore regions: every joint moved by 0.45 (0.55) head sizes is right (wrong).

    (In the crowded frames a shifted point may land on a neighbour's joint or in an ignore region,
    which poseval rightly scores; one isolated person keeps the hand count exact.)
    """
    video = load(gt_dir)["003418_mpii_test.json"]
    video["images"][0]["ignore_regions_x"] = video["images"][0]["ignore_regions_y"] = []
    gt = write({"v.json": video}, tmp_path / "gt")
    preds = as_predictions({"v.json": video})
    shift(preds["v.json"]["annotations"][0], list(range(17)), fraction)
    result = evaluate(gt, write(preds, tmp_path / "pred"))
    labelled = [k for k, n in result.ground_truth_joints.items() if n]
    assert len(labelled) == 11 and all(result.per_joint[k] == expected for k in labelled)
    assert all(np.isnan(v) for k, v in result.per_joint.items() if k not in labelled)  # no GT: not in the mean


def test_one_joint_off_everywhere(tmp_path, gt_dir):
    preds = as_predictions(load(gt_dir))
    for data in preds.values():
        for ann in data["annotations"]:
            shift(ann, [SLOT_NAMES.index("right_wrist")], 0.6)
    result = evaluate(gt_dir, write(preds, tmp_path / "pred"))
    assert result.per_joint["right_wrist"] == 0.0
    assert all(v == 100.0 for k, v in result.per_joint.items() if k != "right_wrist")
    assert result.groups["Wrist"] == 50.0
    assert result.total == pytest.approx(14 * 100 / 15)


def test_missing_person_lowers_recall(tmp_path, gt_dir):
    videos = load(gt_dir)
    preds = as_predictions(videos)
    dropped = preds["012834_mpii_test.json"]["annotations"].pop(0)
    had = {name: bool(any(dropped["keypoints"][3 * s : 3 * s + 3])) for s, name in enumerate(SLOT_NAMES)}
    n = gt_counts(gt_dir)
    result = evaluate(gt_dir, write(preds, tmp_path / "pred"))
    for name in JOINTS:  # precision stays 1, recall tops out at (n - 1) / n where the person had the joint
        assert result.per_joint[name] == pytest.approx(100 * (n[name] - had[name]) / n[name]), name


def _point_inside(polygon: np.ndarray, inside: bool) -> tuple[float, float]:
    x0, y0 = polygon.min(axis=0)
    x1, y1 = polygon.max(axis=0)
    for x in np.linspace(x0, x1, 40):
        for y in np.linspace(y0, y1, 40):
            if (cv2.pointPolygonTest(polygon, (float(x), float(y)), False) > 0) == inside:
                return float(x), float(y)
    raise AssertionError("no such point")


def _far_from_everything(video: dict) -> tuple[float, float]:
    """A point of the frame outside every ignore region and farthest from every labelled joint."""
    image = video["images"][0]
    regions = [
        np.stack(r, axis=1).astype(np.float32) for r in zip(image["ignore_regions_x"], image["ignore_regions_y"])
    ]
    joints = np.concatenate([np.reshape(a["keypoints"], (-1, 3)) for a in video["annotations"]])
    joints = joints[joints[:, 2] > 0, :2]
    best, spot = -1.0, None
    for x in np.linspace(0, image["width"] - 1, 48):
        for y in np.linspace(0, image["height"] - 1, 27):
            if all(cv2.pointPolygonTest(r, (float(x), float(y)), False) < 0 for r in regions):
                d = np.linalg.norm(joints - [x, y], axis=1).min()
                if d > best:
                    best, spot = d, (float(x), float(y))
    assert best > 300, "no free spot in the frame"
    return spot


def _ghost(image_id: int, at: tuple[float, float], score: float) -> dict:
    """A predicted person with all 17 joints at one point (matches nobody)."""
    kps = [v for _ in range(17) for v in (at[0], at[1], 1)]
    return {"image_id": image_id, "keypoints": kps, "scores": [score] * 17, "track_id": 99, "id": 1}


@pytest.mark.parametrize("score, ap", [(0.9, "n/(n+1)"), (0.1, "100")])
def test_false_positive_ranked_above_or_below_all_true_positives(tmp_path, gt_dir, score, ap):
    preds = as_predictions(load(gt_dir), score=0.5)
    data = preds["009473_mpii_test.json"]
    image = data["images"][0]
    data["annotations"].append(_ghost(image["id"], _far_from_everything(data), score))
    n = gt_counts(gt_dir)
    result = evaluate(gt_dir, write(preds, tmp_path / "pred"))
    for name in JOINTS:
        want = 100 * n[name] / (n[name] + 1) if ap == "n/(n+1)" else 100.0
        assert result.per_joint[name] == pytest.approx(want), name


def test_ignore_regions_are_honoured(tmp_path, gt_dir):
    videos = load(gt_dir)
    # 1. a false positive inside an ignore region of 003418 is dropped
    preds = as_predictions(videos)
    data = preds["003418_mpii_test.json"]
    image = data["images"][0]
    polygon = np.stack([image["ignore_regions_x"][0], image["ignore_regions_y"][0]], axis=1).astype(np.float32)
    data["annotations"].append(_ghost(image["id"], _point_inside(polygon, True), 0.9))
    assert evaluate(gt_dir, write(preds, tmp_path / "a")).total == 100.0
    # ... and counts against the predictions once the ground truth has no ignore regions
    no_regions = copy.deepcopy(videos)
    no_regions["003418_mpii_test.json"]["images"][0]["ignore_regions_x"] = []
    no_regions["003418_mpii_test.json"]["images"][0]["ignore_regions_y"] = []
    assert evaluate(write(no_regions, tmp_path / "gt2"), write(preds, tmp_path / "b")).total < 100.0
    # 2. the one ground-truth joint of the sample inside an ignore region is not counted
    counted = sum(gt_counts(gt_dir).values())
    counted_without = sum(gt_counts(tmp_path / "gt2").values())
    assert (counted, counted_without) == (181, 182)


def test_matching_is_one_to_one():
    """Two GT people, three predictions: the duplicate of GT 0 (worse PCK) becomes a false positive."""
    gt_pts = np.stack([np.full((15, 2), 100.0), np.full((15, 2), 500.0)])
    gt = FramePoses(gt_pts, np.ones((2, 15), bool), np.zeros((2, 15)), np.array([20.0, 20.0]))
    pred_pts = np.stack([gt_pts[1], gt_pts[0], gt_pts[0].copy()])
    pred_pts[2, :7] += 50  # half its joints far off: PCK 8/15 < 15/15
    pred = FramePoses(pred_pts, np.ones((3, 15), bool), np.full((3, 15), 0.5), np.full(3, np.nan))
    correct = match_frame(gt, pred)
    assert correct[0].all() and correct[1].all() and not correct[2].any()


def test_voc_ap_hand_computed():
    # precision 1, .5, .667, .5 at recall 1/3, 1/3, 2/3, 2/3 (3 positives): AP = 1/3 * 1 + 1/3 * 2/3
    ap = voc_ap(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, True, False]), 3)
    assert ap == pytest.approx(100 * (1 / 3 + 2 / 9))
    assert np.isnan(voc_ap(np.array([0.5]), np.array([False]), 0))  # no ground truth: left out of the mean
    assert voc_ap(np.zeros(0), np.zeros(0, bool), 4) == 0.0


def test_missing_video_or_frame_is_a_clear_error(tmp_path, gt_dir):
    videos = as_predictions(load(gt_dir))
    partial = dict(videos)
    partial.pop("009473_mpii_test.json")
    with pytest.raises(InputError, match="no prediction file .*009473_mpii_test.json"):
        evaluate(gt_dir, write(partial, tmp_path / "a"))
    no_frame = copy.deepcopy(videos)
    no_frame["012834_mpii_test.json"]["images"][0]["file_name"] = "images/val/other/000000.jpg"
    with pytest.raises(InputError, match="012834_mpii_test.json: no frame 'images/val/012834_mpii_test/000000.jpg'"):
        evaluate(gt_dir, write(no_frame, tmp_path / "b"))
    with pytest.raises(InputError, match="no ground-truth .json files"):
        evaluate(tmp_path / "empty", gt_dir)


def test_cli_writes_json_and_table(tmp_path, gt_dir, capsys):
    pred = write(as_predictions(load(gt_dir)), tmp_path / "pred")
    out = tmp_path / "ap.json"
    assert eval_main(["--gt", str(gt_dir), "--pred", str(pred), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.split()[:8] == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total"]
    saved = json.loads(out.read_text())
    assert saved["Total"] == 100.0 and set(saved["per_joint"]) == set(JOINTS)
    shutil.rmtree(pred)
    pred.mkdir()
    assert eval_main(["--gt", str(gt_dir), "--pred", str(pred)]) == 2
    assert "stdpose-eval: error: no prediction file" in capsys.readouterr().err
