"""``stdpose-infer run`` and ``stdpose-infer propagate``: a video to PoseTrack18 JSON and an overlay video."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError


def add_commands(sub) -> None:
    from ..runtime.loader import BACKENDS, PRECISIONS

    for name, helptext in (
        ("run", "estimate poses on every frame of a video (detector + tracker + STDPose)"),
        ("propagate", "turn poses labeled on some frames (PoseTrack18 JSON) into poses on every frame"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("source", help="video file or folder of frames")
        p.add_argument("--weights", help="STDPose .safetensors checkpoint (default: the shipped starter model)")
        if name == "propagate":
            p.add_argument("--labels", required=True, help="PoseTrack18 JSON with the labeled frames")
        p.add_argument(
            "--detector",
            default="default" if name == "run" else "none",
            help="default (the shipped MoveNet MultiPose) | hog | movenet:PATH.onnx | yolo:PATH.onnx | "
            "ultralytics:PATH | none",
        )
        p.add_argument("--backend", default="auto", choices=BACKENDS)
        p.add_argument("--device", default="auto")
        p.add_argument(
            "--precision", default="auto", choices=PRECISIONS,
            help="auto: fp16 on a GPU, fp32 on the CPU; bf16 (torch backend) is faster on CPUs with AMX",
        )  # fmt: skip
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--flip-test", action="store_true")
        p.add_argument("--json", required=True, help="output PoseTrack18 JSON")
        p.add_argument("--coco-json", help="also write COCO keypoint JSON")
        p.add_argument("--video-out", help="overlay video (.mp4 or .avi)")
        p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from ..pipeline import Pipeline
    from ..results import coco_json, posetrack_json, write_json
    from ..video import TruncatedVideoError, VideoWriter, read_frames, video_fps

    detector = None if args.detector == "none" else args.detector
    pipe = Pipeline(
        args.weights, backend=args.backend, detector=detector, device=args.device, precision=args.precision,
        batch_size=args.batch_size, flip_test=args.flip_test,
    )  # fmt: skip
    print(f"model: {pipe.model_source}")
    print(f"backend: {pipe.backend.info}")
    results = pipe(args.source) if args.command == "run" else pipe.propagate(args.source, args.labels)
    collected, error = [], None
    overlay = VideoWriter(args.video_out, video_fps(args.source)) if args.video_out else None
    frames = read_frames(args.source) if overlay else None
    try:
        for result in tqdm(results, desc=args.command, unit="frame"):
            collected.append(result)
            if overlay:
                overlay.write(result.plot(next(frames).image))
    except TruncatedVideoError as e:  # write what was decoded, then report
        error = e
    finally:
        if overlay:
            overlay.close()
        if collected:
            write_json(posetrack_json(collected), args.json)
            if args.coco_json:
                write_json(coco_json(collected), args.coco_json)
    people = sum(len(r) for r in collected)
    print(
        f"wrote {args.json}: {len(collected)} frames, {people} poses"
        + (f"; overlay {args.video_out}" if overlay else "")
    )
    if error:
        raise error
    if not Path(args.json).is_file():
        raise InputError("no frame was processed, nothing written")
