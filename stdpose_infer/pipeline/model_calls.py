"""The model calls a Pipeline makes: whole triplets, or (feature reuse) the per-frame and per-triplet halves, each
with the optional flip test (the mirrored crops, mapped back, averaged in)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..crops.align import align_to_key
from ..decode import flip_heatmaps
from ..keypoints import KeypointFormat
from ..runtime import Backend


@dataclass
class ModelCalls:
    """``backend``'s calls as the batcher makes them (``flip_test``: also the mirrored crops)."""

    backend: Backend
    flip_test: bool
    keypoint_format: KeypointFormat

    def heatmaps(self, crops: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        """One backend call (two with flip test: the mirrored crops, mapped back, are averaged in)."""
        return self._flip_averaged(
            lambda mirrored, a: self.backend.infer(crops.flip(-1) if mirrored else crops, a), aux
        )

    def _flip_averaged(self, run, aux: torch.Tensor | None) -> torch.Tensor:
        """``run(mirrored, aux)`` -> heatmaps; with flip test, the mirrored run (its aux mirrored too) mapped back
        and averaged in."""
        heatmaps = run(False, aux)
        if self.flip_test:
            fmt = self.keypoint_format
            flipped_aux = None if aux is None else flip_heatmaps(aux.flatten(0, 1), fmt).unflatten(0, aux.shape[:2])
            heatmaps = (heatmaps + flip_heatmaps(run(True, flipped_aux), fmt)) / 2
        return heatmaps

    def frame_parts(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Feature reuse, per crop: features and heatmaps (and those of the mirrored crop, with flip test)."""
        parts = self.backend.frame_features(crops)
        return parts + self.backend.frame_features(crops.flip(-1)) if self.flip_test else parts

    def temporal(self, parts: tuple[torch.Tensor, ...], aux: torch.Tensor | None, theta: torch.Tensor) -> torch.Tensor:
        """Feature reuse, per triplet: ``parts`` (B, 3, ...) from ``_frame_parts`` -> heatmaps, as ``_heatmaps``; aux
        crops cut at their own boxes are first brought onto the key crop's region (``theta``, ``crops/align.py``)."""

        def run(mirrored, aux):
            features, heatmaps = parts[2:4] if mirrored else parts[:2]
            features = align_to_key(features, theta, "features", mirrored)
            heatmaps = align_to_key(heatmaps, theta, "heatmaps", mirrored)
            if aux is not None:  # propagation: the labels' heatmaps replace the aux frames'
                heatmaps = torch.stack([aux[:, 0].to(heatmaps), heatmaps[:, 1], aux[:, 1].to(heatmaps)], dim=1)
            return self.backend.temporal(features, heatmaps, propagate=aux is not None)

        return self._flip_averaged(run, aux)
