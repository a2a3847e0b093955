"""Cross-frame feature reuse: the model's two halves in every backend that runs them, window boxes, and the
pipeline path that shares each frame's crop between triplets (tiny model, lively random weights)."""

from __future__ import annotations

import dataclasses
import warnings
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from stdpose_infer import NeighbourCrops, WindowBoxes, build_model, load_backend
from stdpose_infer.crops.affine import box_to_center_scale, image_to_heatmap
from stdpose_infer.crops.align import align_to_key, key_in_crops
from stdpose_infer.crops.triplets import crop_affines
from stdpose_infer.decode import decode_heatmaps, render_heatmaps
from stdpose_infer.errors import InputError
from stdpose_infer.export import export_onnx
from stdpose_infer.keypoints import get_format
from stdpose_infer.pipeline import Pipeline
from stdpose_infer.pipeline.batcher import Batcher, Reuse
from stdpose_infer.results import posetrack_json
from stdpose_infer.runtime.torch_backend import TorchBackend
from stdpose_infer.video import Frame

SPLIT = ("frame_features", "temporal")


@pytest.fixture(scope="module")
def split_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("split-graphs")


@pytest.mark.parametrize("name", ["torch", "onnxruntime", "openvino"])
def test_halves_equal_the_whole_model(tiny, frames, aux, split_cache, name):
    """temporal(frame_features(each crop)) gives the whole model's heatmaps in both modes, batch split included."""
    pytest.importorskip({"torch": "torch", "onnxruntime": "onnxruntime", "openvino": "openvino"}[name])
    backend = load_backend(tiny, name, "cpu", "fp32", ("estimate", "propagate", *SPLIT), split_cache, max_batch=3)
    with torch.no_grad():
        whole, whole_aux = tiny(frames), tiny(frames, aux)
    feats, heatmaps = backend.frame_features(frames.flatten(0, 1))
    assert feats.shape == (12, tiny.config.embed_dim, *tiny.config.token_grid)
    feats, heatmaps = feats.unflatten(0, (4, 3)), heatmaps.unflatten(0, (4, 3))
    torch.testing.assert_close(backend.temporal(feats, heatmaps), whole, atol=1e-4, rtol=1e-4)
    labels = torch.stack([aux[:, 0], heatmaps[:, 1], aux[:, 1]], dim=1)
    torch.testing.assert_close(backend.temporal(feats, labels), whole_aux, atol=1e-4, rtol=1e-4)
    assert whole.std() > 1e-3  # lively weights: a wrong wiring would show
    with pytest.raises(InputError, match="temporal needs features"):
        backend.temporal(feats[:, :2], heatmaps)


def test_backends_without_the_halves_refuse_clearly(tiny, split_cache, tmp_path):
    estimate_only = export_onnx(tiny, tmp_path / "t.onnx").path
    for name in ("onnxruntime", "openvino"):
        pytest.importorskip(name)
        backend = load_backend(estimate_only, name, "cpu", "fp32")
        with pytest.raises(InputError, match="stdpose-export --mode frame_features"):
            backend.check_split()
    single = build_model("t", use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    with pytest.raises(InputError, match="single-frame"):
        TorchBackend(single).frame_features(torch.zeros(1, 3, 256, 192))
    with pytest.raises(InputError, match="mode must be one of"):
        export_onnx(tiny, tmp_path / "x.onnx", "backbone")


def test_window_boxes_hold_then_open_anew():
    win = WindowBoxes(length=4, margin=1.25, min_fill=0.7)
    box = np.array([[100.0, 100.0, 140.0, 200.0]])  # narrow: the 3:4 crop leaves room sideways
    seven = np.array([7])
    first_box, (first,) = win.windows(0, box, seven)
    center, scale = crop_affines(box)[1:]
    w_center, w_scale = crop_affines(first_box)[1:]
    np.testing.assert_allclose(w_center, center)
    np.testing.assert_allclose(w_scale, scale * 1.25)  # the window's crop: the usual crop x margin
    held = [win.windows(t, box + [t * 2, 0, t * 2, 0], seven) for t in range(1, 4)]
    assert [int(ids[0]) for _, ids in held] == [first] * 3  # small moves stay in the window
    assert all(np.array_equal(b, first_box) for b, _ in held)  # and its box does not move
    assert win.windows(4, box, seven)[1][0] != first  # length reached
    (held,) = win.windows(5, box, seven)[1]
    assert win.windows(6, box + [60, 0, 60, 0], seven)[1][0] != held  # left the window
    (moved,) = win.windows(7, box + [60, 0, 60, 0], seven)[1]
    assert win.windows(8, box + [60, 40, 60, 0], seven)[1][0] != moved  # shrank below min_fill
    (other,) = win.windows(9, box, np.array([3]))[1]  # track 7 missing this frame: its window closed
    assert win.windows(10, box, seven)[1][0] not in (other, moved)
    with pytest.raises(InputError, match="margin >= 1"):
        WindowBoxes(margin=0.9)
    win.update(11, box, seven)
    shared = win.crops(11, 10, 12, seven)  # all three frames at the key frame's window box
    assert shared.ids.shape == (1, 3) and len(set(shared.ids[0])) == 1 and np.ptp(shared.boxes[0], axis=0).max() == 0


def test_neighbour_crops_share_near_crops_only():
    policy = NeighbourCrops(tolerance=0.1)
    box = np.array([[100.0, 100.0, 160.0, 180.0]])  # crop 75 x 100 px (3:4, x1.25)
    one, two = np.array([1]), np.array([2])
    policy.update(0, box, one)
    policy.update(1, box + [5, 0, 5, 0], one)  # 5 px: within 10 % of the crop width
    policy.update(2, box + [30, 0, 30, 0], one)  # 30 px from frame 1: too far
    policy.update(3, box + [30, 0, 30, 0], two)  # another track
    near = policy.crops(1, 0, 2, one)
    np.testing.assert_array_equal(near.boxes[0, :2], [box[0], box[0] + [5, 0, 5, 0]])  # own crops
    np.testing.assert_array_equal(near.boxes[0, 2], box[0] + [5, 0, 5, 0])  # right: at the key frame's box
    assert near.ids[0, 0] == policy.crops(0, 0, 1, one).ids[0, 1]  # frame 0's own crop, shared
    assert near.ids[0, 2] != policy.crops(2, 1, 3, one).ids[0, 1]  # not frame 2's own crop
    assert policy.crops(2, 1, 3, one).ids[0, 2] not in (policy.crops(3, 2, 3, two).ids[0, 1],)  # other track
    with pytest.raises(InputError, match="tolerance"):
        NeighbourCrops(tolerance=1.5)


def test_neighbour_crops_reuse_crops_cut_for_other_key_frames():
    """Propagate-like triplets: labeled frames 0 and 4 are the aux frames of keys 1-3, whose boxes move 14 px a
    frame (the tolerance is 20 % of the 75 px crop: 15 px). A crop of an aux frame cut at one key's box serves the
    next key when within the tolerance, so six crops of frames 0 and 4 become four."""
    policy = NeighbourCrops(tolerance=0.2)
    box, one = np.array([[100.0, 100.0, 160.0, 180.0]]), np.array([1])
    at = {t: box + [14 * t, 0, 14 * t, 0] for t in range(5)}
    policy.update(0, at[0], one)
    policy.update(4, at[4], one)
    got = {}
    for key in (1, 2, 3):
        policy.update(key, at[key], one)
        got[key] = policy.crops(key, 0, 4, one)
    own0, own4 = got[1].ids[0, 0], got[3].ids[0, 2]  # the labeled frames' own crops, read where near
    np.testing.assert_array_equal(got[2].boxes[0], [at[2][0], at[2][0], at[1][0]])  # frame 4 cut for key 1, reused
    assert got[2].ids[0, 2] == got[1].ids[0, 2] and got[3].ids[0, 0] == got[2].ids[0, 0]
    aux = {int(i) for g in got.values() for i in g.ids[0, [0, 2]]}
    assert len(aux) == 4 and {own0, own4} <= aux  # own 0, own 4, frame 4 at key 1's box, frame 0 at key 2's box


def test_aux_maps_are_brought_onto_the_key_crop():
    """An aux crop cut at its own box: its heatmaps, aligned, peak where the key box's crop of the same image points
    would; frames cut at the key box pass through bit for bit; flipped crops align as the flipped aligned ones."""
    key, aux = np.array([100.0, 50.0, 200.0, 300.0]), np.array([120.0, 70.0, 230.0, 330.0])
    boxes = np.stack([aux, key, key])[None]  # left aux at its own box, right aux at the key box
    points = np.array([[[150.0, 120.0], [180.0, 250.0], [215.0, 320.0]]])  # image pixels
    wh = (48, 64)

    def rendered(box):
        center, scale = box_to_center_scale(box[None], 0.75)
        at = image_to_heatmap(points, center, scale, wh)
        return torch.from_numpy(render_heatmaps(at, np.ones((1, 3), bool), wh[::-1])[0])

    maps = torch.stack([rendered(aux), rendered(key), rendered(key)])[None]  # (1, 3, J, h, w)
    theta = key_in_crops(boxes, (192, 256))
    aligned = align_to_key(maps, theta, "heatmaps")
    peaks = decode_heatmaps(aligned[0].numpy())[0]
    np.testing.assert_allclose(peaks[0], peaks[1], atol=0.05)  # heatmap px
    assert torch.equal(aligned[:, 1:], maps[:, 1:])
    assert not torch.equal(maps[:, 0], aligned[:, 0])
    mirrored = align_to_key(maps.flip(-1), theta, "heatmaps", mirrored=True).flip(-1)
    torch.testing.assert_close(mirrored, aligned, atol=1e-6, rtol=0)
    tokens = torch.rand(1, 3, 8, 16, 12)
    assert torch.equal(align_to_key(tokens, key_in_crops(np.tile(key, (1, 3, 1)), (192, 256)), "features"), tokens)
    with pytest.raises(ValueError, match="kind"):
        align_to_key(tokens, theta, "tokens")


def test_reuse_tells_the_temporal_half_where_each_aux_crop_lies(tiny):
    """Under NeighbourCrops the per-triplet half gets, per triplet, the affine of the key crop inside each frame's
    crop: the identity where a frame was cut at the key box, a scale and shift where it was cut at its own box."""
    images, boxes = _moving_people(6)
    backend = TorchBackend(tiny, max_batch=8)
    seen = []

    def temporal(parts, aux, theta):
        seen.append(theta)
        return backend.temporal(*parts)

    run = Batcher(backend.infer, lambda *a: nullcontext(), get_format(tiny.config.keypoint_format),
                  tiny.config.input_wh, tiny.config.heatmap_wh, 16, 3, reuse=Reuse(backend.frame_features, temporal))  # fmt: skip
    policy, ids, expected = NeighbourCrops(tolerance=0.2), np.array([1, 2]), []
    for t, image in enumerate(images):
        run.add_frame(Frame(t, f"f{t}", image))
        policy.update(t, boxes[t], ids)
    for t in range(len(images)):
        left, right = max(t - 1, 0), min(t + 1, len(images) - 1)
        crops = policy.crops(t, left, right, ids)
        run.queue(t, left, right, boxes[t], ids, "estimated", shared=crops)
        expected.append(key_in_crops(crops.boxes, tiny.config.input_wh))
    assert len(list(run.flush())) == len(images)
    got, expected = torch.cat(seen), torch.cat(expected)
    torch.testing.assert_close(got, expected)
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    assert torch.equal(got[:, 1], identity.expand(len(got), 2, 3))  # the key frame is its own crop
    assert (got[:, [0, 2]] != identity).flatten(2).any(-1).any()  # some aux frames were read at their own box


def _moving_people(frames: int = 9, size=(240, 320)):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (frames, *size, 3), dtype=np.uint8)
    start = np.array([[20.0, 30.0, 70.0, 150.0], [150.0, 40.0, 200.0, 170.0]])
    boxes = [start + [[3 * t, t, 3 * t, t], [-4 * t, 0, -4 * t, 2 * t]] for t in range(frames)]
    return images, boxes


def test_shared_crops_give_the_triplets_results_and_count_passes(tiny):
    """Feature reuse is exact: the batcher with shared (frame, window) crops gives the keypoints of whole
    triplets cropped with the same window boxes; and it runs each (frame, window) crop once. (Window boxes crop
    all three frames alike, so whole triplets can reproduce them.)"""
    images, boxes = _moving_people()
    backend = TorchBackend(tiny, max_batch=5)
    fmt = get_format(tiny.config.keypoint_format)

    def batcher(reuse):
        reuse = Reuse(backend.frame_features, lambda parts, aux, theta: backend.temporal(*parts)) if reuse else None
        return Batcher(backend.infer, lambda *a: nullcontext(), fmt, tiny.config.input_wh, tiny.config.heatmap_wh,
                       4, 3, reuse=reuse)  # fmt: skip

    shared, whole = batcher(True), batcher(False)
    policy, ids = WindowBoxes(length=5), np.array([1, 2])
    results = {True: [], False: []}
    keys = set()
    for t, image in enumerate(images):
        for run in (shared, whole):
            run.add_frame(Frame(t, f"f{t}", image))
    for t in range(len(images)):
        policy.update(t, boxes[t], ids)
    for t in range(len(images)):
        left, right = max(t - 1, 0), min(t + 1, len(images) - 1)
        crops = policy.crops(t, left, right, ids)
        shared.queue(t, left, right, boxes[t], ids, "estimated", shared=crops)
        whole.queue(t, left, right, crops.boxes[:, 1], ids, "estimated")
        keys |= {(f, int(w)) for row in crops.ids for f, w in zip((left, t, right), row)}
        results[True] += list(shared.step(t))
        results[False] += list(whole.step(t))
    results[True] += list(shared.flush())
    results[False] += list(whole.flush())
    assert len(results[True]) == len(images)
    for a, b in zip(results[True], results[False]):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-2)  # image px; batches differ in size
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
        np.testing.assert_allclose(a.boxes, boxes[a.frame_index])  # results keep the people's own boxes
    assert shared.reuse.crops_run == len(keys)  # one backbone pass per (frame, window)
    assert shared.reuse.passes_per_person_frame == len(keys) / (2 * len(images)) < 2


def test_pipeline_reuse_and_flip_halves_match_the_whole_flip(tiny, frames, aux):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = Pipeline(tiny, backend="torch", device="cpu", detector=None, flip_test=True, reuse_features=True)
    for given in (None, aux):
        parts = pipe.calls.frame_parts(frames.flatten(0, 1))
        assert len(parts) == 4  # features and heatmaps of the crops and of their mirror images
        stacked = tuple(p.unflatten(0, (4, 3)) for p in parts)
        same_box = key_in_crops(np.tile([[[10.0, 20.0, 60.0, 120.0]]], (4, 3, 1)), tiny.config.input_wh)
        torch.testing.assert_close(
            pipe.calls.temporal(stacked, given, same_box), pipe.calls.heatmaps(frames, given), atol=1e-4, rtol=1e-4
        )
    moved = same_box.clone()
    moved[:, 0, :, 2] = 0.1  # the left aux crop lies off the key crop: its maps are aligned before the temporal half
    features, heatmaps = stacked[0], stacked[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flip_off = Pipeline(tiny, backend="torch", device="cpu", detector=None, reuse_features=True)
    expected = flip_off.backend.temporal(
        align_to_key(features, moved, "features"), align_to_key(heatmaps, moved, "heatmaps")
    )
    torch.testing.assert_close(flip_off.calls.temporal(stacked[:2], None, moved), expected)
    assert not torch.allclose(flip_off.calls.temporal(stacked[:2], None, same_box), expected)


def test_pipeline_reuse_runs_a_video_with_fewer_passes(tiny):
    images, boxes = _moving_people(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4, reuse_features=False)
        reuse = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4, reuse_features=True)
        default = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4)
    a, b = list(plain(images, boxes)), list(reuse(images, boxes))
    assert [r.frame_index for r in b] == list(range(12))
    assert all(len(r.boxes) == 2 and np.isfinite(r.keypoints).all() for r in b)
    np.testing.assert_array_equal(np.concatenate([r.track_ids for r in a]), np.concatenate([r.track_ids for r in b]))
    assert 1 <= reuse.reuse.passes_per_person_frame < 2
    assert plain.reuse is None
    static = [boxes[0]] * 12  # people who do not move: every aux frame reads its neighbour's own crop, so
    same = list(reuse(images, static))  # each frame is cropped once, and the triplets are the plain ones
    assert reuse.reuse.passes_per_person_frame == 1
    for a, b in zip(same, plain(images, static)):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-2)  # image px; batches differ in size
    assert default.crop_policy == reuse.crop_policy  # on by default wherever the backend runs the two halves
    single = build_model("t", use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    with warnings.catch_warnings(), pytest.raises(InputError, match="nothing to reuse"):
        warnings.simplefilter("ignore")
        Pipeline(single, backend="torch", device="cpu", detector=None, reuse_features=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Pipeline(single, backend="torch", device="cpu", detector=None).crop_policy is None  # "auto": off


def test_every_model_pass_with_reuse_is_timed_as_the_model_stage(tiny):
    """Crops cut ahead of their triplets run the per-frame half early: the bench's stage shares count it as model
    time (it was left out, so 20-29 % of a reuse run's time showed as no stage at all)."""
    from contextlib import contextmanager

    images, boxes = _moving_people(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=6, reuse_features=True)
    active, passes = [], []

    class Timer:
        @contextmanager
        def stage(self, name, items=1):
            active.append(name)
            yield
            active.pop()

    pipe.timer = Timer()
    features = pipe.calls.frame_parts
    pipe.calls.frame_parts = lambda crops: passes.append(active[-1] if active else None) or features(crops)
    list(pipe(images, boxes))
    assert passes and set(passes) == {"model"}, passes


def _labels_from(results, frames) -> dict:
    """Sparse labels (PoseTrack18 JSON) from a run's poses on ``frames``; every joint visible."""
    picked = [dataclasses.replace(r, scores=np.ones_like(r.scores)) for r in results if r.frame_index in frames]
    return posetrack_json(picked)


def test_propagate_reuse_shares_the_labeled_frames_crops(tiny):
    """Propagate mode: each labeled frame is cropped once per person at its label's box and read by every frame
    between labels; where the people stand still those crops are the key crops, so the result is the plain one."""
    images, boxes = _moving_people(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4, reuse_features=False)
        reuse = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4, reuse_features=True)
    static = [boxes[0]] * 11
    labels = _labels_from(list(plain(images, static)), (0, 5, 10))
    a, b = list(plain.propagate(images, labels)), list(reuse.propagate(images, labels))
    assert [r.frame_index for r in b] == list(range(11))
    for x, y in zip(a, b):
        assert list(x.origin) == list(y.origin) and set(y.origin) == {"given" if y.frame_index % 5 == 0 else "propagated"}
        np.testing.assert_allclose(x.keypoints, y.keypoints, atol=1e-2)  # image px; batches differ in size
    propagated = 8 * 2
    assert reuse.reuse.triplets_run == propagated and reuse.reuse.crops_run == propagated + 3 * 2
    labels = _labels_from(list(plain(images, boxes)), (0, 5, 10))  # moving people: fewer aux crops shared
    a, b = list(plain.propagate(images, labels)), list(reuse.propagate(images, labels))
    assert all(np.isfinite(r.keypoints).all() for r in b)
    np.testing.assert_array_equal(np.concatenate([r.track_ids for r in a]), np.concatenate([r.track_ids for r in b]))
    assert 1 < reuse.reuse.passes_per_person_frame < 3


def test_propagate_reuse_runs_shared_and_whole_triplets_in_one_batch(tiny):
    """A model that does not read the labels' heatmaps (no TKS, no DAM) puts propagated people (shared crops) and
    people the labels lack (estimated, whole triplets) into the same batches: both kinds come back."""
    images, boxes = _moving_people(6)
    tff_only = build_model("t", use_tks=False, use_dam=False, use_stda=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Pipeline(tiny, backend="torch", device="cpu", detector=None, batch_size=4)
        pipe = Pipeline(tff_only, backend="torch", device="cpu", detector=None, batch_size=4, reuse_features=True)
        labels = _labels_from([r[:1] for r in plain(images, boxes)], (0, 5))  # only the first person labeled
        results = list(pipe.propagate(images, labels, boxes=boxes))
    for r in results[1:5]:
        assert sorted(r.origin) == ["estimated", "propagated"] and np.isfinite(r.keypoints).all()
    assert pipe.reuse.triplets_run == 4  # the propagated person; the estimated one ran whole triplets


def test_default_pipeline_equals_reuse_off_on_a_real_clip():
    """Reuse is on by default: the starter's poses on a real football clip match the reuse-off pipeline's to the
    tolerance measured on the held-out clip (keypoints 0.001 px apart at the median, 0.07 px at most)."""
    from conftest import shared_data

    from stdpose_infer.video import read_frames

    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test", "000001_mpiinew_test.mp4")
    frames = [f.image for f in read_frames(clip)]
    default = Pipeline(backend="torch", batch_size=16)
    on, off = list(default(frames)), list(Pipeline(backend="torch", batch_size=16, reuse_features=False)(frames))
    assert default.reuse.passes_per_person_frame < 2  # reuse did run
    shifts = []
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        both = (a.scores > 0) & (b.scores > 0)
        shifts.append(np.linalg.norm(a.keypoints - b.keypoints, axis=-1)[both])
    shifts = np.concatenate(shifts)
    assert len(shifts) > 100 and np.median(shifts) < 0.01 and shifts.max() < 0.5, (np.median(shifts), shifts.max())
