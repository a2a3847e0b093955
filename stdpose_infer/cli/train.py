"""``stdpose-train``: make a synthetic sparse-label benchmark, train or fine-tune STDPose, write pseudo-labels.

stdpose-train synth data/synth --videos 16 --frames 32 --size 384x288 --people 3 --seed 0
stdpose-train fit --data data/synth --out runs/est --variant t --epochs 20
stdpose-train fit --data data/synth --out runs/prop --mode propagate --max-gap 6 --init vitpose_b.pth --variant b
stdpose-train fit --labels a.xml --video a.mp4 --labels b.json --video b.mp4 --out runs/mine --init starter.safetensors
torchrun --nproc-per-node 2 --no-python stdpose-train fit --data data/synth --out runs/ddp --batch-size 8  # per process
stdpose-train pseudo-labels --weights runs/prop/last.safetensors --data data/synth --label-every 7
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import InputError
from ..model.config import MODES, VARIANTS
from . import resolution, run_command


def _synth(args: argparse.Namespace) -> None:
    from ..data import write_benchmark

    w, h = args.size
    paths = write_benchmark(args.root, videos=args.videos, seed=args.seed, width=w, height=h, frames=args.frames,
                            people=args.people, occluders=args.occluders)  # fmt: skip
    print(f"wrote {len(paths)} videos to {args.root} (annotations/*.json, images/*/)")


def _fit(args: argparse.Namespace) -> None:
    from ..train import TrainConfig, train

    data = args.data or _label_folder(args)
    config = TrainConfig(
        data=str(data), out=args.out, variant=args.variant, init=args.init, mode=args.mode,
        aux_heatmaps=args.aux_heatmaps, label_every=args.label_every, max_gap=args.max_gap,
        annotations=args.annotations, ablate=tuple(args.ablate), epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, lr_steps=tuple(args.lr_steps), weight_decay=args.weight_decay, alpha=args.alpha, beta=args.beta,
        augment=not args.no_augment, window_crops=args.window_crops, aux_jitter=args.aux_jitter,
        key_occlusion=args.key_occlusion, photometric=args.photometric, seed=args.seed, device=args.device, workers=args.workers,
        resume=args.resume,
        freeze=tuple(args.freeze), freeze_blocks=args.freeze_blocks, backbone_lr=args.backbone_lr,
        estimate_every=args.estimate_every, steps_per_epoch=args.steps_per_epoch, precision=args.precision,
    )  # fmt: skip
    history = train(config)
    if os.environ.get("RANK", "0") != "0":  # under torchrun: rank 0 reports (and wrote the files)
        return
    print(f"epoch {history['epoch'][-1]}: loss {history['loss'][-1]:.6f}, mse {history['mse'][-1]:.6f}; "
          f"wrote {args.out}/last.safetensors, losses.json, loss.png")  # fmt: skip


def _label_folder(args: argparse.Namespace):
    """--labels FILE --video VIDEO pairs -> a PoseTrack-layout folder in the run folder (the frames they label)."""
    from pathlib import Path

    from ..adapt import folder_from_label_files
    from ..keypoints import get_format
    from ..model.config import STDPoseConfig
    from ..weights import read_checkpoint

    labels, videos = args.labels or [], args.video or []
    if not labels or len(labels) != len(videos):
        raise InputError("give --data FOLDER, or --labels FILE --video VIDEO pairs (as many --labels as --video)")
    if args.init and args.init.endswith(".safetensors"):
        fmt = read_checkpoint(args.init)[0].keypoint_format
    else:
        fmt = STDPoseConfig.for_variant(args.variant).keypoint_format
    root = Path(args.out) / "data"
    print(f"reading {len(labels)} labelled video(s) into {root} (labelled frames and their neighbours)")
    return folder_from_label_files(list(zip(labels, videos)), root, get_format(fmt), max(args.max_gap, 1))


def _pseudo(args: argparse.Namespace) -> None:
    from ..train.pseudo_labels import write_pseudo_labels

    paths = write_pseudo_labels(args.weights, args.data, args.label_every, args.out, args.batch_size)
    print(f"wrote {len(paths)} pseudo-label files to {args.data}/{args.out}; train on them with "
          f"`stdpose-train fit --data {args.data} --annotations {args.out}`")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stdpose-train", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="render a synthetic PoseTrack18-format benchmark")
    p.add_argument("root")
    p.add_argument("--videos", type=int, default=8)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--size", type=resolution, default=(384, 288), help="WxH")
    p.add_argument("--people", type=int, default=3)
    p.add_argument("--occluders", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_synth)

    p = sub.add_parser("fit", help="train or fine-tune on PoseTrack18-format data")
    p.add_argument("--data", help="folder with annotations/*.json and the frames they name")
    p.add_argument("--labels", action="append", help="instead of --data: a label file (CVAT XML, COCO, PoseTrack, "
                   "Label Studio) of the --video given after it; repeat the pair for more videos")
    p.add_argument("--video", action="append", help="the video (or image folder) the --labels before it label")
    p.add_argument("--out", required=True, help="run folder (checkpoints, losses, plot)")
    p.add_argument("--variant", default="t", choices=VARIANTS)
    p.add_argument(
        "--init",
        help="start from a .safetensors checkpoint (the parts it has; the rest as --ablate "
        "builds it, all modules on by default) or an official ViTPose .pth",
    )
    p.add_argument("--mode", default="estimate", choices=MODES)
    p.add_argument(
        "--aux-heatmaps",
        default="labels",
        choices=["labels", "predicted"],
        help="propagate: aux heatmaps rendered from labels (as inference) or predicted (paper-literal)",
    )
    p.add_argument("--label-every", type=int, default=1, help="use labels of every T-th frame only")
    p.add_argument("--max-gap", type=int, default=3, help="aux frames 1..N frames from the key frame (T-1)")
    p.add_argument("--annotations", default="annotations", help="labels folder under --data")
    p.add_argument("--ablate", nargs="*", default=[], choices=["tff", "tks", "dam", "mi", "baseline"])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lr-steps", type=int, nargs="*", default=[], help="epochs where the LR drops x0.1")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--alpha", type=float, default=0.1, help="MI weight on fused features")
    p.add_argument("--beta", type=float, default=0.01, help="MI weight on merged heatmaps")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--window-crops", type=float, default=0.0, help="probability of a window crop (as "
                   "WindowBoxes feature reuse makes) instead of the scale augmentation")
    p.add_argument("--aux-jitter", type=float, default=0.0, help="estimate: crop each aux frame up to this "
                   "fraction of the crop apart from the key frame's (as NeighbourCrops feature reuse may)")
    p.add_argument("--key-occlusion", type=float, default=0.0, help="propagate: probability of erasing rectangles "
                   "of the key frame (its target kept), so that the model learns to read the labels")
    p.add_argument("--photometric", type=float, default=0.0, help="probability of a colour/blur change of a "
                   "sample (brightness, contrast, saturation x0.6-1.4, grey, blur), the same for its three frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument(
        "--freeze", nargs="*", default=[], help="parameter-name prefixes to keep fixed, e.g. backbone. keypoint_head."
    )
    p.add_argument(
        "--freeze-blocks", type=int, default=0, help="keep the patch embedding and the first N backbone blocks fixed"
    )
    p.add_argument("--backbone-lr", type=float, help="learning rate of the backbone (default: --lr)")
    p.add_argument("--steps-per-epoch", type=int, default=0, help="end each epoch after N batches (0: all)")
    p.add_argument(
        "--estimate-every",
        type=int,
        default=0,
        help="propagate mode: every N-th batch without the aux heatmaps, so one model learns both tasks",
    )
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast forward, FP32 "
                   "weights; faster on CPUs with AMX or AVX512-BF16 units (`lscpu`), slower where emulated")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=_fit)

    p = sub.add_parser("pseudo-labels", help="propagate sparse labels to every frame (semi-supervised training)")
    p.add_argument("--weights", required=True, help="a propagation-trained .safetensors")
    p.add_argument("--data", required=True)
    p.add_argument("--label-every", type=int, required=True, help="T: the labels kept as given")
    p.add_argument("--out", default="annotations_pseudo", help="folder under --data for the pseudo-label JSON")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(func=_pseudo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("stdpose-train", args.func, args)


if __name__ == "__main__":
    sys.exit(main())
