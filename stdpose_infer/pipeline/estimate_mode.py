"""Estimate mode's pass over a video: detect and track each frame, queue it once its right aux frame is decoded,
drop frames no later triplet reads (memory stays flat), and release results in frame order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..results import PoseResult
from ..track import IouTracker, OneEuro
from ..video import Frame, TruncatedVideoError
from .batcher import Batcher, Reuse
from .crop_policies import CropPolicy
from .pass_context import Boxes, PassContext
from .pose_nms import pose_nms
from .resume import ResumePoint


def estimate_stream(pipe: PassContext, frames: Iterable[Frame], boxes: Boxes | None, smooth: OneEuro | None,
                    resume: ResumePoint | None = None, live: bool = False) -> Iterator[PoseResult]:  # fmt: skip
    """``pipe``'s poses on every frame from ``resume.next_frame`` (default 0); ``pipe.resume_point`` follows the
    results as they are yielded. ``live``: a frame waits for no later frame (no batching across frames) and reads no
    other frame (both aux frames are itself, as for a one-frame video: the frame taken before it is several frames
    old on a source faster than the pipeline, and would cost a crop more: latency before accuracy)."""
    d, start = pipe.aux_gap, resume.next_frame if resume else 0
    reuse = None if pipe.crop_policy is None else Reuse(pipe.calls.frame_parts, pipe.calls.temporal)
    run, tracker, pipe.reuse = pipe._batcher(reuse, 0 if live else None), IouTracker(), reuse
    if resume is not None:
        tracker.restore(resume.tracker)
        run.next_out = start
    policy = None if pipe.crop_policy is None else pipe.crop_policy.fresh()  # its state is per video
    people: dict[int, tuple] = {}  # frame -> boxes, track ids
    trackers: dict[int, dict] = {}  # frame -> the tracker's state after it (where a resumed pass starts)
    last = -1

    dedup = boxes is None and pipe.pose_nms  # detector boxes: two may fall on one person

    def released(results: Iterator[PoseResult]) -> Iterator[PoseResult]:
        for result in results:
            if dedup:
                result = pose_nms(result)
            if smooth is not None:
                result = smooth(result)
            state = None if smooth is None else smooth.state()
            pipe.resume_point = ResumePoint("estimate", result.frame_index + 1, trackers.pop(result.frame_index), state)
            yield result

    try:
        for frame in frames:
            if frame.index < start - d:  # done before an interruption, and no triplet to come reads it
                continue
            last = frame.index
            run.add_frame(frame)
            if frame.index < start:  # an aux frame of the first frame to do
                continue
            people[frame.index] = found, ids = pipe._people(frame, boxes, tracker)
            trackers[frame.index] = tracker.state()
            if policy is not None:
                policy.update(frame.index, found, ids)
            key = frame.index if live else frame.index - d  # live: no look-ahead, the key is its own right aux
            if key >= start:  # live: its own left aux too (the last frame taken is long gone, and a crop more)
                _queue(run, policy, people.pop(key), key, key if live else max(key - d, 0), frame.index)
                run.evict_before(frame.index + 1 - 2 * d)  # the next key frame's left neighbour
            yield from released(run.step(frame.index))
    except TruncatedVideoError:
        yield from released(_finish(run, people, start, last, d, policy))
        raise
    yield from released(_finish(run, people, start, last, d, policy))


def _finish(run: Batcher, people: dict, start: int, last: int, d: int, policy) -> Iterator[PoseResult]:
    """The last frames, whose right aux frame is clamped to the video's last frame (none left in a live pass)."""
    for k in [k for k in range(max(start, last - d + 1), last + 1) if k in people]:
        _queue(run, policy, people.pop(k), k, max(k - d, 0), min(k + d, last))
    yield from run.flush()


def _queue(run: Batcher, policy: CropPolicy | None, people: tuple, key: int, left: int, right: int) -> None:
    """Queue key frame ``key``'s people (boxes, track ids), with their shared crops under feature reuse."""
    found, ids = people
    shared = None if policy is None else policy.crops(key, left, right, ids)
    run.queue(key, left, right, found, ids, "estimated", shared=shared)
