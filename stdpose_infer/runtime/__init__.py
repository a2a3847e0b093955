"""Backends that run the triplet model: torch, onnxruntime, TensorRT; ``load_backend`` picks one."""

from .base import Backend, BackendInfo
from .loader import BACKENDS, load_backend, resolve_device
from .tensorrt_engine import build_engine, check_engine

__all__ = ["BACKENDS", "Backend", "BackendInfo", "build_engine", "check_engine", "load_backend", "resolve_device"]
