"""Triton client backend: ``load_backend("triton://HOST:PORT/stdpose")`` runs the triplets on a Triton server
(``stdpose-infer serve``) over HTTP, so Pipeline, stdpose-bench and stdpose-eval work against a server unchanged.
The model's config and provenance come from the server's ``stdpose_info`` model. Close it (``close()`` or a
``with`` block) when done: an open client holds the server's stop for its whole exit timeout. One backend per
thread: tritonclient's HTTP client is gevent-based and refuses calls from a thread other than its own."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import numpy as np
import torch

from ..errors import InputError, require
from ..model.config import STDPoseConfig
from .base import Backend, BackendInfo

SCHEME = "triton://"


def parse_url(url: str) -> tuple[str, str]:
    """"triton://HOST:PORT/MODEL" -> ("HOST:PORT", "MODEL"), with a clear error for anything else."""
    parts = urlparse(url)
    model = parts.path.strip("/")
    if parts.scheme != "triton" or not parts.hostname or not parts.port or not model or "/" in model:
        raise InputError(f"a Triton address looks like triton://127.0.0.1:8000/stdpose (HTTP port), got {url!r}")
    return f"{parts.hostname}:{parts.port}", model


class TritonBackend(Backend):
    """Heatmaps from a Triton server's ``stdpose`` model (FP32 on the wire; the server runs its own precision)."""

    name = "triton"
    precisions = ("fp32",)

    @classmethod
    def from_source(cls, source, device, precision, max_batch, **options) -> TritonBackend:
        raise InputError("the triton backend connects to a server: load_backend('triton://HOST:PORT/stdpose')")

    def __init__(self, url: str, max_batch: int = 64, timeout_s: float = 120.0) -> None:
        http = require("tritonclient.http", "serve", "the triton:// backend")
        self.address, self.model_name = parse_url(url)
        self._http = http
        self._client = http.InferenceServerClient(self.address, network_timeout=timeout_s, connection_timeout=10.0)
        try:
            ready = all(self._client.is_model_ready(m) for m in (self.model_name, f"{self.model_name}_info"))
        except Exception as e:
            self.close()
            raise InputError(f"no Triton server answers at {self.address} ({type(e).__name__}: {e}); start one "
                             "with `stdpose-infer serve`") from e  # fmt: skip
        if not ready:
            self.close()
            raise InputError(f"the Triton server at {self.address} has no ready model {self.model_name!r} (and "
                             f"{self.model_name}_info): still starting, or not a stdpose-infer server")  # fmt: skip
        info = self._describe()
        self.config = STDPoseConfig.from_json(json.dumps(info["config"]))
        self.provenance = info.get("provenance") or {}
        self.model = None
        self.device, self.max_batch = torch.device("cpu"), max_batch
        self.info = BackendInfo("triton", "server", "fp32 on the wire", "on the server",
                                {"url": f"{SCHEME}{self.address}/{self.model_name}", "server": info.get("backend")})  # fmt: skip

    def _describe(self) -> dict:
        request = self._http.InferInput("request", [1, 1], "INT32")
        request.set_data_from_numpy(np.zeros((1, 1), np.int32))
        result = self._client.infer(f"{self.model_name}_info", [request])
        return json.loads(result.as_numpy("info").reshape(-1)[0])

    def _infer(self, frames: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        feeds = {"frames": frames} if aux is None else {"frames": frames, "aux_heatmaps": aux}
        inputs = []
        for name, tensor in feeds.items():
            array = np.ascontiguousarray(tensor.detach().cpu().float().numpy())
            item = self._http.InferInput(name, list(array.shape), "FP32")
            item.set_data_from_numpy(array, binary_data=True)
            inputs.append(item)
        outputs = [self._http.InferRequestedOutput("heatmaps", binary_data=True)]
        result = self._client.infer(self.model_name, inputs, outputs=outputs)
        return torch.from_numpy(np.array(result.as_numpy("heatmaps"), np.float32, copy=True))

    def close(self) -> None:
        """Close the HTTP connections (the server then stops at once)."""
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close()

    def __enter__(self) -> TritonBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
