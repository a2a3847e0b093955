"""A temporal half that reads its labels (issue 37): the shipped starter rebased on the labels carried to the key
frame (``STDPoseConfig.label_prior``: final = carried labels + STDA's correction), STDA's last layer zeroed so it
starts equal to the carried labels, then its temporal modules (TFF, TKS, DAM, STDA) trained to correct them from the
pixels; backbone and head frozen.

    python benchmarks/adaptation.py data --work W --data DATA              # the clips (pose2sim views: teacher labels)
    python benchmarks/experiments/label_prior.py --work W --minutes 12 --out W/label_prior.safetensors
    python benchmarks/propagation_sources.py --work W --weights W/label_prior.safetensors --clips ... --out OUT

Training data: the four pose2sim views (100 frames each, the MoveNet teacher on every frame; the starter's stage A
trained on them too) and four synthetic videos of a seed no benchmark scores (900). Never the held-out sports2d
frames 120-229, nor the synthetic test set (seed 200). Aux labels 1-14 frames away on each side, interpolated to the
key frame (the pipeline carries them by point tracking where it can).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch
from torch.utils.data import ConcatDataset, DataLoader

from stdpose_infer.data import SyntheticConfig, write_clip
from stdpose_infer.defaults import default_weights
from stdpose_infer.model.stdpose import STDPose, label_prior_heatmaps
from stdpose_infer.train.dataset import TripletDataset
from stdpose_infer.weights import load_model, save_weights


def datasets(work: Path, config, mode: str = "propagate") -> ConcatDataset:
    roots = [work / "clips" / f"pose2sim_cam0{i}" for i in range(1, 5)]
    for i in range(4):
        name = f"lp_train_{i:06d}"
        root = work / "label_prior_synthetic" / name
        if not (root / "annotations" / f"{name}.json").is_file():
            write_clip(SyntheticConfig(seed=900 * 1000 + i, frames=29, width=384, height=288, people=3), root, name,
                       i + 1)  # fmt: skip
        roots.append(root)
    options = dict(max_gap=14, carried_aux=True) if mode == "propagate" else dict(max_gap=1)
    return ConcatDataset([TripletDataset(r, mode=mode, augment=True, seed=k, input_wh=config.input_wh,
                                         heatmap_wh=config.heatmap_wh, **options)
                          for k, r in enumerate(roots)])  # fmt: skip


@torch.no_grad()
def cache(data, model: STDPose, draws: int) -> dict[str, torch.Tensor]:
    """Per sample (``draws`` augmented draws of each): the frozen half's features (3 frames) and key heatmaps, the
    aux heatmaps, target and weight; FP16 to fit in memory."""
    out: dict[str, list] = {"feats": [], "key": [], "aux": [], "target": [], "weight": []}
    start = time.perf_counter()
    for draw in range(draws):
        for d in data.datasets:
            d.set_epoch(draw)
        for batch in DataLoader(data, batch_size=16, shuffle=False, num_workers=0):
            b = batch["frames"].shape[0]
            feats, heatmaps = model.frame_features(batch["frames"].flatten(0, 1))
            out["feats"].append(feats.unflatten(0, (b, 3)).half())
            heatmaps = heatmaps.unflatten(0, (b, 3))
            out["key"].append(heatmaps[:, 1].half())
            # propagation: the carried labels; estimation: the neighbours' own heatmaps
            out["aux"].append((batch["aux"] if "aux" in batch else heatmaps[:, [0, 2]]).half())
            out["target"].append(batch["target"].half())
            out["weight"].append(batch["weight"])
    print(f"cached {sum(len(x) for x in out['weight'])} samples in {time.perf_counter() - start:.0f} s", flush=True)
    return {k: torch.cat(v) for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=12.0)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--draws", type=int, default=1, help="augmented draws of each sample, cached")
    p.add_argument("--estimate-share", type=float, default=0.0, help="share of estimation batches (0: propagation only)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    base = load_model(default_weights())
    model = STDPose(dataclasses.replace(base.config, label_prior=True))
    model.load_state_dict(base.state_dict())
    torch.nn.init.zeros_(model.stda.head.final_layer.weight)  # starts equal to the carried labels
    torch.nn.init.zeros_(model.stda.head.final_layer.bias)
    for part in (model.backbone, model.keypoint_head):
        part.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=1e-4)
    model.eval()
    cached = {"propagate": cache(datasets(args.work, model.config), model, args.draws)}  # the frozen half, once
    if args.estimate_share > 0:  # estimation samples keep estimate mode's temporal correction
        cached["estimate"] = cache(datasets(args.work, model.config, "estimate"), model, args.draws)
    model.train()
    model.backbone.eval()
    model.keypoint_head.eval()
    start, step, losses = time.perf_counter(), 0, []
    generator = torch.Generator().manual_seed(0)
    while time.perf_counter() - start < args.minutes * 60:
        for idx in torch.randperm(len(cached["propagate"]["target"]), generator=generator).split(args.batch_size):
            mode = "estimate" if "estimate" in cached and torch.rand(1, generator=generator) < args.estimate_share \
                else "propagate"  # fmt: skip
            data = cached[mode]
            idx = idx % len(data["target"])
            feats, key = data["feats"][idx].float(), data["key"][idx].float()
            aux = data["aux"][idx].float()
            heatmaps = torch.stack([aux[:, 0], key, aux[:, 1]], dim=1)
            out = model.temporal(feats, heatmaps)
            if mode == "propagate":
                out = label_prior_heatmaps(out, heatmaps)
            weight = data["weight"][idx]
            err = ((out - data["target"][idx].float()) ** 2).mean((2, 3)) * weight
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
    model.provenance = {
        **base.provenance,
        "source": f"{base.provenance.get('source', 'starter')}; label_prior: temporal modules trained {step} steps "
                  "on the labels carried to the key frame (benchmarks/experiments/label_prior.py)",
        "training_data": "pose2sim views (MoveNet teacher labels) and 4 synthetic videos (seed 900)",
    }  # fmt: skip
    print(f"{step} steps in {time.perf_counter() - start:.0f} s; last 50 steps' loss {sum(losses[-50:]) / 50:.6f}; "
          f"wrote {save_weights(model, args.out)}")


if __name__ == "__main__":
    main()
