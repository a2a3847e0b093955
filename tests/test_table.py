"""One tidy keypoint table: rows per frame, person and joint; CSV and Parquet written as frames finish."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

from stdpose_infer.errors import InputError
from stdpose_infer.keypoints import COCO
from stdpose_infer.results import COLUMNS, PoseResult, TableWriter, results_table


def _results(frames: int = 3) -> list[PoseResult]:
    out = []
    for t in range(frames):
        n = t % 3  # 0, 1, 2 people
        kps = np.arange(n * 17 * 2, dtype=np.float32).reshape(n, 17, 2) + 100 * t
        scores = np.full((n, 17), 0.5, np.float32)
        out.append(PoseResult(t, f"{t:06d}.jpg", np.zeros((n, 4)), np.arange(n) + 7, kps, scores,
                              np.full(n, "estimated", "<U10"), COCO, (100, 100)))  # fmt: skip
    return out


def test_table_has_a_row_per_frame_person_and_joint():
    results = _results()
    table = results_table(results, fps=10)
    assert list(table.columns) == list(COLUMNS) and len(table) == (0 + 1 + 2) * 17
    row = table[(table.frame == 2) & (table.track == 8) & (table.joint == "left_wrist")].iloc[0]
    j = COCO.keypoints.index("left_wrist")
    np.testing.assert_allclose([row.x, row.y], results[2].keypoints[1, j])
    assert row.time_s == pytest.approx(0.2) and row.score == pytest.approx(0.5) and row.origin == "estimated"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_written_tables_read_back_with_pandas(tmp_path, suffix):
    results = _results(7)
    path = tmp_path / f"t{suffix}"
    with TableWriter(path, fps=10, frames_per_group=2) as writer:
        for r in results:
            writer.write(r)
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    expected = results_table(results, fps=10)
    assert writer.rows == len(expected) == len(back)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, rtol=1e-6)


def test_a_table_of_another_kind_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"\.csv or \.parquet"):
        TableWriter(tmp_path / "t.xlsx")


def test_cli_run_writes_the_table(tmp_path, tiny):
    from conftest import run_command

    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test", "000001_mpiinew_test.mp4")
    code = run_command(tiny, tmp_path, clip, "--table", str(tmp_path / "k.csv"), "--json", str(tmp_path / "k.json"))
    assert code == 0
    table = pd.read_csv(tmp_path / "k.csv")
    assert sorted(table.frame.unique()) == list(range(5)) and set(table.origin) == {"estimated"}
    assert table.time_s.max() == pytest.approx(4 / 30, abs=1e-6)  # the clip is 30 fps
