"""``Batcher``: the persons of several frames inferred together, results released in frame order.

The Pipeline decides what to infer (``queue``: a key frame, its two aux frames, boxes, optional aux
labels) and which labels pass through (``give``); the batcher crops, calls the heatmap function when
a batch is full or the oldest queued frame has waited ``max_delay`` frames, decodes, and yields one
``PoseResult`` per frame as soon as every job of that frame (and of all earlier frames) is done.

Cross-frame feature reuse: jobs queued with ``shared`` crops (``crop_policies.py``) are cropped per (frame, crop id)
instead of per triplet. Each such crop runs the model's per-frame half once, its features and heatmaps
wait in a cache until no later key frame reads that frame, and every triplet that names the crop reads
them from there; only the per-triplet half runs per person, told where the key frame's crop lies in each frame's
crop (``crops/align.py``) so that aux crops cut at their own boxes can be brought onto the key crop's region.

A job may be queued before one of its frames is decoded (a long gap between labels: the frames in it wait as
crops, not images): the crops of the frames at hand are cut at once, the others when their frame arrives
(``add_frame``), and the job is inferred only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch

from ..annotation.labels import FrameLabels
from ..crops.affine import heatmap_to_image
from ..crops.align import key_in_crops
from ..crops.triplets import crop_affines, crop_triplets_cv2, crop_triplets_torch, cut_crops, normalise_crops
from ..decode import decode_heatmaps
from ..keypoints import KeypointFormat
from ..results import PoseResult
from ..video import Frame
from .crop_policies import SharedCrops
from .triplet_poses import AuxLabels, render_aux

HeatmapFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]  # crops [, aux] -> heatmaps
FeaturesFn = Callable[[torch.Tensor], tuple]  # (N, 3, H, W) crops -> per-crop parts, each (N, ...)
# parts (B, 3, ...) [, aux], key crop in each frame's crop (B, 3, 2, 3) -> heatmaps
TemporalFn = Callable[[tuple, "torch.Tensor | None", torch.Tensor], torch.Tensor]
CropKey = tuple[int, int]  # (frame, window)
GROUP = 8  # batches inferred and decoded together at most (bounds a long gap's heatmaps in memory)
StageFn = Callable[[str, int], AbstractContextManager]  # (stage name, items) -> a timing context


@dataclass
class Poses:
    """The people of one frame from one source (a job, or labels given): what a PoseResult is built from."""

    boxes: np.ndarray  # (P, 4)
    track_ids: np.ndarray  # (P,)
    keypoints: np.ndarray | None  # (P, J, 2), None until inferred
    scores: np.ndarray | None  # (P, J)
    origin: str  # "given" | "propagated" | "estimated"


@dataclass
class Job:
    """The persons of one key frame sent to the model together (one mode)."""

    frame: int
    poses: Poses
    crops: torch.Tensor | None  # (P, 3, 3, H, W); None when the crops are shared (``keys``)
    center: np.ndarray
    scale: np.ndarray
    aux: torch.Tensor | None = None  # (P, 2, J, h, w) propagation
    keys: list[tuple[CropKey, CropKey, CropKey]] | None = None  # feature reuse: each person's [left, key, right]
    crop_boxes: np.ndarray | None = None  # feature reuse: (P, 3, 4) the box each of those crops was cut at
    affines: np.ndarray | None = None  # a job waiting for a frame: its (P, 2, 3) crop affines,
    cut: dict[int, np.ndarray] | None = None  # slot -> its (P, h, w, 3) uint8 crops, or the (H, W, 3) frame to cut,
    aux_labels: AuxLabels | None = None  # and its aux labels (the model's inputs are made only for its batch)

    @property
    def propagates(self) -> bool:
        return self.aux is not None or self.aux_labels is not None


@dataclass
class Reuse:
    """The two halves of the model for cross-frame feature reuse, and what reuse achieved so far."""

    features: FeaturesFn
    temporal: TemporalFn
    crops_run: int = 0  # crops through the per-frame half
    triplets_run: int = 0  # person-frames through the per-triplet half

    @property
    def passes_per_person_frame(self) -> float:
        """Backbone passes per person-frame: 3 without reuse, 1 at best."""
        return self.crops_run / self.triplets_run if self.triplets_run else float("nan")


class Batcher:
    """Buffered frames, queued jobs and finished results of one pass over a source."""

    def __init__(
        self,
        heatmaps: HeatmapFn,
        stage: StageFn,
        keypoint_format: KeypointFormat,
        input_wh: tuple[int, int],
        heatmap_wh: tuple[int, int],
        batch_size: int,
        max_delay: int,
        warp_device: torch.device | None = None,
        reuse: Reuse | None = None,
    ) -> None:
        self.heatmaps, self.stage, self.reuse = heatmaps, stage, reuse
        self.keypoint_format, self.input_wh, self.heatmap_wh = keypoint_format, input_wh, heatmap_wh
        self.batch_size, self.max_delay, self.warp_device = batch_size, max_delay, warp_device
        self.frames: dict[int, Frame] = {}
        self.evicted: dict[int, tuple[str, tuple[int, int]]] = {}  # name and size of frames dropped early
        self.pending: list[Job] = []
        self.poses: dict[int, list[Poses]] = {}  # frame -> its people (inferred, queued, or given)
        self.waiting: dict[int, int] = {}  # frame -> jobs not yet inferred
        self.next_out = 0
        self.last_frame = -1
        self.to_run: dict[CropKey, torch.Tensor] = {}  # reuse: crops not through the per-frame half yet
        self.features: dict[CropKey, tuple] = {}  # reuse: each run crop's parts (features, heatmaps, ...)
        self.floor = 0  # reuse: no later key frame reads frames before this one
        self.awaited: dict[int, list[tuple[Job, int]]] = {}  # frame not decoded yet -> (job, slot) it completes
        self.awaited_crops: dict[int, dict[CropKey, np.ndarray]] = {}  # reuse: frame -> crops (and boxes) to cut

    def add_frame(self, frame: Frame) -> None:
        self.frames[frame.index] = frame
        self.last_frame = max(self.last_frame, frame.index)
        for job, slot in self.awaited.pop(frame.index, []):
            job.cut[slot] = frame.image  # kept by reference, cut when the job's batch comes
        for ck, box in self.awaited_crops.pop(frame.index, {}).items():
            if ck not in self.features and ck not in self.to_run:
                self.to_run[ck] = self._crop([frame.index], crop_affines(box[None], self.input_wh)[0])[0, 0]

    def never_comes(self, frame: int, instead: int) -> None:
        """``frame`` will not be decoded (a truncated video): jobs waiting for it as their right aux frame read
        ``instead`` (their left one) there, labels included, as a track labeled on one side reads it twice."""
        image = self.frames[instead].image
        for job, slot in self.awaited.pop(frame, []):
            if slot == 2 and job.aux_labels is not None:
                a = job.aux_labels
                job.aux_labels = AuxLabels(a.left_points, a.left_visible, a.left_points, a.left_visible)
            job.cut[slot] = image
        for job in self.pending:
            if job.keys is not None and job.aux is not None and job.keys[0][2][0] == frame:
                job.aux[:, 1] = job.aux[:, 0]
        for ck, box in self.awaited_crops.pop(frame, {}).items():
            self.to_run[ck] = self._crop([instead], crop_affines(box[None], self.input_wh)[0])[0, 0]

    def queue(
        self,
        key: int,
        left: int,
        right: int,
        boxes: np.ndarray,
        track_ids: np.ndarray,
        origin: str,
        aux_labels: AuxLabels | None = None,
        shared: SharedCrops | None = None,
    ) -> None:
        """Infer ``boxes`` on key frame ``key`` with aux frames ``left`` and ``right`` (and their labels); with
        ``shared`` crops (feature reuse) each frame is cropped at its given box, once per crop id."""
        self.poses.setdefault(key, [])
        self.waiting.setdefault(key, 0)
        if len(boxes) == 0:
            return
        if shared is not None and self.reuse is None:
            raise ValueError("shared crops given to a Batcher built without reuse")
        keys = None
        with self.stage("crop", len(boxes)):
            affines, center, scale = crop_affines(boxes if shared is None else shared.boxes[:, 1], self.input_wh)
            frames, crops, cut = (left, key, right), None, None
            if shared is None and all(f in self.frames for f in frames):
                crops = self._crop([left, key, right], affines)
            elif shared is None:  # an aux frame still to come: the key frame's crops now (its image goes), the
                # labeled frames' images are kept by reference (one copy for the whole gap) and cut with the rest
                cut = {j: cut_crops([self.frames[f].image], affines, self.input_wh)[:, 0] if j == 1 else
                       self.frames[f].image for j, f in enumerate(frames) if f in self.frames}  # fmt: skip
            else:
                keys = [tuple((f, int(i)) for f, i in zip(frames, ids)) for ids in shared.ids]
                for j, f in enumerate(frames):
                    new = [n for n, k in enumerate(keys) if k[j] not in self.features and k[j] not in self.to_run]
                    if new and f not in self.frames:
                        self.awaited_crops.setdefault(f, {}).update({keys[n][j]: shared.boxes[n, j] for n in new})
                    elif new:
                        cut_now = self._crop([f], crop_affines(shared.boxes[new, j], self.input_wh)[0])[:, 0]
                        for n, crop in zip(new, cut_now):
                            self.to_run[keys[n][j]] = crop
            rendered = aux_labels is not None and cut is None
            aux = render_aux(aux_labels, center, scale, self.heatmap_wh) if rendered else None
        poses = Poses(boxes, track_ids, None, None, origin)
        self.poses[key].append(poses)
        self.waiting[key] += 1
        crop_boxes = None if shared is None else shared.boxes
        job = Job(key, poses, crops, center, scale, aux, keys, crop_boxes)
        if cut is not None:
            job.affines, job.cut, job.aux_labels = affines, cut, aux_labels
            for j, f in enumerate(frames):
                if j not in cut:
                    self.awaited.setdefault(f, []).append((job, j))
        self.pending.append(job)

    def _inputs(self, job: Job) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A job's model inputs: (P, 3, 3, H, W) crops and (P, 2, J, h, w) aux maps (None in estimate mode); a job
        that waited for a frame makes them now, from its uint8 crops and labels, and lets those go."""
        if job.crops is not None:
            return job.crops, job.aux
        slots = [job.cut[j] for j in range(3)]
        cut = [c if c.ndim == 4 else cut_crops([c], job.affines, self.input_wh)[:, 0] for c in slots]
        crops = torch.from_numpy(normalise_crops(np.stack(cut, 1)))
        aux = None if job.aux_labels is None else render_aux(job.aux_labels, job.center, job.scale, self.heatmap_wh)
        job.cut = job.aux_labels = None
        return crops if self.warp_device is None else crops.to(self.warp_device), aux

    def _ready(self, job: Job) -> bool:
        """Every crop of the job is cut (none waits for a frame still to come)."""
        if job.keys is None:
            return job.crops is not None or (job.cut is not None and len(job.cut) == 3)
        return all(k in self.features or k in self.to_run for keys in job.keys for k in keys)

    def _crop(self, frames: list[int], affines: np.ndarray) -> torch.Tensor:
        """(N, F, 3, H, W) crops of ``frames`` with one affine per person."""
        images = [self.frames[i].image for i in frames]
        if self.warp_device is not None:
            stack = torch.from_numpy(np.stack(images)).to(self.warp_device, non_blocking=True)
            return crop_triplets_torch(stack, affines, self.input_wh)
        return torch.from_numpy(crop_triplets_cv2(images, affines, self.input_wh))

    def give(self, key: int, labels: FrameLabels) -> None:
        """Labeled people of frame ``key``: they pass through as results (origin "given")."""
        self.waiting.setdefault(key, 0)
        given = Poses(labels.boxes, labels.track_ids, labels.keypoints, labels.visible.astype(np.float32), "given")
        self.poses.setdefault(key, []).insert(0, given)

    def step(self, newest: int) -> Iterator[PoseResult]:
        """Infer when a batch is full or the oldest queued frame has waited ``max_delay`` frames."""
        ready = [job for job in self.pending if self._ready(job)]
        queued = sum(len(job.poses.boxes) for job in ready)
        if ready and (queued >= self.batch_size or newest - ready[0].frame >= self.max_delay):
            self._infer(ready)
        elif self.reuse is not None and len(self.to_run) >= self.batch_size:  # crops waiting for a later frame
            with self.stage("model", 0):  # the per-frame half ahead of its triplets (persons count once, there)
                self._run_features()
        yield from self._emit()

    def flush(self) -> Iterator[PoseResult]:
        if self.pending:
            self._infer()
        yield from self._emit()

    def evict_before(self, index: int) -> None:
        """Drop buffered frames (and cached features) no future key frame reads (estimate mode: memory stays flat)."""
        self.drop_images([i for i in self.frames if i < index])
        self.floor = max(self.floor, index)
        if not self.pending:  # queued jobs may still read older crops
            self._evict_features()

    def drop_images(self, frames: list[int]) -> None:
        """Drop these buffered frames' images: every crop of them that a job reads is cut (a long gap's frames)."""
        for old in frames:
            if old >= self.next_out:  # still to be emitted: keep what its result needs
                self.evicted[old] = (self.frames[old].name, self.frames[old].image.shape[:2])
            del self.frames[old]

    def _evict_features(self) -> None:
        for old in [k for k in self.features if k[0] < self.floor]:
            del self.features[old]

    def _infer(self, ready: list[Job] | None = None) -> None:
        """The ``ready`` jobs (default: every pending job whose crops are all cut) through the model."""
        ready = [job for job in self.pending if self._ready(job)] if ready is None else ready
        # one batch per kind: whole triplets or shared crops, each without or with aux labels (propagation)
        for propagate, shared in ((False, False), (False, True), (True, False), (True, True)):
            every = [job for job in ready if job.propagates == propagate and (job.keys is not None) == shared]
            for jobs in _groups(every, GROUP * self.batch_size):  # a long gap's jobs: their heatmaps a group at a time
                with self.stage("model", sum(len(job.poses.boxes) for job in jobs)):
                    if shared:
                        heatmaps = self._infer_shared(jobs, torch.cat([job.aux for job in jobs]) if propagate else None)
                    else:
                        heatmaps = self._infer_whole(jobs)
                with self.stage("heatmap decode", len(heatmaps)):
                    self._decode(jobs, heatmaps)
        self.pending = [job for job in self.pending if job.poses.keypoints is None]  # jobs waiting for a frame
        self._evict_features()

    def _decode(self, jobs: list[Job], heatmaps: torch.Tensor) -> None:
        coords, scores = decode_heatmaps(heatmaps.float().cpu().numpy())
        start = 0
        for job in jobs:
            stop = start + len(job.poses.boxes)
            job.poses.keypoints = heatmap_to_image(coords[start:stop], job.center, job.scale, self.heatmap_wh)
            job.poses.scores = scores[start:stop]
            self.waiting[job.frame] -= 1
            start = stop

    def _infer_whole(self, jobs: list[Job]) -> torch.Tensor:
        """Whole triplets through the model, ``batch_size`` persons at a time; each job's inputs are made as its
        batch comes (a long gap's waiting jobs never hold their float crops all at once)."""
        b, out, crops, aux, held = self.batch_size, [], [], [], 0
        for n, job in enumerate(jobs):
            job_crops, job_aux = self._inputs(job)
            crops.append(job_crops)
            aux.append(job_aux)
            held += len(job_crops)
            last = n == len(jobs) - 1
            if held < b and not last:
                continue
            c, a = torch.cat(crops), None if aux[0] is None else torch.cat(aux)
            stop = held if last else held // b * b  # whole batches; the rest waits for the next job
            out += [self.heatmaps(c[i : min(i + b, stop)], None if a is None else a[i : min(i + b, stop)])
                    for i in range(0, stop, b)]  # fmt: skip
            crops, aux, held = [c[stop:]], [None if a is None else a[stop:]], held - stop
        return torch.cat(out)

    def _infer_shared(self, jobs: list[Job], aux: torch.Tensor | None) -> torch.Tensor:
        """Feature reuse: the per-frame half on crops not run yet, then the per-triplet half on every person."""
        b, reuse = self.batch_size, self.reuse
        self._run_features()
        triplets = [keys for job in jobs for keys in job.keys]
        boxes = np.concatenate([job.crop_boxes for job in jobs])
        reuse.triplets_run += len(triplets)
        out = []
        for i in range(0, len(triplets), b):
            chunk = triplets[i : i + b]
            parts = tuple(
                torch.stack([torch.stack([self.features[k][p] for k in keys]) for keys in chunk])
                for p in range(len(self.features[chunk[0][0]]))
            )
            theta = key_in_crops(boxes[i : i + b], self.input_wh)
            out.append(reuse.temporal(parts, None if aux is None else aux[i : i + b], theta))
        return torch.cat(out)

    def _run_features(self) -> None:
        """The per-frame half on every crop cut and not run yet."""
        todo, b = list(self.to_run), self.batch_size
        for i in range(0, len(todo), b):
            chunk = todo[i : i + b]
            parts = self.reuse.features(torch.stack([self.to_run.pop(k) for k in chunk]))
            for n, k in enumerate(chunk):
                self.features[k] = tuple(p[n] for p in parts)
        self.reuse.crops_run += len(todo)

    def _emit(self) -> Iterator[PoseResult]:
        joints = self.keypoint_format.num_keypoints
        while self.waiting.get(self.next_out, -1) == 0:
            k = self.next_out
            if k in self.evicted:
                name, shape = self.evicted.pop(k)
            else:
                name, shape = self.frames[k].name, self.frames[k].image.shape[:2]
            parts = self.poses.pop(k)
            result = PoseResult(
                k,
                name,
                _concat([p.boxes for p in parts], (0, 4)),
                _concat([p.track_ids for p in parts], (0,)).astype(np.int64),
                _concat([p.keypoints for p in parts], (0, joints, 2)),
                _concat([p.scores for p in parts], (0, joints)),
                _concat([np.full(len(p.boxes), p.origin, "<U10") for p in parts], (0,)).astype("<U10"),
                self.keypoint_format,
                shape,
            )
            del self.waiting[k]
            self.next_out += 1
            yield result


def _groups(jobs: list[Job], persons: int) -> Iterator[list[Job]]:
    """Consecutive jobs, about ``persons`` persons a group (one group in the usual case)."""
    group, count = [], 0
    for job in jobs:
        group.append(job)
        count += len(job.poses.boxes)
        if count >= persons:
            yield group
            group, count = [], 0
    if group:
        yield group


def _concat(arrays: list[np.ndarray], empty_shape: tuple[int, ...]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(empty_shape)
