"""The contact sheet (``--contact-sheet``): a few overlay frames spread over a run in one PNG, with bounded memory
whatever the run's length."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stdpose_infer.cli.main import main
from stdpose_infer.data import write_benchmark
from stdpose_infer.errors import InputError
from stdpose_infer.video import ContactSheet


def test_sheet_spreads_its_frames_and_holds_few(tmp_path):
    sheet = ContactSheet(tmp_path / "s.png", count=6, columns=3, width=64)
    held = []
    for i in range(1000):
        sheet.offer(i, np.full((48, 96, 3), i % 256, np.uint8))
        held.append(len(sheet._kept))
    assert max(held) <= 12  # 2 x count thumbnails at most, for any length
    kept = sorted(sheet._kept)
    assert kept[0] == 0 and kept[-1] >= 1000 - 1000 // 6  # the run's end is on the sheet, not only its start
    image = cv2.imread(str(sheet.close()))
    assert image.shape == (2 * 32, 3 * 64, 3)  # 2 rows x 3 columns of 64 x 32 thumbnails


def test_short_run_and_bad_names(tmp_path):
    sheet = ContactSheet(tmp_path / "short.png")
    assert sheet.close() is None  # nothing offered, nothing written
    for i in range(2):
        sheet.offer(i, np.zeros((20, 30, 3), np.uint8))
    assert cv2.imread(str(sheet.close())).shape == (20, 60, 3)  # two frames side by side
    with pytest.raises(InputError, match="name it .png"):
        ContactSheet(tmp_path / "sheet.mp4")


def test_cli_writes_the_sheet(tiny, tmp_path, capsys):
    from stdpose_infer.weights import save_weights

    write_benchmark(tmp_path / "clip", videos=1, seed=2, width=160, height=128, frames=9, people=1, occluders=0)
    labels = next((tmp_path / "clip" / "annotations").glob("*.json"))
    folder = tmp_path / "clip" / "images" / labels.stem
    weights = save_weights(tiny, tmp_path / "t.safetensors")
    base = ["propagate", str(folder), "--labels", str(labels), "--weights", str(weights), "--backend", "torch"]
    assert main([*base, "--contact-sheet", str(tmp_path / "sheet.gif")]) == 2
    assert "name it .png" in capsys.readouterr().err
    assert main([*base, "--contact-sheet", str(tmp_path / "sheet.png")]) == 0
    assert "sheet.png" in capsys.readouterr().out
    assert cv2.imread(str(tmp_path / "sheet.png")).shape[:2] == (2 * 128, 3 * 160)  # six of the nine frames
