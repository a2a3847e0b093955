"""``train(config)``: fit STDPose on PoseTrack-format data; checkpoints, resume, a loss log and plot.

Outputs in ``config.out``: ``last.safetensors`` (the model, with provenance saying what it was
trained on), ``train_state.pt`` (optimizer, LR schedule, step, RNG: tensors only, read back with
``weights_only=True``), ``losses.json`` (per-epoch means, and ``steps``: [step, mean loss] every
``STEP_LOG`` batches of the main process and at each epoch's end) and ``loss.png``. ``resume=True``
continues from them and gives the same weights as an uninterrupted run (samples depend only on seed, epoch and index).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..errors import CheckpointError, InputError, require
from ..model import build_model
from ..model.config import MODES
from ..model.stdpose import STDPose
from ..runtime.loader import resolve_device
from ..weights import load_vitpose, load_weights, read_checkpoint, save_weights
from ..weights.checked_load import load_checked
from .dataset import TripletDataset
from .distributed import EpochSampler, Run
from .losses import training_loss

log = logging.getLogger(__name__)
STEP_LOG = 10  # losses.json "steps": one running mean of the total loss per this many batches
ABLATIONS = ("tff", "tks", "dam", "mi")


@dataclass
class TrainConfig:
    data: str
    out: str
    variant: str = "t"
    init: str | None = None  # .safetensors (ours) or ViTPose .pth (backbone + head; COCO slots remapped)
    mode: str = "estimate"  # or "propagate"
    aux_heatmaps: str = "labels"  # propagate: "labels" (what inference feeds) or "predicted" (paper-literal)
    label_every: int = 1
    max_gap: int = 3
    annotations: str = "annotations"  # the labels' folder under data (e.g. annotations_pseudo)
    ablate: tuple[str, ...] = ()  # any of tff, tks, dam, mi; "baseline" = single-frame ViTPose
    epochs: int = 10
    batch_size: int = 16
    lr: float = 5e-4
    lr_steps: tuple[int, ...] = ()  # epochs at which the LR is multiplied by lr_gamma
    lr_gamma: float = 0.1
    weight_decay: float = 0.1
    alpha: float = 0.1
    beta: float = 0.01
    augment: bool = True
    window_crops: float = 0.0  # probability of a feature-reuse window crop instead of the scale draw
    aux_jitter: float = 0.0  # estimate: aux frames cropped up to this fraction apart from the key crop
    key_occlusion: float = 0.0  # propagate: probability of rectangles erased from the key frame (target kept)
    photometric: float = 0.0  # probability of a colour/blur change (the same for the three frames)
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    resume: bool = False
    extra: dict = field(default_factory=dict)  # build_model overrides (e.g. depth for tiny experiments)
    freeze: tuple[str, ...] = ()  # parameter-name prefixes kept fixed (e.g. "backbone.", "keypoint_head.")
    freeze_blocks: int = 0  # keep the patch embedding, positions and the first N backbone blocks fixed
    backbone_lr: float | None = None  # the backbone's learning rate (default: lr); lower to fine-tune a pretrained one
    estimate_every: int = 0  # propagate mode: every N-th batch drops the aux heatmaps (trains estimation too)
    steps_per_epoch: int = 0  # stop an epoch after this many batches (0: the whole data set); bounds a run's time
    precision: str = "fp32"  # or "bf16": autocast forward (weights and optimizer stay FP32); fast with AMX/BF16 units


def make_model(config: TrainConfig) -> STDPose:
    unknown = set(config.ablate) - set(ABLATIONS) - {"baseline"}
    if unknown:
        raise InputError(f"unknown ablation(s) {sorted(unknown)}; choose from {ABLATIONS} or 'baseline'")
    switches = {f"use_{m}": False for m in config.ablate if m in ("tff", "tks", "dam")}
    if "baseline" in config.ablate:
        switches = dict(use_tff=False, use_tks=False, use_dam=False, use_stda=False)
    torch.manual_seed(config.seed)
    if config.init and config.init.endswith(".safetensors"):
        return _from_checkpoint(config.init, switches)
    model = build_model(config.variant, **switches, **config.extra)
    if config.init:
        load_vitpose(model, config.init, keypoint_format=model.config.keypoint_format)
    return model


def train(config: TrainConfig, progress: bool = True) -> dict:
    """Train; returns the loss history. See the module docstring for what is written. Under ``torchrun`` each
    process trains on its share of the data (``train.distributed``); rank 0 writes the files."""
    if config.mode not in MODES or config.aux_heatmaps not in ("labels", "predicted"):
        raise InputError("mode must be estimate|propagate and aux_heatmaps labels|predicted")
    if config.precision not in ("fp32", "bf16"):
        raise InputError(f"precision must be fp32 or bf16, got {config.precision!r}")
    out = Path(config.out)
    run = Run.start(resolve_device(config.device))
    try:
        return _train(config, progress and run.main, out, run)
    finally:
        run.stop()


def _train(config: TrainConfig, progress: bool, out: Path, run: Run) -> dict:
    device = run.device
    if run.main:
        out.mkdir(parents=True, exist_ok=True)
    model = make_model(config).to(device).train()
    feed_aux = config.mode == "propagate" and config.aux_heatmaps == "labels"
    if feed_aux and not model.config.uses_aux_heatmaps:
        raise InputError("propagation with label heatmaps needs TKS or DAM; this ablation has neither")
    data = TripletDataset(config.data, config.mode, config.label_every, config.max_gap, config.augment,
                          model.config.keypoint_format, seed=config.seed, annotations=config.annotations,
                          input_wh=model.config.input_wh, heatmap_wh=model.config.heatmap_wh,
                          window_crops=config.window_crops, aux_jitter=config.aux_jitter,
                          key_occlusion=config.key_occlusion, photometric=config.photometric)  # fmt: skip
    optimizer = _optimizer(model, config)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_steps), config.lr_gamma)
    history: dict = {"epoch": [], "loss": [], "mse": [], "mi_features": [], "mi_heatmaps": []}
    start_epoch = 0
    if config.resume:
        start_epoch, history = _resume(model, optimizer, schedule, out, config)
    history.setdefault("steps", [])  # absent from states saved before the per-step log
    use_mi = "mi" not in config.ablate
    frozen = frozen_prefixes(config)
    step_fn = run.wrap(_TrainStep(model, config.alpha, config.beta, use_mi))
    for epoch in range(start_epoch, config.epochs):
        data.set_epoch(epoch)
        model.train()
        for name, module in model.named_modules():  # frozen parts: no BN statistics updates, no drop path
            if frozen and name and (name + ".").startswith(frozen):
                module.eval()
        sampler = EpochSampler(len(data), config.seed, epoch, run.rank, run.world)
        loader = DataLoader(data, batch_size=config.batch_size, sampler=sampler, generator=sampler.generator(),
                            num_workers=config.workers, drop_last=len(sampler) > config.batch_size)  # fmt: skip
        sums: dict[str, float] = {}
        per_epoch = min(len(loader), config.steps_per_epoch or len(loader))
        window: list[float] = []
        batches = _progress(loader, progress, f"epoch {epoch + 1}/{config.epochs}")
        for step, batch in enumerate(batches):
            if config.steps_per_epoch and step >= config.steps_per_epoch:
                break
            frames, target, weight = (batch[k].to(device) for k in ("frames", "target", "weight"))
            estimate_step = config.estimate_every and step % config.estimate_every == 0
            aux = batch["aux"].to(device) if feed_aux and not estimate_step else None
            with _autocast(config.precision, device):
                losses = step_fn(frames, aux, target, weight, run.labeled(weight))
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            values = {k: float(v.detach()) for k, v in losses.items()}
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            window.append(values["loss"])
            if len(window) == STEP_LOG:
                history["steps"].append([epoch * per_epoch + step + 1, sum(window) / STEP_LOG])
                window = []
            if hasattr(batches, "set_postfix"):
                batches.set_postfix(loss=f"{values['loss']:.5f}", refresh=False)  # shown at the next redraw
        if window:  # an epoch's last, shorter window
            history["steps"].append([(epoch + 1) * per_epoch, sum(window) / len(window)])
        schedule.step()
        n = max(per_epoch, 1)
        sums = run.mean(sums)
        history["epoch"].append(epoch + 1)
        for k in ("loss", "mse", "mi_features", "mi_heatmaps"):
            history[k].append(sums[k] / n if k in sums else math.nan)
        if run.main:
            _checkpoint(model, optimizer, schedule, epoch + 1, history, out, config, run.world)
        run.barrier()
    if run.main:
        (out / "losses.json").write_text(json.dumps(history, indent=1))
        if history["epoch"]:
            _plot(history, out / "loss.png", config)
    model.eval()
    return history


class _TrainStep(torch.nn.Module):
    """The model and its loss as one module, so DistributedDataParallel sees every use of the weights."""

    def __init__(self, model: STDPose, alpha: float, beta: float, use_mi: bool) -> None:
        super().__init__()
        self.model, self.alpha, self.beta, self.use_mi = model, alpha, beta, use_mi

    def forward(self, frames, aux, target, weight, labeled=None) -> dict[str, torch.Tensor]:
        parts = self.model.forward_parts(frames, aux)
        return training_loss(parts, self.model.keypoint_head, target, weight, self.alpha, self.beta, self.use_mi,
                             labeled)  # fmt: skip


def _from_checkpoint(path: str, switches: dict) -> STDPose:
    """The checkpoint's network with the ablation ``switches`` applied (none: every module on). Parts the file has
    are loaded; parts it lacks (say, the temporal modules after single-frame training) keep their initialisation."""
    if not switches:
        switches = dict(use_tff=True, use_tks=True, use_dam=True, use_stda=True)
    file_config, provenance, tensors = read_checkpoint(path)
    model = STDPose(dataclasses.replace(file_config, **switches))
    own = model.state_dict()
    prefixes = tuple(sorted({k.split(".")[0] + "." for k in tensors} & {k.split(".")[0] + "." for k in own}))
    load_checked(model, {k: v for k, v in tensors.items() if k.startswith(prefixes)}, path, prefix=prefixes)
    model.provenance = provenance
    return model


def frozen_prefixes(config: TrainConfig) -> tuple[str, ...]:
    """What ``freeze`` and ``freeze_blocks`` keep fixed, as parameter-name prefixes."""
    blocks = tuple(f"backbone.blocks.{i}." for i in range(config.freeze_blocks))
    stem = ("backbone.patch_embed.", "backbone.pos_embed", "backbone.cls_token") if config.freeze_blocks else ()
    return tuple(config.freeze) + stem + blocks


def _optimizer(model: STDPose, config: TrainConfig) -> torch.optim.Optimizer:
    frozen = frozen_prefixes(config)
    groups: dict[bool, list] = {True: [], False: []}
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith(frozen) if frozen else True)
        if p.requires_grad:
            groups[name.startswith("backbone.")].append(p)
    if not groups[True] and not groups[False]:
        raise InputError(f"every parameter is frozen ({frozen}); nothing to train")
    backbone_lr = config.lr if config.backbone_lr is None else config.backbone_lr
    params = [{"params": groups[False], "lr": config.lr}, {"params": groups[True], "lr": backbone_lr}]
    return torch.optim.AdamW([g for g in params if g["params"]], lr=config.lr, weight_decay=config.weight_decay)


def _autocast(precision: str, device: torch.device):
    """BF16 autocast for the forward pass and loss; FP32 master weights, so no loss scaling is needed."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _progress(loader, enabled: bool, desc: str):
    if not enabled:
        return loader
    from ..progress import progress

    return progress(loader, desc=desc, unit="batch", leave=False)


def _checkpoint(model, optimizer, schedule, epoch, history, out: Path, config: TrainConfig, world: int = 1) -> None:
    provenance = {
        "source": f"stdpose-train ({config.mode}, {'from ' + config.init if config.init else 'from scratch'})",
        "training_data": f"{config.data} ({epoch} epochs, labels every {config.label_every} frames)",
        "licence": "as the training data's",
    }
    save_weights(model, out / "last.safetensors", provenance)
    state = {
        "epoch": epoch,
        "optimizer": optimizer.state_dict(),
        "schedule": {k: v for k, v in schedule.state_dict().items() if k != "milestones"},  # a Counter: from config
        "torch_rng": torch.get_rng_state(),
        "history": history,
        "config": json.dumps(dataclasses.asdict(config)),
        "world_size": world,  # processes that trained it (batch_size is per process); resume may use another count
    }
    tmp = out / "train_state.pt.partial"
    torch.save(state, tmp)
    tmp.replace(out / "train_state.pt")


def _resume(model, optimizer, schedule, out: Path, config: TrainConfig) -> tuple[int, dict]:
    path = out / "train_state.pt"
    if not path.is_file() or not (out / "last.safetensors").is_file():
        raise CheckpointError(f"--resume: {out} has no train_state.pt + last.safetensors to continue from")
    state = torch.load(path, weights_only=True)
    saved = json.loads(state["config"])
    for key in (
        "data",
        "variant",
        "mode",
        "aux_heatmaps",
        "label_every",
        "max_gap",
        "annotations",
        "ablate",
        "batch_size",
        "seed",
    ):
        if json.dumps(saved[key]) != json.dumps(dataclasses.asdict(config)[key]):
            raise CheckpointError(f"--resume: {key} was {saved[key]!r}, now {dataclasses.asdict(config)[key]!r}")
    load_weights(model, out / "last.safetensors")
    model.train()
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict({**schedule.state_dict(), **state["schedule"]})
    torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"]), state["history"]


def _plot(history: dict, path: Path, config: TrainConfig) -> None:
    require("matplotlib", "bench", "the loss plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_mi = any(not math.isnan(v) for k in ("mi_features", "mi_heatmaps") for v in history[k])
    fig, ax = plt.subplots(1, 3 if has_mi else 2, figsize=(14 if has_mi else 10, 3.6))
    if history.get("steps"):
        step, loss = zip(*history["steps"])
        ax[0].plot(step, loss, lw=0.8, label=f"total, mean of {STEP_LOG} batches")
    ax[0].set(xlabel="step", yscale="log", title="loss per step")
    ax[1].plot(history["epoch"], history["mse"], "o-", label="heatmap MSE")
    ax[1].plot(history["epoch"], history["loss"], "s--", label="total (MSE + L_MI)")
    ax[1].set(xlabel="epoch", yscale="log", title="epoch means")
    if has_mi:
        for key, label in (("mi_features", "I(y; F~ | F)"), ("mi_heatmaps", "I(y; H~ | H)")):
            ax[2].plot(history["epoch"], history[key], "o-", label=label)
        ax[2].axhline(0, color="grey", lw=0.8)
        ax[2].set(xlabel="epoch", title="MI estimates (MSE units; > 0: context helps)")
    for a in ax:
        a.title.set_fontsize(9)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=8)
        a.grid(alpha=0.3)
    fig.suptitle(f"stdpose-train {config.mode}, {config.variant}, seed {config.seed}, ablate {list(config.ablate)}",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
