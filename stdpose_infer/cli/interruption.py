"""Long runs that can be stopped and resumed: Ctrl-C or SIGTERM finishes the frame at hand, keeps what is done in
``NAME.incomplete.json`` (PoseTrack18 JSON of the done frames, plus what ``--resume`` needs) and exits 130;
``--resume`` goes on from there with the results of one uninterrupted run."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from ..errors import InputError
from ..pipeline.resume import ResumePoint
from ..results import PoseResult, posetrack_json

KEY = "stdpose_resume"  # the incomplete file's own key beside the PoseTrack18 document


class _Handlers:
    """Signal handlers for the length of a ``with`` block (main thread only: Python's rule), then the old ones."""

    signals: tuple[signal.Signals, ...] = ()

    def _handle(self, signum, frame) -> None:
        raise KeyboardInterrupt

    def __enter__(self):
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in self.signals}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)


class StopOnSignal(_Handlers):
    """``with StopOnSignal() as stop:`` the first Ctrl-C or SIGTERM sets ``stop.requested`` (the loop finishes the
    frame at hand and stops); a second one interrupts at once."""

    signals = (signal.SIGINT, signal.SIGTERM)
    requested = False

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n{signal.Signals(signum).name}: finishing the frame at hand, then keeping what is done "
              "(again to stop at once)", flush=True)  # fmt: skip


class TermAsInterrupt(_Handlers):
    """``with TermAsInterrupt():`` SIGTERM (a scheduler's stop) interrupts as Ctrl-C does, so what is done is kept."""

    signals = (signal.SIGTERM,)


def incomplete_path(args: argparse.Namespace, outputs: tuple[str, ...]) -> Path:
    """``NAME.incomplete.json`` beside the first output the command writes."""
    first = next(getattr(args, o) for o in outputs if getattr(args, o))
    return Path(first).with_suffix(".incomplete.json")


def fingerprint(args: argparse.Namespace) -> dict:
    """What must be the same for a resumed run to continue the interrupted one."""
    from ..adapt.adapt import labels_hash  # the labels file's sha256, as an adapted checkpoint records it

    source = Path(args.source)
    labels = getattr(args, "labels", None)
    return {
        "command": args.command, "source": str(source.resolve()) if source.exists() else args.source,
        "labels_sha256": labels_hash(labels) if labels else None, "detector": args.detector,
        **{k: getattr(args, k, None) for k in ("weights", "flip_test", "smooth", "fallback", "adapt", "pose",
                                               "min_box")},
    }  # fmt: skip


class DoneFrames:
    """The frames a run has done, for the outputs written at its end and for ``--resume`` after a stop. With
    ``spill`` (a run whose every output is written as frames finish: a table, an overlay video, a contact sheet)
    they go to that file, a JSON line each, instead of memory: memory stays flat however long the video."""

    def __init__(self, done: list[PoseResult], spill: Path | None = None) -> None:
        self.spill, self.people, self._count = spill, 0, 0
        self._memory: list[PoseResult] = []
        self._file = None
        if spill is not None:
            spill.parent.mkdir(parents=True, exist_ok=True)
            self._file = spill.open("w")
        for result in done:
            self.append(result)

    def append(self, result: PoseResult) -> None:
        self._count += 1
        self.people += len(result)
        if self._file is None:
            self._memory.append(result)
        else:
            self._file.write(json.dumps(result.to_record()) + "\n")

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        if self._file is None:
            yield from self._memory
            return
        self._file.flush()
        with self.spill.open() as lines:
            for line in lines:
                yield PoseResult.from_record(json.loads(line))

    def close(self) -> None:
        """Remove the spill file (after the run has written or kept what it needs)."""
        if self._file is not None:
            self._file.close()
            self.spill.unlink(missing_ok=True)


def save(path: Path, results, point: ResumePoint | None, print_: dict, weights: str | None) -> int:
    """Keep the done frames (those before ``point``) and where to go on; returns how many frames were kept."""
    if point is None:
        return 0
    done = [r for r in results if r.frame_index < point.next_frame]  # results: a list or DoneFrames
    doc = posetrack_json(done)
    doc[KEY] = {"fingerprint": print_, "point": point.as_dict(), "weights": weights,
                "results": [r.to_record() for r in done]}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    part.write_text(json.dumps(doc))
    part.replace(path)
    return len(done)


def load(path: Path, print_: dict) -> tuple[list[PoseResult], ResumePoint, str | None]:
    """The done frames, where to go on, and the adapted weights an interrupted ``--adapt`` run kept."""
    if not path.is_file():
        raise InputError(f"--resume: no {path} (an interrupted run keeps its done frames there); run without --resume")
    try:
        record = json.loads(path.read_text())[KEY]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"--resume: {path} is not an interrupted run's file; run without --resume") from None
    differ = [k for k, v in print_.items() if record["fingerprint"].get(k) != v]
    if differ:
        raise InputError(f"--resume: {path} was made by another run ({', '.join(differ)} differ); rerun that "
                         "command with --resume, or drop --resume to start afresh")  # fmt: skip
    results = [PoseResult.from_record(r) for r in record["results"]]
    return results, ResumePoint.from_dict(record["point"]), record.get("weights")
