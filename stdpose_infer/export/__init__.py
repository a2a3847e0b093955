"""Export to ONNX (``onnx_graph``); TensorRT engines are built in ``stdpose_infer.runtime``."""

from .onnx_graph import GRAPHS, MODES, PRECISIONS, SPLIT_GRAPHS, OnnxInfo, copy_onnx, export_onnx, onnx_digest, onnx_files, read_onnx_info

__all__ = ["GRAPHS", "MODES", "PRECISIONS", "SPLIT_GRAPHS", "OnnxInfo", "copy_onnx", "export_onnx", "onnx_digest", "onnx_files", "read_onnx_info"]
