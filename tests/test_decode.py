"""Heatmap codec and crop geometry: decoding accuracy, flip test, UDP round trips."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from conftest import shared_data

from stdpose_infer import (
    COCO,
    POSETRACK,
    InputError,
    box_to_center_scale,
    decode_heatmaps,
    flip_heatmaps,
    get_affine,
    heatmap_to_image,
    image_to_heatmap,
    render_heatmaps,
)
from stdpose_infer.crops import INPUT_SIZE, invert_affine, transform_points


def random_peaks(n: int, seed: int = 0, margin: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(margin, 47 - margin, (n, 17)), rng.uniform(margin, 63 - margin, (n, 17))], axis=-1)


def test_decoding_accuracy_on_clean_gaussians(capsys):
    """sigma-2 Gaussians at random sub-pixel peaks: DARK within 0.05 px on average."""
    peaks = random_peaks(200)
    heatmaps = render_heatmaps(peaks, np.ones(peaks.shape[:2]))
    errors = {}
    for method in ("argmax", "quarter", "dark"):
        coords, scores = decode_heatmaps(heatmaps, method)
        assert coords.shape == (200, 17, 2) and scores.shape == (200, 17)
        errors[method] = np.linalg.norm(coords - peaks, axis=-1).mean()
    with capsys.disabled():
        print("\nmean decoding error (heatmap px): " + ", ".join(f"{m} {e:.2e}" for m, e in errors.items()))
    assert errors["dark"] <= 0.05
    assert errors["dark"] < errors["quarter"] < errors["argmax"]  # each refinement helps on clean peaks
    # score = the heatmap maximum: 1 on a pixel, exp(-1/16) for a peak half a pixel off on both axes
    assert scores.max() <= 1.0 and scores.min() >= np.exp(-(0.5**2) * 2 / (2 * 2.0**2)) - 1e-6


def test_integer_peaks_decode_exactly_with_every_method():
    peaks = np.round(random_peaks(10, seed=1))
    heatmaps = render_heatmaps(peaks, np.ones(peaks.shape[:2]))
    for method in ("argmax", "quarter", "dark"):
        coords, _ = decode_heatmaps(heatmaps, method)
        tol = 0.25 if method == "quarter" else 1e-3  # quarter always moves by 0.25 toward a neighbour
        np.testing.assert_allclose(coords, peaks, atol=tol)


def test_quarter_shifts_toward_the_brighter_neighbour():
    hm = np.zeros((1, 1, 64, 48), np.float32)
    hm[0, 0, 30, 20] = 1.0
    hm[0, 0, 30, 21] = 0.5  # brighter on the right
    hm[0, 0, 29, 20] = 0.5  # brighter above
    coords, _ = decode_heatmaps(hm, "quarter")
    np.testing.assert_allclose(coords[0, 0], [20.25, 29.75])


def test_numpy_and_torch_give_the_same_result_and_type():
    heatmaps = render_heatmaps(random_peaks(4), np.ones((4, 17)))
    for method in ("argmax", "quarter", "dark"):
        c_np, s_np = decode_heatmaps(heatmaps, method)
        c_t, s_t = decode_heatmaps(torch.from_numpy(heatmaps), method)
        assert isinstance(c_np, np.ndarray) and isinstance(c_t, torch.Tensor)
        np.testing.assert_allclose(c_t.numpy(), c_np, atol=1e-6)
        np.testing.assert_allclose(s_t.numpy(), s_np, atol=1e-7)


def test_non_contiguous_numpy_input():
    heatmaps = render_heatmaps(random_peaks(2), np.ones((2, 17)))
    mirrored = heatmaps[:, :, :, ::-1]  # a view with a negative stride
    coords, _ = decode_heatmaps(mirrored, "dark")
    np.testing.assert_allclose(coords, decode_heatmaps(mirrored.copy(), "dark")[0])


def test_dark_on_flat_heatmaps_stays_near_the_argmax():
    """Random-weight heatmaps are flat: refinement must not throw points across the map."""
    flat = np.random.default_rng(0).normal(0, 1e-4, (8, 17, 64, 48)).astype(np.float32)
    coords, _ = decode_heatmaps(flat, "dark")
    argmax, _ = decode_heatmaps(flat, "argmax")
    assert np.abs(coords - argmax).max() <= 1.0 + 1e-6


def test_dark_near_the_border(capsys):
    """Zero-padded blur (default) vs cv2's reflect-101 (ViTPose) for peaks 3 and 6 px from the edge."""
    rng = np.random.default_rng(4)
    errors = {}
    for dist in (3.0, 6.0):
        peaks = np.stack([dist + rng.uniform(0, 1, (500, 1)), rng.uniform(10, 50, (500, 1))], axis=-1)
        hm = render_heatmaps(peaks, np.ones((500, 1)))
        for border in ("zeros", "reflect"):
            coords, _ = decode_heatmaps(hm, "dark", blur_border=border)
            errors[dist, border] = np.abs(coords - peaks)[..., 0].mean()
    with capsys.disabled():
        print(
            "\nDARK mean x error near the border (heatmap px): "
            + ", ".join(f"{d:.0f} px {b} {e:.2e}" for (d, b), e in errors.items())
        )
    assert errors[3.0, "zeros"] < errors[3.0, "reflect"] / 5
    assert errors[6.0, "zeros"] < 1e-3 and errors[6.0, "reflect"] < 1e-3


@pytest.mark.parametrize("border", ["zeros", "reflect"])
def test_local_dark_equals_blurring_whole_maps(border):
    """The fast path blurs only the 3 x 3 pixels around each peak; the reference blurs the whole map."""
    from stdpose_infer.decode.heatmaps import _blurred_around, dark_step, gaussian_blur

    g = torch.Generator().manual_seed(5)
    maps = torch.rand(6, 17, 64, 48, generator=g) ** 8  # spiky noise: peaks anywhere, also on the border
    maps[0, 0, 0, 0] = maps[1, 1, 63, 47] = maps[2, 2, 0, 30] = 5.0  # corners and edges (replicate clamping)
    _, idx = maps.flatten(2).max(dim=2)
    ix, iy = idx % 48, idx // 48
    full = torch.nn.functional.pad(gaussian_blur(maps, 11, border), (1, 1, 1, 1), mode="replicate")
    want = torch.stack([torch.stack([full.flatten(2).gather(2, ((iy + 1 + dy) * 50 + ix + 1 + dx).unsqueeze(-1))
                                     .squeeze(-1) for dx in (-1, 0, 1)], -1) for dy in (-1, 0, 1)], -2)  # fmt: skip
    got = _blurred_around(maps, ix, iy, 11, border)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(dark_step(got), dark_step(want), rtol=0, atol=1e-4)


def test_bad_heatmap_input():
    with pytest.raises(InputError, match=r"\(B, J, h, w\)"):
        decode_heatmaps(np.zeros((17, 64, 48)))
    with pytest.raises(ValueError, match="unknown method"):
        decode_heatmaps(np.zeros((1, 17, 64, 48)), "softargmax")
    with pytest.raises(InputError, match=r"\(N, J, 2\)"):
        render_heatmaps(np.zeros((1, 17, 3)), np.ones((1, 17)))


def test_render_zeroes_invisible_and_far_outside_joints():
    pts = np.array([[[10.0, 10.0], [20.0, 20.0], [-10.0, 5.0], [47 + 5.0, 30.0]]])
    hm = render_heatmaps(pts, np.array([[1, 0, 1, 1]]))
    assert hm[0, 0].max() == pytest.approx(1.0)
    assert hm[0, 1].max() == 0  # invisible
    assert hm[0, 2].max() == 0  # 10 px (5 sigma) left of the map
    assert 0 < hm[0, 3].max() < 0.1  # 5 px right of the edge: tail of the Gaussian is still there


@pytest.mark.parametrize("fmt", [COCO, POSETRACK])
def test_flip_back_matches_rendering_the_mirrored_pose(fmt):
    """Predict on a mirrored crop, flip back: in UDP the mirror is exact (x -> w - 1 - x)."""
    peaks = random_peaks(3, seed=2)
    vis = np.ones((3, 17))
    mirrored = peaks.copy()
    mirrored[..., 0] = 47 - mirrored[..., 0]
    mirrored = mirrored[:, fmt.flip_permutation]  # the left wrist of the mirrored crop is the right one
    restored = flip_heatmaps(render_heatmaps(mirrored, vis), fmt)
    np.testing.assert_allclose(restored, render_heatmaps(peaks, vis), atol=1e-6)
    t = flip_heatmaps(torch.from_numpy(render_heatmaps(mirrored, vis)), fmt)
    np.testing.assert_allclose(t.numpy(), restored, atol=1e-6)


def test_box_to_center_scale_fixes_aspect_and_pads():
    center, scale = box_to_center_scale(np.array([[100, 50, 140, 250], [0, 0, 300, 100]]))
    np.testing.assert_allclose(center, [[120, 150], [150, 50]])
    np.testing.assert_allclose(scale, [[187.5, 250], [375, 500]])  # (40, 200) -> (150, 200) -> x1.25
    np.testing.assert_allclose(scale[:, 0] / scale[:, 1], 0.75)


def test_affine_maps_the_crop_onto_the_udp_span():
    center, scale = np.array([[300.0, 200.0]]), np.array([[120.0, 160.0]])
    m = get_affine(center, scale, INPUT_SIZE)
    corners = np.array([[[240.0, 120.0], [360.0, 280.0], [300.0, 200.0]]])
    np.testing.assert_allclose(transform_points(corners, m), [[[0, 0], [191, 255], [95.5, 127.5]]], atol=1e-9)
    back = transform_points(transform_points(corners, m), invert_affine(m))
    np.testing.assert_allclose(back, corners, atol=1e-9)
    rot = get_affine(center, scale, INPUT_SIZE, rotation=30.0)
    np.testing.assert_allclose(transform_points(center[None], rot), [[[95.5, 127.5]]], atol=1e-9)


def test_affine_agrees_with_cv2_warp_pixel_convention():
    """A dot at image point p appears in the cv2.warpAffine crop at transform_points(p)."""
    image = np.zeros((480, 640), np.float32)
    yy, xx = np.mgrid[:480, :640]
    p = np.array([333.3, 211.7])
    image[:] = np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * 6.0**2))
    center, scale = box_to_center_scale(np.array([[250, 120, 400, 330]]))
    m = get_affine(center, scale, INPUT_SIZE, rotation=12.0)
    crop = cv2.warpAffine(image, m[0], INPUT_SIZE, flags=cv2.INTER_LINEAR)
    found, _ = decode_heatmaps(crop[None, None], "dark")
    np.testing.assert_allclose(found[0, 0], transform_points(p[None, None], m)[0, 0], atol=0.05)


def _round_trip_error(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Image -> crop heatmap -> Gaussian -> DARK -> image; error in input pixels (crop's scale)."""
    center, scale = box_to_center_scale(boxes)
    hm_pts = image_to_heatmap(points, center, scale)
    heatmaps = render_heatmaps(hm_pts, np.ones(points.shape[:2]))
    coords, _ = decode_heatmaps(heatmaps, "dark")
    back = heatmap_to_image(coords, center, scale)
    px_per_input_px = scale[:, None, 0] / (INPUT_SIZE[0] - 1)
    return np.linalg.norm(back - points, axis=-1) / px_per_input_px


def test_round_trip_through_crop_render_decode_lands_back():
    rng = np.random.default_rng(5)
    boxes = np.concatenate([rng.uniform(0, 500, (50, 2)), np.zeros((50, 2))], axis=1)
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(30, 600, (50, 2))
    # joints anywhere inside the original box
    points = boxes[:, None, :2] + rng.uniform(0, 1, (50, 17, 2)) * (boxes[:, None, 2:] - boxes[:, None, :2])
    err = _round_trip_error(points, boxes)
    print(f"\nround trip, {err.size} random joints: worst {err.max():.2e} input px")
    assert err.max() <= 0.05, f"worst round trip {err.max():.4f} input px"


def test_round_trip_on_real_posetrack_ground_truth():
    ann_dir = shared_data("posetrack18_sample", "annotations", "val")
    worst, count = 0.0, 0
    for path in sorted(ann_dir.glob("*.json")):
        for ann in json.loads(path.read_text())["annotations"]:
            kps = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
            vis = kps[:, 2] > 0
            x, y, w, h = ann["bbox"]
            err = _round_trip_error(kps[None, vis, :2], np.array([[x, y, x + w, y + h]]))
            assert err.max() <= 0.05, f"{path.name} track {ann['track_id']}: {err.max():.4f} input px"
            worst, count = max(worst, float(err.max())), count + err.size
    print(f"\nround trip, {count} PoseTrack18 ground-truth joints: worst {worst:.2e} input px")
