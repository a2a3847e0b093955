"""``stdpose-infer run`` and ``stdpose-infer propagate``: a video to pose files for annotation tools, a review list
and an overlay video."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..errors import InputError, Interrupted
from . import interruption

OUTPUTS = ("json", "coco_json", "cvat_xml", "label_studio", "review", "table", "kinematics", "plot_angles", "video_out",
           "contact_sheet")  # fmt: skip


def add_commands(sub) -> None:
    from ..pipeline import NAMED_FALLBACKS
    from ..runtime.loader import BACKENDS, PRECISIONS

    for name, helptext in (
        ("run", "estimate poses on every frame of a video (detector + tracker + STDPose)"),
        ("propagate", "turn poses labeled on some frames (CVAT, COCO, PoseTrack or Label Studio) into every frame"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("source", help="video file or folder of frames; for run also a camera index (0) or a stream "
                       "URL (rtsp://, http://, ...), read live: frames it cannot keep up with are dropped")
        p.add_argument("--weights", help="STDPose .safetensors checkpoint (default: the shipped starter model)")
        if name == "propagate":
            p.add_argument("--labels", required=True, help="labels on some frames: CVAT for video 1.1 XML, COCO or "
                           "PoseTrack18/21 keypoint JSON, or a Label Studio JSON export (detected from the file)")
            p.add_argument("--fallback", default="auto", choices=NAMED_FALLBACKS, help="where the labels' linear "
                           "interpolation replaces the model: between labels, and beyond them where the model is "
                           "unsure or strays (joint); the same with the labels carried by point tracking instead "
                           "of interpolation (track); never (none); wherever there is one (interpolate); auto: "
                           "none for a model that starts from the carried labels itself (the shipped starter), else "
                           "track; after --adapt (or for adapted --weights) the blend the held-out labels weighed")
            p.add_argument("--adapt", action="store_true", help="first fine-tune the model on these labels of this "
                           "video (held-out labels weigh it against interpolation)")
            p.add_argument("--adapt-minutes", type=float, default=4.0, help="--adapt: training time budget "
                           "(default 4: about 65 steps of 8 samples on a 2-core AVX2 CPU)")
            p.add_argument("--save-weights", help="--adapt: also write the adapted checkpoint here (.safetensors; "
                           "use it as --weights for more videos of the scene)")  # fmt: skip
            p.add_argument("--gap-memory-mb", type=float, default=512, help="the most memory one gap's decoded "
                           "frames may hold; beyond it they wait as person crops, the same poses (default 512)")
        p.add_argument(
            "--detector",
            default="default" if name == "run" else "none",
            help="default (the shipped NanoDet at its measured settings) | nanodet[:PATH.onnx] | "
            "movenet:PATH.onnx (MoveNet MultiPose, your file) | hog | yolo:PATH.onnx | ultralytics:PATH | none",
        )
        p.add_argument("--backend", default="auto", choices=BACKENDS)
        p.add_argument("--device", default="auto")
        p.add_argument(
            "--precision", default="auto", choices=PRECISIONS,
            help="auto: fp16 on a GPU, fp32 on the CPU; bf16 (torch backend) is faster on CPUs with AMX",
        )  # fmt: skip
        if name == "run":
            p.add_argument("--smooth", action="store_true", help="smooth each track's joints online (One-Euro "
                           "filter at the video's frame rate; no look-ahead)")  # fmt: skip
        p.add_argument("--reuse-features", action=argparse.BooleanOptionalAction, default="auto",
                       help="compute each frame's backbone pass once and share it between the triplets that read it "
                       "(1.8-2.1x faster at the same accuracy; on by default wherever the backend can: "
                       "--no-reuse-features turns it off)")  # fmt: skip
        p.add_argument("--resume", action="store_true", help="go on from where an interrupted run of the same "
                       "command stopped (Ctrl-C or SIGTERM keep the done frames in NAME.incomplete.json, NAME: the "
                       "first output)")  # fmt: skip
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--flip-test", action="store_true")
        out = p.add_argument_group("outputs (at least one)")
        out.add_argument("--json", help="PoseTrack18 JSON (track ids, per-joint scores, origin per pose)")
        out.add_argument("--coco-json", help="COCO keypoint JSON with track_id and origin attributes")
        out.add_argument("--cvat-xml", help="CVAT for video 1.1 XML: a skeleton track per person, every frame a "
                         "keyframe, an 'origin' attribute to filter on")  # fmt: skip
        out.add_argument("--label-studio", help="Label Studio tasks JSON with predictions (and its labelling config "
                         "beside it, NAME.config.xml)")  # fmt: skip
        out.add_argument("--image-url", default="/data/local-files/?d=frames/{name}",
                         help="Label Studio: each task's image URL; {name} is the frame's file name (000123.jpg "
                         "for videos), {index} its number")  # fmt: skip
        out.add_argument("--review", help="CSV of the poses most worth a human look, worst first")
        out.add_argument("--table", help="one tidy keypoint table, .csv or .parquet (frame, time_s, track, joint, "
                         "x, y, score, origin; a row per frame, person and joint), written as frames finish")
        out.add_argument("--kinematics", help="joint and segment angles, angular velocities and keypoint speeds per "
                         "track and frame, .csv or .parquet (needs the analytics extra)")  # fmt: skip
        out.add_argument("--plot-angles", help="PNG of the knee, hip, shoulder and elbow angles over time per track")
        p.add_argument("--height-m", type=float, help="--kinematics: the people's height in metres, for speeds in "
                       "m/s (each track's height in pixels is measured along its skeleton)")  # fmt: skip
        p.add_argument("--visible-side", default="right", choices=("right", "left", "front", "back"),
                       help="--kinematics: the side of the body the camera sees (sets the angles' signs, as in "
                       "Sports2D; front: both sides' angles share a sign)")  # fmt: skip
        p.add_argument("--fps", type=float, help="the frame rate for times and speeds (default: the video's own; "
                       "25 for a folder of images)")  # fmt: skip
        out.add_argument("--video-out", help="overlay video (.mp4 or .avi)")
        out.add_argument("--contact-sheet", help="PNG of six overlay frames spread over the video, to see the "
                         "result at a glance")  # fmt: skip
        p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from ..adapt import AdaptReport
    from ..pipeline import Pipeline
    from ..progress import progress
    from ..results import TableWriter
    from ..track import OneEuro
    from ..video import ContactSheet, LiveSource, TruncatedVideoError, VideoWriter, is_live, read_frames, video_fps
    from ..video.sources import frame_names
    from ..weights import save_weights

    if not any(getattr(args, o) for o in OUTPUTS):
        raise InputError("nothing to write: give at least one of --json, --coco-json, --cvat-xml, --label-studio, "
                         "--review, --table, --kinematics, --plot-angles, --video-out, --contact-sheet")  # fmt: skip

    sheet = ContactSheet(args.contact_sheet) if args.contact_sheet else None  # a bad name fails now, not at the end
    if args.kinematics or args.plot_angles:  # so do a bad kinematics name and a missing extra
        _check_kinematics(args)
    live = None
    if is_live(args.source):  # a camera index or a stream URL
        if args.command != "run" or args.resume:
            raise InputError(f"{args.source}: a camera or stream is read live by `run`, without --resume (its past "
                             "frames are gone); record it to a file to propagate labels")  # fmt: skip
        live = LiveSource(args.source)
    fps = args.fps or (live.fps if live is not None else video_fps(args.source, default=0.0)) or 25.0
    if not args.fps and (live is None and not Path(args.source).is_file() or live is not None and not live.fps):
        if args.kinematics or args.plot_angles or getattr(args, "table", None) or args.video_out:
            print(f"times at {fps:g} frames/s: this source does not say its frame rate (give --fps)")
    args.fps = fps
    keep, print_ = interruption.incomplete_path(args, OUTPUTS), interruption.fingerprint(args)
    done, point, kept_weights = interruption.load(keep, print_) if args.resume else ([], None, None)
    detector = None if args.detector == "none" else args.detector
    smooth = OneEuro(fps=fps) if getattr(args, "smooth", False) else None
    pipe = Pipeline(  # an interrupted --adapt run's adapted model, when it kept one (not a new adaptation)
        kept_weights or args.weights, backend=args.backend, detector=detector, device=args.device, precision=args.precision,
        batch_size=args.batch_size, flip_test=args.flip_test, fallback=getattr(args, "fallback", "joint"),
        smooth=smooth, reuse_features=args.reuse_features, gap_memory_mb=getattr(args, "gap_memory_mb", 512),
    )  # fmt: skip
    if getattr(args, "save_weights", None) and not args.adapt:
        raise InputError("--save-weights keeps an adapted model: add --adapt")
    if args.resume:
        if kept_weights:  # its report too: the review list ranks by it
            pipe.adaptation = AdaptReport.from_provenance(pipe.model.provenance)
        print(f"resuming at frame {point.next_frame} ({len(done)} frames done, kept in {keep})")
    elif getattr(args, "adapt", False):
        pipe = adapted(pipe, args)
    print(f"model: {pipe.model_source}")
    print(f"backend: {pipe.backend.info}")
    names = None if live else frame_names(args.source)  # the progress bar's total (and ETA) where it is known
    start = time.perf_counter()
    if args.command == "run":
        results = pipe.estimate(live or args.source, resume=point)
    else:
        results = pipe.propagate(args.source, args.labels, resume=point)
    streamed = ("table", "video_out", "contact_sheet")  # written as frames finish: nothing is kept for them
    spill = args.command == "run" and not any(getattr(args, o, None) for o in OUTPUTS if o not in streamed)
    collected = interruption.DoneFrames(done, keep.with_suffix(".frames.jsonl") if spill else None)
    error, stopped = None, False
    overlay = VideoWriter(args.video_out, fps) if args.video_out else None
    frames = read_frames(args.source) if (overlay or sheet) and live is None else None
    table = TableWriter(args.table, fps) if getattr(args, "table", None) else None
    latencies: list[float] = []

    def draw(result) -> None:  # the overlay, the sheet and the table are made as frames finish
        if overlay or sheet:
            image = live.image(result.frame_index) if live is not None else next(frames).image
            drawn = result.plot(image)
            if overlay:
                overlay.write(drawn)
            if sheet:
                sheet.offer(result.frame_index, drawn)
        if table is not None:
            table.write(result)

    for result in done:  # the overlay, the sheet and the table are made again from the kept results
        draw(result)
    bar = progress(results, desc=args.command, unit="frame", total=len(names) if names else None, initial=len(done))
    try:
        with interruption.StopOnSignal() as stop:
            for result in bar:
                collected.append(result)
                point = pipe.resume_point
                if live is not None:
                    latencies.append(live.latency(result.frame_index))
                draw(result)
                if stop.requested:
                    raise KeyboardInterrupt
    except TruncatedVideoError as e:  # write what was decoded, then report
        error = e
    except KeyboardInterrupt:
        stopped = live is None  # a live run stops here and writes what it has; a file's run keeps it to resume
    finally:
        bar.close()
        if live is not None:
            live.close()
        if overlay:
            overlay.close()
        if table is not None:
            table.close()
        written = [] if table is None or stopped else [args.table]
        if not stopped:  # an error: write what was done; an interruption keeps it for --resume instead
            written += _write(list(collected), args, pipe.adaptation) if collected and not spill else []
            written += [args.video_out] if spill and args.video_out else []
            if sheet and sheet.close():
                written.append(args.contact_sheet)
            collected.close()
    if stopped:
        weights = keep.with_suffix(".safetensors") if pipe.adaptation is not None else None
        if weights is not None and not (args.resume and weights.is_file()):
            save_weights(pipe.model, weights)  # the resumed run propagates with this same adapted model
        kept = interruption.save(keep, collected, point, print_, weights and str(weights))
        collected.close()
        if not kept:
            raise Interrupted("interrupted before the first frame was done; nothing to keep")
        raise Interrupted(f"after {kept} frames: they are in {keep}; the same command with --resume goes on from "
                          f"frame {kept}")  # fmt: skip
    for path in (keep, keep.with_suffix(".safetensors")):  # a finished resumed run needs them no more
        if args.resume and path.is_file():
            path.unlink()
    people = collected.people
    rate = (len(collected) - len(done)) / max(time.perf_counter() - start, 1e-9)
    print(f"{len(collected)} frames, {people} poses, {rate:.1f} frames/s{peak_memory()}; wrote "
          + (", ".join(written) or "nothing"))  # fmt: skip
    if live is not None:
        late = np.array([x for x in latencies if x is not None]) if latencies else np.zeros(0)
        print(live.summary() + (f"; latency from capture to pose: median {np.median(late):.2f} s, 95th percentile "
                                f"{np.percentile(late, 95):.2f} s" if len(late) else ""))  # fmt: skip
    if pipe.reuse is not None and pipe.reuse.triplets_run:
        print(f"feature reuse: {pipe.reuse.passes_per_person_frame:.2f} backbone passes per person-frame (3 without)")
    if error:
        raise error
    if not collected:
        raise InputError("no frame was processed, nothing written")


def peak_memory() -> str:
    """", peak memory N MiB" of this process (Linux and macOS), else ""."""
    try:
        import resource
    except ImportError:  # Windows
        return ""
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return f", peak memory {peak:.0f} MiB"


def adapted(pipe, args: argparse.Namespace):
    """``pipe`` fine-tuned on ``args.labels`` (``--adapt``); the reason in one line where it could not be."""
    from ..adapt.adapt import adapt_saying
    from ..pipeline import Fallback
    from ..weights import save_weights

    new, said = adapt_saying(pipe, args.source, args.labels, args.adapt_minutes)
    for line in said:
        print(f"{line}; propagating without adaptation" if new is pipe else line)
    if new is pipe:
        return pipe
    print(new.adaptation.summary())
    if args.fallback != "auto":
        new.fallback = Fallback.for_model(args.fallback)
    if args.save_weights:
        print(f"wrote {save_weights(new.model, args.save_weights)} (adapted weights; use as --weights)")
    return new


def _write(results: list, args: argparse.Namespace, adaptation=None) -> list[str]:
    from ..annotation import (
        cvat_xml,
        label_studio_tasks,
        labeling_config,
        review_rows,
        review_summary,
        write_review_csv,
    )
    from ..results import coco_json, posetrack_json, write_json, write_text

    written = [args.video_out] if args.video_out else []
    if args.json:
        written.append(str(write_json(posetrack_json(results), args.json)))
    if args.coco_json:
        written.append(str(write_json(coco_json(results), args.coco_json)))
    if args.cvat_xml:
        written.append(str(write_text(cvat_xml(results, task_name=Path(args.source).stem), args.cvat_xml)))
    if args.label_studio:
        path = Path(args.label_studio)
        written.append(str(write_json(label_studio_tasks(results, args.image_url), path)))
        written.append(str(write_text(labeling_config(results[0].keypoint_format), path.with_suffix(".config.xml"))))
    rows = review_rows(results, adaptation)
    if args.review:
        written.append(str(write_review_csv(rows, args.review)))
    if args.command == "propagate" or args.review:
        print(review_summary(rows))
    if args.kinematics or args.plot_angles:
        written += _write_kinematics(results, args)
    return written


def _check_kinematics(args: argparse.Namespace) -> None:
    from ..errors import require
    from ..results.table import SUFFIXES

    suffix = Path(args.kinematics).suffix.lower() if args.kinematics else ".csv"
    if suffix not in SUFFIXES:
        raise InputError(f"{args.kinematics}: a kinematics table is .csv or .parquet, not {suffix or 'no suffix'!r}")
    for module in ("pandas", "scipy.signal", *(["matplotlib"] if args.plot_angles else [])):
        require(module, "analytics", "--kinematics and --plot-angles")
    if suffix == ".parquet":
        require("pyarrow", "table", "a Parquet kinematics table")  # the extra that has it
    if args.height_m is not None and not args.height_m > 0:
        raise InputError(f"--height-m is a height in metres (> 0), got {args.height_m}")


def _write_kinematics(results: list, args: argparse.Namespace) -> list[str]:
    """--kinematics and --plot-angles from the run's results."""
    from ..analytics import kinematics, plot_angles

    table = kinematics(results, args.fps, height_m=args.height_m, visible_side=args.visible_side)
    written = []
    if args.kinematics:
        path = Path(args.kinematics)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False) if path.suffix.lower() == ".csv" else table.to_parquet(path, index=False)
        written.append(str(path))
    if args.plot_angles:
        written.append(str(plot_angles(table, args.plot_angles)))
    return written
