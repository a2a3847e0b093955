"""``stdpose-infer batch``: many videos to PoseTrack18 JSON files, serially or on Ray (``--ray``)."""

from __future__ import annotations

import argparse

from ..errors import InputError, Interrupted


def add_command(sub) -> None:
    from ..pipeline import NAMED_FALLBACKS
    from ..runtime.loader import BACKENDS, PRECISIONS

    p = sub.add_parser("batch", help="estimate (or propagate) many videos: OUT/<video>.json each, a summary, reruns "
                       "skip finished videos; --ray runs them on an actor pool")  # fmt: skip
    p.add_argument("videos", nargs="+", help="video files (or folders of frames)")
    p.add_argument("--out", required=True, help="folder for <video stem>.json and summary.json")
    p.add_argument("--propagate", action="store_true", help="propagate labels instead of estimating")
    p.add_argument("--labels-dir", help="--propagate: LABELS_DIR/<video stem>.json or .xml per video (any format "
                   "stdpose-infer propagate reads)")  # fmt: skip
    p.add_argument("--ray", nargs="?", const=True, default=None, metavar="ADDRESS",
                   help="run on Ray: alone, a private local instance (loopback only); with an address (auto, "
                   "ray://HOST:10001), a running cluster")  # fmt: skip
    p.add_argument("--actors", type=int, default=1, help="--ray: Pipelines working at once (one per actor)")
    p.add_argument("--gpus-per-actor", type=float, default=0.0, help="--ray: GPUs each actor reserves (e.g. 1)")
    p.add_argument("--cpus-per-actor", type=int, help="--ray: CPU cores (and torch threads) per actor (default: "
                   "this machine's cores shared among the actors; 1 on a cluster)")  # fmt: skip
    p.add_argument("--weights", help="STDPose .safetensors checkpoint (default: the shipped starter model)")
    p.add_argument("--detector", default=None, help="default for estimation: the shipped NanoDet ('default'); none "
                   "for propagation (see stdpose-infer run --help)")  # fmt: skip
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=PRECISIONS)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--fallback", default="auto", choices=NAMED_FALLBACKS,
                   help="--propagate: see stdpose-infer propagate")
    p.add_argument("--adapt", action="store_true", help="--propagate: adapt the model to each video's labels first "
                   "(see stdpose-infer propagate --adapt)")
    p.add_argument("--adapt-minutes", type=float, default=4.0, help="--adapt: training budget per video")
    p.set_defaults(func=_batch)


def _batch(args: argparse.Namespace) -> None:
    from ..batch import annotate_videos
    from ..batch.annotate import summary_line
    from .interruption import TermAsInterrupt

    if args.propagate != bool(args.labels_dir):
        raise InputError("--propagate and --labels-dir go together (the labels of each video to propagate)")
    if args.adapt and not args.propagate:
        raise InputError("--adapt needs --propagate (adaptation learns from each video's labels)")
    detector = args.detector or ("none" if args.propagate else "default")
    options = dict(weights=args.weights, backend=args.backend, detector=None if detector == "none" else detector,
                   device=args.device, precision=args.precision, batch_size=args.batch_size, fallback=args.fallback,
                   **({"adapt_minutes": args.adapt_minutes} if args.adapt else {}))  # fmt: skip
    try:
        with TermAsInterrupt():
            rows = annotate_videos(args.videos, args.out, args.labels_dir, ray=args.ray, actors=args.actors,
                                   gpus_per_actor=args.gpus_per_actor, cpus_per_actor=args.cpus_per_actor, **options)  # fmt: skip
    except KeyboardInterrupt:  # each finished video was written whole (atomically); the one at hand is redone
        raise Interrupted(f"the videos finished so far are in {args.out}; rerun the same command to go on: finished "
                          "videos are skipped") from None  # fmt: skip
    for row in rows:
        if row["status"] == "failed":
            print(f"failed: {row['video']}: {row['error']}")
    print(summary_line(rows) + f"; summary in {args.out}/summary.json")
    if any(row["status"] == "failed" for row in rows):
        raise InputError(f"{sum(r['status'] == 'failed' for r in rows)} video(s) failed (see above); the others "
                         "were written. Fix them and rerun: finished videos are skipped")  # fmt: skip
