"""``stdpose-eval``: PoseTrack mAP of prediction files against ground truth, as poseval computes it.

stdpose-eval --gt posetrack/annotations/val --pred my_predictions/ --json map.json
stdpose-eval --weights run/last.safetensors --data synth_test --mode propagate --label-every 7 --json map.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..model.config import MODES
from . import run_command


def main(argv: Sequence[str] | None = None) -> int:
    from ..pipeline import NAMED_FALLBACKS
    from ..runtime.loader import BACKENDS, PRECISIONS

    parser = argparse.ArgumentParser(prog="stdpose-eval", description=__doc__.split("\n")[0])
    parser.add_argument("--gt", help="folder of ground-truth PoseTrack18/21 JSON files, one per video")
    parser.add_argument("--pred", help="folder of prediction files with the same names")
    parser.add_argument("--json", help="write per-joint and per-group APs and Total here")
    parser.add_argument("--jitter", action="store_true", help="also report jitter: the mean norm of each joint's "
                        "second difference over frames (px), the ground truth's, and the error against it")
    run = parser.add_argument_group("or predict first: a checkpoint over a PoseTrack-format data folder")
    run.add_argument("--weights", help="an STDPose .safetensors checkpoint, or a server triton://HOST:PORT/stdpose")
    run.add_argument("--data", help="folder with annotations/*.json and the frames they name")
    run.add_argument("--mode", default="estimate", choices=MODES)
    run.add_argument("--label-every", type=int, default=7, help="propagate: labels given on every T-th frame")
    run.add_argument("--annotations", default="annotations", help="the folder under --data holding one PoseTrack "
                     "file per video (e.g. annotations/val)")
    run.add_argument("--boxes", default="labels", help="'labels' (ground-truth boxes), 'default' (what Pipeline() "
                     "runs: the shipped detector and its settings; detector recall is reported beside mAP) or a "
                     "detector spec: hog, nanodet:PATH, movenet:PATH, yolo:PATH")
    run.add_argument("--out", help="where the prediction files go (default: DATA/predictions_MODE)")
    run.add_argument("--batch-size", type=int, default=32)
    run.add_argument("--backend", default="auto", choices=BACKENDS)
    run.add_argument("--precision", default="auto", choices=PRECISIONS)
    run.add_argument("--fallback", default="joint", choices=NAMED_FALLBACKS, help="propagate: where the labels' "
                     "interpolation replaces the model (see Pipeline)")
    run.add_argument("--smooth", action="store_true", help="estimate: One-Euro smoothing along tracks")
    run.add_argument("--flip-test", action="store_true", help="average each crop's heatmaps with its mirror's")
    run.add_argument("--reuse-features", action=argparse.BooleanOptionalAction, default="auto", help="cross-frame "
                     "feature reuse (each crop's backbone pass shared by the triplets that read it); default: as "
                     "Pipeline(), on wherever the backend can")
    args = parser.parse_args(argv)
    if bool(args.weights) == bool(args.pred) or (args.pred and not args.gt) or (args.weights and not args.data):
        parser.error("give --gt and --pred, or --weights and --data")
    return run_command("stdpose-eval", _evaluate, args)


def _evaluate(args: argparse.Namespace) -> None:
    from ..evaluation import detector_recall, evaluate, jitter, score_dataset, write_json

    if args.weights:
        out = args.out or f"{args.data}/predictions_{args.mode}"
        result = score_dataset(args.weights, args.data, out, args.mode, args.label_every, boxes=args.boxes,
                               annotations=args.annotations,
                               batch_size=args.batch_size, backend=args.backend, precision=args.precision,
                               fallback=args.fallback, smooth=args.smooth, flip_test=args.flip_test,
                               reuse_features=args.reuse_features)  # fmt: skip
        scored = "propagated frames only" if args.mode == "propagate" else "every labeled frame"
        print(f"{args.mode} on {args.data} ({scored}); predictions in {out}")
        gt, pred = f"{args.data}/{args.annotations}", out
        if args.boxes != "labels":
            found, total = detector_recall(args.data, out, args.annotations)
            print(f"detector recall: {found}/{total} ground-truth people found (box IoU >= 0.5, one to one)")
    else:
        result = evaluate(args.gt, args.pred)
        gt, pred = args.gt, args.pred
    print(result.table())
    if args.jitter:
        shake = jitter(pred, gt)
        print(f"jitter {shake['jitter_px']:.2f} px (ground truth {shake['gt_jitter_px']:.2f} px); error of the "
              f"second differences against the ground truth {shake['error_vs_gt_px']:.2f} px "
              f"({shake['matched']} joint-triples matched)")
    if args.json:
        write_json(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
