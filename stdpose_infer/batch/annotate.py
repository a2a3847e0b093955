"""``annotate_videos``: the jobs of ``plan`` run serially (one Pipeline) or on Ray (an actor pool), then a summary."""

from __future__ import annotations

from pathlib import Path

from .jobs import VideoAnnotator, plan, summary_row, write_atomic


def annotate_videos(videos: list[str | Path], out_dir: str | Path, labels_dir: str | Path | None = None,
                    ray: str | bool | None = None, actors: int = 1, gpus_per_actor: float = 0.0,
                    cpus_per_actor: int | None = None, progress: bool = True, **options) -> list[dict]:  # fmt: skip
    """Pose files OUT_DIR/<video stem>.json for every video (``labels_dir``: propagate LABELS_DIR/<stem>.json|xml).

    ``ray``: False/None runs here, one video after another; True starts a private local Ray instance (loopback
    only); an address ("auto", "ray://HOST:10001") joins a cluster. ``options`` go to each ``Pipeline``. Writes
    OUT_DIR/summary.json and returns its rows: video, out, status (done | skipped | failed), frames, poses,
    seconds, error.
    """
    jobs = plan(videos, out_dir, labels_dir)
    if ray:
        from .ray_runner import run_on_ray

        rows = run_on_ray(jobs, options, None if ray is True else str(ray), actors, gpus_per_actor, cpus_per_actor)
    else:
        from ..progress import progress as progress_bar

        todo = [j for j in jobs if not Path(j.out).is_file()]
        annotator = VideoAnnotator(**options) if todo else None
        rows = []
        for job in progress_bar(jobs, desc="videos", unit="video", disable=not progress):
            rows.append(annotator(job) if annotator else summary_row(job, "skipped"))
    write_atomic({"videos": rows}, Path(out_dir) / "summary.json")
    return rows


def summary_line(rows: list[dict]) -> str:
    """One line: how many videos were done, skipped and failed, with frames and poses."""
    count = {s: sum(r["status"] == s for r in rows) for s in ("done", "skipped", "failed")}
    frames, poses = sum(r["frames"] for r in rows), sum(r["poses"] for r in rows)
    return (f"{count['done']} done ({frames} frames, {poses} poses), {count['skipped']} skipped (already written), "
            f"{count['failed']} failed")  # fmt: skip


