"""``serve``: a local backend behind NVIDIA Triton Inference Server (through PyTriton), with dynamic batching.

Models served:
- ``stdpose``: frames (3, 3, H, W) float32 [+ aux_heatmaps (2, J, h, w)] per request -> heatmaps (J, h, w).
  Requests with and without aux heatmaps may arrive in one dynamic batch; each kind runs as its own batch.
- ``pose``: three frames (3, H, W, 3) uint8 BGR [left, key, right] + the key frame's person boxes (N, 4) x1 y1 x2 y2
  -> keypoints (N, J, 2) in key-frame pixels and scores (N, J): thin clients send images, not crops. N >= 1:
  PyTriton 0.7 refuses empty arrays ("memoryview: cannot cast view with zeros in shape"); a frame without people
  needs no request.
- ``stdpose_info``: the served model's config and provenance as JSON (what ``triton://`` clients read first).

PyTriton 0.7 needs numpy < 2 (its Triton Python-backend stub is built against numpy 1: with numpy 2 every response
fails with "output tensor shape does not match size"), so the ``serve`` extra lives in an environment of its own.
Its stub links the system's libpython 3.11 but loads the running interpreter's standard library: the running
interpreter's lib folder goes first on LD_LIBRARY_PATH before Triton starts (``_use_this_libpython``).
"""

from __future__ import annotations

import json
import os
import signal
import sysconfig
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, require


@dataclass
class ServeOptions:
    """Where and how Triton serves: loopback by default; binding another address is the caller's explicit choice."""

    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    max_batch: int = 32
    max_queue_delay_us: int = 2000
    preferred_batch_sizes: tuple[int, ...] = (8, 16, 32)
    exit_timeout_s: int = 5  # in-flight requests get this long at stop (Triton's default of 30 s holds every stop)


def _use_this_libpython() -> None:
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and not current.startswith(libdir):
        os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{current}" if current else libdir


def model_info(backend) -> dict:
    """What ``stdpose_info`` answers: the model config (JSON), its provenance and the backend that runs it."""
    model = getattr(backend, "model", None)
    return {"config": json.loads(backend.config.to_json()), "provenance": getattr(model, "provenance", None) or {},
            "backend": str(backend.info)}  # fmt: skip


def bind_models(triton, backend, options: ServeOptions) -> None:
    """Bind ``stdpose`` and ``stdpose_info`` for ``backend`` (any local Backend) on a PyTriton ``Triton``."""
    from pytriton.decorators import batch, group_by_keys
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor

    c = backend.config
    w, h = c.input_wh
    hw, hh = c.heatmap_wh
    j = c.num_keypoints

    @group_by_keys
    @batch
    def infer(frames: np.ndarray, aux_heatmaps: np.ndarray | None = None) -> dict[str, np.ndarray]:
        heatmaps = backend.infer(frames, aux_heatmaps)
        return {"heatmaps": heatmaps.detach().float().cpu().numpy()}

    preferred = [b for b in options.preferred_batch_sizes if b <= options.max_batch] or None
    triton.bind(
        model_name="stdpose",
        infer_func=infer,
        inputs=[Tensor(name="frames", dtype=np.float32, shape=(3, 3, h, w)),
                Tensor(name="aux_heatmaps", dtype=np.float32, shape=(2, j, hh, hw), optional=True)],
        outputs=[Tensor(name="heatmaps", dtype=np.float32, shape=(j, hh, hw))],
        config=ModelConfig(max_batch_size=options.max_batch, batcher=DynamicBatcher(
            max_queue_delay_microseconds=options.max_queue_delay_us, preferred_batch_size=preferred)),
        strict=True,
    )
    def poses(requests: list) -> list[dict[str, np.ndarray]]:
        return [dict(zip(("keypoints", "scores"), triplet_poses(backend, r["frames_bgr"], r["boxes"])))
                for r in requests]  # fmt: skip

    triton.bind(
        model_name="pose",
        infer_func=poses,
        inputs=[Tensor(name="frames_bgr", dtype=np.uint8, shape=(3, -1, -1, 3)),
                Tensor(name="boxes", dtype=np.float32, shape=(-1, 4))],
        outputs=[Tensor(name="keypoints", dtype=np.float32, shape=(-1, j, 2)),
                 Tensor(name="scores", dtype=np.float32, shape=(-1, j))],
        config=ModelConfig(batching=False),
        strict=True,
    )
    info = json.dumps(model_info(backend)).encode()

    @batch
    def describe(request: np.ndarray) -> dict[str, np.ndarray]:
        return {"info": np.array([[info]] * len(request), dtype=object)}

    triton.bind(
        model_name="stdpose_info",
        infer_func=describe,
        inputs=[Tensor(name="request", dtype=np.int32, shape=(1,))],
        outputs=[Tensor(name="info", dtype=bytes, shape=(1,))],
        config=ModelConfig(max_batch_size=8),
    )


def triplet_poses(backend, frames_bgr: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, J, 2) and scores (N, J) of the people in ``boxes`` (N, 4), read from three frames [left, key,
    right] (3, H, W, 3) uint8 BGR: the Pipeline's crop, model and decoding for one triplet."""
    from ..pipeline.triplet_poses import triplet_poses as poses

    c = backend.config
    if np.ndim(frames_bgr) != 4 or np.shape(frames_bgr)[0] != 3 or np.shape(frames_bgr)[-1] != 3:
        raise InputError(f"frames_bgr must be (3, H, W, 3) uint8 [left, key, right], got {np.shape(frames_bgr)}")
    if len(np.asarray(boxes).reshape(-1, 4)) == 0:
        return np.zeros((0, c.num_keypoints, 2), np.float32), np.zeros((0, c.num_keypoints), np.float32)
    return poses(backend.infer, list(frames_bgr), boxes, c.input_wh, c.heatmap_wh)


def triton_config(options: ServeOptions):
    """Triton's settings: HTTP and gRPC on ``options.host`` only, no metrics endpoint, a short exit timeout."""
    from pytriton.triton import TritonConfig

    return TritonConfig(http_address=options.host, http_port=options.http_port, grpc_address=options.host,
                        grpc_port=options.grpc_port, allow_metrics=False, exit_timeout_secs=options.exit_timeout_s)  # fmt: skip


def start(backend, options: ServeOptions | None = None):
    """A running Triton serving ``backend`` (a PyTriton ``Triton``; ``.stop()`` it, or use it as a context)."""
    require("pytriton", "serve", "stdpose-infer serve")
    _use_this_libpython()
    from pytriton.triton import Triton

    options = options or ServeOptions()
    if options.max_batch < 1:
        raise InputError(f"max_batch must be >= 1, got {options.max_batch}")
    triton = Triton(config=triton_config(options))
    try:
        bind_models(triton, backend, options)
        triton.run()
    except BaseException:
        triton.stop()
        raise
    return triton


def serve_forever(backend, options: ServeOptions) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully (in-flight requests get ``exit_timeout_s``)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    triton = start(backend, options)
    try:
        print(f"serving stdpose on http://{options.host}:{options.http_port} (gRPC {options.grpc_port}); "
              "Ctrl-C stops", flush=True)  # fmt: skip
        stop.wait()
    finally:
        triton.stop()
