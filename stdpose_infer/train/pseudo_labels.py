"""Pseudo-labels (the paper's semi-supervised recipe): propagate sparse labels to every frame, write PoseTrack18
JSON that training reads (``TrainConfig(annotations="annotations_pseudo")``)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..results import posetrack_json, write_json
from ..video import Frame
from .dataset import frame_order, read_image


def write_pseudo_labels(weights, data: str | Path, label_every: int, out: str = "annotations_pseudo",
                        batch_size: int = 32, progress: bool = True) -> list[Path]:  # fmt: skip
    """For each video of ``data/annotations``: its labels on every ``label_every``-th frame -> poses on all frames
    (labeled frames pass through), written to ``data/OUT/VIDEO.json`` with the ground truth's file names."""
    from ..pipeline import Pipeline

    data = Path(data)
    files = sorted((data / "annotations").glob("*.json"))
    if not files:
        raise InputError(f"{data}: no annotations/*.json to propagate")
    pipe = Pipeline(weights, detector=None, batch_size=batch_size)
    written = []
    bar = files
    if progress:
        from tqdm import tqdm

        bar = tqdm(files, desc="pseudo-labels", unit="video")
    for path in bar:
        doc = json.loads(path.read_text())
        order = frame_order(doc["images"])
        frames = [data / im["file_name"] for im in order]
        sparse_ids = {im["id"] for t, im in enumerate(order) if im.get("is_labeled", True) and t % label_every == 0}
        sparse = {
            **doc,
            "images": [{**im, "frame_index": t, "is_labeled": im["id"] in sparse_ids} for t, im in enumerate(order)],
            "annotations": [a for a in doc["annotations"] if a.get("image_id") in sparse_ids],
        }
        results = list(pipe.propagate([Frame(t, p.name, read_image(p)) for t, p in enumerate(frames)], sparse))
        out_doc = posetrack_json(results, video_id=int(order[0].get("vid_id", 1)) if order else 1)
        for image, source in zip(out_doc["images"], order):
            image["file_name"] = source["file_name"]  # paths relative to data, as the ground truth's
        written.append(write_json(out_doc, data / out / path.name))
    return written
