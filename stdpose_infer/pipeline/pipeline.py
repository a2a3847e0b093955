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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np

from ..annotation import read_labels
from ..defaults import default_weights
from ..detect import Detections, check_boxes, clip_boxes, make_detector
from ..errors import InputError
from ..export.onnx_graph import SPLIT_GRAPHS
from ..keypoints import get_format
from ..model.config import MODES
from ..model.stdpose import STDPose
from ..results import PoseResult
from ..runtime import Backend, load_backend
from ..runtime.triton_backend import SCHEME as TRITON_SCHEME
from ..track import IouTracker, OneEuro
from ..video import Frame, LiveSource, read_frames
from ..video.sources import frame_names
from ..weights.native import load_model
from .batcher import Batcher, Reuse
from .crop_policies import CropPolicy, NeighbourCrops
from .estimate_mode import estimate_stream
from .fallback import Fallback
from .model_calls import ModelCalls
from .pass_context import Boxes
from .propagate_mode import propagate_stream
from .resume import ResumePoint

log = logging.getLogger(__name__)


class Pipeline:
    """Detector + tracker + STDPose backend: a video in, tracked poses out, frame by frame.

    Args:
        weights: an STDPose ``.safetensors`` checkpoint, a model, or a ready ``Backend``; None: the starter
            model shipped in the package (``stdpose-infer info`` says what it is and how it scores).
        backend: "auto", "torch", "onnxruntime" or "tensorrt" (see ``load_backend``).
        detector: "default" (the shipped NanoDet, people of any size), "hog" (no weights), "movenet:PATH.onnx",
            "yolo:PATH.onnx", "ultralytics:PATH", a callable frame -> ``Detections``, or None when you pass boxes.
        device: "auto" (a CUDA GPU when torch sees one), "cpu", "cuda", "cuda:1".
        batch_size: persons per backend call, gathered across frames.
        flip_test: also run the mirrored crops and average (2x the model time, a little more accurate).
        aux_gap: estimate mode reads frames t - aux_gap and t + aux_gap as aux frames.
        max_delay: a frame waits for at most this many later frames before its persons are inferred.
        precision: "auto" (fp16 on a GPU, fp32 on the CPU), "fp32", "fp16", "bf16" (torch backend).
        score_threshold: the detector's score threshold (None: the detector's own default).
        nms_iou: the detector's non-maximum suppression overlap (None: the detector's own default).
        min_box: detected boxes smaller than this (px) are dropped.
        cache_dir: where exported graphs and TensorRT engines are cached.
        fallback: propagate mode: where the labels, carried to the frames between them, replace the model ("joint":
            between two labels, and beyond them where the model is unsure or strays, the labels' linear
            interpolation; "track": the same with the labels followed by point tracking; "none"; "interpolate"; or
            a ``Fallback``, e.g. "blend" with an adaptation's held-out errors). "auto" (default): "blend" for
            weights adapted to a video (``adapt``), "none" for a model that starts from the carried labels itself
            (``label_prior``, the shipped starter), else "track".
        smooth: estimate mode: a ``OneEuro`` filter (or True for its defaults at 25 fps) smooths each track's
            joints online, without look-ahead; None or False: raw poses.
        reuse_features: compute each frame's backbone features once and share them between the triplets that
            read them (torch, onnxruntime, openvino, tensorrt backends; 1.8-2.1x the frame rate at the accuracy
            measured without it). "auto" (default): ``NeighbourCrops()`` wherever the backend runs the model's two
            halves, else off (a Triton server, an exported whole-triplet graph, a single-frame model); False: off;
            True: ``NeighbourCrops()`` or a clear error (an aux frame reads a
            crop already cut of it where that is within 20 % of the key frame's); or a policy,
            e.g. ``WindowBoxes()`` (a crop box held per track over a window of frames; estimate mode only,
            propagate mode then uses ``NeighbourCrops()``). ``self.reuse`` says
            what it achieved (``passes_per_person_frame``). Propagate mode shares the labeled frames' crops (their
            labels' boxes) between the frames that read them as aux frames.
        gap_memory_mb: propagate mode: the most memory the decoded frames of one gap between labels may hold;
            beyond it they wait as their people's crops (the same poses; a long gap then costs a few hundred kB
            per person-frame, not a whole frame).
        track_fill: estimate mode with a detector: a person seen in 3 or more frames whom the detector misses keeps
            their track's predicted box for up to this many frames (0: off), so one missed detection loses no one.
        pose_nms: estimate mode with a detector: where two boxes fell on one person, keep the better-scored of the
            two nearly equal poses (more than half the joints within 0.1 x the person's size).

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
        nms_iou: float | None = None,
        min_box: float = 8.0,
        cache_dir: str | Path = "engines",
        fallback: str | Fallback = "auto",
        smooth: OneEuro | bool | None = None,
        reuse_features: CropPolicy | bool | str = "auto",
        gap_memory_mb: float = 512,
        track_fill: int = 2,
        pose_nms: bool = True,
    ) -> None:
        if weights is None:
            weights = default_weights()
        auto_reuse = isinstance(reuse_features, str)
        if auto_reuse and reuse_features != "auto":
            raise InputError(f"reuse_features must be 'auto', True, False or a crop policy, got {reuse_features!r}")
        self.crop_policy = NeighbourCrops() if auto_reuse or reuse_features is True else reuse_features or None
        modes = (*MODES, *SPLIT_GRAPHS) if self.crop_policy is not None else None  # graphs ONNX backends prepare
        if aux_gap < 1 or max_delay < aux_gap or batch_size < 1 or not gap_memory_mb >= 0:
            raise InputError(
                f"need aux_gap >= 1, max_delay >= aux_gap (a frame waits for its right neighbour), batch_size >= 1 "
                f"and gap_memory_mb >= 0; got aux_gap={aux_gap}, max_delay={max_delay}, batch_size={batch_size}, "
                f"gap_memory_mb={gap_memory_mb}"
            )
        if isinstance(weights, str) and weights.startswith(TRITON_SCHEME):  # the model runs on a Triton server
            weights = load_backend(weights, max_batch=batch_size)
        elif isinstance(weights, (str, Path)) and str(weights).endswith(".onnx"):  # an exported (or INT8) graph
            weights = load_backend(weights, backend, device, "auto", cache_dir=cache_dir, max_batch=batch_size)
        self._options = dict(backend=backend, detector=detector, device=device, batch_size=batch_size,
                             flip_test=flip_test, aux_gap=aux_gap, max_delay=max_delay, precision=precision,
                             score_threshold=score_threshold, nms_iou=nms_iou, min_box=min_box, cache_dir=cache_dir,
                             smooth=smooth, reuse_features=reuse_features, gap_memory_mb=gap_memory_mb,
                             track_fill=track_fill, pose_nms=pose_nms)  # fmt: skip
        if isinstance(weights, Backend):
            self.backend, model = weights, getattr(weights, "model", None)
        else:
            model = weights if isinstance(weights, STDPose) else load_model(weights)
            if auto_reuse and not model.config.temporal:  # a single-frame model: nothing to reuse
                modes = None
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
        self.batch_size, self.aux_gap, self.max_delay = batch_size, aux_gap, max_delay
        self.min_box, self.gap_memory_mb = min_box, gap_memory_mb
        self.track_fill, self.pose_nms = max(0, int(track_fill)), bool(pose_nms)
        self.calls = ModelCalls(self.backend, flip_test, self.keypoint_format)
        self.model: STDPose | None = model  # the torch model (None behind a graph, engine or server): what adapts
        self.fallback = fallback if isinstance(fallback, Fallback) else Fallback.for_model(fallback, model if model is not None else self.backend)
        self.adaptation = None  # an AdaptReport after ``adapt``
        self.smooth = OneEuro() if smooth is True else smooth or None
        self.reuse: Reuse | None = None  # the last pass's feature reuse (passes per person-frame)
        self.resume_point: ResumePoint | None = None  # where the current pass stands, after its last result
        if auto_reuse and not (getattr(self.backend, "splits_model", False) and self.config.temporal):
            log.info("feature reuse off: this backend or model runs whole triplets only")
            self.crop_policy = None
        if self.crop_policy is not None:
            try:
                self.backend.check_split()  # a clear error now, not at the first batch
            except InputError as e:
                if not auto_reuse:
                    raise
                log.info("feature reuse off: %s", e)
                self.crop_policy = None
        self.timer = None  # a bench.StageTimer: stage times for stdpose-bench (decode, detect, crop, model, ...)

    @property
    def flip_test(self) -> bool:
        """Whether the mirrored crops are run too (set at construction)."""
        return self.calls.flip_test

    # ------------------------------------------------------------------ public
    def __call__(self, source, boxes: Boxes | None = None) -> Iterator[PoseResult]:
        """Estimate mode; see ``estimate``."""
        return self.estimate(source, boxes)

    def estimate(self, source, boxes: Boxes | None = None, resume: ResumePoint | None = None) -> Iterator[PoseResult]:
        """Poses on every frame of ``source``, one ``PoseResult`` per frame, in order, as they are ready.

        ``source``: a video file, a folder of images, a ``cv2.VideoCapture``, an iterable of BGR frames, an
        (N, H, W, 3) array, or a ``LiveSource`` (a camera or stream: frames the pipeline cannot keep up with are
        dropped, no frame waits for a batch or a later frame, and both its aux frames are itself). ``boxes``:
        per-frame (N, 4) xyxy person boxes (a list, or {frame index: boxes})
        instead of the detector. A truncated video yields the frames it has, then raises. ``resume``: go on from
        where an interrupted pass stood (its ``resume_point``), with the results one uninterrupted pass gives.
        """
        if boxes is None and self.detector is None:
            raise InputError(
                "no detector and no boxes: give boxes=per-frame boxes or a detector ('hog', 'movenet:PATH')"
            )
        if resume is not None:
            resume.check("estimate")
        smooth = None if self.smooth is None else dataclasses.replace(self.smooth)  # a fresh filter state per video
        if smooth is not None and resume is not None and resume.smooth is not None:
            smooth.restore(resume.smooth)
        live = isinstance(source, LiveSource)
        if live and resume is not None:
            raise InputError("a live source cannot be resumed: its frames are gone; start it again")
        if live:  # the first frame's pose must not wait for the backend to load and compile
            self.warm_up()
        return estimate_stream(self, self._frames(source), boxes, smooth, resume, live)

    def propagate(self, source, labels, boxes: Boxes | None = None,
                  resume: ResumePoint | None = None) -> Iterator[PoseResult]:  # fmt: skip
        """Propagate mode: ``labels`` on some frames -> poses on every frame.

        ``labels``: a PoseTrack18/21 or COCO keypoint JSON, CVAT for video 1.1 XML or Label Studio JSON file (or
        the parsed JSON); joints map by name (``annotation.read_labels``).

        Unlabeled frames read the nearest labeled frames before and after as aux frames, with aux
        heatmaps rendered from their labels in the key frame's crop; a person the detector finds
        that matches no labeled track is estimated (origin "estimated"). Labeled poses pass through
        unchanged (origin "given"). Where the model is less reliable than interpolating the labels, the
        ``fallback`` rule uses the interpolation. A model without TKS and DAM (the single-frame baseline) cannot read
        the labels' heatmaps: it estimates each unlabeled frame at the labels' interpolated boxes, and says so.
        ``resume``: go on from where an interrupted pass stood (its ``resume_point``).
        """
        if resume is not None:
            resume.check("propagate")
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
        return propagate_stream(self, frames, table, boxes, resume)

    def adapt(self, source, labels, minutes: float = 4.0, settings=None, steps: int | None = None,
              progress: bool = True) -> Pipeline:
        """A new Pipeline whose model is fine-tuned on ``labels`` of ``source`` (about ``minutes`` of training) and
        whose fallback weighs the model against interpolation by their errors on held-out labels (``adapt.adapt``,
        the "blend" fallback). Where the labels cannot teach anything (fewer than two labeled frames, nobody
        labeled twice, a zero budget) it warns in one line and returns this Pipeline unchanged.
        ``result.adaptation`` holds the report."""
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

    def _batcher(self, reuse: Reuse | None = None, max_delay: int | None = None) -> Batcher:
        device = self.backend.device
        return Batcher(
            self.calls.heatmaps, self._stage, self.keypoint_format, self.config.input_wh, self.config.heatmap_wh,
            self.batch_size, self.max_delay if max_delay is None else max_delay, warp_device=device if device.type == "cuda" else None,
            reuse=reuse,
        )  # fmt: skip

    def warm_up(self) -> None:
        """Load and compile the detector and the model now, by running one blank frame through them, rather than on
        the first real frame (a live source calls it first: its first poses would wait seconds otherwise)."""
        blank = np.zeros((1, 480, 640, 3), np.uint8)
        if self.detector is not None:
            self.detector(blank[0])
        for _ in estimate_stream(self, self._frames(blank), [np.array([[200.0, 80.0, 440.0, 400.0]])], None, live=True):
            pass

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
        ids = tracker.update(found, scores)
        if boxes is None and self.track_fill > 0:  # people the detector missed here keep their tracks' boxes
            kept, kept_ids = tracker.missing(self.track_fill)
            if len(kept):
                kept = clip_boxes(kept, (h, w))
                inside = np.minimum(kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]) >= self.min_box
                found, ids = np.concatenate([found, kept[inside]]), np.concatenate([ids, kept_ids[inside]])
        return found, ids
