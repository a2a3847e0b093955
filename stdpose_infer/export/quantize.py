"""INT8 post-training quantization of an exported FP32 graph (estimate mode), calibrated on real person triplets.

Opt-in only: the pose cost is measured, not assumed (benchmarks/int8_quality.py). ONNX Runtime's static quantization
in QDQ form: per-channel INT8 weights and UINT8 activations for the matrix products and convolutions of the
backbone, head, TFF and STDA; LayerNorm, the softmaxes and the whole DAM path stay FP32 (DAM's spatial softmax
over thousands of positions is the numerically fragile step, as in the FP16 graphs). The result is a normal ONNX
graph with FP32 inputs and outputs: the onnxruntime and openvino backends run it (OpenVINO executes the QDQ pairs
as INT8 kernels).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx

from ..errors import InputError, require
from .onnx_graph import _META_PREFIX, read_onnx_info

QUANTIZED_OPS = ("MatMul", "Gemm", "Conv", "ConvTranspose")


def calibration_triplets(source, detector="default", count: int = 64, input_wh: tuple[int, int] = (192, 256),
                         every: int = 1) -> np.ndarray:  # fmt: skip
    """Up to ``count`` person triplets (N, 3, 3, H, W) cut from a real video as the Pipeline cuts them: the
    detector's boxes on frame t, frames t-1, t, t+1 (every ``every``-th frame)."""
    from ..crops.triplets import crop_affines, crop_triplets_cv2
    from ..detect import make_detector
    from ..video import read_frames

    find = make_detector(detector)
    frames, out = [], []
    for frame in read_frames(source):
        frames = [*frames[-2:], frame.image]
        if len(frames) < 3 or frame.index % every:
            continue
        boxes = find(frames[1]).boxes
        if len(boxes):
            affines, _, _ = crop_affines(np.asarray(boxes, np.float32), input_wh)
            out.append(crop_triplets_cv2(frames, affines, input_wh))
        if sum(len(x) for x in out) >= count:
            break
    if not out:
        raise InputError(f"{source}: the detector found no people to calibrate on; give a video with people")
    return np.concatenate(out)[:count]


def quantize_int8(graph: str | Path, triplets: np.ndarray, out: str | Path) -> Path:
    """The FP32 estimate ``graph`` quantized to INT8 at ``out``, calibrated on ``triplets`` (N, 3, 3, H, W)."""
    quant = require("onnxruntime.quantization", "test", "INT8 quantization")
    info = read_onnx_info(graph)
    if info.mode != "estimate" or info.precision != "fp32":
        raise InputError(f"INT8 starts from an FP32 estimate graph; {graph} is {info.mode} {info.precision}")
    w, h = info.config.input_wh
    if triplets.ndim != 5 or triplets.shape[1:] != (3, 3, h, w) or len(triplets) == 0:
        raise InputError(f"calibration triplets must be (N, 3, 3, {h}, {w}) with N >= 1, got {triplets.shape}")
    proto = onnx.load(str(graph), load_external_data=False)
    keep_fp32 = [n.name for n in proto.graph.node if "dam" in n.name.lower()]

    class Reader(quant.CalibrationDataReader):
        def __init__(self) -> None:
            self._items: Iterator = iter(triplets[i : i + 1].astype(np.float32) for i in range(len(triplets)))

        def get_next(self):
            x = next(self._items, None)
            return None if x is None else {"frames": x}

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "int8.onnx"
        quant.quantize_static(
            str(graph), str(staged), Reader(), quant_format=quant.QuantFormat.QDQ, per_channel=True,
            activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QInt8,
            op_types_to_quantize=list(QUANTIZED_OPS), nodes_to_exclude=keep_fp32,
            calibrate_method=quant.CalibrationMethod.MinMax,
        )  # fmt: skip
        model = onnx.load(str(staged))
    for prop in model.metadata_props:
        if prop.key == _META_PREFIX + "precision":
            prop.value = "int8"
    onnx.save(model, str(out))
    return out
