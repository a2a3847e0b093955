"""A checkpoint over a PoseTrack-format dataset folder: prediction files, and their mAP (``stdpose-eval --weights``).

- estimate: every labeled frame, at the ground truth's person boxes (pose quality apart from detection)
  or at the detector's.
- propagate: the labels of every T-th frame are given and pass through; every other frame is
  propagated from them. Only the propagated frames are scored (the given ones would score 100 and
  hide the differences that matter). Also what pseudo-labels are made of.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..annotation.interpolation import interpolated_pose, nearest_labeled
from ..annotation.labels import FrameLabels, annotation_box
from ..data.posetrack_folder import frame_order, read_image, read_video_file
from ..errors import InputError
from ..keypoints import annotated, visible
from ..model.config import MODES
from ..pipeline import Pipeline
from ..results import posetrack_json, write_json
from .posetrack_map import PoseTrackAP, evaluate


def _videos(data: Path, annotations: str) -> list[Path]:
    files = sorted((data / annotations).glob("*.json"))
    if not files:
        raise InputError(f"{data}: no {annotations}/*.json (PoseTrack18 layout: annotations/VIDEO.json + images/...)")
    return files


def _given(order: list[dict], label_every: int) -> set:
    """Image ids whose labels propagate mode is given: labeled frames at t = 0, T, 2T, ..."""
    return {im["id"] for t, im in enumerate(order) if im.get("is_labeled", True) and t % label_every == 0}


def predict_dataset(
    weights,
    data: str | Path,
    out: str | Path,
    mode: str = "estimate",
    label_every: int = 7,
    boxes: str = "labels",
    annotations: str = "annotations",
    batch_size: int = 32,
    backend: str = "auto",
    precision: str = "auto",
    progress: bool = True,
    fallback: str = "joint",
    smooth: bool = False,
    flip_test: bool = False,
    reuse_features: bool | str = "auto",
) -> list[Path]:
    """One PoseTrack18 prediction file per video of ``data/ANNOTATIONS`` in ``out`` (same names, same file_name
    per image). ``boxes``: "labels" (the ground truth's person boxes; propagate mode interpolates the given
    frames' boxes) or a detector spec for ``Pipeline`` ("hog", "movenet:PATH"). ``fallback``: propagate mode's
    interpolation fallback; ``smooth``: estimate mode's One-Euro filter at its defaults; ``flip_test``: average
    with the mirrored crops; ``reuse_features``: cross-frame feature reuse (``Pipeline``; "auto": on wherever the backend can)."""

    if mode not in MODES:
        raise InputError(f"mode must be 'estimate' or 'propagate', got {mode!r}")
    if label_every < 2 and mode == "propagate":
        raise InputError("propagate mode needs label_every >= 2 (labels every T-th frame, the rest propagated)")
    data, out = Path(data), Path(out)
    detector = None if boxes == "labels" else boxes
    pipe = Pipeline(weights, backend=backend, detector=detector, batch_size=batch_size, precision=precision,
                    fallback=fallback, smooth=smooth, flip_test=flip_test,
                    reuse_features=reuse_features)  # fmt: skip
    files = _videos(data, annotations)
    bar = files
    if progress:
        from tqdm import tqdm

        from ..progress import progress

        tqdm.write(f"backend: {pipe.backend.info}")
        bar = progress(files, desc=f"{mode} {data.name}", unit="video")
    written = []
    for path in bar:
        order, results, _ = predict_video(pipe, data, path, mode, label_every)
        written.append(write_predictions(results, order, out / path.name))
    return written


def predict_video(pipe: Pipeline, data: Path, path: Path, mode: str, label_every: int = 7):
    """One video of a dataset folder through ``pipe``: its images in frame order, the ``PoseResult`` per frame,
    and (propagate mode) the sparse labels it was given (every ``label_every``-th labeled frame), else None."""
    doc = read_video_file(path)
    order = frame_order(doc["images"])
    images = [read_image(data / im["file_name"]) for im in order]  # labels match them by frame_index
    if mode != "propagate":
        boxes = _label_boxes(doc, order) if pipe.detector is None else None
        return order, list(pipe.estimate(images, boxes)), None
    sparse = sparse_labels(doc, order, label_every)
    return order, list(pipe.propagate(images, sparse)), sparse


def sparse_labels(doc: dict, order: list[dict], label_every: int) -> dict:
    """A PoseTrack document reduced to the labels propagate mode is given: every ``label_every``-th labeled frame,
    images numbered by ``frame_index`` in frame order."""
    given = _given(order, label_every)
    return {
        **doc,
        "images": [{**im, "frame_index": t, "is_labeled": im["id"] in given} for t, im in enumerate(order)],
        "annotations": [a for a in doc["annotations"] if a.get("image_id") in given],
    }


def write_predictions(results: list, order: list[dict], path: Path) -> Path:
    """A PoseTrack18 prediction file whose images carry the ground truth's file names (evaluation matches them)."""
    out_doc = posetrack_json(results, video_id=int(order[0].get("vid_id", 1)) if order else 1)
    for image, source in zip(out_doc["images"], order):
        image["file_name"] = source["file_name"]
    return write_json(out_doc, path)


def score_dataset(
    weights, data: str | Path, out: str | Path, mode: str = "estimate", label_every: int = 7, **options
) -> PoseTrackAP:
    """``predict_dataset(..., **options)`` then PoseTrack mAP against the labels (propagate: propagated frames
    only)."""
    predict_dataset(weights, data, out, mode, label_every, **options)
    annotations = options.get("annotations", "annotations")
    return score_predictions(data, out, mode, label_every, annotations)


def score_predictions(
    data: str | Path, out: str | Path, mode: str = "estimate", label_every: int = 7, annotations: str = "annotations"
) -> PoseTrackAP:
    """PoseTrack mAP of the prediction files in ``out`` against ``data/ANNOTATIONS`` (propagate: given frames
    left out)."""

    exclude = {}
    if mode == "propagate":
        for path in _videos(Path(data), annotations):
            order = frame_order(read_video_file(path)["images"])
            given = _given(order, label_every)
            exclude[path.name] = {im["file_name"] for im in order if im["id"] in given}
    return evaluate(Path(data) / annotations, out, exclude=exclude)


def _label_boxes(doc: dict, order: list[dict]) -> dict[int, np.ndarray]:
    """{frame index: (N, 4) xyxy}: the annotations' person boxes, as propagate mode reads them."""

    index = {im["id"]: t for t, im in enumerate(order)}
    boxes: dict[int, list] = {t: [] for t in range(len(order))}
    for ann in doc["annotations"]:
        t = index.get(ann.get("image_id"))
        if t is not None and ann.get("keypoints"):
            boxes[t].append(annotation_box(ann))
    return {t: np.array(b, np.float64).reshape(-1, 4) for t, b in boxes.items()}


def interpolate_labels(data: str | Path, out: str | Path, label_every: int = 7,
                       annotations: str = "annotations") -> list[Path]:  # fmt: skip
    """The no-model propagation reference: each unlabeled frame's poses interpolated linearly, per track and
    joint, between the nearest given frames; where one side lacks the person or the joint, that side's pose is
    copied at half the score. Same inputs and files as ``predict_dataset(mode="propagate")``."""

    data, out = Path(data), Path(out)
    written = []
    for path in _videos(data, annotations):
        doc = read_video_file(path)
        order = frame_order(doc["images"])
        given = _given(order, label_every)
        index = {im["id"]: t for t, im in enumerate(order)}
        people: dict[int, list] = {}  # given frame -> [(track id, (17, 3) keypoints)]
        anns = []
        for ann in doc["annotations"]:
            if ann.get("image_id") in given and ann.get("keypoints"):
                kps = np.reshape(np.asarray(ann["keypoints"], np.float64), (-1, 3))
                anns.append({**ann, "origin": "given", "scores": [1.0] * len(kps)})
                frame = people.setdefault(index[ann["image_id"]], [])
                frame.append((int(ann.get("track_id", len(frame))), kps))
        table = {t: FrameLabels(np.array([tid for tid, _ in p]), np.array([k[:, :2] for _, k in p]),
                                np.array([visible(k) for _, k in p]), np.zeros((len(p), 4)),
                                np.array([annotated(k) for _, k in p]))
                 for t, p in sorted(people.items())}  # fmt: skip
        for t, image in enumerate(order):
            if image["id"] in given or not table:
                continue
            before, after = nearest_labeled(sorted(table), t)
            for tid in sorted(set(table[before].track_ids.tolist()) | set(table[after].track_ids.tolist())):
                xy, score = interpolated_pose(t, table, tid)
                kps = np.concatenate([xy, (score > 0)[:, None]], axis=1) * (score > 0)[:, None]
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": image["id"],
                        "track_id": tid,
                        "category_id": 1,
                        "keypoints": kps.ravel().tolist(),
                        "scores": score.tolist(),
                        "origin": "interpolated",
                    }
                )
        written.append(write_json({**doc, "annotations": anns}, out / path.name))
    return written


def detector_recall(data: str | Path, out: str | Path, annotations: str = "annotations") -> tuple[int, int]:
    """(found, total): the ground truth's people (their ``bbox``) that a prediction's box matches at IoU >= 0.5, one
    to one per frame, over the labeled frames of ``data/ANNOTATIONS`` and the prediction files in ``out``."""
    from ..detect import box_iou
    from ..track import greedy_match

    found = total = 0
    for path in _videos(Path(data), annotations):
        gt = read_video_file(path)
        pred = read_video_file(Path(out) / path.name)
        pred_ids = {im["file_name"]: im["id"] for im in pred["images"]}
        for image in gt["images"]:
            truth = [a["bbox"] for a in gt["annotations"] if a.get("image_id") == image["id"] and a.get("bbox")]
            if not truth:
                continue
            pid = pred_ids.get(image["file_name"])
            boxes = [a["bbox"] for a in pred["annotations"] if pid is not None and a.get("image_id") == pid]
            xyxy = [np.array([[x, y, x + w, y + h] for x, y, w, h in b]).reshape(-1, 4) for b in (truth, boxes)]
            found += len(greedy_match(box_iou(*xyxy), 0.5)) if len(boxes) else 0
            total += len(truth)
    return found, total
