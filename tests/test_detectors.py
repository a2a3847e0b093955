"""The default detector finds a crowd: NanoDet's decoding, no person cap anywhere in the path, track-guided boxes,
pose-level NMS, and detector recall in the evaluation."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import shared_data

from stdpose_infer import Pipeline
from stdpose_infer.cli.evaluate import main as eval_main
from stdpose_infer.detect import Detections, NanoDetDetector, SlicedDetector, YoloDetector, make_detector
from stdpose_infer.detect.nanodet import decode_nanodet, input_size
from stdpose_infer.detect.sliced import tiles
from stdpose_infer.errors import InputError
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.pipeline.pose_nms import pose_nms
from stdpose_infer.results import PoseResult
from stdpose_infer.track import IouTracker

SAMPLE = "posetrack18_sample"


def test_nanodet_decoding_puts_a_known_box_where_its_distances_say():
    hw = (64, 96)  # cells: 8 x 12 at stride 8, 4 x 6 at 16, 2 x 3 at 32
    cells = [(hw[0] // s) * (hw[1] // s) for s in (8, 16, 32)]
    scores = [np.zeros((n, 80), np.float32) for n in cells]
    dists = [np.full((n, 44), -50, np.float32) for n in cells]
    cell = 2 * 6 + 3  # stride 16: row 2, column 3 -> centre (56, 40)
    scores[1][cell, 0] = 0.9
    scores[1][cell + 1, 1] = 0.95  # another class: not a person
    for side, bin_ in enumerate((1, 2, 3, 0)):  # left 16, top 32, right 48, bottom 0 px
        dists[1][cell, side * 11 + bin_] = 50
    boxes, conf = decode_nanodet(scores, dists, hw, 0.5)
    np.testing.assert_allclose(boxes, [[40, 8, 104, 40]], atol=1e-3)
    np.testing.assert_allclose(conf, [0.9])
    assert input_size((1080, 1920), 416) == (256, 416) and input_size((1088, 1920), 416) == (256, 416)


def test_tiles_cover_the_frame_with_overlap():
    boxes = tiles((1080, 1920), (3, 2), 0.2)
    assert len(boxes) == 6 and boxes[0][:2] == (0, 0) and boxes[-1][2:] == (1920, 1080)
    assert boxes[1][0] < boxes[0][2]  # neighbours overlap


def _pasted_crowd() -> tuple[np.ndarray, int]:
    """A 1920 x 1080 canvas holding the sample's real people (their ground-truth boxes) pasted at several sizes."""
    root = shared_data(SAMPLE)
    people = []
    for path in sorted((root / "annotations/val").glob("*.json")):
        doc = json.loads(path.read_text())
        image = cv2.imread(str(root / doc["images"][0]["file_name"]))
        for ann in doc["annotations"]:
            x, y, w, h = (int(round(v)) for v in ann["bbox"])
            crop = image[max(y, 0) : y + h, max(x, 0) : x + w]
            if min(crop.shape[:2]) > 20:
                people.append(crop)
    canvas = np.full((1080, 1920, 3), 120, np.uint8)
    x, row_y, row_h, placed = 10, 10, 0, 0
    for i, crop in enumerate(people * 2):
        scale = (260, 200, 150)[i % 3] / crop.shape[0]
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        h, w = crop.shape[:2]
        if x + w > 1910:
            x, row_y, row_h = 10, row_y + row_h + 40, 0
        if row_y + h > 1070:
            break
        canvas[row_y : row_y + h, x : x + w] = crop
        x, row_h, placed = x + w + 60, max(row_h, h), placed + 1
    return canvas, placed


def test_a_crowd_of_real_people_gives_that_many_poses():
    canvas, placed = _pasted_crowd()
    assert placed >= 10
    found = make_detector("default")(canvas)
    assert len(found) >= placed, (len(found), placed)
    (result,) = list(Pipeline(batch_size=16)([canvas]))
    assert len(result) >= placed, (len(result), placed)


class ManyBoxes:
    """A detector that returns ``n`` boxes in a grid (people or not, the path must not cap them)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, frame: np.ndarray) -> Detections:
        xs, ys = np.meshgrid(np.arange(10) * 60, np.arange(self.n // 10 + 1) * 120)
        xy = np.stack([xs.ravel(), ys.ravel()], 1)[: self.n].astype(np.float32)
        return Detections(np.concatenate([xy, xy + [50, 110]], 1), np.full(self.n, 0.9, np.float32))


def test_no_person_cap_anywhere_in_the_path(tiny):
    frames = np.zeros((2, 600, 640, 3), np.uint8)
    results = list(Pipeline(tiny, detector=ManyBoxes(45), pose_nms=False)(frames))
    assert [len(r) for r in results] == [45, 45]
    sliced = SlicedDetector(ManyBoxes(7), (2, 2), 0.0)  # 7 per tile x 4 tiles: nothing merged away
    assert len(sliced(np.zeros((2000, 2000, 3), np.uint8))) == 28


class MissesOnce:
    """One person walking right; the detector misses them on frame ``miss``."""

    def __init__(self, miss: int) -> None:
        self.miss, self.t = miss, -1

    def __call__(self, frame: np.ndarray) -> Detections:
        self.t += 1
        if self.t == self.miss:
            return Detections.empty()
        x = 100 + 10 * self.t
        return Detections(np.array([[x, 100, x + 80, 300]], np.float32), np.array([0.9], np.float32))


def test_a_missed_detection_keeps_the_persons_track(tiny):
    frames = np.zeros((8, 400, 600, 3), np.uint8)
    results = list(Pipeline(tiny, detector=MissesOnce(5))(frames))
    assert [len(r) for r in results] == [1] * 8
    assert len({int(r.track_ids[0]) for r in results}) == 1
    np.testing.assert_allclose(results[5].boxes[0], [150, 100, 230, 300], atol=1)  # where the track was heading
    off = list(Pipeline(tiny, detector=MissesOnce(5), track_fill=0)(frames))
    assert len(off[5]) == 0 and len(off[6]) == 1


def test_the_tracker_only_fills_people_seen_several_times():
    tracker = IouTracker()
    tracker.update(np.array([[0, 0, 10, 20.0]]))
    tracker.update(np.zeros((0, 4)))
    assert len(tracker.missing(2)[0]) == 0  # seen once: maybe a false box
    for _ in range(3):
        tracker.update(np.array([[0, 0, 10, 20.0]]))
    tracker.update(np.zeros((0, 4)))
    boxes, ids = tracker.missing(2)
    assert len(boxes) == 1 and ids[0] == 0
    state = tracker.state()
    assert IouTracker().restore(state).missing(2)[0].shape == (1, 4)


def _poses(points: np.ndarray, scores: np.ndarray, boxes: np.ndarray) -> PoseResult:
    n = len(points)
    return PoseResult(0, "f", boxes, np.arange(n), points, scores, np.full(n, "estimated", "<U10"), POSETRACK)


def test_pose_nms_drops_a_repeated_pose_and_keeps_neighbours():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, (17, 2))
    close = a + rng.normal(0, 1, (17, 2))  # another box on the same person: nearly the same joints
    apart = a + [30, 0]  # a person beside them
    boxes = np.array([[0, 0, 100, 100]] * 3, float)
    scores = np.array([np.full(17, 0.5), np.full(17, 0.4), np.full(17, 0.3)])
    kept = pose_nms(_poses(np.stack([close, a, apart]), scores, boxes))
    assert kept.track_ids.tolist() == [0, 2]


def test_yolo_input_follows_the_frame_size():
    detector = YoloDetector(shared_data("models", "yolo11n_pose.onnx"))
    assert detector.size is None  # a dynamic graph: the letterbox follows each frame
    frame = cv2.imread(str(shared_data(SAMPLE, "images", "val", "009473_mpii_test", "000000.jpg")))
    assert len(detector(frame)) > len(YoloDetector(shared_data("models", "yolo11n_pose.onnx"), input_size=640)(frame))


def test_shipped_detectors_by_name():
    assert isinstance(make_detector("default"), NanoDetDetector)
    assert isinstance(make_detector("nanodet"), NanoDetDetector)
    with pytest.raises(InputError, match="movenet:PATH.onnx"):  # not shipped: the error says how to get it
        make_detector("movenet")


def test_movenet_from_a_path():
    assert make_detector(f"movenet:{shared_data('models', 'movenet_multipose.onnx')}").input_side == 512


@pytest.mark.slow
def test_eval_with_the_default_detector_reports_recall(tmp_path, capsys):
    data = shared_data(SAMPLE)
    args = ["--weights", "starter", "--data", str(data), "--annotations", "annotations/val", "--boxes", "default",
            "--out", str(tmp_path / "pred")]  # fmt: skip
    from stdpose_infer.defaults import STARTER_WEIGHTS

    args[1] = str(STARTER_WEIGHTS)
    assert eval_main(args) == 0
    out = capsys.readouterr().out
    found = int(out.split("detector recall: ")[1].split("/")[0])
    assert found >= 12, out


def test_a_json_that_is_not_a_posetrack_video_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "detections.json").write_text(json.dumps([{"image_id": 1, "bbox": [0, 0, 1, 1]}]))
    from stdpose_infer.defaults import STARTER_WEIGHTS

    code = eval_main(["--weights", str(STARTER_WEIGHTS), "--data", str(tmp_path), "--boxes", "default"])
    err = capsys.readouterr().err
    assert code != 0 and "detections.json: not a PoseTrack video file" in err and "Traceback" not in err
