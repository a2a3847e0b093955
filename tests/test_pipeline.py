"""Pipeline: geometry, streaming order, batching, propagation and bad input (tiny model, random weights).

These assert plumbing and formats, never pose quality: the weights are untrained.
"""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_data

from stdpose_infer.crops.affine import box_to_center_scale, heatmap_to_image
from stdpose_infer.crops.triplets import crop_affines, crop_triplets_cv2, crop_triplets_torch
from stdpose_infer.decode import render_heatmaps
from stdpose_infer.errors import InputError
from stdpose_infer.evaluation.posetrack_json import load_video
from stdpose_infer.keypoints import COCO, POSETRACK
from stdpose_infer.pipeline import Pipeline
from stdpose_infer.results import PoseResult, coco_json, posetrack_json, write_json
from stdpose_infer.runtime.base import Backend
from stdpose_infer.runtime.torch_backend import TorchBackend
from stdpose_infer.video import TruncatedVideoError, read_frames

CLIP = ("posetrack18_sample", "videos", "000001_mpiinew_test")
MOVENET = ("models", "movenet_multipose.onnx")
KNOWN = np.stack(np.meshgrid(np.linspace(6, 40, 17), [20.0]), -1).reshape(17, 2) + [[0, 0.37 * j] for j in range(17)]


class KnownHeatmaps(Backend):
    """Gaussians at fixed heatmap positions KNOWN: the pipeline's geometry can then be checked exactly."""

    def __init__(self, config) -> None:
        self.config, self.device = config, torch.device("cpu")
        self.calls: list[int] = []

    def _infer(self, frames, aux):
        self.calls.append(len(frames))
        pts = np.broadcast_to(KNOWN, (len(frames), 17, 2))
        return torch.from_numpy(render_heatmaps(pts.copy(), np.ones((len(frames), 17)), self.config.heatmap_size))


class Scripted(KnownHeatmaps):
    """Renders given heatmap coordinates, one person after another, in the order the pipeline sends them."""

    def __init__(self, config, coords: np.ndarray, visible: np.ndarray) -> None:
        super().__init__(config)
        self.coords, self.visible, self.next = coords, visible, 0

    def _infer(self, frames, aux):
        n, self.next = len(frames), self.next + len(frames)
        self.calls.append(n)
        sl = slice(self.next - n, self.next)
        return torch.from_numpy(render_heatmaps(self.coords[sl], self.visible[sl], self.config.heatmap_size))


class Recorder(TorchBackend):
    """The torch backend, keeping every heatmap it returns."""

    def _infer(self, frames, aux):
        out = super()._infer(frames, aux)
        self.seen.append(out)
        return out


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "untrained weights" is the point of these tests
        yield


def test_given_boxes_geometry_on_posetrack_frames(tiny, quiet):
    """GT boxes of the real sample given as boxes. The crop geometry maps GT keypoints in and back within
    1e-3 px; and with a backend that renders each person's GT keypoints in the crop the pipeline made,
    the pipeline's decoded output lands on the GT within 1e-3 heatmap px (DARK's own error: one heatmap
    px is scale / 48 image px, 36 px for the largest person here), joints 2 px inside the heatmap."""
    from stdpose_infer.crops.affine import image_to_heatmap
    from stdpose_infer.annotation import read_labels

    worst, people = 0.0, 0
    for video in ("003418_mpii_test", "009473_mpii_test", "012834_mpii_test"):
        ann = shared_data("posetrack18_sample", "annotations", "val", f"{video}.json")
        image = next(shared_data("posetrack18_sample", "images", "val", video).glob("*.jpg"))
        frame = cv2.imread(str(image))
        labels = read_labels(ann, [image.name], POSETRACK)[0]  # boxes: GT bbox or the keypoints' extent
        boxes = labels.boxes.clip(0, [frame.shape[1], frame.shape[0]] * 2)
        center, scale = box_to_center_scale(boxes)
        coords = image_to_heatmap(labels.keypoints, center, scale)
        geometry = np.abs(heatmap_to_image(coords, center, scale) - labels.keypoints)[labels.visible].max()
        assert geometry < 1e-3
        inside = labels.visible & np.all((coords >= 2) & (coords <= [45, 61]), axis=-1)  # a GT bbox may cut joints
        backend = Scripted(tiny.config, coords, inside)
        (result,) = list(Pipeline(backend, detector=None, batch_size=4)([frame], boxes=[boxes]))
        assert len(result) == len(boxes) and backend.calls[0] == min(4, len(boxes))
        err = (np.abs(result.keypoints - labels.keypoints) / (scale[:, None] / [48, 64]))[inside]
        worst, people = max(worst, err.max()), people + len(boxes)
    print(f"{people} people of the PoseTrack18 sample: geometry exact, worst pipeline error {worst:.2e} heatmap px")
    assert people >= 10 and worst < 1e-3


def test_results_stream_in_order_with_bounded_delay(tiny, quiet):
    pulled = []

    def source():
        for i in range(9):
            pulled.append(i)
            yield np.full((120, 160, 3), 40 * (i % 5), np.uint8)

    boxes = [np.array([[20.0, 10, 80, 110]])] * 9
    pipe = Pipeline(KnownHeatmaps(tiny.config), detector=None, max_delay=1, batch_size=32)
    results = pipe(source(), boxes=boxes)
    first = next(results)
    assert first.frame_index == 0 and len(pulled) <= 3  # frame 0 needs only frame 1
    rest = list(results)
    assert [r.frame_index for r in [first, *rest]] == list(range(9))


def test_batch_size_changes_nothing(tiny, quiet):
    frames = [np.random.default_rng(i).integers(0, 255, (200, 300, 3), np.uint8) for i in range(5)]
    boxes = [np.array([[10.0, 10, 120, 190], [150, 20, 290, 180]])] * 5
    heatmaps = []
    for batch in (1, 7):
        backend = Recorder(tiny)
        backend.seen = []
        list(Pipeline(backend, detector=None, batch_size=batch, max_delay=4, reuse_features=False)(frames, boxes=boxes))
        heatmaps.append(torch.cat(backend.seen))
    torch.testing.assert_close(heatmaps[0], heatmaps[1], rtol=0, atol=1e-5)


def test_warps_on_cpu_and_device_agree():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (300, 400, 3), np.uint8) for _ in range(3)]
    affines, _, _ = crop_affines(np.array([[-30.0, 40, 150, 330], [200, 10, 390, 200]]))  # one partly outside
    a = crop_triplets_cv2(images, affines)
    b = crop_triplets_torch(torch.from_numpy(np.stack(images)), affines).numpy()
    grey = np.abs(a - b) * 0.229 * 255  # back to 8-bit levels
    print(f"cv2 vs grid_sample: mean {grey.mean():.3f}, max {grey.max():.3f} grey levels")
    # OpenCV 4 samples at 1/32-pixel positions (and rounds to whole levels): on noise whose neighbours differ by up
    # to 255 levels that moves a pixel by up to ~8 levels per axis; a misplaced warp (half a pixel) averages ~40
    assert grey.mean() < 1.0 and grey.max() < 16


@pytest.mark.parametrize("detector", ["hog", "movenet"])
def test_football_clip_end_to_end(tiny, quiet, tmp_path, detector):
    clip = shared_data(*CLIP)
    spec = "hog" if detector == "hog" else f"movenet:{shared_data(*MOVENET)}"
    pipe = Pipeline(tiny, backend="torch", detector=spec, device="cpu", batch_size=8)
    results = list(pipe(clip))
    assert [r.frame_index for r in results] == list(range(5))
    assert sum(len(r) for r in results) >= 1, "no person found on the football clip"
    path = write_json(posetrack_json(results), tmp_path / "clip.json")
    frames = load_video(path)  # the evaluator reads what the pipeline writes
    assert len(frames) == 5 and sum(f.num_people for f in frames.values()) == sum(len(r) for r in results)
    from stdpose_infer.video import VideoWriter

    with VideoWriter(tmp_path / "overlay.avi", 10) as out:
        for r, f in zip(results, read_frames(clip)):
            out.write(r.plot(f.image))
    assert len(list(read_frames(tmp_path / "overlay.avi"))) == 5


def test_vtest_tracks_persist(tiny, quiet):
    capture = cv2.VideoCapture(str(shared_data("opencv_samples", "vtest.avi")))
    frames = [capture.read()[1] for _ in range(10)]
    capture.release()
    results = list(Pipeline(tiny, backend="torch", detector="hog", device="cpu")(np.stack(frames)))
    counts = [len(r) for r in results]
    ids, seen = np.concatenate([r.track_ids for r in results]), {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    print(f"HOG people per frame {counts}; longest track {max(seen.values())} frames")
    assert min(counts) >= 1 and max(seen.values()) >= 6


def _movenet_labels(tmp_path, every: int = 2):
    """Stand-in sparse labels: MoveNet poses (real weights) on every 2nd football frame, in PoseTrack slots."""
    from stdpose_infer.detect import make_detector

    movenet = make_detector(f"movenet:{shared_data(*MOVENET)}")
    labels = []
    for f in read_frames(shared_data(*CLIP)):
        if f.index % every == 0:
            d = movenet(f.image)
            origin = np.full(len(d), "given")
            labels.append(PoseResult(f.index, f.name, d.boxes, np.arange(len(d)) + 10, d.keypoints[..., :2],
                                     d.keypoints[..., 2], origin, COCO, f.image.shape[:2]))  # fmt: skip
    return write_json(posetrack_json(labels), tmp_path / "labels.json"), labels


def test_propagate_every_second_frame(tiny, quiet, tmp_path):
    path, labels = _movenet_labels(tmp_path)
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu")
    results = list(pipe.propagate(shared_data(*CLIP), path))
    assert [r.frame_index for r in results] == list(range(5))
    for r in results:
        if r.frame_index % 2 == 0:  # given poses pass through unchanged (PoseTrack slots of COCO labels)
            label = labels[r.frame_index // 2]
            assert set(r.origin) <= {"given"} and len(r) == len(label)
            want, _ = label.in_format(POSETRACK)
            np.testing.assert_allclose(r.keypoints, want, atol=1e-3)
            np.testing.assert_array_equal(r.track_ids, label.track_ids)
        else:
            assert len(r) and set(r.origin) == {"propagated"}
            assert set(r.track_ids) <= set(np.concatenate([lab.track_ids for lab in labels]))
    doc = posetrack_json(results)
    assert {a["origin"] for a in doc["annotations"]} == {"given", "propagated"}
    assert all(len(a["keypoints"]) == 51 and a["keypoints"][9:15] == [0] * 6 for a in doc["annotations"])  # ears


def test_json_formats_leave_missing_slots_empty(tiny):
    r = PoseResult(0, "f0", np.array([[0.0, 0, 10, 10]]), np.array([3]), np.random.rand(1, 17, 2) * 10,
                   np.full((1, 17), 0.9), np.array(["estimated"]), POSETRACK, (10, 10))  # fmt: skip
    coco = coco_json([r])["annotations"][0]
    xyv = np.reshape(coco["keypoints"], (17, 3))
    assert (xyv[1:5] == 0).all() and (xyv[5:, 2] == 1).all()  # eyes and ears: PoseTrack has none
    assert len(r[0]) == 1 and len(r[np.array([False])]) == 0


# ------------------------------------------------------------------ bad input


def test_bad_inputs(tiny, quiet, tmp_path):
    pipe = Pipeline(KnownHeatmaps(tiny.config), detector=None)
    frame = np.zeros((100, 120, 3), np.uint8)
    box = [np.array([[10.0, 10, 60, 90]])]
    with pytest.raises(InputError, match="no such video"):
        list(pipe(tmp_path / "missing.mp4", boxes=box))
    (tmp_path / "garbage.mp4").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(InputError, match="garbage.mp4"):
        list(pipe(tmp_path / "garbage.mp4", boxes=box))
    with pytest.raises(InputError, match="outside the 120x100 frame"):
        list(pipe([frame], boxes=[np.array([[200.0, 10, 260, 90]])]))
    with pytest.raises(InputError, match="under 1 px"):
        list(pipe([frame], boxes=[np.array([[10.0, 10, 10.5, 90]])]))
    partly = list(pipe([frame], boxes=[np.array([[-50.0, -20, 60, 90]])]))[0]
    np.testing.assert_allclose(partly.boxes, [[0, 0, 60, 90]])  # clipped, still estimated
    gray, bgra = np.zeros((100, 120), np.uint8), np.zeros((100, 120, 4), np.uint8)
    assert [len(r) for r in pipe([gray, bgra], boxes=box * 2)] == [1, 1]
    with pytest.raises(InputError, match="uint8"):
        list(pipe([frame.astype(np.float32)], boxes=box))
    with pytest.raises(InputError, match="frame size changed"):
        list(pipe([frame, np.zeros((50, 60, 3), np.uint8)], boxes=box * 2))
    empty = list(pipe([frame, frame], boxes=[np.zeros((0, 4))] * 2))  # zero persons: empty results, no crash
    assert [len(r) for r in empty] == [0, 0]
    with pytest.raises(InputError, match="no detector and no boxes"):
        list(pipe([frame]))


def test_truncated_video_keeps_decoded_frames(tiny, quiet, tmp_path):
    clip = shared_data(*CLIP)
    src = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for f in read_frames(clip):
        writer.write(cv2.resize(f.image, (160, 120)))
    writer.release()
    data = src.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    pipe = Pipeline(KnownHeatmaps(tiny.config), detector=None)
    got = []
    with pytest.raises(TruncatedVideoError, match="decoding stopped at frame"):
        for r in pipe(cut, boxes=[np.array([[10.0, 10, 60, 90]])] * 5):
            got.append(r)
    assert 1 <= len(got) < 5 and [r.frame_index for r in got] == list(range(len(got)))


def test_labels_that_do_not_fit(tiny, quiet, tmp_path):
    path, _ = _movenet_labels(tmp_path)
    doc = json.loads(path.read_text())
    doc["images"][0]["file_name"] = "000099.jpg"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    pipe = Pipeline(tiny, backend="torch", detector=None, device="cpu")
    with pytest.raises(InputError, match="match no frame of the source"):
        list(pipe.propagate(shared_data(*CLIP), tmp_path / "bad.json"))
    with pytest.raises(InputError, match="no such label file"):
        list(pipe.propagate(shared_data(*CLIP), tmp_path / "none.json"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read the labels"):
        list(pipe.propagate(shared_data(*CLIP), tmp_path / "broken.json"))


def test_cli_run_and_refusal(tiny, tmp_path, capsys):
    from stdpose_infer.cli.main import main
    from stdpose_infer.weights import save_weights

    weights = save_weights(tiny, tmp_path / "t.safetensors")
    clip = shared_data(*CLIP)
    assert main(["run", str(clip), "--weights", str(tmp_path / "none.safetensors"), "--json", str(tmp_path / "o.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    args = ["run", str(clip), "--weights", str(weights), "--json", str(tmp_path / "o.json"),
            "--video-out", str(tmp_path / "o.avi"), "--detector", f"movenet:{shared_data(*MOVENET)}"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0
    assert "5 frames" in capsys.readouterr().out
    assert len(load_video(tmp_path / "o.json")) == 5 and len(list(read_frames(tmp_path / "o.avi"))) == 5
