"""Propagate mode's pass over a video: frames stream in; each unlabeled frame waits until the labeled frame after
it (its right aux frame) and its estimate-mode neighbour are decoded, so memory holds one gap between labels, not
the video. Where one gap's frames would hold more than ``pipe.gap_memory_mb``, the frames beyond it wait as their
people's crops instead (cut at the labels' interpolated boxes, the right aux crop when its frame comes): a few
hundred kB per person instead of a whole frame, the same poses. Labeled poses pass through; the fallback rule
replaces propagated joints where the labels' interpolation is more reliable."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
import warnings

import numpy as np

from ..annotation import FrameLabels
from ..annotation.interpolation import nearest_labeled
from ..annotation.point_tracking import LabelTracks
from ..detect import check_boxes
from ..results import PoseResult
from ..track import IouTracker
from ..video import Frame, TruncatedVideoError
from .batcher import Reuse
from .crop_policies import NeighbourCrops
from .pass_context import Boxes, PassContext
from .propagation import carried_aux, label_support, plan_propagation
from .resume import ResumePoint



def propagate_stream(pipe: PassContext, frames: Iterable[Frame], table: dict[int, FrameLabels], boxes: Boxes | None,
                     resume: ResumePoint | None = None) -> Iterator[PoseResult]:  # fmt: skip
    """``pipe``'s poses on every frame from ``resume.next_frame`` (default 0), ``table`` the labels by frame;
    ``pipe.resume_point`` follows the results as they are yielded."""
    reuse = None if pipe.crop_policy is None else Reuse(pipe.calls.frame_parts, pipe.calls.temporal)
    run, pipe.reuse = pipe._batcher(reuse), reuse
    policy = None if reuse is None else labeled_crops(pipe.crop_policy, table)
    labeled, d = sorted(table), pipe.aux_gap
    next_id = 1 + max((int(lab.track_ids.max()) for lab in table.values() if len(lab.track_ids)), default=0)
    tracker = IouTracker()  # ids of the people the labels do not have
    start = resume.next_frame if resume else 0
    floor = min(nearest_labeled(labeled, start)[0], start - d) if resume else 0  # the first frame still read
    if resume is not None:
        tracker.restore(resume.tracker)
        run.next_out = start
    carried = pipe.config.label_prior  # the model reads the labels carried to each frame, not the labels
    tracks = LabelTracks(table, pipe.gap_memory_mb) if pipe.fallback.carry == "tracking" or carried else None
    trackers: dict[int, dict] = {}  # frame -> the tracker's state after it (where a resumed pass starts)
    waiting: deque[Frame] = deque()  # decoded, not yet queued
    held, budget, said = 0, pipe.gap_memory_mb * 2**20, False  # bytes of the waiting frames' images, their bound

    def ready(t: int, newest: int) -> bool:
        return t in table or newest >= max(nearest_labeled(labeled, t)[1], t + d)

    def as_crops(t: int, newest: int) -> bool:
        """Over the memory bound: queue frame t now (its neighbours are decoded), its right aux crop cut later."""
        nonlocal said
        if held <= budget or newest < t + d:
            return False
        if not said:
            said = True
            before, after = nearest_labeled(labeled, t)
            warnings.warn(f"the frames between labeled frames {before} and {after} need more than "
                          f"{pipe.gap_memory_mb:g} MB: they wait as person crops (gap_memory_mb)",
                          stacklevel=2)  # fmt: skip
        return True

    def released(results: Iterator[PoseResult]) -> Iterator[PoseResult]:
        for result in results:
            t = result.frame_index
            pipe.resume_point = ResumePoint("propagate", t + 1, trackers.pop(t))
            if carried:  # the labels' support in the scores (before a fallback replaces any joint)
                result = label_support(result, table, tracks)
            result = pipe.fallback.apply(result, table, tracks)
            if tracks is not None:
                tracks.release(t)
            yield result

    def process(frame: Frame) -> Iterator[PoseResult]:
        t = frame.index
        if t in table:
            run.give(t, table[t])
            run.evict_before(t + 1 - d)  # earlier frames are queued (their crops cut) by now
            trackers[t] = tracker.state()
            yield from released(run.step(t))
            return
        before, after = nearest_labeled(labeled, t)
        found = np.zeros((0, 4))
        if boxes is not None or pipe.detector is not None:
            found, _ = pipe._people(frame, boxes, IouTracker())
        plan = plan_propagation(t, before, after, table, found)
        if len(plan.boxes):
            h, w = frame.image.shape[:2]
            key_boxes = check_boxes(plan.boxes, (h, w), f"frame {t} (interpolated label boxes)", min_size=1.0)
            aux = plan.aux if pipe.config.uses_aux_heatmaps else None  # a single-frame model reads the key frame
            if carried:
                aux = carried_aux(t, plan.track_ids, plan.aux, table, tracks)
            shared = None
            if policy is not None:  # the labeled frames' crops, shared by every frame between them
                policy.update(t, key_boxes, plan.track_ids)
                shared = policy.crops(t, before, after, plan.track_ids)
            run.queue(t, before, after, key_boxes, plan.track_ids, "propagated", aux, shared=shared)
        if len(plan.unclaimed):  # people the labels do not have: estimated from their neighbours
            ids = tracker.update(plan.unclaimed) + next_id
            run.queue(t, max(t - d, 0), min(t + d, run.last_frame), plan.unclaimed, ids, "estimated")
        trackers[t] = tracker.state()
        run.evict_before(min(before, t - d))  # no later frame reads these (nor their features)
        run.drop_images([i for i in run.frames if i not in table and i <= t - d])  # their crops are cut
        yield from released(run.step(t))

    truncated = None
    try:
        for frame in frames:
            if frame.index < floor:  # done before an interruption, and no frame to come reads it
                continue
            run.add_frame(frame)
            if tracks is not None:
                tracks.add(frame.index, frame.image)
            if frame.index >= start:
                waiting.append(frame)
                held += frame.image.nbytes
            while waiting and (ready(waiting[0].index, frame.index) or as_crops(waiting[0].index, frame.index)):
                held -= waiting[0].image.nbytes
                yield from process(waiting.popleft())
    except TruncatedVideoError as e:  # labels past the last decoded frame cannot be read: drop them
        truncated = e
        table = {t: lab for t, lab in table.items() if t <= run.last_frame}
        labeled[:] = sorted(table)
        if tracks is not None:
            tracks.relabel(table)
        for lost in [f for f in [*run.awaited, *run.awaited_crops] if f > run.last_frame and labeled]:
            run.never_comes(lost, labeled[-1])  # frames queued as crops read their left label twice
    while waiting and labeled:
        yield from process(waiting.popleft())
    yield from released(run.flush())
    if truncated is not None:
        raise truncated


def labeled_crops(crop_policy, table: dict[int, FrameLabels]) -> NeighbourCrops:
    """Propagate mode's crop policy under feature reuse: the labeled frames, the aux frames of every triplet, are
    cropped at their labels' own boxes and shared by each frame between them whose crop is within the
    tolerance (``NeighbourCrops``; a ``WindowBoxes`` policy is for estimate mode, so its default is used)."""
    policy = crop_policy if isinstance(crop_policy, NeighbourCrops) else NeighbourCrops()
    policy = policy.fresh()
    for frame in sorted(table):
        policy.update(frame, table[frame].boxes, table[frame].track_ids)
    return policy
