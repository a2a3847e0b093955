"""``adapt``: fine-tune a model on one video's own labels, and let held-out labels decide where it is trusted.

1. Read the labels and only the frames training reads (each labeled frame and its two neighbours).
2. Hold out every third labeled frame inside the labels; fine-tune a copy on the rest (the fold).
3. Propagate each held-out frame from its labeled neighbours with the base model, the fold and interpolation;
   score all three against the held-out labels. A fold worse than the base model is discarded (said in the
   report); per joint slot, the held-out errors give the model's and interpolation's expected squared errors, the
   weights of the "blend" fallback (``heldout.blend_terms``).
4. Go on training the fold on every label (the final model); the fallback is "blend" with those weights.
"""

from __future__ import annotations

import copy
import hashlib
import json
import statistics
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..keypoints import get_format
from ..model.stdpose import STDPose
from ..pipeline.fallback import Fallback, model_share
from .finetune import AdaptSettings, finetune
from .folder import read_labeled_video, write_label_folder
from .heldout import (
    SPAN_EXPONENT,
    blend_terms,
    blended_errors,
    decided_errors,
    TrackingErrors,
    interpolation_errors,
    model_errors,
    interpolation_rate,
    model_from,
    split_labels,
)

FOLD_SHARE = 2 / 3  # of the time budget: the fold; the rest continues it on every label


class NothingToAdapt(InputError):
    """The labels cannot teach the model anything (too few, or a zero budget): propagate without adapting."""


@dataclass
class AdaptReport:
    """What an adaptation did and how it scored on the video's held-out labels (PCK at 0.1 of the person's size)."""

    base: str
    labels_sha256: str
    labeled_frames: int
    labeled_poses: int
    heldout_frames: int
    label_gap: int
    steps: int
    seconds: float
    settings: dict
    # interpolation, base model, adapted model, blend, decided (what propagates: the blend or the model alone),
    # threshold rule (the earlier "decided")
    heldout_pck: dict[str, float] = field(default_factory=dict)
    heldout_error: dict[str, float] = field(default_factory=dict)  # the same, mean error in person sizes
    model_from: list[float | None] = field(default_factory=list)  # threshold rule, per slot: span from which it is used
    model_joints: list[str] = field(default_factory=list)  # slots whose model point weighs over half mid-gap
    slot_model_error: list[float | None] = field(default_factory=list)  # per slot, held-out mean (person sizes)
    slot_interpolation_rate: list[float | None] = field(default_factory=list)  # per slot: the carry, error / span ** e
    slot_model_mse: list[float | None] = field(default_factory=list)  # the blend's weights (heldout.blend_terms)
    slot_interpolation_mse_rate: list[float | None] = field(default_factory=list)
    mid_gap_share: float | None = None  # the model's mean weight mid-gap, over the labeled joint slots
    carry: str = "interpolation"  # what carries the labels between them in the blend: "interpolation" or "tracking"
    kept: bool = True  # False: the adaptation made the held-out labels worse and was discarded
    # "blend", or "none": a label_prior model (it reads the carried labels itself), or another model where it
    # carried the held-out labels at least as well as the blend
    fallback: str = "blend"
    # the held-out errors themselves ("interpolation", "model": the model chosen), for study; not saved with weights
    heldout: dict = field(default_factory=dict, compare=False, repr=False)

    def expected_error(self, slot: int, span: int) -> float | None:
        """The held-out estimate of the error (person sizes) of slot ``slot`` at a frame of span (t - before) x
        (after - t), from what the fallback uses there; None where the held-out labels say nothing."""
        if self.fallback == "none" and self.slot_model_error:  # the model alone
            error = self.slot_model_error[slot]
            return None if error is None else float(error)
        if self.slot_model_mse:  # the blend of two independent estimates: m x i / (m + i) = the model's share x m
            m, rate = self.slot_model_mse[slot], self.slot_interpolation_mse_rate[slot]
            if m is None or rate is None:
                return None
            return float(np.sqrt(model_share(np.float64(m), np.float64(rate), span) * m))
        if not self.model_from:
            return None
        threshold = self.model_from[slot]
        use_model = threshold is not None and span >= threshold
        rate = self.slot_model_error[slot] if use_model else self.slot_interpolation_rate[slot]
        return None if rate is None else (rate if use_model else rate * max(span, 1) ** SPAN_EXPONENT)

    def summary(self) -> str:
        """One line for the console."""
        pck = self.heldout_pck
        if not pck:
            return (f"adapted on {self.labeled_poses} poses of {self.labeled_frames} labeled frames "
                    f"({self.steps} steps, {self.seconds:.0f} s); too few labels to hold any out: fallback 'joint'")  # fmt: skip
        head = (f"adapted on {self.labeled_poses} poses of {self.labeled_frames} labeled frames ({self.steps} steps, "
                f"{self.seconds:.0f} s)") if self.kept else (
                f"adaptation discarded: the held-out labels' mean error rose from {self.heldout_error['base model']:.3f} "
                f"to {self.heldout_error['adapted model']:.3f} person sizes; the base model propagates")  # fmt: skip
        model = pck["adapted model"] if self.kept else pck["base model"]
        if self.mid_gap_share is None:  # an adapted checkpoint from before the blend: the threshold rule
            use = (f"the model is used for {len(self.model_joints)} joint types "
                   f"({', '.join(self.model_joints) or 'none'})")  # fmt: skip
        else:
            use = (f"mid-gap the model's point weighs {self.mid_gap_share:.2f} on average against interpolation "
                   f"(over half for {', '.join(self.model_joints) or 'no joint type'})")  # fmt: skip
        use = use.replace("against interpolation", "against point tracking") if self.carry == "tracking" else use
        if self.fallback == "none":
            use = "the model alone propagates (it reads the carried labels itself, or beat its blend with them)"
        tracking = f"point tracking {pck['point tracking']:.2f}, " if "point tracking" in pck else ""
        return (f"{head}; between labels {self.label_gap} frames apart {use}; held-out PCK: model {model:.2f}, "
                f"interpolation {pck['interpolation']:.2f}, {tracking}decided {pck['decided']:.2f} "
                f"({self.heldout_frames} held-out frames)")  # fmt: skip

    def provenance(self) -> dict:
        """What a saved adapted checkpoint records about how it was made."""
        record = {k: v for k, v in asdict(self).items() if k != "heldout"}
        return {"adaptation": json.dumps(record, sort_keys=True)}

    @classmethod
    def from_provenance(cls, provenance: dict) -> AdaptReport | None:
        """The report an adapted checkpoint's provenance holds (None for other checkpoints)."""
        record = provenance.get("adaptation")
        return cls(**json.loads(record)) if record else None


@dataclass
class Adaptation:
    """The adapted model, the fallback the held-out labels decided, and the report."""

    model: STDPose
    fallback: Fallback
    report: AdaptReport


def adapt_saying(pipe, source, labels, minutes: float, progress: bool = True):
    """``pipe.adapt(...)`` and what it warned, as lines (the reason where it could not adapt): the command line
    prints them, a batch job records them in its summary row."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new = pipe.adapt(source, labels, minutes, progress=progress)
    return new, [str(w.message) for w in caught]


def labels_hash(labels) -> str:
    """sha256 of a label file (or of the parsed labels' JSON)."""
    if isinstance(labels, (str, Path)) and Path(labels).is_file():
        return hashlib.sha256(Path(labels).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(labels, sort_keys=True, default=str).encode()).hexdigest()


def _listed(values: np.ndarray, digits: int | None = None) -> list[float | None]:
    """JSON-ready: None for inf/NaN; 5 decimals, or ``digits`` significant digits (for small squared errors)."""
    return [None if not np.isfinite(v) else float(f"{v:.{digits}g}") if digits else round(float(v), 5) for v in values]


def _heatmap_fn(model: STDPose):
    device = next(model.parameters()).device

    @torch.inference_mode()
    def run(crops: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        return model(crops.to(device), None if aux is None else aux.to(device))

    return run


def adapt(
    model: STDPose,
    source,
    labels,
    minutes: float = 4.0,
    settings: AdaptSettings | None = None,
    steps: int | None = None,
    work_dir: str | Path | None = None,
    progress: bool = True,
) -> Adaptation:
    """Fine-tune a copy of ``model`` on the labels of ``source`` for ``minutes`` (or ``steps`` batches in all, for
    tests); see the module docstring. Raises ``NothingToAdapt`` where the labels cannot teach anything."""
    settings = settings or AdaptSettings()
    if steps is None and minutes <= 0:
        raise NothingToAdapt(f"an adaptation budget of {minutes} minutes trains nothing; give --adapt-minutes > 0")
    fmt = get_format(model.config.keypoint_format)
    tracking: list[TrackingErrors] = []  # the held-out labels' point tracks, made in the same pass over the video

    def watch(table: dict) -> Callable[[int, np.ndarray], None]:
        tracking.append(TrackingErrors(*split_labels(table)))
        return tracking[0].add

    count, frames, table = read_labeled_video(source, labels, fmt, neighbours=1, watch=watch)
    if len(table) < 2:
        raise NothingToAdapt(f"{len(table)} labeled frame(s): adaptation needs at least 2 (label every T-th frame)")
    tracks = [tid for lab in table.values() for tid in lab.track_ids.tolist()]
    if max(tracks.count(t) for t in set(tracks)) < 2:
        raise NothingToAdapt("no person is labeled on two frames (the same track id, or overlapping boxes): "
                             "nothing to propagate between; label each person on every T-th frame")  # fmt: skip
    gap = int(statistics.median(np.diff(sorted(table))))
    kept, held = split_labels(table)
    base = copy.deepcopy(model).float().eval()
    tuned = copy.deepcopy(base)
    report = AdaptReport(
        base=str(model.provenance.get("source", "unknown")), labels_sha256=labels_hash(labels),
        labeled_frames=len(table), labeled_poses=len(tracks), heldout_frames=len(held), label_gap=gap, steps=0,
        seconds=0.0, settings=asdict(settings),
    )  # fmt: skip
    seconds = minutes * 60
    with tempfile.TemporaryDirectory(prefix="stdpose-adapt-") as tmp:
        root = Path(work_dir) if work_dir else Path(tmp)
        write_label_folder(root, "video", frames, count, {"annotations": table, "annotations_fold": kept}, fmt)
        if not held:  # too few labels to hold any out: train on all, no decision
            done = finetune(tuned, root, "annotations", gap, seconds, settings, steps, progress)
            report.steps, report.seconds = done["steps"], done["seconds"]
            return Adaptation(tuned, Fallback.for_model("none" if model.config.label_prior else "track"), report)
        fold_steps = None if steps is None else max(1, round(steps * FOLD_SHARE))
        done = finetune(tuned, root, "annotations_fold", gap, seconds * FOLD_SHARE, settings, fold_steps, progress,
                        "adapt (held-out fold)")  # fmt: skip
        c = model.config
        interp, tracked = interpolation_errors(kept, held), tracking[0].errors()
        scored = {name: model_errors(_heatmap_fn(m), frames, kept, held, c.input_wh, c.heatmap_wh, c.label_prior)
                  for name, m in (("base model", base), ("adapted model", tuned))}  # fmt: skip
        report.heldout_error = {"interpolation": interp.mean(), "point tracking": tracked.mean(),
                                **{k: v.mean() for k, v in scored.items()}}  # fmt: skip
        report.kept = report.heldout_error["adapted model"] <= report.heldout_error["base model"]
        chosen = scored["adapted model" if report.kept else "base model"]
        # the labels' side of the blend: whichever carried the held-out labels better on this video
        report.carry = "tracking" if tracked.mean() < interp.mean() else "interpolation"
        carried = tracked if report.carry == "tracking" else interp
        threshold = np.where(fmt.valid_mask, model_from(chosen, carried, fmt.num_keypoints), np.inf)
        model_mse, rate = blend_terms(chosen, carried, fmt.num_keypoints)
        report.heldout = {"interpolation": interp, "point tracking": tracked, "model": chosen}
        decided = blended_errors(chosen, carried, model_mse, rate)
        rule = decided_errors(chosen, carried, threshold)
        report.heldout_pck = {"interpolation": interp.pck(), "point tracking": tracked.pck(),
                              **{k: v.pck() for k, v in scored.items()},
                              "decided": decided.pck(), "threshold rule": rule.pck()}  # fmt: skip
        # a label_prior model weighs the carried labels against the pixels itself: on the 8 of 11 measured rows
        # where the held-out labels chose the blend, it lost to the model alone on 7, by up to 11.5 mAP
        # (benchmarks/results/2026-12-06_adaptation_v3.md)
        label_prior = model.config.label_prior
        report.fallback = "blend" if not label_prior and decided.mean() < chosen.mean() else "none"
        used = decided if report.fallback == "blend" else chosen  # "decided": what propagation will use
        report.heldout_pck.update({"blend": decided.pck(), "decided": used.pck()})
        report.heldout_error.update({"blend": decided.mean(), "decided": used.mean(), "threshold rule": rule.mean()})
        report.model_from = [None if np.isinf(v) else round(float(v), 2) for v in threshold]
        report.slot_model_error = _listed(chosen.per_slot(fmt.num_keypoints)[0])
        report.slot_interpolation_rate = _listed(interpolation_rate(carried, fmt.num_keypoints))
        report.slot_model_mse, report.slot_interpolation_mse_rate = _listed(model_mse, 4), _listed(rate, 4)
        mid = model_share(model_mse, rate, (gap // 2) * (gap - gap // 2))  # at the middle of a gap
        report.mid_gap_share = round(float(mid[fmt.valid_mask].mean()), 3)
        report.model_joints = [fmt.keypoints[j] for j in np.flatnonzero(fmt.valid_mask & (mid > 0.5))]
        total = done["steps"], done["seconds"]
        if report.kept:
            rest = None if steps is None else max(1, steps - fold_steps)
            more = finetune(tuned, root, "annotations", gap, seconds * (1 - FOLD_SHARE), settings, rest, progress,
                            "adapt (every label)")  # fmt: skip
            total = total[0] + more["steps"], total[1] + more["seconds"]
        report.steps, report.seconds = total
    final = tuned if report.kept else base
    final.provenance = {**model.provenance, **report.provenance(),
                        "source": f"{report.base}, adapted to one video's labels"}  # fmt: skip
    return Adaptation(final, Fallback.for_model("auto", final), report)  # the blend, as the saved weights give it

