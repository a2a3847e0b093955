"""What every benchmark records beside its figures: the machine, and results as JSON + Markdown."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import torch


def save_results(out: Path, results: dict, markdown: str) -> None:
    """A benchmark's results beside each other: OUT.json (the numbers) and OUT.md (the report)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(markdown)


def machine() -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    flags = next((line for line in cpu.splitlines() if line.startswith("Flags")), "")
    units = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else "no BF16 units (AVX2)"
    return f"{name}, {os.cpu_count()} cores, {units}; torch {torch.__version__}, {torch.get_num_threads()} threads"
