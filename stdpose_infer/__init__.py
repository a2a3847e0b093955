"""stdpose-infer: STDPose video pose estimation and propagation, from PyTorch to deployment.

The public API (one screen):

    Pipeline(weights=None, detector="default", backend="auto", device="auto", batch_size=32, ...)
        pipe(video) / pipe.estimate(video, boxes=None)   -> PoseResult per frame, in order
        Pipeline(..., reuse_features="auto")   each frame's backbone pass shared by its triplets (on by default:
                                             NeighbourCrops, or WindowBoxes: a crop box held per track over a window)
    posetrack_json(results) / coco_json(results) / write_json(doc, path)   results -> label files
    results_table(results, fps) / TableWriter(path.csv|.parquet, fps)   one tidy table: frame, person, joint rows
        pipe.propagate(video, labels)                    labels on some frames -> poses on every frame
        pipe.adapt(video, labels, minutes=4)             a new Pipeline: the model fine-tuned on those labels, with
                                                         the blend held-out labels weighed (.adaptation: report)
    read_labels(file, frame_names, fmt)   CVAT XML / COCO / PoseTrack / Label Studio labels -> {frame: FrameLabels}
    cvat_xml(results) / label_studio_tasks(results) / review_rows(results)   results -> annotation tools, review
    PoseResult                        one frame: boxes, track_ids, keypoints (P, J, 2), scores, origin;
                                      r[i] a subset, r.plot(frame) an overlay, r.in_format("coco")
    load_backend(model_or_path, backend="auto", device="auto", precision="auto")
                                      a Backend: backend.infer(frames (B,3,3,H,W), aux_heatmaps=None) -> heatmaps;
                                      backend.frame_features(crops) / backend.temporal(...): the model's halves
    build_model(variant) / load_model(path) / save_weights(model, path) / load_vitpose(model, path)
    export_onnx(model, path, mode, precision)   an ONNX graph per mode (estimate, propagate)
    decode_heatmaps / render_heatmaps / flip_heatmaps   heatmaps <-> keypoints
    box_to_center_scale / get_affine / heatmap_to_image  the UDP crop geometry
    StdposeError (InputError, CheckpointError, ...)   every error raised on purpose; the message names the fix

Example::

    from stdpose_infer import Pipeline
    for r in Pipeline("stdpose-b.safetensors")("match.mp4"):
        print(r.frame_index, r.track_ids, r.keypoints.shape)
"""

from ._version import __version__
from .analytics import kinematics, plot_angles
from .annotation import cvat_xml, label_studio_tasks, read_labels, review_rows
from .crops import box_to_center_scale, get_affine, heatmap_to_image, image_to_heatmap
from .decode import decode_heatmaps, flip_heatmaps, render_heatmaps
from .errors import CheckpointError, InputError, MissingDependencyError, StdposeError
from .export import export_onnx
from .keypoints import COCO, POSETRACK, KeypointFormat, convert_keypoints, get_format
from .model import STDPose, STDPoseConfig, build_model
from .pipeline import NeighbourCrops, Pipeline, WindowBoxes
from .results import PoseResult, TableWriter, coco_json, posetrack_json, results_table, write_json
from .runtime import load_backend
from .video import LiveSource
from .weights import load_model, load_vitpose, load_weights, save_weights

__all__ = [
    "COCO",
    "POSETRACK",
    "CheckpointError",
    "InputError",
    "KeypointFormat",
    "LiveSource",
    "MissingDependencyError",
    "NeighbourCrops",
    "Pipeline",
    "PoseResult",
    "STDPose",
    "STDPoseConfig",
    "StdposeError",
    "WindowBoxes",
    "__version__",
    "box_to_center_scale",
    "build_model",
    "coco_json",
    "cvat_xml",
    "convert_keypoints",
    "decode_heatmaps",
    "export_onnx",
    "flip_heatmaps",
    "get_affine",
    "get_format",
    "heatmap_to_image",
    "image_to_heatmap",
    "kinematics",
    "label_studio_tasks",
    "load_backend",
    "load_model",
    "load_vitpose",
    "load_weights",
    "plot_angles",
    "posetrack_json",
    "results_table",
    "TableWriter",
    "read_labels",
    "render_heatmaps",
    "review_rows",
    "save_weights",
    "write_json",
]
