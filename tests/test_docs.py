"""The documentation site builds strictly (a broken link, a missing page or a docstring the API reference cannot
read fails), offline, and the README's two commands are the Makefile's targets."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extra (the serve environment does not build docs)")
    pytest.importorskip("mkdocstrings")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "stdpose_infer.Pipeline" in api and "propagate" in api  # the reference has the docstrings, not just names
    assert "The data path" in (tmp_path / "site" / "architecture" / "index.html").read_text()  # ARCHITECTURE.md


def test_readme_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in readme[:8] if line.startswith("    make ")]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()
