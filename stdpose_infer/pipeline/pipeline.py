"""``Pipeline``: video in, tracked poses out, in estimate and propagate modes (DESIGN.md, data path).

    frames -> detector (or given boxes) -> tracker -> triplet crops (key frame's affine on all three)
           -> backend (batched across frames) -> DARK decoding -> PoseResult per frame, in frame order

Batching is bounded: a frame waits for at most ``max_delay`` later frames before its persons are
inferred, so memory stays flat over any length of video and results stream out in order.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..crops.affine import heatmap_to_image, image_to_heatmap
from ..crops.triplets import crop_affines, crop_triplets_cv2, crop_triplets_torch
from ..decode import decode_heatmaps, flip_heatmaps, render_heatmaps
from ..detect import Detections, box_iou, check_boxes, make_detector
from ..errors import InputError
from ..model.stdpose import STDPose
from ..results import PoseResult
from ..runtime import Backend, load_backend
from ..track import IouTracker
from ..video import Frame, TruncatedVideoError, read_frames
from .labels import FrameLabels, load_labels, nearest_labeled

log = logging.getLogger(__name__)

NO_WEIGHTS = (
    "Pipeline needs weights: an STDPose .safetensors checkpoint (its config is inside). Save a trained "
    "model with stdpose_infer.save_weights, or import official ViTPose weights for the backbone and head with "
    "`stdpose-infer import-vitpose vitpose-b.pth --out stdpose-b.safetensors` (the temporal modules then "
    "start untrained). Poses never come from a silent random model."
)


@dataclass
class _Job:
    """The persons of one frame sent to the model together (one mode)."""

    index: int
    boxes: np.ndarray
    track_ids: np.ndarray
    origin: str
    crops: torch.Tensor | np.ndarray
    center: np.ndarray
    scale: np.ndarray
    aux: torch.Tensor | None = None
    keypoints: np.ndarray | None = None
    scores: np.ndarray | None = None


class Pipeline:
    """Detector + tracker + STDPose backend. ``pipe(source)`` estimates; ``pipe.propagate(source, labels)``
    turns poses given on some frames into poses on every frame. Both yield ``PoseResult``s in frame order."""

    def __init__(
        self,
        weights: str | Path | STDPose | Backend | None = None,
        backend: str = "auto",
        detector="hog",
        device: str = "auto",
        batch_size: int = 32,
        flip_test: bool = False,
        aux_gap: int = 1,
        max_delay: int = 8,
        precision: str = "auto",
        score_threshold: float | None = None,
        nms_iou: float = 0.45,
        min_box: float = 8.0,
        cache_dir: str | Path = "engines",
    ) -> None:
        if weights is None:
            raise InputError(NO_WEIGHTS)
        if aux_gap < 1 or max_delay < aux_gap or batch_size < 1:
            raise InputError(
                f"need aux_gap >= 1, max_delay >= aux_gap (a frame waits for its right neighbour) and batch_size >= 1; "
                f"got aux_gap={aux_gap}, max_delay={max_delay}, batch_size={batch_size}"
            )
        if isinstance(weights, Backend):
            self.backend, model = weights, getattr(weights, "model", None)
        else:
            from ..weights.native import load_model

            model = weights if isinstance(weights, STDPose) else load_model(weights)
            self.backend = load_backend(model, backend, device, precision, cache_dir=cache_dir, max_batch=batch_size)
        self.config = self.backend.config
        if "untrained" in getattr(model, "provenance", {}).get("training_data", ""):
            warnings.warn("these weights are untrained: the poses are meaningless (fine for speed tests)", stacklevel=2)
        from ..keypoints import get_format

        self.keypoint_format = get_format(self.config.keypoint_format)
        self.detector = make_detector(detector, score_threshold, nms_iou)
        self.batch_size, self.flip_test, self.aux_gap, self.max_delay = batch_size, flip_test, aux_gap, max_delay
        self.min_box = min_box
        self.warp_on_device = self.backend.device.type == "cuda"
        self.timer = None  # a bench.StageTimer: stage times for stdpose-bench (decode, detect, crop, model, ...)

    # ------------------------------------------------------------------ public
    def __call__(self, source, boxes=None) -> Iterator[PoseResult]:
        """Estimate mode; ``boxes``: per-frame (N, 4) xyxy boxes (a list or {frame index: boxes}) instead of the detector."""
        return self.estimate(source, boxes)

    def estimate(self, source, boxes=None) -> Iterator[PoseResult]:
        if boxes is None and self.detector is None:
            raise InputError(
                "no detector and no boxes: give boxes=per-frame boxes or a detector ('hog', 'movenet:PATH')"
            )
        run = _Run(self)
        tracker, d = IouTracker(), self.aux_gap
        last = -1
        try:
            for frame in self._frames(source):
                last = frame.index
                run.add_frame(frame)
                run.people[frame.index] = self._people(frame, boxes, tracker)
                if frame.index - d >= 0:
                    run.queue_estimate(frame.index - d, frame.index - 2 * d, frame.index)
                    run.evict_before(frame.index + 1 - 2 * d)  # the next key frame's left neighbour
                yield from run.step(frame.index)
        except TruncatedVideoError:
            yield from self._finish_estimate(run, last)
            raise
        yield from self._finish_estimate(run, last)

    def propagate(self, source, labels, boxes=None) -> Iterator[PoseResult]:
        """Propagate mode: ``labels`` (PoseTrack18 JSON path or dict) on some frames -> poses on every frame.

        Unlabeled frames read the nearest labeled frames before and after as aux frames, with aux
        heatmaps rendered from their labels in the key frame's crop; a person the detector finds
        that matches no labeled track is estimated (origin "estimated"). Labeled poses pass through
        unchanged (origin "given"). A model without TKS and DAM (the single-frame baseline) cannot read
        the labels' heatmaps: it estimates each unlabeled frame at the labels' interpolated boxes, and says so.
        """
        if not self.config.uses_aux_heatmaps:
            warnings.warn(
                "this model has neither TKS nor DAM, so it ignores the labels' heatmaps: unlabeled frames are "
                "estimated at the interpolated label boxes (the propagation baseline)",
                stacklevel=2,
            )
        frames = list(self._frames(source)) if not isinstance(source, list) else source
        if not frames:
            raise InputError("the source has no frames")
        frames = [f if isinstance(f, Frame) else Frame(i, f"frame/{i:06d}", f) for i, f in enumerate(frames)]
        table = load_labels(labels, [f.name for f in frames], self.keypoint_format)
        if not table:
            raise InputError("the labels contain no labeled frame of this source")
        return self._propagate(frames, table, boxes)

    # ------------------------------------------------------------------ steps
    def _stage(self, name: str, items: int = 1) -> AbstractContextManager:
        return self.timer.stage(name, items) if self.timer is not None else nullcontext()

    def _frames(self, source) -> Iterator[Frame]:
        frames = read_frames(source)
        while True:
            with self._stage("video decode"):
                frame = next(frames, None)
            if frame is None:
                return
            yield frame

    def _people(self, frame: Frame, boxes, tracker: IouTracker) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) boxes (clipped to the frame) and (N,) track ids for one frame."""
        h, w = frame.image.shape[:2]
        where = f"frame {frame.index}"
        if boxes is not None:
            given = (
                boxes.get(frame.index, [])
                if isinstance(boxes, dict)
                else (boxes[frame.index] if frame.index < len(boxes) else [])
            )
            found = check_boxes(given, (h, w), where, min_size=1.0)
            scores = np.ones(len(found))
        else:
            with self._stage("detect"):
                det: Detections = self.detector(frame.image)
            found = check_boxes(det.boxes, (h, w), where, min_size=0.0) if len(det) else np.zeros((0, 4))
            size = np.minimum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1]) if len(found) else np.zeros(0)
            keep = size >= self.min_box  # detector boxes wholly outside or tiny are dropped, not errors
            found, scores = found[keep], np.asarray(det.scores)[keep] if len(det) else np.zeros(0)
        return found, tracker.update(found, scores)

    def _heatmaps(self, crops: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        """One backend call (two with flip test: the mirrored crops, mapped back, are averaged in)."""
        heatmaps = self.backend.infer(crops, aux)
        if self.flip_test:
            fmt = self.keypoint_format
            flipped_aux = None if aux is None else flip_heatmaps(aux.flatten(0, 1), fmt).unflatten(0, aux.shape[:2])
            heatmaps = (heatmaps + flip_heatmaps(self.backend.infer(crops.flip(-1), flipped_aux), fmt)) / 2
        return heatmaps

    def _finish_estimate(self, run: _Run, last: int) -> Iterator[PoseResult]:
        for k in range(max(0, last - self.aux_gap + 1), last + 1):
            run.queue_estimate(k, k - self.aux_gap, min(k + self.aux_gap, last))
        yield from run.flush()

    def _propagate(self, frames: list[Frame], table: dict[int, FrameLabels], boxes) -> Iterator[PoseResult]:
        run = _Run(self)
        labeled = sorted(table)
        by_frame = {f.index: f for f in frames}
        next_id = 1 + max((int(lab.track_ids.max()) for lab in table.values() if len(lab.track_ids)), default=0)
        tracker = IouTracker()
        for frame in frames:
            run.add_frame(frame)
        for frame in frames:
            t = frame.index
            if t in table:
                run.give(t, table[t])
            else:
                p, n = nearest_labeled(labeled, t)
                self._queue_propagation(run, by_frame[t], p, n, table, boxes, tracker, next_id)
            yield from run.step(t)
        yield from run.flush()

    def _queue_propagation(self, run, frame, p, n, table, boxes, tracker, next_id) -> None:
        t = frame.index
        left, right = table[p], table[n]
        ids = sorted(set(left.track_ids.tolist()) | set(right.track_ids.tolist()))
        a = 0.0 if n == p else (t - p) / (n - p)
        track_boxes, aux_l, aux_r, vis_l, vis_r = [], [], [], [], []
        for tid in ids:
            li = np.flatnonzero(left.track_ids == tid)
            ri = np.flatnonzero(right.track_ids == tid)
            lsrc, lidx = (left, li[0]) if len(li) else (right, ri[0])
            rsrc, ridx = (right, ri[0]) if len(ri) else (left, li[0])
            track_boxes.append((1 - a) * lsrc.boxes[lidx] + a * rsrc.boxes[ridx])
            aux_l.append(lsrc.keypoints[lidx]), vis_l.append(lsrc.visible[lidx])
            aux_r.append(rsrc.keypoints[ridx]), vis_r.append(rsrc.visible[ridx])
        h, w = frame.image.shape[:2]
        track_boxes = np.array(track_boxes).reshape(-1, 4)
        found = np.zeros((0, 4))
        if boxes is not None or self.detector is not None:
            found, _ = self._people(frame, boxes, IouTracker())
        # Key-frame boxes: the detection that overlaps the interpolated label box most, else the interpolation.
        used = np.zeros(len(found), bool)
        if len(found) and len(track_boxes):
            iou = box_iou(track_boxes, found)
            for r in np.argsort(-iou.max(axis=1)):
                c = int(np.argmax(np.where(used, -1, iou[r])))
                if iou[r, c] >= 0.3 and not used[c]:
                    track_boxes[r], used[c] = found[c], True
        if len(track_boxes):
            track_boxes = check_boxes(track_boxes, (h, w), f"frame {t} (interpolated label boxes)", min_size=1.0)
            aux = (np.array(aux_l), np.array(vis_l), np.array(aux_r), np.array(vis_r))
            aux = aux if self.config.uses_aux_heatmaps else None  # a single-frame model reads the key frame only
            run.queue(t, p, n, track_boxes, np.array(ids, np.int64), "propagated", aux)
        new = found[~used]
        if len(new):  # people the labels do not have: estimated from their neighbours
            new_ids = tracker.update(new) + next_id
            d = self.aux_gap
            run.queue(t, max(t - d, 0), min(t + d, run.last_frame), new, new_ids, "estimated")


class _Run:
    """State of one pass over a source: buffered frames, queued jobs, finished results."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe
        self.frames: dict[int, Frame] = {}
        self.meta: dict[int, tuple[str, tuple[int, int]]] = {}  # name and size of evicted frames
        self.people: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.pending: list[_Job] = []
        self.open_jobs: dict[int, list[_Job]] = {}  # frame -> its jobs (done or not)
        self.waiting: dict[int, int] = {}  # frame -> jobs not yet inferred
        self.given: dict[int, FrameLabels] = {}
        self.next_out = 0
        self.last_frame = -1

    def add_frame(self, frame: Frame) -> None:
        self.frames[frame.index] = frame
        self.last_frame = max(self.last_frame, frame.index)

    def queue_estimate(self, k: int, left: int, right: int) -> None:
        boxes, ids = self.people.pop(k)
        self.queue(k, max(left, 0), right, boxes, ids, "estimated")

    def queue(self, k, left, right, boxes, ids, origin, aux_labels=None) -> None:
        self.open_jobs.setdefault(k, [])
        self.waiting.setdefault(k, 0)
        if len(boxes) == 0:
            return
        with self.pipe._stage("crop", len(boxes)):
            self._make_job(k, left, right, boxes, ids, origin, aux_labels)

    def _make_job(self, k, left, right, boxes, ids, origin, aux_labels) -> None:
        pipe = self.pipe
        affines, center, scale = crop_affines(boxes)
        images = [self.frames[i].image for i in (left, k, right)]
        if pipe.warp_on_device:
            stack = torch.from_numpy(np.stack(images)).to(pipe.backend.device, non_blocking=True)
            crops = crop_triplets_torch(stack, affines)
        else:
            crops = torch.from_numpy(crop_triplets_cv2(images, affines))
        aux = None
        if aux_labels is not None:
            pts_l, vis_l, pts_r, vis_r = aux_labels
            hm_size = pipe.config.heatmap_size
            render = lambda pts, vis: render_heatmaps(image_to_heatmap(pts, center, scale), vis, hm_size)
            aux = torch.from_numpy(np.stack([render(pts_l, vis_l), render(pts_r, vis_r)], axis=1))
        job = _Job(k, boxes, ids, origin, crops, center, scale, aux)
        self.open_jobs[k].append(job)
        self.waiting[k] += 1
        self.pending.append(job)

    def give(self, k: int, labels: FrameLabels) -> None:
        self.open_jobs.setdefault(k, [])
        self.waiting.setdefault(k, 0)
        self.given[k] = labels

    def step(self, newest: int) -> Iterator[PoseResult]:
        """Infer when a batch is full or the oldest queued frame has waited ``max_delay`` frames."""
        queued = sum(len(j.boxes) for j in self.pending)
        if self.pending and (queued >= self.pipe.batch_size or newest - self.pending[0].index >= self.pipe.max_delay):
            self._infer()
        yield from self._emit()

    def flush(self) -> Iterator[PoseResult]:
        if self.pending:
            self._infer()
        yield from self._emit()

    def _infer(self) -> None:
        pipe = self.pipe
        for propagate in (False, True):
            jobs = [j for j in self.pending if (j.aux is not None) == propagate]
            if not jobs:
                continue
            crops = torch.cat([torch.as_tensor(j.crops) for j in jobs])
            aux = torch.cat([j.aux for j in jobs]) if propagate else None
            step = pipe.batch_size
            with pipe._stage("model", len(crops)):
                heatmaps = torch.cat(
                    [pipe._heatmaps(crops[i : i + step], None if aux is None else aux[i : i + step])
                     for i in range(0, len(crops), step)]
                )  # fmt: skip
            with pipe._stage("heatmap decode", len(crops)):
                coords, scores = decode_heatmaps(heatmaps.float().cpu().numpy())
                start = 0
                for job in jobs:
                    stop = start + len(job.boxes)
                    job.keypoints = heatmap_to_image(coords[start:stop], job.center, job.scale)
                    job.scores = scores[start:stop]
                    self.waiting[job.index] -= 1
                    start = stop
        self.pending = []

    def _emit(self) -> Iterator[PoseResult]:
        pipe = self.pipe
        while self.next_out in self.waiting and self.waiting[self.next_out] == 0:
            k = self.next_out
            name, shape = self.meta.pop(k) if k in self.meta else (self.frames[k].name, self.frames[k].image.shape[:2])
            parts = [_from_job(j) for j in self.open_jobs.pop(k)]
            if k in self.given:
                lab = self.given.pop(k)
                parts.insert(0, (lab.boxes, lab.track_ids, lab.keypoints, lab.visible.astype(np.float32), "given"))
            j = pipe.config.num_keypoints
            empty = [(0, 4), (0,), (0, j, 2), (0, j)]
            boxes, ids, kps, scores = (_concat([p[i] for p in parts], e) for i, e in enumerate(empty))
            origin = _concat([np.full(len(p[0]), p[4], "<U10") for p in parts], (0,)).astype("<U10")
            result = PoseResult(k, name, boxes, ids.astype(np.int64), kps, scores, origin, pipe.keypoint_format, shape)
            del self.waiting[k]
            self.next_out += 1
            yield result

    def evict_before(self, index: int) -> None:
        """Drop buffered frames no future key frame reads (estimate mode: memory stays flat)."""
        for old in [i for i in self.frames if i < index]:
            if old >= self.next_out:  # still to be emitted: keep what its result needs
                self.meta[old] = (self.frames[old].name, self.frames[old].image.shape[:2])
            del self.frames[old]


def _concat(arrays: list[np.ndarray], empty_shape: tuple[int, ...]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(empty_shape)


def _from_job(job: _Job):
    return job.boxes, job.track_ids, job.keypoints, job.scores, job.origin
