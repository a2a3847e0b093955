"""Serving through Triton (PyTriton) vs calling the backend in-process: latency p50/p99 and throughput.

    . .venv-serve/bin/activate && python benchmarks/triton_serving.py --out benchmarks/results/DATE_triton_serving

The shipped starter model on the torch backend (FP32, CPU). Each client sends one triplet per request (estimate
mode) over HTTP from its own thread; the server's dynamic batcher merges concurrent requests (max batch 32, queue
delay 2 ms, preferred 8/16/32). In-process rows call the same backend directly: one triplet at a time, and whole
batches of the concurrency's size (what perfect batching would give). Loopback only.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import torch

from stdpose_infer.defaults import default_weights
from stdpose_infer.runtime.loader import load_backend
from stdpose_infer.serve import ServeOptions, start
from stdpose_infer.weights import load_model

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _counts(port: int, token: str | None) -> tuple[int, int]:
    """(inferences, executions) of the stdpose model so far, from Triton's statistics endpoint (restricted: PyTriton
    protects it with the server's access token)."""
    import tritonclient.http as http

    client = http.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        headers = {"triton-access-token": token} if token else None
        stats = client.get_inference_statistics("stdpose", headers=headers)["model_stats"][0]
    finally:
        client.close()
    return int(stats["inference_count"]), int(stats["execution_count"])


def _stats(latencies: list[float], seconds: float, requests: int) -> dict:
    ms = np.array(latencies) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "throughput_per_s": round(requests / seconds, 2), "requests": requests}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3, help="requests per client (at least 12 in all per row)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    model = load_model(default_weights())
    local = load_backend(model, "torch", "cpu", "fp32", max_batch=32)
    w, h = model.config.input_wh
    triplet = torch.randn(1, 3, 3, h, w, generator=torch.Generator().manual_seed(0))
    local.infer(triplet)  # warm-up
    rows: dict[str, dict] = {}
    rounds = {n: max(args.rounds, -(-12 // n)) for n in args.concurrency}
    for n in args.concurrency:
        latencies, start_t = [], time.perf_counter()
        for _ in range(rounds[n] if n == 1 else args.rounds * 2):
            t = time.perf_counter()
            local.infer(triplet)
            latencies.append(time.perf_counter() - t)
        if n == 1:
            rows["in-process, 1 triplet per call"] = _stats(latencies, time.perf_counter() - start_t, len(latencies))
        else:
            batch = triplet.expand(n, -1, -1, -1, -1).contiguous()
            latencies, start_t = [], time.perf_counter()
            for _ in range(rounds[n]):
                t = time.perf_counter()
                local.infer(batch)
                latencies.append(time.perf_counter() - t)
            rows[f"in-process, batches of {n}"] = {**_stats(latencies, time.perf_counter() - start_t, n * rounds[n]),
                                                   "batch": n}  # fmt: skip
    options = ServeOptions(http_port=_port(), grpc_port=_port(), max_batch=32, max_queue_delay_us=2000,
                           preferred_batch_sizes=(8, 16, 32))  # fmt: skip
    t = time.perf_counter()
    triton = start(local, options)
    startup = time.perf_counter() - t
    url = f"triton://127.0.0.1:{options.http_port}/stdpose"
    try:
        for n in args.concurrency:
            with load_backend(url) as client:
                client.infer(triplet)  # warm-up

            def ask(_) -> list[float]:
                out = []
                with load_backend(url) as client:  # one client per thread (tritonclient's HTTP client is gevent's)
                    for _ in range(rounds[n]):
                        t0 = time.perf_counter()
                        client.infer(triplet)
                        out.append(time.perf_counter() - t0)
                return out

            before = _counts(options.http_port, getattr(triton, '_access_token', None))
            start_t = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                latencies = [x for part in pool.map(ask, range(n)) for x in part]
            row = _stats(latencies, time.perf_counter() - start_t, len(latencies))
            after = _counts(options.http_port, getattr(triton, '_access_token', None))
            row["executions"] = after[1] - before[1]  # model calls the dynamic batcher made for these requests
            rows[f"Triton, {n} concurrent client(s)"] = row
            print(n, rows[f"Triton, {n} concurrent client(s)"], flush=True)
    finally:
        triton.stop()
    results = {"date": str(date.today()), "machine": machine(), "command": " ".join(["python", *sys.argv]),
               "model": model.provenance.get("source"), "backend": str(local.info),
               "server_start_s": round(startup, 1), "rows": rows}  # fmt: skip
    lines = [f"# Serving through Triton vs in-process ({results['date']})", "", f"Machine: {results['machine']}",
             f"Command: `{results['command']}`", f"Model: {results['model']}; backend: {results['backend']}",
             f"Server start (PyTriton + Triton, models bound): {results['server_start_s']} s", "",
             "One triplet (estimate mode) per request; latency per request, throughput in triplets/s.", "",
             "| run | p50 ms | p99 ms | triplets/s | requests | model calls |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in rows.items():
        calls = r["executions"] if "executions" in r else r["requests"] // r.get("batch", 1)
        lines.append(f"| {name} | {r['p50_ms']} | {r['p99_ms']} | {r['throughput_per_s']} | {r['requests']} | {calls} |")
    save_results(args.out, results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
