"""Batch annotation: three short videos (and a corrupt one) serially and through Ray give the same files; the
corrupt video is reported and the others complete; a rerun skips what is written. Ray runs on loopback only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from stdpose_infer.batch import annotate_videos
from stdpose_infer.cli.main import main as cli
from stdpose_infer.data import write_benchmark
from stdpose_infer.weights import save_weights


@pytest.fixture(scope="module")
def videos(tmp_path_factory, tiny):
    """3 synthetic clips as .avi + their labels, a corrupt .avi with labels, and the tiny model's checkpoint."""
    root = tmp_path_factory.mktemp("batch")
    write_benchmark(root / "synth", videos=3, seed=5, width=192, height=160, frames=5, people=2, occluders=1)
    paths = []
    (root / "labels").mkdir()
    for ann in sorted((root / "synth" / "annotations").glob("*.json")):
        frames = sorted((root / "synth" / "images" / ann.stem).glob("*.jpg"))
        path = root / f"{ann.stem}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (192, 160))
        for frame in frames:
            writer.write(cv2.imread(str(frame)))
        writer.release()
        shutil.copy(ann, root / "labels" / ann.name)
        paths.append(path)
    bad = root / "broken.avi"
    bad.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    shutil.copy(ann, root / "labels" / "broken.json")
    weights = save_weights(tiny, root / "tiny.safetensors")
    return root, [*paths, bad], weights


def _options(weights) -> dict:
    return dict(weights=str(weights), backend="torch", device="cpu", detector=None, batch_size=8)


def _poses(path) -> np.ndarray:
    doc = json.loads(path.read_text())
    return np.array([a["keypoints"] for a in doc["annotations"]], np.float64)


def test_serial_then_rerun_skips_and_reports_the_corrupt_video(videos, tmp_path):
    root, paths, weights = videos
    rows = annotate_videos(paths, tmp_path, root / "labels", progress=False, **_options(weights))
    status = {r["video"]: r["status"] for r in rows}
    assert [status[str(p)] for p in paths] == ["done", "done", "done", "failed"]
    broken = rows[-1]
    assert "broken" in broken["error"] and not (tmp_path / "broken.json").exists()
    for row in rows[:3]:
        assert row["frames"] == 5 and row["poses"] > 0 and _poses(Path(row["out"])).shape[1] == 51
    summary = json.loads((tmp_path / "summary.json").read_text())["videos"]
    assert [r["status"] for r in summary] == ["done", "done", "done", "failed"]
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("0*.json")}
    again = annotate_videos(paths, tmp_path, root / "labels", progress=False, **_options(weights))
    assert [r["status"] for r in again] == ["skipped", "skipped", "skipped", "failed"]
    assert before == {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("0*.json")}  # untouched
    assert not list(tmp_path.glob(".*partial"))


def test_ray_gives_the_serial_files(videos, tmp_path):
    pytest.importorskip("ray.data", reason="needs the batch extra (ray[data])")
    root, paths, weights = videos
    serial = annotate_videos(paths[:3], tmp_path / "serial", root / "labels", progress=False, **_options(weights))
    on_ray = annotate_videos(paths, tmp_path / "ray", root / "labels", ray=True, actors=2, **_options(weights))
    assert [r["status"] for r in on_ray] == ["done", "done", "done", "failed"]
    assert [r["poses"] for r in on_ray[:3]] == [r["poses"] for r in serial]
    for row in serial:
        name = Path(row["out"]).name
        a, b = _poses(tmp_path / "serial" / name), _poses(tmp_path / "ray" / name)
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-3


def test_cli_batch_needs_labels_to_propagate_and_names_failures(videos, tmp_path, capsys):
    root, paths, weights = videos
    assert cli(["batch", str(paths[0]), "--out", str(tmp_path), "--propagate"]) == 2
    assert "--labels-dir" in capsys.readouterr().err
    args = ["batch", str(paths[0]), str(paths[-1]), "--out", str(tmp_path), "--propagate", "--labels-dir",
            str(root / "labels"), "--weights", str(weights), "--backend", "torch", "--device", "cpu"]  # fmt: skip
    assert cli(args) == 2
    captured = capsys.readouterr()
    assert "failed: " in captured.out and "broken.avi" in captured.out and "1 done" in captured.out
    assert "1 video(s) failed" in captured.err


def test_cli_batch_stopped_by_sigterm_keeps_finished_videos(videos, tmp_path, monkeypatch, capsys):
    import os
    import signal

    from stdpose_infer.batch import jobs

    root, paths, weights = videos
    calls, run = [], jobs.VideoAnnotator.__call__

    def stopped_at_second(self, job):
        calls.append(job)
        if len(calls) == 2:  # a scheduler stops the run while the second video is at work
            os.kill(os.getpid(), signal.SIGTERM)
        return run(self, job)

    monkeypatch.setattr(jobs.VideoAnnotator, "__call__", stopped_at_second)
    args = ["batch", *map(str, paths[:3]), "--out", str(tmp_path), "--weights", str(weights), "--backend", "torch",
            "--device", "cpu", "--detector", "hog"]  # fmt: skip
    assert cli(args) == 130
    assert "rerun the same command" in capsys.readouterr().err
    assert [p.stem for p in tmp_path.glob("0*.json")] == [paths[0].stem]  # the finished video, whole
    monkeypatch.undo()
    assert cli(args) == 0
    assert "1 skipped" in capsys.readouterr().out and len(list(tmp_path.glob("0*.json"))) == 3
