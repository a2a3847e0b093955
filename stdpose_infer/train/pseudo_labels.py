"""Pseudo-labels (the paper's semi-supervised recipe): propagate sparse labels to every frame, write PoseTrack18
JSON that training reads (``TrainConfig(annotations="annotations_pseudo")``)."""

from __future__ import annotations

from pathlib import Path

from ..evaluation.predict import predict_dataset


def write_pseudo_labels(weights, data: str | Path, label_every: int, out: str = "annotations_pseudo",
                        batch_size: int = 32, progress: bool = True) -> list[Path]:  # fmt: skip
    """For each video of ``data/annotations``: its labels on every ``label_every``-th frame -> poses on all frames
    (labeled frames pass through), written to ``data/OUT/VIDEO.json`` with the ground truth's file names."""
    return predict_dataset(weights, data, Path(data) / out, "propagate", label_every, batch_size=batch_size,
                           progress=progress)  # fmt: skip
