"""``stdpose-infer label``: a video -> PoseTrack18 labels from real single-frame models (auto-annotation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..detect import make_detector
from ..errors import InputError, Interrupted
from ..label import MoveNetPose, add_head_boxes, auto_label
from ..pipeline.resume import ResumePoint
from ..progress import progress
from ..results import posetrack_json, write_json
from ..track import IouTracker
from . import interruption


def add_command(sub) -> None:
    p = sub.add_parser("label", help="auto-annotate a video: detector boxes + a pose per box + tracks -> PoseTrack18")
    p.add_argument("source", help="video file or folder of frames")
    p.add_argument("--json", required=True, help="output PoseTrack18 JSON")
    p.add_argument("--detector", required=True, help="default (the shipped NanoDet) | movenet:PATH.onnx (MoveNet "
                   "MultiPose: its own poses too) | nanodet[:PATH.onnx] | yolo:PATH.onnx | hog")
    p.add_argument("--pose", help="single-person model run on every box: movenet:PATH.onnx (MoveNet Thunder); "
                   "default: the detector's own poses")  # fmt: skip
    p.add_argument("--min-score", type=float, default=0.3, help="joints scored lower are written as unlabeled")
    p.add_argument("--min-box", type=float, default=16.0, help="drop boxes smaller than this (pixels)")
    p.add_argument("--resume", action="store_true", help="go on from where an interrupted run of the same command "
                   "stopped (Ctrl-C or SIGTERM keep the done frames in NAME.incomplete.json)")  # fmt: skip
    p.set_defaults(func=_label)


def _label(args: argparse.Namespace) -> None:
    pose = None
    if args.pose:
        kind, _, path = args.pose.partition(":")
        if kind != "movenet" or not path:
            raise InputError(f"--pose must be movenet:PATH.onnx (MoveNet SinglePose Thunder), got {args.pose!r}")
        pose = MoveNetPose(path)
    keep, print_ = interruption.incomplete_path(args, ("json",)), interruption.fingerprint(args)
    results, point = interruption.load(keep, print_)[:2] if args.resume else ([], None)
    tracker = IouTracker()
    if point is not None:
        point.check("label")
        tracker.restore(point.tracker)
        print(f"resuming at frame {point.next_frame} ({len(results)} frames done, kept in {keep})")
    detector = make_detector(args.detector)  # a bad spec is refused before any frame is read
    labelled = auto_label(args.source, detector, pose, args.min_box, tracker=tracker,
                          start=point.next_frame if point else 0)  # fmt: skip
    try:
        with interruption.StopOnSignal() as stop:  # Ctrl-C or SIGTERM: the frame at hand is finished, then kept
            for result in progress(labelled, desc="label", unit="frame", initial=len(results)):
                results.append(result)
                point = ResumePoint("label", result.frame_index + 1, tracker.state())
                if stop.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        if not interruption.save(keep, results, point, print_, None):
            raise
        raise Interrupted(f"after {len(results)} frames: they are in {keep}; the same command with --resume goes on "
                          f"from frame {point.next_frame}") from None  # fmt: skip
    if not results:
        raise InputError(f"{args.source}: no frames")
    _write(results, args, args.json)
    if args.resume:
        keep.unlink()
    people = sum(len(r) for r in results)
    print(f"wrote {args.json}: {len(results)} frames, {people} poses ({people / len(results):.1f} per frame)")


def _write(results: list, args: argparse.Namespace, path) -> Path:
    """PoseTrack18 labels (joints under --min-score unlabeled, head boxes from the head joints) to ``path``."""
    return write_json(add_head_boxes(posetrack_json(results, min_score=args.min_score)), path)
