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


def test_done_frames_spill_to_a_file_and_read_back(tmp_path):
    """A run whose outputs are all written as frames finish keeps its done frames in a file, not in memory."""
    from stdpose_infer.cli.interruption import DoneFrames

    results = _results(5)
    store = DoneFrames(results[:2], tmp_path / "run.frames.jsonl")
    for r in results[2:]:
        store.append(r)
    assert len(store) == 5 and store.people == sum(len(r) for r in results) and not store._memory
    back = list(store)
    assert [r.frame_index for r in back] == list(range(5))
    for a, b in zip(back, results):
        np.testing.assert_allclose(a.keypoints, b.keypoints) and np.testing.assert_array_equal(a.track_ids, b.track_ids)
    store.close()
    assert not (tmp_path / "run.frames.jsonl").exists()


def test_cli_run_with_only_a_table_is_interrupted_and_resumed(tmp_path, tiny, monkeypatch, capsys):
    """`run --table` alone: the done frames go to a file as the run goes; a stop keeps them for --resume, which
    gives the table of one uninterrupted run, and no file is left behind."""
    import signal

    import tqdm
    from conftest import SignalAfter, run_command

    from stdpose_infer.cli.interruption import DoneFrames

    from stdpose_infer.cli import interruption

    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test", "000001_mpiinew_test.mp4")
    whole, out = tmp_path / "whole.csv", tmp_path / "out.csv"
    spills = []
    monkeypatch.setattr(interruption, "DoneFrames", lambda done, spill=None: spills.append(spill) or DoneFrames(done, spill))
    assert run_command(tiny, tmp_path, clip, "--table", str(whole), "--no-reuse-features") == 0
    assert run_command(tiny, tmp_path, clip, "--table", str(tmp_path / "j.csv"), "--json", str(tmp_path / "j.json")) == 0
    assert spills[0] is not None and spills[1] is None  # a JSON is written at the end: it needs every frame kept
    monkeypatch.setattr(tqdm, "tqdm", SignalAfter(signal.SIGINT, 3))
    assert run_command(tiny, tmp_path, clip, "--table", str(out), "--no-reuse-features") == 130
    assert "after 3 frames" in capsys.readouterr().err
    monkeypatch.undo()
    assert run_command(tiny, tmp_path, clip, "--table", str(out), "--no-reuse-features", "--resume") == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(whole), rtol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir() if "frames" in p.name or "incomplete" in p.name) == []
