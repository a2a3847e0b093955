"""The jobs on Ray Data: one row per video, an actor pool with one ``VideoAnnotator`` (one Pipeline) per actor.

``address`` None starts a private local Ray instance that listens on loopback only (127.0.0.1) and keeps its files
in a temporary folder of its own; "auto" or "ray://HOST:PORT" joins a running cluster (the videos and the output
folder must then be readable and writable from every node: a shared file system).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict

from ..errors import InputError, require
from .jobs import VideoAnnotator, VideoJob


class _Actor:
    """Ray Data's callable class: built once per actor, then called with batches of one video."""

    def __init__(self, options: dict, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)  # the CPUs this actor reserved (Ray would leave torch at one thread)
        self.annotator = VideoAnnotator(**options)

    def __call__(self, batch: dict) -> dict:
        rows = [self.annotator(VideoJob(v, o, None if lab in (None, "") else str(lab)))
                for v, o, lab in zip(batch["video"], batch["out"], batch["labels"])]  # fmt: skip
        return {key: [row[key] for row in rows] for key in rows[0]}


def run_on_ray(jobs: list[VideoJob], options: dict, address: str | None = None, actors: int = 1,
               gpus_per_actor: float = 0.0, cpus_per_actor: int | None = None) -> list[dict]:  # fmt: skip
    """Every job through an actor pool of ``actors`` Pipelines; the summary rows in the jobs' order.

    ``cpus_per_actor`` (each actor's torch threads too): default this machine's cores shared among the actors for a
    local instance, 1 on a cluster."""
    if actors < 1:
        raise InputError(f"need at least one actor, got {actors}")
    if cpus_per_actor is None:
        cpus_per_actor = max(1, (os.cpu_count() or 1) // actors) if address is None else 1
    ray = require("ray", "batch", "stdpose-infer batch --ray")
    require("ray.data", "batch", "stdpose-infer batch --ray")
    started_here = not ray.is_initialized()
    scratch = None  # a local instance's session files, removed when it stops
    if started_here:
        if address is None:
            # Loopback only: without this variable Ray's local instance listens on the machine's external address.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
                     _temp_dir=(scratch := tempfile.mkdtemp(prefix="stdpose-ray-")),
                     num_cpus=max(os.cpu_count() or 1, actors * cpus_per_actor))  # fmt: skip
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        rows = [{**asdict(j), "labels": j.labels or ""} for j in jobs]  # Arrow wants one type per column
        data = ray.data.from_items(rows, override_num_blocks=len(rows))
        done = data.map_batches(
            _Actor, fn_constructor_kwargs={"options": options, "threads": cpus_per_actor}, batch_size=1,
            concurrency=actors,
            num_gpus=gpus_per_actor or None, num_cpus=cpus_per_actor,
        ).take_all()  # fmt: skip
    finally:
        if started_here:
            ray.shutdown()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    by_video = {row["video"]: {**row, "labels": row["labels"] or None} for row in done}
    return [by_video[j.video] for j in jobs]
