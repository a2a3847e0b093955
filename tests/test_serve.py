"""Serving through Triton (PyTriton) on loopback: results equal the local backend, 32 concurrent clients are all
answered, a malformed request gets a clear error while the server keeps serving, and stop leaves nothing behind.

PyTriton needs numpy < 2, so these tests run in the serve environment (see the README); elsewhere they skip."""

from __future__ import annotations

import glob
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

pytest.importorskip("pytriton", reason="needs the serve extra (pip install -e '.[serve]' in its own environment)")
if int(np.__version__.split(".")[0]) >= 2:
    pytest.skip("PyTriton 0.7 needs numpy < 2 (the serve environment of the README)", allow_module_level=True)

from stdpose_infer import Pipeline
from stdpose_infer.errors import InputError
from stdpose_infer.runtime.loader import load_backend
from stdpose_infer.serve import ServeOptions, start


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leftovers() -> set[str]:
    tmp = tempfile.gettempdir()
    return set(glob.glob(f"{tmp}/folder*")) | set(glob.glob(f"{tmp}/python_env_*"))


@pytest.fixture(scope="module")
def server(tiny):
    before = _leftovers()
    local = load_backend(tiny, "torch", "cpu")
    port = _free_port()
    options = ServeOptions(http_port=port, grpc_port=_free_port(), max_batch=8, max_queue_delay_us=20000,
                           preferred_batch_sizes=(4, 8))  # fmt: skip
    triton = start(local, options)
    yield local, f"triton://127.0.0.1:{port}/stdpose", port
    triton.stop()
    assert _leftovers() <= before  # the workspace and the Python-backend environments are gone


def test_results_equal_the_local_backend_in_both_modes(server, frames, aux):
    local, url, _ = server
    with load_backend(url) as remote:
        assert remote.config == local.config and remote.info.backend == "triton"
        torch.testing.assert_close(remote.infer(frames), local.infer(frames), atol=1e-5, rtol=0)
        torch.testing.assert_close(remote.infer(frames, aux), local.infer(frames, aux), atol=1e-5, rtol=0)


def test_32_concurrent_clients_get_their_own_answers(server):
    local, url, _ = server
    inputs = [torch.randn(1, 3, 3, 256, 192, generator=torch.Generator().manual_seed(i)) for i in range(32)]
    expected = [local.infer(x) for x in inputs]

    def ask(i: int) -> torch.Tensor:
        with load_backend(url) as remote:
            return remote.infer(inputs[i])

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(ask, range(32)))
    for got, want in zip(answers, expected):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_a_malformed_request_is_refused_and_the_server_keeps_serving(server, frames):
    from tritonclient import http
    from tritonclient.utils import InferenceServerException

    _, url, port = server
    client = http.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        wrong = http.InferInput("frames", [1, 3, 3, 64, 48], "FP32")
        wrong.set_data_from_numpy(np.zeros((1, 3, 3, 64, 48), np.float32))
        with pytest.raises(InferenceServerException, match="shape"):
            client.infer("stdpose", [wrong])
        ints = http.InferInput("frames", [1, 3, 3, 256, 192], "INT32")
        ints.set_data_from_numpy(np.zeros((1, 3, 3, 256, 192), np.int32))
        with pytest.raises(InferenceServerException, match="(?i)data-type|datatype|dtype"):
            client.infer("stdpose", [ints])
    finally:
        client.close()
    with load_backend(url) as remote:
        assert remote.infer(frames[:1]).shape == (1, 17, 64, 48)


def test_pipeline_runs_against_the_server(server):
    _, url, _ = server
    pipe = Pipeline(url, detector=None, batch_size=4)
    assert pipe.backend.info.backend == "triton"
    pipe.backend.close()
    with pytest.raises(InputError, match="no Triton server answers"):
        load_backend(f"triton://127.0.0.1:{_free_port()}/stdpose")
    with pytest.raises(InputError, match="triton://127.0.0.1:8000/stdpose"):
        load_backend("triton://nowhere/stdpose")
