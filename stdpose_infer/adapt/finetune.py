"""Fine-tuning on one video's labels within a time budget: estimation and propagation batches in turn.

Estimation samples: key = a labeled frame, aux = its neighbouring video frames, target = its label. Propagation
samples: key = a labeled frame, aux = labeled frames up to ``2 x gap`` away (their labels rendered as heatmaps),
target = its label. Both with the trainer's augmentation (scale, rotation, flip with the left/right swap, half body,
colour and blur; propagation also erases parts of the key frame so that the labels are worth reading).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..errors import InputError
from ..model.stdpose import STDPose
from ..train.dataset import TripletDataset
from ..train.distributed import EpochSampler
from ..train.trainer import _autocast, _TrainStep

# What trains (``AdaptSettings.trains``): parameter-name prefixes kept fixed. The backbone stays frozen by default:
# measured on the held-out real clip (benchmarks/adaptation.py), and it is also the cheapest on a CPU.
TRAINS = {
    "head+temporal": ("backbone.",),
    "temporal": ("backbone.", "keypoint_head."),
    "last-blocks": "last-blocks",  # the backbone's last two blocks and norm train too
    "all": (),
}


@dataclass
class AdaptSettings:
    """How the model is fine-tuned on a video's labels (defaults measured; README, "Adaptation")."""

    trains: str = "head+temporal"
    lr: float = 1e-3
    batch_size: int = 8
    estimate_share: float = 0.5  # the share of estimation batches (the rest: propagation)
    photometric: float = 0.5
    key_occlusion: float = 0.3
    # the trainer's augmentation (scale 0.65-1.35, rotation +-45, flip, half body, colour, key occlusion): off by
    # default, measured: a video's own frames need no invariance to other cameras, and within minutes it slowed the fit
    augment: bool = False
    precision: str = "fp32"  # "bf16" where the CPU has BF16 units (AMX, AVX512-BF16) or on a GPU
    seed: int = 0

    def __post_init__(self) -> None:
        if self.trains not in TRAINS:
            raise InputError(f"trains must be one of {sorted(TRAINS)}, got {self.trains!r}")
        if not 0 <= self.estimate_share <= 1 or self.batch_size < 1 or self.lr <= 0:
            raise InputError("need 0 <= estimate_share <= 1, batch_size >= 1 and lr > 0")
        if self.precision not in ("fp32", "bf16"):
            raise InputError(f"precision must be fp32 or bf16, got {self.precision!r}")


def frozen(model: STDPose, trains: str) -> tuple[str, ...]:
    """Parameter-name prefixes that ``trains`` keeps fixed."""
    if TRAINS[trains] != "last-blocks":
        return TRAINS[trains]
    depth = len(model.backbone.blocks)
    return ("backbone.patch_embed.", "backbone.pos_embed", "backbone.cls_token",
            *(f"backbone.blocks.{i}." for i in range(depth - 2)))  # fmt: skip


def _batches(data: TripletDataset, settings: AdaptSettings) -> Iterator[dict]:
    for epoch in itertools.count():
        data.set_epoch(epoch)
        sampler = EpochSampler(len(data), settings.seed, epoch)
        yield from DataLoader(data, batch_size=settings.batch_size, sampler=sampler)


def datasets(folder: Path, annotations: str, gap: int, model: STDPose, settings: AdaptSettings) -> dict:
    """{"estimate": ..., "propagate": ...} sample sets of a label folder (a mode without samples is left out)."""
    out = {}
    common = dict(augment=settings.augment, keypoint_format=model.config.keypoint_format, seed=settings.seed,
                  annotations=annotations, input_wh=model.config.input_wh, heatmap_wh=model.config.heatmap_wh,
                  photometric=settings.photometric)  # fmt: skip
    propagate = {"key_occlusion": settings.key_occlusion, "carried_aux": model.config.label_prior}
    for mode, max_gap, extra in (("estimate", 1, {}), ("propagate", 2 * gap, propagate)):
        try:
            out[mode] = TripletDataset(folder, mode, max_gap=max_gap, **common, **extra)
        except InputError:  # e.g. no two labels within 2 x gap: no propagation samples
            continue
    return out


def finetune(
    model: STDPose,
    folder: Path,
    annotations: str,
    gap: int,
    seconds: float,
    settings: AdaptSettings,
    steps: int | None = None,
    progress: bool = True,
    desc: str = "adapt",
    after_step=None,
) -> dict:
    """Train ``model`` in place on the labels in ``folder/ANNOTATIONS`` for ``seconds`` (or exactly ``steps``
    batches); returns {"steps", "seconds", "losses"}."""
    sets = datasets(folder, annotations, gap, model, settings)
    if not sets:
        raise InputError(f"{folder}/{annotations}: no training samples (no labeled person with two joints)")
    streams = {mode: _batches(data, settings) for mode, data in sets.items()}
    fixed = frozen(model, settings.trains)
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith(fixed) if fixed else True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.01)
    device = next(model.parameters()).device
    step_fn = _TrainStep(model, 0.1, 0.01, True)
    model.train()
    for name, module in model.named_modules():  # few samples: keep BN statistics; frozen parts: no drop path
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) or (fixed and name and (name + ".").startswith(fixed)):
            module.eval()
    bar = _bar(progress, seconds, steps, desc)
    start, losses, done, estimated = time.perf_counter(), [], 0, 0
    while (done < steps) if steps is not None else (time.perf_counter() - start < seconds):
        estimate = "propagate" not in sets or ("estimate" in sets and estimated < settings.estimate_share * (done + 1))
        mode = "estimate" if estimate else "propagate"
        estimated += estimate
        batch = next(streams[mode])
        frames, target, weight = (batch[k].to(device) for k in ("frames", "target", "weight"))
        aux = batch["aux"].to(device) if mode == "propagate" else None
        with _autocast(settings.precision, device):
            loss = step_fn(frames, aux, target, weight)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        done += 1
        if after_step is not None:
            after_step(done)
        if bar is not None:
            bar.update(1 if steps is not None else min(time.perf_counter() - start, bar.total) - bar.n)
            bar.set_postfix(step=done, loss=f"{losses[-1]:.5f}", refresh=False)  # shown at the next redraw
    if bar is not None:
        bar.close()
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return {"steps": done, "seconds": time.perf_counter() - start, "losses": losses}


def _bar(progress: bool, seconds: float, steps: int | None, desc: str):
    if not progress:
        return None
    from ..progress import progress

    if steps is not None:
        return progress(total=steps, desc=desc, unit="step", leave=False)
    return progress(total=round(seconds, 1), desc=desc, unit="s", leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s, {remaining} left{postfix}")  # fmt: skip
