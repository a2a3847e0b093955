"""Many videos, one pose file each: the per-video job that the serial loop and the Ray actors both run.

A video is one job (a triplet reads its neighbouring frames, so a video's frames stay in one process). Each output
is written to a temporary name and renamed, so a file under its final name is always complete; a rerun skips the
videos whose file exists. A video that fails is reported (``status`` "failed" with the error) and the rest go on.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError, StdposeError

LABEL_SUFFIXES = (".json", ".xml")  # a propagate job's labels: LABELS_DIR/<video stem>.json or .xml


@dataclass
class VideoJob:
    """One video: where its poses go and, to propagate, its labels."""

    video: str
    out: str
    labels: str | None = None


def plan(videos: list[str | Path], out_dir: str | Path, labels_dir: str | Path | None = None) -> list[VideoJob]:
    """A job per video: OUT_DIR/<stem>.json; with ``labels_dir``, the labels LABELS_DIR/<stem>.json|.xml."""
    if not videos:
        raise InputError("no videos given")
    stems: dict[str, str] = {}
    for video in videos:
        stem = Path(video).stem
        if stem in stems:
            raise InputError(f"{video} and {stems[stem]} would both write {stem}.json; rename one")
        stems[stem] = str(video)
    out = Path(out_dir)
    jobs = []
    for stem, video in stems.items():
        labels = None
        if labels_dir is not None:
            found = [Path(labels_dir) / f"{stem}{s}" for s in LABEL_SUFFIXES if (Path(labels_dir) / f"{stem}{s}").is_file()]
            labels = str(found[0]) if found else str(Path(labels_dir) / f"{stem}.json")  # missing: the job reports it
        jobs.append(VideoJob(video, str(out / f"{stem}.json"), labels))
    return jobs


class VideoAnnotator:
    """One Pipeline reused for many videos (the serial loop holds one; each Ray actor holds one).

    ``options`` are ``Pipeline``'s keyword arguments (weights, backend, detector, device, precision, batch_size...).
    ``adapt_minutes`` > 0: each propagated video first adapts a copy of the model to its own labels (``Pipeline.adapt``).
    """

    def __init__(self, adapt_minutes: float = 0.0, **options) -> None:
        from ..pipeline import Pipeline

        self.options, self.adapt_minutes = options, adapt_minutes
        self.pipeline = Pipeline(**options)

    def __call__(self, job: VideoJob) -> dict:
        """Run one job; returns its summary row (video, out, status, frames, poses, seconds, error)."""
        if Path(job.out).is_file():
            return summary_row(job, "skipped")
        row = summary_row(job, "done")
        start = time.perf_counter()
        try:
            results = self._results(job, row)
            write_atomic(_posetrack(results), Path(job.out))
            row.update(frames=len(results), poses=sum(len(r) for r in results))
        except StdposeError as e:
            row.update(status="failed", error=str(e))
        except Exception as e:  # noqa: BLE001 — one bad video must not stop the others; the summary keeps the cause
            row.update(status="failed", error=f"{type(e).__name__}: {e} ({_where(e)})")
        row["seconds"] = round(time.perf_counter() - start, 2)
        return row

    def _results(self, job: VideoJob, row: dict) -> list:
        from ..adapt.adapt import adapt_saying
        from ..video import TruncatedVideoError

        if job.labels is not None and not Path(job.labels).is_file():
            raise InputError(f"no labels for {job.video}: expected {Path(job.labels).with_suffix('')}.json or .xml")
        pipe = self.pipeline
        if job.labels is not None and self.adapt_minutes > 0:
            pipe, said = adapt_saying(pipe, job.video, job.labels, self.adapt_minutes, progress=False)
            row["adaptation"] = pipe.adaptation.summary() if pipe.adaptation else "; ".join(said)
        source = pipe(job.video) if job.labels is None else pipe.propagate(job.video, job.labels)
        results = []
        try:
            for result in source:  # one by one: a truncated video keeps the frames before the error
                results.append(result)  # noqa: PERF402
        except TruncatedVideoError as e:  # keep what was decoded, beside the final name, and report the video
            if results:
                write_atomic(_posetrack(results), Path(job.out).with_suffix(".incomplete.json"))
            raise InputError(f"{e}; the {len(results)} decoded frames are in {Path(job.out).stem}.incomplete.json")
        if not results:
            raise InputError(f"{job.video}: no frame could be read (not a video, or empty)")
        return results


def summary_row(job: VideoJob, status: str) -> dict:
    """A job's row in summary.json before any work: ``status`` with no frames, poses, time or error yet."""
    return {**asdict(job), "status": status, "frames": 0, "poses": 0, "seconds": 0.0, "error": ""}


def _posetrack(results: list) -> dict:
    from ..results import posetrack_json

    return posetrack_json(results)


def _where(e: Exception) -> str:
    frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    return f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"


def write_atomic(doc: dict, path: Path) -> Path:
    """JSON to ``path`` through a temporary file in the same folder and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)
    return path
