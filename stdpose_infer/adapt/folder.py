"""A video's labels as a training folder: the labeled frames (and their neighbours) in the PoseTrack18 layout that
``stdpose-train fit`` and the adaptation read (``annotations/VIDEO.json`` + ``images/VIDEO/000123.jpg``).

Annotation tools export labels, not frames; training needs both side by side. Only the frames a sample can read are
written: each labeled frame and its ``neighbours`` frames on either side (estimation samples read those as aux
frames; propagation samples read other labeled frames). JPEG quality 95: a fraction of the video's own coding loss.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..annotation import FrameLabels, read_labels
from ..errors import InputError
from ..keypoints import POSETRACK, KeypointFormat, convert_keypoints
from ..video import Frame, read_frames
from ..video.sources import frame_names

JPEG_QUALITY = 95


def needed_frames(labeled: Iterable[int], neighbours: int, frames: int) -> set[int]:
    """The labeled frames and those within ``neighbours`` of them, inside [0, frames)."""
    return {t + d for t in labeled for d in range(-neighbours, neighbours + 1) if 0 <= t + d < frames}


def read_labeled_video(source, labels, keypoint_format: KeypointFormat, neighbours: int = 1,
                       watch: Callable[[dict], Callable[[int, np.ndarray], None]] | None = None):  # fmt: skip
    """One pass over ``source``: (frame count, {index: BGR image} of the labeled frames and their neighbours,
    {index: FrameLabels} in the model's slots). Memory holds those frames only, not the whole video.
    ``watch``: called with the labels once they are read; every decoded frame is passed, in order, to what it
    returns (the held-out point tracks read the frames between labels this way, in the same pass)."""
    if isinstance(source, (list, tuple)):  # frames in memory (Pipeline.propagate accepts a list of Frames)
        source = [f.image if isinstance(f, Frame) else f for f in source]
    names = frame_names(source)
    frames: dict[int, np.ndarray] = {}
    if names is None:  # an iterable: its length is known only after reading it
        every = [f.image for f in read_frames(source)]
        names = [f"frame/{i:06d}" for i in range(len(every))]
        table = read_labels(labels, names, keypoint_format)
        if watch is not None:
            seen = watch(table)
            for i, image in enumerate(every):
                seen(i, image)
        keep = needed_frames(table, neighbours, len(every))
        return len(every), {t: every[t] for t in sorted(keep)}, table
    table = read_labels(labels, names, keypoint_format)
    keep = needed_frames(table, neighbours, len(names))
    count, seen = 0, watch(table) if watch is not None else None
    for frame in read_frames(source):
        count = frame.index + 1
        if seen is not None:
            seen(frame.index, frame.image)
        if frame.index in keep:
            frames[frame.index] = frame.image
    missing = sorted(t for t in table if t not in frames)
    if missing:
        raise InputError(f"the labels name frame(s) {missing[:5]} but the video decoded only {count} frames; "
                         "label frames the video has (or re-encode it if its header is wrong)")  # fmt: skip
    return count, frames, table


def posetrack_annotations(table: dict[int, FrameLabels], keypoint_format: KeypointFormat) -> list[dict]:
    """The labels as PoseTrack18 annotations (17 slots; v = 1 visible, 0 with x, y: position known, hidden)."""
    anns = []
    for t, lab in sorted(table.items()):
        for i, tid in enumerate(lab.track_ids):
            xy, vis = convert_keypoints(lab.keypoints[i], lab.visible[i].astype(float), keypoint_format, POSETRACK)
            _, known = convert_keypoints(lab.keypoints[i], lab.positions[i].astype(float), keypoint_format, POSETRACK)
            kps = np.concatenate([xy, vis[:, None]], axis=1) * (known > 0)[:, None]
            x1, y1, x2, y2 = (float(v) for v in lab.boxes[i])
            anns.append({"id": len(anns) + 1, "image_id": t + 1, "track_id": int(tid), "category_id": 1,
                         "keypoints": kps.ravel().tolist(), "bbox": [x1, y1, x2 - x1, y2 - y1]})  # fmt: skip
    return anns


def write_label_folder(
    root: str | Path,
    name: str,
    frames: dict[int, np.ndarray],
    count: int,
    tables: dict[str, dict[int, FrameLabels]],
    keypoint_format: KeypointFormat,
) -> Path:
    """Write ``frames`` as ``root/images/NAME/*.jpg`` and each labels table as ``root/ANNOTATIONS/NAME.json``
    (``tables``: annotations folder -> labels, e.g. all labels and a fold without the held-out ones)."""
    root = Path(root)
    images = root / "images" / name
    images.mkdir(parents=True, exist_ok=True)
    for t, image in frames.items():
        path = images / f"{t:06d}.jpg"
        if not path.is_file():
            cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    for folder, table in tables.items():
        doc = {
            "images": [{"id": t + 1, "file_name": f"images/{name}/{t:06d}.jpg", "frame_index": t,
                        "is_labeled": t in table, "vid_id": 1} for t in range(count)],  # fmt: skip
            "annotations": posetrack_annotations(table, keypoint_format),
            "categories": [{"id": 1, "name": "person", "keypoints": list(POSETRACK.keypoints)}],
        }
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{name}.json").write_text(json.dumps(doc))
    return root


def folder_from_label_files(
    pairs: Sequence[tuple[str | Path, str | Path]], root: str | Path, keypoint_format: KeypointFormat, neighbours: int
) -> Path:
    """``stdpose-train fit --labels FILE --video VIDEO`` (repeatable): each (labels, video) pair's labeled frames
    and their ``neighbours`` into one training folder under ``root``, one annotations file per video."""
    seen: set[str] = set()
    for labels, video in pairs:
        name = Path(video).stem
        while name in seen:
            name += "_"
        seen.add(name)
        count, frames, table = read_labeled_video(video, labels, keypoint_format, neighbours)
        if not table:
            raise InputError(f"{labels}: no labeled frame of {video}; label some frames of this video")
        write_label_folder(root, name, frames, count, {"annotations": table}, keypoint_format)
    return Path(root)


def as_frames(frames: dict[int, np.ndarray]) -> list[Frame]:
    """The kept frames as ``Frame``s (for code that reads a frame list)."""
    return [Frame(t, f"frame/{t:06d}", image) for t, image in sorted(frames.items())]
