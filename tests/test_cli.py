"""The stdpose-infer command line: weights import and inspection, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from test_weights import official_vitpose_state_dict

from stdpose_infer import load_model
from stdpose_infer.cli.main import main


def test_import_vitpose_then_info(tmp_path, capsys):
    pth = tmp_path / "vitpose_small.pth"
    sd = official_vitpose_state_dict(384, 12)
    torch.save({"state_dict": sd}, pth)
    out = tmp_path / "stdpose-s.safetensors"
    assert (
        main(["import-vitpose", str(pth), "--variant", "s", "--keypoint-format", "posetrack", "--out", str(out)]) == 0
    )
    assert "untrained" in capsys.readouterr().out
    model = load_model(out, variant="s")
    assert model.config.keypoint_format == "posetrack"
    assert torch.equal(model.backbone.blocks[7].mlp.fc2.weight, sd["backbone.blocks.7.mlp.fc2.weight"])
    assert main(["info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["config"]["variant"] == "s" and "ViTPose" in info["provenance"]["source"]


def test_errors_are_one_clear_line_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stdpose_infer.cli.main", "info", str(tmp_path / "missing.safetensors")],
        capture_output=True,
        check=False,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("stdpose-infer: error: ") and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_progress_off_a_terminal_logs_a_few_lines_not_one_per_item(tmp_path):
    """In a log or a pipe a long run's bar is redrawn at most once a minute (a 110-frame run wrote 110 lines)."""
    from stdpose_infer.progress import progress

    log = tmp_path / "run.log"
    with log.open("w") as f:
        for _ in progress(range(500), desc="run", unit="frame", file=f):
            pass
    text = log.read_text()
    assert text.count("\r") + text.count("\n") <= 4 and "500/500" in text, repr(text)
