"""Shared fixtures. Tests that need ../shared/data skip with a reason when it is absent."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch
from tqdm import tqdm as REAL_TQDM  # the real one: tests patch tqdm.tqdm with SignalAfter

from stdpose_infer import build_model
from lively import lively_weights as make_lively

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run_command(model: torch.nn.Module, tmp_path: Path, source, *options: str) -> int:
    """``stdpose-infer run SOURCE OPTIONS`` with ``model``'s weights on the torch backend (its exit code); the
    untrained weights' warning is silenced."""
    from stdpose_infer.cli.main import main
    from stdpose_infer.weights import save_weights

    weights = save_weights(model, tmp_path / "weights.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(["run", str(source), "--weights", str(weights), "--backend", "torch", *options])


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test when the folder is not there."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared test data at {path} (not part of a fresh clone)")
    return path


@pytest.fixture(scope="session")
def tiny() -> torch.nn.Module:
    """The tiny variant, all modules on, with lively random weights (shared: do not modify)."""
    torch.manual_seed(0)
    return make_lively(build_model("t"))


@pytest.fixture
def frames() -> torch.Tensor:
    return torch.randn(4, 3, 3, 256, 192, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def aux() -> torch.Tensor:
    return torch.rand(4, 2, 17, 64, 48, generator=torch.Generator().manual_seed(2))


@pytest.fixture(scope="session")
def tiny_graphs(tiny, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """The tiny model exported once per (mode, precision): {("estimate", "fp32"): path, ...}."""
    from stdpose_infer.export import export_onnx

    folder = tmp_path_factory.mktemp("onnx")
    return {
        (mode, precision): export_onnx(tiny, folder / f"t-{mode}-{precision}.onnx", mode, precision).path
        for mode in ("estimate", "propagate")
        for precision in ("fp32", "fp16")
    }


class SignalAfter:
    """A tqdm stand-in that sends this process ``signum`` once ``after`` items have passed (a user's Ctrl-C)."""

    def __init__(self, signum, after):
        self.signum, self.after = signum, after

    def __call__(self, iterable=None, **kw):
        if iterable is None:  # a bar driven by hand (adaptation's time bar)
            return REAL_TQDM(**kw)
        bar = REAL_TQDM(iterable, **{**kw, "disable": True})
        outer = self

        class Bar:
            def __iter__(self):
                for n, item in enumerate(bar, 1):
                    if n == outer.after:
                        os.kill(os.getpid(), outer.signum)
                    yield item

            def close(self):
                bar.close()

        return Bar()
