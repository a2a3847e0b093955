"""Data-parallel training: two gloo processes on loopback train like one process with the doubled batch, rank 0
writes the checkpoint, and a run resumes with another number of processes."""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.multiprocessing as mp
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from stdpose_infer.data import write_benchmark
from stdpose_infer.train import TrainConfig, make_model, train
from stdpose_infer.train.distributed import EpochSampler
from stdpose_infer.weights import load_model


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_benchmark(root, videos=1, seed=3, width=192, height=160, frames=6, people=2, occluders=1)
    return root


def _config(data, out, batch_size, epochs, resume=False) -> TrainConfig:
    # No drop path, and BatchNorm normalises with its running statistics (``_fixed_batchnorm``): on the CPU each
    # process keeps its own batch statistics, so only then is N x B over N processes the same step as one process of
    # N*B. Every weight trains.
    return TrainConfig(data=str(data), out=str(out), variant="t", mode="propagate", estimate_every=2, max_gap=2,
                       batch_size=batch_size,
                       epochs=epochs, lr=2e-3, augment=True, seed=0, device="cpu", resume=resume,
                       freeze=("keypoint_head.", "tks."), extra={"drop_path_rate": 0.0})  # fmt: skip


def _fixed_batchnorm() -> None:
    """BatchNorm layers stay in eval mode whatever ``train()`` says (batch statistics couple a batch's samples)."""
    _BatchNorm.train = lambda self, mode=True: torch.nn.Module.train(self, False)


def _worker(rank: int, world: int, store: str, kwargs: dict, results) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # loopback only
    _fixed_batchnorm()
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    history = train(_config(**kwargs), progress=False)
    results[rank] = history["loss"]
    torch.distributed.destroy_process_group()


def _spawn(tmp_path, name: str, world: int, **kwargs) -> dict:
    results = mp.Manager().dict()
    mp.spawn(_worker, args=(world, str(tmp_path / f"{name}.store"), kwargs, results), nprocs=world, join=True)
    return dict(results)


def test_epoch_sampler_keeps_the_single_process_order_and_splits_it():
    n, seed, epoch = 23, 4, 2
    order = torch.Generator().manual_seed(seed * 10_007 + epoch)
    old = list(DataLoader(range(n), batch_size=1, shuffle=True, generator=order))
    assert list(EpochSampler(n, seed, epoch)) == [int(x) for x in old]
    one = list(EpochSampler(n, seed, epoch))
    parts = [list(EpochSampler(n, seed, epoch, rank, 2)) for rank in range(2)]
    assert len(parts[0]) == len(parts[1]) == 11  # 23 // 2: one sample of the shuffle left out
    batch = 3  # step k of the two ranks (batch 3) = step k of one process (batch 6)
    for k in range(3):
        assert sorted(parts[0][k * batch : (k + 1) * batch] + parts[1][k * batch : (k + 1) * batch]) == sorted(
            one[2 * k * batch : 2 * (k + 1) * batch]
        )


def test_two_gloo_processes_equal_one_with_the_doubled_batch(synth, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setattr(_BatchNorm, "train", _BatchNorm.train)  # restored after the test
    _fixed_batchnorm()
    single = train(_config(synth, tmp_path / "single", batch_size=4, epochs=2), progress=False)
    losses = _spawn(tmp_path, "ddp", 2, data=synth, out=tmp_path / "ddp", batch_size=2, epochs=2)
    assert losses[0] == losses[1]  # the logged loss is the mean over both processes
    assert losses[0] == pytest.approx(single["loss"], rel=1e-4)
    a, b = load_model(tmp_path / "single" / "last.safetensors"), load_model(tmp_path / "ddp" / "last.safetensors")
    init = make_model(_config(synth, tmp_path / "x", batch_size=4, epochs=2)).state_dict()
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(pa, pb, atol=1e-6, rtol=1e-5, msg=name)
    assert max(float((pa - init[k]).abs().max()) for k, pa in a.state_dict().items()) > 1e-3  # it trained
    state = torch.load(tmp_path / "ddp" / "train_state.pt", weights_only=True)
    assert state["world_size"] == 2 and state["epoch"] == 2
    assert json.loads((tmp_path / "ddp" / "losses.json").read_text())["loss"] == losses[0]
    # a run started with 2 processes resumes with 1 (batch_size is per process: the saved one must be kept)
    resumed = train(_config(synth, tmp_path / "ddp", batch_size=2, epochs=3, resume=True), progress=False)
    assert resumed["epoch"] == [1, 2, 3] and resumed["loss"][:2] == losses[0]
    after = load_model(tmp_path / "ddp" / "last.safetensors")
    moved = max(float((pa - pb).abs().max()) for pa, pb in zip(b.state_dict().values(), after.state_dict().values()))
    assert moved > 1e-4  # the third epoch trained
