"""Training objectives: heatmap MSE over labeled joints, and the paper's MI objective (eq. 1-2).

MI estimator (the paper defers it to an appendix we do not have, so we pick and
document one). We use the variational bound with Gaussian decoders that FAMI-Pose-style
objectives reduce to. For a decoder q, I(y; A | B) = H(y | B) - H(y | A, B) and, with
q(y | .) Gaussian around a heatmap prediction, -log q is the heatmap MSE up to constants, so

    I(y; F~ | F) ~= MSE(y, head(F)) - MSE(y, head(F~))      (the shared keypoint head decodes both)
    I(y; H~ | H) ~= MSE(y, H) - MSE(y, H~)

(H~ already contains F and H, so the conditional bound uses the richer side's decoder). The
MSE(y, head(F)) and MSE(y, H) terms estimate H(y | F) and H(y | H) and are detached: maximising
the MI must not be done by making the single-frame evidence worse. L_MI = -alpha I_F - beta I_H
(alpha 0.1, beta 0.01 as in the paper); its gradient trains F~ and H~ to carry label
information beyond the key frame's own, which is the objective's intent. Measured so far (tiny models,
a short CPU schedule, benchmarks/results/2026-11-21_table4_synthetic.md): training without it scored higher.
"""

from __future__ import annotations

import torch


def heatmap_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                labeled: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Mean squared error over joints with a label (weight (B, J): 1 labeled, 0 not, e.g. the ears).

    ``labeled``: what the sum divides by (default ``weight.sum()``). Data-parallel training passes the labeled joints
    of all processes' batches over the number of processes, so the averaged gradients are those of one big batch."""
    per_joint = ((pred.float() - target) ** 2).mean(dim=(-2, -1))  # (B, J)
    return (per_joint * weight).sum() / (weight.sum().clamp(min=1) if labeled is None else labeled)


def mi_terms(parts: dict[str, torch.Tensor], head: torch.nn.Module, target: torch.Tensor,
             weight: torch.Tensor, labeled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """The two conditional-MI estimates (nats up to the Gaussian's scale) where the model has TFF / TKS."""
    out = {}
    if "fused_features" in parts:
        single = heatmap_mse(head(parts["key_features"]), target, weight, labeled).detach()
        out["mi_features"] = single - heatmap_mse(head(parts["fused_features"]), target, weight, labeled)
    if "merged_heatmaps" in parts:
        single = heatmap_mse(parts["key_heatmaps"], target, weight, labeled).detach()
        out["mi_heatmaps"] = single - heatmap_mse(parts["merged_heatmaps"], target, weight, labeled)
    return out


def training_loss(parts: dict[str, torch.Tensor], head: torch.nn.Module, target: torch.Tensor, weight: torch.Tensor,
                  alpha: float = 0.1, beta: float = 0.01, use_mi: bool = True,
                  labeled: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """{"loss": total, "mse": ..., "mi_features", "mi_heatmaps"}: heatmap MSE + L_MI = -alpha I_F - beta I_H.
    ``labeled``: the MSE's divisor (see ``heatmap_mse``)."""
    losses = {"mse": heatmap_mse(parts["heatmaps"], target, weight, labeled)}
    total = losses["mse"]
    if use_mi:
        terms = mi_terms(parts, head, target, weight, labeled)
        losses.update(terms)
        total = total - alpha * terms.get("mi_features", 0.0) - beta * terms.get("mi_heatmaps", 0.0)
    losses["loss"] = total
    return losses
