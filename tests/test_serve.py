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


def test_pose_model_takes_frames_and_boxes(server):
    import tritonclient.http as http
    from tritonclient.utils import InferenceServerException

    from stdpose_infer.serve.triton_server import triplet_poses

    local, _, port = server
    rng = np.random.default_rng(0)
    frames_bgr = rng.integers(0, 255, (3, 120, 160, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 60, 110], [80, 5, 150, 100]], np.float32)

    def ask(boxes):
        feeds = []
        for name, array, dtype in (("frames_bgr", frames_bgr, "UINT8"), ("boxes", boxes, "FP32")):
            item = http.InferInput(name, list(array.shape), dtype)
            item.set_data_from_numpy(array)
            feeds.append(item)
        result = client.infer("pose", feeds)
        return result.as_numpy("keypoints"), result.as_numpy("scores")

    client = http.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        keypoints, scores = ask(boxes)
        want_k, want_s = triplet_poses(local, frames_bgr, boxes)
        assert keypoints.shape == (2, 17, 2) and scores.shape == (2, 17)
        np.testing.assert_allclose(keypoints, want_k, atol=1e-3)
        np.testing.assert_allclose(scores, want_s, atol=1e-5)
        for box, k in zip(boxes, keypoints):  # inside the crop: the box enlarged 1.25x to 3:4
            cx, cy, w, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]
            half = 1.25 * max(w, h * 3 / 4) / 2, 1.25 * max(h, w * 4 / 3) / 2
            assert np.all(np.abs(k[:, 0] - cx) <= half[0] + 1) and np.all(np.abs(k[:, 1] - cy) <= half[1] + 1)
        with pytest.raises(InferenceServerException, match="boxes must be"):
            ask(np.array([[50, 50, 10, 10]], np.float32))
        with pytest.raises(InferenceServerException, match="zeros in shape"):  # PyTriton 0.7: no empty arrays
            ask(np.zeros((0, 4), np.float32))
        assert ask(boxes[:1])[0].shape == (1, 17, 2)  # still serving
    finally:
        client.close()


def test_bench_and_eval_run_against_the_server(server, tiny, tmp_path):
    """stdpose-bench times the round trip next to the local backend; stdpose-eval scores through the server."""
    import json

    from stdpose_infer.cli.bench import main as bench
    from stdpose_infer.cli.evaluate import main as evaluate
    from stdpose_infer.data import write_benchmark
    from stdpose_infer.weights import save_weights

    _, url, _ = server
    weights = save_weights(tiny, tmp_path / "tiny.safetensors")
    assert bench(["--weights", str(weights), "--backends", "torch", "triton", "--server", url, "--batch", "1", "2",
                  "--warmup", "0", "--iterations", "1", "--no-pipeline", "--out", str(tmp_path / "b")]) == 0  # fmt: skip
    rows = json.loads((tmp_path / "b" / "bench.json").read_text())["model"]
    assert {r["backend"] for r in rows} >= {"torch", "triton"}
    write_benchmark(tmp_path / "d", videos=1, seed=1, width=192, height=160, frames=4, people=1, occluders=0)
    args = ["--weights", url, "--data", str(tmp_path / "d"), "--mode", "propagate", "--label-every", "3",
            "--out", str(tmp_path / "pred")]  # fmt: skip
    assert evaluate(args) == 0


def test_serve_command_stops_cleanly_on_sigterm(tiny, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from stdpose_infer.weights import save_weights

    before = _leftovers()
    weights = save_weights(tiny, tmp_path / "tiny.safetensors")
    port = _free_port()
    cmd = [sys.executable, "-m", "stdpose_infer.cli.main", "serve", "--weights", str(weights), "--port", str(port),
           "--grpc-port", str(_free_port()), "--backend", "torch", "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with load_backend(f"triton://127.0.0.1:{port}/stdpose") as remote:
                    assert remote.config == tiny.config
                break
            except InputError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.5)
        else:
            pytest.fail("the server did not come up in 90 s")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert f"serving stdpose on http://127.0.0.1:{port}" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _leftovers() <= before
