"""Training samples from PoseTrack18-format folders: one person's triplet crop, its target, its aux heatmaps.

``root/annotations/*.json`` (one file per video) with ``file_name`` paths relative to ``root``,
as PoseTrack and ``stdpose_infer.data.write_benchmark`` lay them out.

- Key frames are labeled frames (``is_labeled``, and only every ``label_every``-th frame when
  asked: sparse labels). Estimation: aux frames at t -/+ g, g drawn from 1..max_gap (clamped to the clip).
  Propagation: aux frames are labeled frames 1..max_gap away on each side (set max_gap = T - 1 to
  train for labels every T frames), and the aux heatmaps are rendered from their labels in the key
  frame's crop, with the sigma and UDP encoding inference uses, invisible joints zero (ARCHITECTURE.md).
  A side without the person uses the other side's label, as the pipeline does.
- Augmentation (the paper's): scale 0.65-1.35, rotation +-45 degrees (p 0.6), half body (p 0.3),
  horizontal flip (p 0.5); one affine for all three frames. ``window_crops`` (probability) replaces the
  scale draw with the crops cross-frame feature reuse makes (``pipeline/crop_policies.py``): a crop ``margin`` to
  1 / ``min_fill`` times the usual size, shifted anywhere that keeps the padded box inside it.
  ``aux_jitter`` (a tolerance) crops each aux frame of an estimation sample with its own shift and size change of
  up to that fraction of the crop, as ``NeighbourCrops`` feature reuse may. ``key_occlusion`` (a probability)
  erases one to three rectangles of a propagation sample's key frame (to the mean colour) and keeps its target: on
  frames the single-frame network already fits, this is what makes the labels worth reading. ``photometric`` (a
  probability) changes brightness, contrast and saturation (each x0.6-1.4), sometimes to grey (p 0.2) or blurred
  (p 0.3), the same for all three frames: with few scenes to learn from, colour and sharpness are what a network
  memorises first.
- Randomness comes from (seed, epoch, index) only, so a resumed run sees exactly the same samples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..annotation.labels import annotation_box
from ..crops.affine import HEATMAP_SIZE, INPUT_SIZE, box_to_center_scale, get_affine, transform_points
from ..crops.triplets import crop_triplets_cv2
from ..data.posetrack_folder import frame_order, read_image
from ..decode import render_heatmaps
from ..errors import InputError
from ..keypoints import POSETRACK, annotated, convert_keypoints, get_format, visible
from ..model.config import MODES
from ..pipeline.crop_policies import PADDING, WindowBoxes

UPPER = ("nose", "head_bottom", "head_top", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
         "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")  # fmt: skip


@dataclass
class _Person:
    keypoints: np.ndarray  # (17, 3) PoseTrack slots
    box: np.ndarray  # xyxy


@dataclass
class _Video:
    name: str
    frames: list[Path]  # every frame of the clip, in order
    labels: dict[int, dict[int, _Person]]  # frame index -> track id -> person (labeled frames only)


def carried_keypoints(t: int, left: int, right: int, kl: np.ndarray, kr: np.ndarray) -> np.ndarray:
    """(17, 3) the labels of frames ``left`` and ``right`` interpolated to frame ``t`` (a joint labeled on one side
    only is copied from it; occluded joints with a position count): what a ``label_prior`` model reads as its aux
    labels in training, as the pipeline's ``carried_aux``."""
    vl, vr = annotated(kl), annotated(kr)
    a = 0.0 if right == left else (t - left) / (right - left)
    xy = np.where((vl & vr)[:, None], (1 - a) * kl[:, :2] + a * kr[:, :2], np.where(vl[:, None], kl[:, :2], kr[:, :2]))
    return np.concatenate([xy, np.where(vl | vr, 2.0, 0.0)[:, None]], axis=1)


def load_videos(root: str | Path, label_every: int = 1, annotations: str = "annotations") -> list[_Video]:
    """Every video under ``root/ANNOTATIONS``; labeled frames thinned to every ``label_every``-th."""
    root = Path(root)
    files = sorted((root / annotations).glob("*.json"))
    if not files:
        raise InputError(f"{root}: no {annotations}/*.json (PoseTrack18 layout: annotations/VIDEO.json + images/...)")
    videos = []
    for path in files:
        try:
            doc = json.loads(path.read_text())
            images, annotations = doc["images"], doc["annotations"]
        except (OSError, ValueError, KeyError) as e:
            raise InputError(f"{path}: not a readable PoseTrack18 file ({e})") from e
        if doc.get("categories", [{}])[0].get("keypoints") != list(POSETRACK.keypoints):
            raise InputError(f"{path}: keypoints must be PoseTrack18's 17 slots")
        order = frame_order(images)
        index = {im["id"]: t for t, im in enumerate(order)}
        frames = [root / im["file_name"] for im in order]
        labeled = {index[im["id"]] for im in order if im.get("is_labeled", True)}
        labeled = {t for t in labeled if t % label_every == 0}
        labels: dict[int, dict[int, _Person]] = {t: {} for t in labeled}
        for ann in annotations:
            t = index.get(ann.get("image_id"))
            if t not in labels or not ann.get("keypoints"):
                continue
            k = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
            given = annotated(k)
            if given.sum() < 2:
                continue
            try:
                box = annotation_box(ann)
            except InputError:
                continue  # no bbox and under 2 visible joints: nothing to crop around
            labels[t][int(ann.get("track_id", len(labels[t])))] = _Person(k, box)
        videos.append(_Video(path.stem, frames, labels))
    return videos


def erase_rectangles(image: np.ndarray, rng: np.random.Generator) -> None:
    """In place: one to three rectangles, each 20-50 % of the crop's sides, set to 0 (ImageNet-normalised: the mean
    colour), as random erasing does."""
    _, h, w = image.shape
    for _ in range(int(rng.integers(1, 4))):
        eh, ew = int(h * rng.uniform(0.2, 0.5)), int(w * rng.uniform(0.2, 0.5))
        y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
        image[:, y : y + eh, x : x + ew] = 0


def photometric(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(F, 3, h, w) ImageNet-normalised RGB frames with one random colour/sharpness change applied to all of them."""
    from ..crops.triplets import MEAN, STD

    mean, std = MEAN[None, :, None, None], STD[None, :, None, None]
    rgb = frames * std + mean
    rgb = rgb * rng.uniform(0.6, 1.4)  # brightness
    grey = rgb.mean(axis=(1, 2, 3), keepdims=True)
    rgb = grey + (rgb - grey) * rng.uniform(0.6, 1.4)  # contrast
    luma = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2])[:, None]
    rgb = luma + (rgb - luma) * (0.0 if rng.random() < 0.2 else rng.uniform(0.6, 1.4))  # saturation / grey
    if rng.random() < 0.3:
        sigma = rng.uniform(0.5, 1.5)
        rgb = np.stack([[cv2.GaussianBlur(c, (0, 0), sigma) for c in frame] for frame in rgb])
    return ((np.clip(rgb, 0.0, 1.0) - mean) / std).astype(np.float32)


def window_crop(box: np.ndarray, aspect: float, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """A crop like feature reuse's window crops: (scale factor, centre shift in pixels) for one xyxy box."""
    windows = WindowBoxes()
    factor = rng.uniform(windows.margin, 1 / windows.min_fill)
    _, size = box_to_center_scale(box[None], aspect, PADDING)
    slack = np.maximum(size[0] * factor - (box[2:] - box[:2]) * PADDING, 0) / 2
    return factor, rng.uniform(-slack, slack)


@dataclass
class _Augment:
    """One sample's draw of the geometric augmentation (the identity when augmentation is off)."""

    box: np.ndarray
    factor: float = 1.0
    shift: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rotation: float = 0.0
    flip: bool = False


class TripletDataset(Dataset):
    """``dataset[i]`` -> dict(frames (3, 3, H, W), target (J, h, w), weight (J,), [aux (2, J, h, w)]).

    Sizes follow the model's config (``input_wh``, ``heatmap_wh``: (w, h)); the defaults are 256 x 192 and 64 x 48.
    """

    def __init__(
        self,
        root: str | Path,
        mode: str = "estimate",
        label_every: int = 1,
        max_gap: int = 3,
        augment: bool = True,
        keypoint_format: str = "posetrack",
        sigma: float = 2.0,
        seed: int = 0,
        annotations: str = "annotations",
        input_wh: tuple[int, int] = INPUT_SIZE,
        heatmap_wh: tuple[int, int] = HEATMAP_SIZE,
        window_crops: float = 0.0,
        aux_jitter: float = 0.0,
        key_occlusion: float = 0.0,
        photometric: float = 0.0,
        carried_aux: bool = False,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"mode must be 'estimate' or 'propagate', got {mode!r}")
        if max_gap < (1 if mode == "propagate" else 0) or label_every < 1:
            raise InputError(
                f"need max_gap >= 1 (0 in estimate mode: the key frame as its own aux frames, for single-frame "
                f"training) and label_every >= 1, got {max_gap} and {label_every}"
            )
        self.videos = load_videos(root, label_every, annotations)
        self.mode, self.max_gap, self.augment, self.sigma, self.seed = mode, max_gap, augment, sigma, seed
        if not 0 <= window_crops <= 1:
            raise InputError(f"window_crops is a probability in [0, 1], got {window_crops}")
        if not 0 <= aux_jitter < 1:
            raise InputError(f"aux_jitter is a fraction of the crop size in [0, 1), got {aux_jitter}")
        if not 0 <= key_occlusion <= 1:
            raise InputError(f"key_occlusion is a probability in [0, 1], got {key_occlusion}")
        if not 0 <= photometric <= 1:
            raise InputError(f"photometric is a probability in [0, 1], got {photometric}")
        self.window_crops, self.aux_jitter, self.key_occlusion = window_crops, aux_jitter, key_occlusion
        self.photometric, self.carried_aux = photometric, carried_aux
        self.format = get_format(keypoint_format)
        self.input_wh, self.heatmap_wh = tuple(input_wh), tuple(heatmap_wh)
        self.epoch = 0
        self.items = []
        for v, video in enumerate(self.videos):
            for t, people in sorted(video.labels.items()):
                for tid in people:
                    if mode == "estimate" or self._aux_frames(video, t, tid):
                        self.items.append((v, t, tid))
        if not self.items:
            hint = (
                " (propagation needs labeled frames within max_gap of labeled key frames)"
                if mode == "propagate"
                else ""
            )
            raise InputError(f"{root}: no training samples for mode {mode}, label_every {label_every}{hint}")

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Augmentation and aux choices depend on the epoch (and nothing else that a resume could change)."""
        self.epoch = epoch

    def _aux_frames(self, video: _Video, t: int, tid: int) -> tuple[list[int], list[int]]:
        sides = []
        for sign in (-1, 1):
            sides.append([t + sign * g for g in range(1, self.max_gap + 1)
                          if tid in video.labels.get(t + sign * g, {})])  # fmt: skip
        return sides if (sides[0] or sides[1]) else ()

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        v, t, tid = self.items[i]
        video = self.videos[v]
        rng = np.random.default_rng((self.seed, self.epoch, i))  # every draw below, in this order, from it
        person = video.labels[t][tid]
        left, right = self._aux_pair(video, t, tid, rng)
        aug = self._augmentation(person.keypoints, person.box, rng)
        center, scale = box_to_center_scale(aug.box[None], self.input_wh[0] / self.input_wh[1])
        center, scale = center + aug.shift, scale * aug.factor
        images = [read_image(video.frames[f]) for f in (left, t, right)]
        width = images[1].shape[1]
        if aug.flip:
            images = [cv2.flip(im, 1) for im in images]
            center = center.copy()
            center[:, 0] = width - 1 - center[:, 0]
        frames = self._frames(images, center, scale, aug.rotation, rng)
        to_heatmap = get_affine(center, scale, self.heatmap_wh, aug.rotation)
        pts, weight = self._encode(person.keypoints, annotated(person.keypoints), aug.flip, width, to_heatmap)
        w, h = self.heatmap_wh
        inside = (pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= h - 1)
        weight = weight * inside
        sample = {
            "frames": torch.from_numpy(frames),
            "target": torch.from_numpy(render_heatmaps(pts[None], weight[None], (h, w), self.sigma)[0]),
            "weight": torch.from_numpy(weight.astype(np.float32)),
        }
        if self.mode == "propagate":  # the aux frames' labels, rendered as the pipeline renders them
            aux = []
            sides = [video.labels[f][tid].keypoints for f in (left, right)]
            if self.carried_aux:  # a label_prior model reads the labels carried to the key frame, in both slots
                sides = [carried_keypoints(t, left, right, *sides)] * 2
            for k in sides:
                a_pts, a_vis = self._encode(k, visible(k), aug.flip, width, to_heatmap)
                aux.append(render_heatmaps(a_pts[None], a_vis[None], (h, w), self.sigma)[0])
            sample["aux"] = torch.from_numpy(np.stack(aux))
        return sample

    def _aux_pair(self, video: _Video, t: int, tid: int, rng: np.random.Generator) -> tuple[int, int]:
        """The aux frames: neighbours up to ``max_gap`` away (estimate), or labeled frames of this person before and
        after (propagate; a side without one reads the other twice)."""
        if self.mode == "estimate":
            g = int(rng.integers(1, self.max_gap + 1)) if self.max_gap else 0
            return max(t - g, 0), min(t + g, len(video.frames) - 1)
        before, after = self._aux_frames(video, t, tid)
        left = int(rng.choice(before)) if before else None
        right = int(rng.choice(after)) if after else None
        return (left if left is not None else right), (right if right is not None else left)

    def _augmentation(self, kps: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> _Augment:
        """The paper's geometric augmentation for one sample: half body, scale (or a window crop), rotation, flip."""
        if not self.augment:
            return _Augment(box)
        given = annotated(kps)
        if rng.random() < 0.3 and given.sum() >= 8:  # half body: upper or lower joints only
            upper = np.array([POSETRACK.keypoints[j] in UPPER for j in range(17)])
            part = given & (upper if rng.random() < 0.5 else ~upper)
            if part.sum() >= 3:
                box = np.concatenate([kps[part, :2].min(0), kps[part, :2].max(0)])
        factor, shift = rng.uniform(0.65, 1.35), np.zeros(2)
        if self.window_crops and rng.random() < self.window_crops:
            factor, shift = window_crop(box, self.input_wh[0] / self.input_wh[1], rng)
        rotation = rng.uniform(-45, 45) if rng.random() < 0.6 else 0.0
        return _Augment(box, factor, shift, rotation, bool(rng.random() < 0.5))

    def _frames(self, images: list, center: np.ndarray, scale: np.ndarray, rotation: float,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        """The triplet's crops (3, 3, H, W), with aux jitter, colour changes and key occlusion where enabled."""
        frames = crop_triplets_cv2(images, get_affine(center, scale, self.input_wh, rotation), self.input_wh)[0]
        if self.augment and self.aux_jitter and self.mode == "estimate":
            for j in (0, 2):  # an aux frame read at a nearby crop of its own
                moved = center + rng.uniform(-1, 1, 2) * self.aux_jitter * scale
                sized = scale * (1 + rng.uniform(-1, 1) * self.aux_jitter)
                frames[j] = crop_triplets_cv2([images[j]], get_affine(moved, sized, self.input_wh, rotation))[0, 0]
        if self.augment and self.photometric and rng.random() < self.photometric:
            frames = photometric(frames, rng)
        if self.augment and self.mode == "propagate" and self.key_occlusion and rng.random() < self.key_occlusion:
            erase_rectangles(frames[1], rng)
        return frames

    def _encode(self, kps: np.ndarray, use: np.ndarray, flip: bool, width: int,
                to_heatmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """PoseTrack (17, 3) -> the model's slots in heatmap coordinates, with the augmentation applied."""
        pts = kps[:, :2].copy()
        if flip:
            pts[:, 0] = width - 1 - pts[:, 0]
        pts = transform_points(pts[None], to_heatmap)[0]
        pts, use = convert_keypoints(pts[None], use[None].astype(np.float64), POSETRACK, self.format)
        pts, use = pts[0], use[0]
        if flip:
            perm = self.format.flip_permutation
            pts, use = pts[perm], use[perm]
        return pts, use
