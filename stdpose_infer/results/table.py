"""One tidy table of keypoints for a whole video: a row per frame, person and joint.

Columns: frame, time_s, track, joint, x, y, score, origin. ``TableWriter`` writes CSV or Parquet as frames finish
(memory stays flat on long videos); ``results_table`` gives the same rows as a pandas DataFrame.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import InputError, require
from .pose_result import PoseResult

COLUMNS = ("frame", "time_s", "track", "joint", "x", "y", "score", "origin")
SUFFIXES = (".csv", ".parquet")


def table_columns(result: PoseResult, fps: float | None = None) -> dict[str, np.ndarray]:
    """One frame's rows as columns: each person's joints of the result's format (its empty slots left out).
    ``time_s`` is frame / fps (NaN without a frame rate); a joint the model did not find has score 0."""
    fmt = result.keypoint_format
    slots = np.flatnonzero(fmt.valid_mask)
    people, joints = len(result), len(slots)
    names = np.array(fmt.keypoints, dtype=object)[slots]
    time_s = result.frame_index / fps if fps else float("nan")
    return {
        "frame": np.full(people * joints, result.frame_index, np.int64),
        "time_s": np.full(people * joints, time_s, np.float64),
        "track": np.repeat(np.asarray(result.track_ids, np.int64), joints),
        "joint": np.tile(names, people),
        "x": result.keypoints[:, slots, 0].astype(np.float64).ravel(),
        "y": result.keypoints[:, slots, 1].astype(np.float64).ravel(),
        "score": result.scores[:, slots].astype(np.float64).ravel(),
        "origin": np.repeat(np.asarray(result.origin, dtype=object), joints),
    }


class TableWriter:
    """Rows written to ``path`` (.csv or .parquet) as results come: ``with TableWriter(p, fps) as t: t.write(r)``.
    Parquet rows are buffered ``frames_per_group`` frames at a time (one row group each)."""

    def __init__(self, path: str | Path, fps: float | None = None, frames_per_group: int = 256) -> None:
        self.path, self.fps, self.frames_per_group = Path(path), fps, frames_per_group
        if self.path.suffix.lower() not in SUFFIXES:
            raise InputError(f"{self.path}: a keypoint table is .csv or .parquet, not {self.path.suffix or 'no suffix'!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pending: list[dict] = []
        self._file = self._csv = self._parquet = None
        self.rows = 0
        if self.path.suffix.lower() == ".csv":
            self._file = self.path.open("w", newline="")
            self._csv = csv.writer(self._file)
            self._csv.writerow(COLUMNS)
        else:
            self._pa = require("pyarrow", "table", "a Parquet keypoint table")
            import pyarrow.parquet as pq

            schema = self._pa.schema([("frame", self._pa.int64()), ("time_s", self._pa.float64()),
                                      ("track", self._pa.int64()), ("joint", self._pa.string()),
                                      ("x", self._pa.float64()), ("y", self._pa.float64()),
                                      ("score", self._pa.float64()), ("origin", self._pa.string())])  # fmt: skip
            self._parquet = pq.ParquetWriter(str(self.path), schema)

    def write(self, result: PoseResult) -> None:
        """Add one frame's rows."""
        cols = table_columns(result, self.fps)
        self.rows += len(cols["frame"])
        if self._csv is not None:
            self._csv.writerows(zip(*(cols[c].tolist() for c in COLUMNS)))
            self._file.flush()
            return
        self._pending.append(cols)
        if len(self._pending) >= self.frames_per_group:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            joined = {c: np.concatenate([p[c] for p in self._pending]) for c in COLUMNS}
            self._parquet.write_table(self._pa.table({c: joined[c] for c in COLUMNS}, schema=self._parquet.schema))
            self._pending = []

    def close(self) -> Path:
        """Finish the file; returns its path."""
        if self._parquet is not None:
            self._flush()
            self._parquet.close()
            self._parquet = None
        if self._file is not None:
            self._file.close()
            self._file = None
        return self.path

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def results_table(results: Iterable[PoseResult], fps: float | None = None):
    """Every frame's rows as one pandas DataFrame (columns ``COLUMNS``)."""
    pd = require("pandas", "table", "results_table")
    parts = [table_columns(r, fps) for r in results]
    if not parts:
        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in COLUMNS})
