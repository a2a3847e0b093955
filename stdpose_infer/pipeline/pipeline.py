"""``Pipeline``: video in, tracked poses out, in estimate and propagate modes (ARCHITECTURE.md, data path).

    frames -> detector (or given boxes) -> tracker -> triplet crops (key frame's affine on all three)
           -> backend (batched across frames) -> DARK decoding -> PoseResult per frame, in frame order

Batching is bounded (``batcher.py``): a frame waits for at most ``max_delay`` later frames before its
persons are inferred, so memory stays flat over any length of video and results stream out in order.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch

from ..annotation import FrameLabels, read_labels
from ..annotation.interpolation import nearest_labeled
from ..crops.align import align_to_key
from ..decode import flip_heatmaps
from ..defaults import default_weights
from ..detect import Detections, check_boxes, make_detector
from ..errors import InputError
from ..export.onnx_graph import SPLIT_GRAPHS
from ..keypoints import get_format
from ..model.config import MODES
from ..model.stdpose import STDPose
from ..results import PoseResult
from ..runtime import Backend, load_backend
from ..runtime.triton_backend import SCHEME as TRITON_SCHEME
from ..track import IouTracker, OneEuro
from ..video import Frame, TruncatedVideoError, read_frames
from ..video.sources import frame_names
from ..weights.native import load_model
from .batcher import Batcher, Reuse
from .crop_policies import CropPolicy, NeighbourCrops
from .fallback import Fallback
from .propagation import plan_propagation

log = logging.getLogger(__name__)
Boxes = Sequence[np.ndarray] | dict[int, np.ndarray]  # per-frame (N, 4) xyxy boxes, by position or frame index


class Pipeline:
    """Detector + tracker + STDPose backend: a video in, tracked poses out, frame by frame.

    Args:
        weights: an STDPose ``.safetensors`` checkpoint, a model, or a ready ``Backend``; None: the starter
            model shipped in the package (``stdpose-infer info`` says what it is and how it scores).
        backend: "auto", "torch", "onnxruntime" or "tensorrt" (see ``load_backend``).
        detector: "default" (the shipped MoveNet MultiPose), "hog" (no weights), "movenet:PATH.onnx",
            "yolo:PATH.onnx", "ultralytics:PATH", a callable frame -> ``Detections``, or None when you pass boxes.
        device: "auto" (a CUDA GPU when torch sees one), "cpu", "cuda", "cuda:1".
        batch_size: persons per backend call, gathered across frames.
        flip_test: also run the mirrored crops and average (2x the model time, a little more accurate).
        aux_gap: estimate mode reads frames t - aux_gap and t + aux_gap as aux frames.
        max_delay: a frame waits for at most this many later frames before its persons are inferred.
        precision: "auto" (fp16 on a GPU, fp32 on the CPU), "fp32", "fp16", "bf16" (torch backend).
        score_threshold: the detector's score threshold (None: the detector's own default).
        nms_iou: the detector's non-maximum suppression overlap.
        min_box: detected boxes smaller than this (px) are dropped.
        cache_dir: where exported graphs and TensorRT engines are cached.
        fallback: propagate mode: where the labels' linear interpolation replaces the model ("joint": between two
            labels, and beyond them where the model is unsure or strays; "none"; "interpolate"; "decided" with the
            joints an adaptation trusts; or a ``Fallback``). "auto" (default): "decided" for weights adapted to a
            video (``adapt``), else "joint".
        smooth: estimate mode: a ``OneEuro`` filter (or True for its defaults at 25 fps) smooths each track's
            joints online, without look-ahead; None or False: raw poses.
        reuse_features: compute each frame's backbone features once and share them between the triplets that
            read them (torch, onnxruntime, openvino, tensorrt backends). True: ``NeighbourCrops()`` (an aux frame reads a
            crop already cut of it where that is within 20 % of the key frame's); or a policy,
            e.g. ``WindowBoxes()`` (a crop box held per track over a window of frames; estimate mode only,
            propagate mode then uses ``NeighbourCrops()``). ``self.reuse`` says
            what it achieved (``passes_per_person_frame``). Propagate mode shares the labeled frames' crops (their
            labels' boxes) between the frames that read them as aux frames.

    Example::

        pipe = Pipeline()                  # the shipped starter model and detector
        for result in pipe("match.mp4"):
            print(result.frame_index, result.keypoints.shape)   # (people, joints, 2) image pixels
        pipe = Pipeline("stdpose-b.safetensors", detector="hog")   # your weights, the weight-free detector
    """

    def __init__(
        self,
        weights: str | Path | STDPose | Backend | None = None,
        backend: str = "auto",
        detector: str | Callable[[np.ndarray], Detections] | None = "default",
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
        fallback: str | Fallback = "auto",
        smooth: OneEuro | bool | None = None,
        reuse_features: CropPolicy | bool = False,
    ) -> None:
        if weights is None:
            weights = default_weights()
        self.crop_policy = NeighbourCrops() if reuse_features is True else reuse_features or None
        modes = (*MODES, *SPLIT_GRAPHS) if self.crop_policy is not None else None  # graphs ONNX backends prepare
        if aux_gap < 1 or max_delay < aux_gap or batch_size < 1:
            raise InputError(
                f"need aux_gap >= 1, max_delay >= aux_gap (a frame waits for its right neighbour) and batch_size >= 1; "
                f"got aux_gap={aux_gap}, max_delay={max_delay}, batch_size={batch_size}"
            )
        if isinstance(weights, str) and weights.startswith(TRITON_SCHEME):  # the model runs on a Triton server
            weights = load_backend(weights, max_batch=batch_size)
        elif isinstance(weights, (str, Path)) and str(weights).endswith(".onnx"):  # an exported (or INT8) graph
            weights = load_backend(weights, backend, device, "auto", cache_dir=cache_dir, max_batch=batch_size)
        self._options = dict(backend=backend, detector=detector, device=device, batch_size=batch_size,
                             flip_test=flip_test, aux_gap=aux_gap, max_delay=max_delay, precision=precision,
                             score_threshold=score_threshold, nms_iou=nms_iou, min_box=min_box, cache_dir=cache_dir,
                             smooth=smooth, reuse_features=reuse_features)  # fmt: skip
        if isinstance(weights, Backend):
            self.backend, model = weights, getattr(weights, "model", None)
        else:
            model = weights if isinstance(weights, STDPose) else load_model(weights)
            self.backend = load_backend(model, backend, device, precision, modes, cache_dir, batch_size)
        # what runs, for logs and the CLI: the model's provenance, else the backend's class (a graph or engine)
        provenance = model.provenance if model is not None else getattr(self.backend, "provenance", None)
        self.model_source = (
            provenance.get("source", "unknown") if provenance else f"{type(self.backend).__name__} backend"
        )
        log.info("model: %s", self.model_source)
        self.config = self.backend.config
        if "untrained" in getattr(model, "provenance", {}).get("training_data", ""):
            warnings.warn("these weights are untrained: the poses are meaningless (fine for speed tests)", stacklevel=2)
        self.keypoint_format = get_format(self.config.keypoint_format)
        self.detector = make_detector(detector, score_threshold, nms_iou)
        self.batch_size, self.flip_test, self.aux_gap, self.max_delay = batch_size, flip_test, aux_gap, max_delay
        self.min_box = min_box
        self.model: STDPose | None = model  # the torch model (None behind a graph, engine or server): what adapts
        self.fallback = fallback if isinstance(fallback, Fallback) else Fallback.for_model(fallback, model)
        self.adaptation = None  # an AdaptReport after ``adapt``
        self.smooth = OneEuro() if smooth is True else smooth or None
        self.reuse: Reuse | None = None  # the last pass's feature reuse (passes per person-frame)
        if self.crop_policy is not None:
            self.backend.check_split()  # a clear error now, not at the first batch
        self.timer = None  # a bench.StageTimer: stage times for stdpose-bench (decode, detect, crop, model, ...)

    # ------------------------------------------------------------------ public
    def __call__(self, source, boxes: Boxes | None = None) -> Iterator[PoseResult]:
        """Estimate mode; see ``estimate``."""
        return self.estimate(source, boxes)

    def estimate(self, source, boxes: Boxes | None = None) -> Iterator[PoseResult]:
        """Poses on every frame of ``source``, one ``PoseResult`` per frame, in order, as they are ready.

        ``source``: a video file, a folder of images, a ``cv2.VideoCapture``, an iterable of BGR frames or an
        (N, H, W, 3) array. ``boxes``: per-frame (N, 4) xyxy person boxes (a list, or {frame index: boxes})
        instead of the detector. A truncated video yields the frames it has, then raises.
        """
        if boxes is None and self.detector is None:
            raise InputError(
                "no detector and no boxes: give boxes=per-frame boxes or a detector ('hog', 'movenet:PATH')"
            )
        if self.smooth is None:
            return self._estimate(source, boxes)
        smooth = dataclasses.replace(self.smooth)  # a fresh filter state per video
        return map(smooth, self._estimate(source, boxes))

    def _estimate(self, source, boxes: Boxes | None) -> Iterator[PoseResult]:
        reuse = None if self.crop_policy is None else Reuse(self._frame_parts, self._temporal)
        run, tracker, d, self.reuse = self._batcher(reuse), IouTracker(), self.aux_gap, reuse
        policy = None if self.crop_policy is None else self.crop_policy.fresh()  # its state is per video
        people: dict[int, tuple] = {}  # frame -> boxes, track ids
        last = -1
        try:
            for frame in self._frames(source):
                last = frame.index
                run.add_frame(frame)
                people[frame.index] = found, ids = self._people(frame, boxes, tracker)
                if policy is not None:
                    policy.update(frame.index, found, ids)
                key = frame.index - d
                if key >= 0:
                    self._queue_estimate(run, policy, people.pop(key), key, max(key - d, 0), frame.index)
                    run.evict_before(frame.index + 1 - 2 * d)  # the next key frame's left neighbour
                yield from run.step(frame.index)
        except TruncatedVideoError:
            yield from self._finish_estimate(run, people, last, policy)
            raise
        yield from self._finish_estimate(run, people, last, policy)

    def propagate(self, source, labels, boxes: Boxes | None = None) -> Iterator[PoseResult]:
        """Propagate mode: ``labels`` on some frames -> poses on every frame.

        ``labels``: a PoseTrack18/21 or COCO keypoint JSON, CVAT for video 1.1 XML or Label Studio JSON file (or
        the parsed JSON); joints map by name (``annotation.read_labels``).

        Unlabeled frames read the nearest labeled frames before and after as aux frames, with aux
        heatmaps rendered from their labels in the key frame's crop; a person the detector finds
        that matches no labeled track is estimated (origin "estimated"). Labeled poses pass through
        unchanged (origin "given"). Where the model is less reliable than interpolating the labels, the
        ``fallback`` rule uses the interpolation. A model without TKS and DAM (the single-frame baseline) cannot read
        the labels' heatmaps: it estimates each unlabeled frame at the labels' interpolated boxes, and says so.
        """
        if not self.config.uses_aux_heatmaps:
            warnings.warn(
                "this model has neither TKS nor DAM, so it ignores the labels' heatmaps: unlabeled frames are "
                "estimated at the interpolated label boxes (the propagation baseline)",
                stacklevel=2,
            )
        names = frame_names(source)  # the labels are read first: they say which frames the gaps need
        if names is None:  # a capture or an iterable: only reading it tells its frames
            source = list(self._frames(source))
            names = [f.name for f in source]
        if not names:
            raise InputError("the source has no frames")
        table = read_labels(labels, names, self.keypoint_format)
        if not table:
            raise InputError("the labels contain no labeled frame of this source")
        if isinstance(source, list):
            frames = (f if isinstance(f, Frame) else Frame(i, f"frame/{i:06d}", f) for i, f in enumerate(source))
        else:
            frames = self._frames(source)
        return self._propagate(frames, table, boxes)

    def adapt(self, source, labels, minutes: float = 4.0, settings=None, steps: int | None = None,
              progress: bool = True) -> Pipeline:
        """A new Pipeline whose model is fine-tuned on ``labels`` of ``source`` (about ``minutes`` of training) and
        whose fallback trusts the model where it beat interpolation on held-out labels (``adapt.adapt``). Where the
        labels cannot teach anything (fewer than two labeled frames, nobody labeled twice, a zero budget) it warns
        in one line and returns this Pipeline unchanged. ``result.adaptation`` holds the report."""
        from ..adapt import NothingToAdapt, adapt

        if self.model is None:
            raise InputError("adaptation trains the torch model: build this Pipeline from .safetensors weights (or a "
                             "model), not an exported graph, engine or server")  # fmt: skip
        try:
            done = adapt(self.model, source, labels, minutes, settings, steps, progress=progress)
        except NothingToAdapt as e:
            warnings.warn(f"not adapted: {e}", stacklevel=2)
            return self
        adapted = Pipeline(done.model, fallback=done.fallback, **self._options)
        adapted.adaptation = done.report
        return adapted

    # ------------------------------------------------------------------ steps
    def _stage(self, name: str, items: int = 1) -> AbstractContextManager:
        return self.timer.stage(name, items) if self.timer is not None else nullcontext()

    def _batcher(self, reuse: Reuse | None = None) -> Batcher:
        device = self.backend.device
        return Batcher(
            self._heatmaps, self._stage, self.keypoint_format, self.config.input_wh, self.config.heatmap_wh,
            self.batch_size, self.max_delay, warp_device=device if device.type == "cuda" else None, reuse=reuse,
        )  # fmt: skip

    def _frames(self, source) -> Iterator[Frame]:
        frames = read_frames(source)
        while True:
            with self._stage("video decode"):
                frame = next(frames, None)
            if frame is None:
                return
            yield frame

    def _people(self, frame: Frame, boxes: Boxes | None, tracker: IouTracker) -> tuple[np.ndarray, np.ndarray]:
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
        return self._flip_averaged(
            lambda mirrored, a: self.backend.infer(crops.flip(-1) if mirrored else crops, a), aux
        )

    def _flip_averaged(self, run, aux: torch.Tensor | None) -> torch.Tensor:
        """``run(mirrored, aux)`` -> heatmaps; with flip test, the mirrored run (its aux mirrored too) mapped back
        and averaged in."""
        heatmaps = run(False, aux)
        if self.flip_test:
            fmt = self.keypoint_format
            flipped_aux = None if aux is None else flip_heatmaps(aux.flatten(0, 1), fmt).unflatten(0, aux.shape[:2])
            heatmaps = (heatmaps + flip_heatmaps(run(True, flipped_aux), fmt)) / 2
        return heatmaps

    def _frame_parts(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Feature reuse, per crop: features and heatmaps (and those of the mirrored crop, with flip test)."""
        parts = self.backend.frame_features(crops)
        return parts + self.backend.frame_features(crops.flip(-1)) if self.flip_test else parts

    def _temporal(self, parts: tuple[torch.Tensor, ...], aux: torch.Tensor | None, theta: torch.Tensor) -> torch.Tensor:
        """Feature reuse, per triplet: ``parts`` (B, 3, ...) from ``_frame_parts`` -> heatmaps, as ``_heatmaps``; aux
        crops cut at their own boxes are first brought onto the key crop's region (``theta``, ``crops/align.py``)."""

        def run(mirrored, aux):
            features, heatmaps = parts[2:4] if mirrored else parts[:2]
            features = align_to_key(features, theta, "features", mirrored)
            heatmaps = align_to_key(heatmaps, theta, "heatmaps", mirrored)
            if aux is not None:  # propagation: the labels' heatmaps replace the aux frames'
                heatmaps = torch.stack([aux[:, 0].to(heatmaps), heatmaps[:, 1], aux[:, 1].to(heatmaps)], dim=1)
            return self.backend.temporal(features, heatmaps)

        return self._flip_averaged(run, aux)

    def _finish_estimate(self, run: Batcher, people: dict, last: int, policy) -> Iterator[PoseResult]:
        for k in range(max(0, last - self.aux_gap + 1), last + 1):
            self._queue_estimate(run, policy, people.pop(k), k, max(k - self.aux_gap, 0), min(k + self.aux_gap, last))
        yield from run.flush()

    @staticmethod
    def _queue_estimate(run: Batcher, policy: CropPolicy | None, people: tuple, key: int, left: int, right: int):
        """Queue key frame ``key``'s people (boxes, track ids), with their shared crops under feature reuse."""
        found, ids = people
        shared = None if policy is None else policy.crops(key, left, right, ids)
        run.queue(key, left, right, found, ids, "estimated", shared=shared)

    def _propagate(self, frames: Iterator[Frame], table: dict[int, FrameLabels], boxes: Boxes | None):
        """Frames stream in; each waits until the labeled frame after it (its right aux frame) and its estimate-mode
        neighbour have been decoded, so memory holds one gap between labels, not the video."""
        reuse = None if self.crop_policy is None else Reuse(self._frame_parts, self._temporal)
        run, self.reuse = self._batcher(reuse), reuse
        policy = None if reuse is None else self._labeled_crops(table)
        labeled = sorted(table)
        next_id = 1 + max((int(lab.track_ids.max()) for lab in table.values() if len(lab.track_ids)), default=0)
        tracker = IouTracker()  # ids of the people the labels do not have
        waiting: deque[Frame] = deque()  # decoded, not yet queued

        def ready(t: int, newest: int) -> bool:
            return t in table or newest >= max(nearest_labeled(labeled, t)[1], t + self.aux_gap)

        def process(frame: Frame) -> Iterator[PoseResult]:
            t = frame.index
            if t in table:
                run.give(t, table[t])
                run.evict_before(t + 1 - self.aux_gap)  # earlier frames are queued (their crops cut) by now
                yield from self._checked(run.step(t), table)
                return
            before, after = nearest_labeled(labeled, t)
            found = np.zeros((0, 4))
            if boxes is not None or self.detector is not None:
                found, _ = self._people(frame, boxes, IouTracker())
            plan = plan_propagation(t, before, after, table, found)
            if len(plan.boxes):
                h, w = frame.image.shape[:2]
                key_boxes = check_boxes(plan.boxes, (h, w), f"frame {t} (interpolated label boxes)", min_size=1.0)
                aux = plan.aux if self.config.uses_aux_heatmaps else None  # a single-frame model reads the key frame
                shared = None
                if policy is not None:  # the labeled frames' crops, shared by every frame between them
                    policy.update(t, key_boxes, plan.track_ids)
                    shared = policy.crops(t, before, after, plan.track_ids)
                run.queue(t, before, after, key_boxes, plan.track_ids, "propagated", aux, shared=shared)
            if len(plan.unclaimed):  # people the labels do not have: estimated from their neighbours
                ids = tracker.update(plan.unclaimed) + next_id
                d = self.aux_gap
                run.queue(t, max(t - d, 0), min(t + d, run.last_frame), plan.unclaimed, ids, "estimated")
            run.evict_before(min(before, t - self.aux_gap))  # no later frame reads these (nor their features)
            yield from self._checked(run.step(t), table)

        truncated = None
        try:
            for frame in frames:
                run.add_frame(frame)
                waiting.append(frame)
                while waiting and ready(waiting[0].index, frame.index):
                    yield from process(waiting.popleft())
        except TruncatedVideoError as e:  # labels past the last decoded frame cannot be read: drop them
            truncated = e
            table = {t: lab for t, lab in table.items() if t <= run.last_frame}
            labeled[:] = sorted(table)
        while waiting and labeled:
            yield from process(waiting.popleft())
        yield from self._checked(run.flush(), table)
        if truncated is not None:
            raise truncated

    def _labeled_crops(self, table: dict[int, FrameLabels]) -> NeighbourCrops:
        """Propagate mode's crop policy under feature reuse: the labeled frames, the aux frames of every triplet, are
        cropped at their labels' own boxes and shared by each frame between them whose crop is within the
        tolerance (``NeighbourCrops``; a ``WindowBoxes`` policy is for estimate mode, so its default is used)."""
        policy = self.crop_policy if isinstance(self.crop_policy, NeighbourCrops) else NeighbourCrops()
        policy = policy.fresh()
        for frame in sorted(table):
            policy.update(frame, table[frame].boxes, table[frame].track_ids)
        return policy

    def _checked(self, results: Iterator[PoseResult], table: dict[int, FrameLabels]) -> Iterator[PoseResult]:
        for result in results:
            yield self.fallback.apply(result, table)
