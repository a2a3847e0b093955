"""Data-parallel training under ``torchrun``: one process per GPU (NCCL) or per CPU worker (gloo).

``train`` calls ``Run.start(device)``: a single process when ``WORLD_SIZE`` is unset (or 1), else it joins the
process group that ``torchrun`` describes in the environment (or one the caller already initialised). Each process
reads its own share of every epoch's shuffled samples (``EpochSampler``), DistributedDataParallel averages the
gradients, rank 0 alone writes checkpoints and the plot. ``batch_size`` is per process: N processes of batch B train
like one process of batch N x B (the same samples in each step), up to BatchNorm, whose statistics are synchronised
on GPUs (SyncBatchNorm) but per process on CPUs (torch has no CPU SyncBatchNorm).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from ..errors import InputError


@dataclass
class Run:
    """Where this process stands: its rank among ``world`` processes, and the device it trains on."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # this module initialised the process group (and destroys it in ``stop``)

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes files and shows progress."""
        return self.rank == 0

    @classmethod
    def start(cls, device: torch.device) -> Run:
        """One process, or this process's place in a ``torchrun`` job (NCCL on CUDA, gloo on the CPU)."""
        if dist.is_available() and dist.is_initialized():
            owns = False
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            if not dist.is_available():
                raise InputError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
            owns = True
            if device.type == "cuda":
                device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        else:
            return cls(device=device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        return cls(dist.get_rank(), dist.get_world_size(), device, owns)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel around ``module`` when there are several processes; the module itself otherwise."""
        if self.world == 1:
            return module
        if self.device.type == "cuda":
            module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Each value averaged over the processes (epoch losses for the log)."""
        if self.world == 1 or not values:
            return values
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return {k: float(v) / self.world for k, v in zip(keys, t.tolist())}

    def labeled(self, weight: torch.Tensor) -> torch.Tensor | None:
        """The MSE's divisor for this step: labeled joints of every process's batch over the process count (None
        with one process: the batch's own count). Then the averaged gradients are exactly those of one big batch."""
        if self.world == 1:
            return None
        total = weight.detach().sum()
        dist.all_reduce(total)
        return total.clamp(min=1) / self.world

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def stop(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


class EpochSampler(Sampler[int]):
    """This rank's share of one epoch's shuffle: every ``world``-th index of a permutation fixed by (seed, epoch).

    With one process the order is the one ``DataLoader(shuffle=True, generator=seeded)`` gives, so single-process
    runs are unchanged; with N processes, step k of the N ranks together reads the samples step k of one process
    with an N times larger batch reads. The last ``n % world`` samples of the permutation are left out (a different
    few each epoch), so every rank has as many and the steps per epoch match the big batch's.
    """

    def __init__(self, n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.seed, self.epoch, self.rank, self.world = n, seed, epoch, rank, world
        self.per_rank = n // world

    def __iter__(self) -> Iterator[int]:
        g = self.generator()
        torch.empty((), dtype=torch.int64).random_(generator=g)  # the DataLoader's worker-seed draw came first
        order = torch.randperm(self.n, generator=g).tolist()[: self.per_rank * self.world]
        return iter(order[self.rank :: self.world])

    def __len__(self) -> int:
        return self.per_rank

    def generator(self) -> torch.Generator:
        """The epoch's generator (also the DataLoader's, for its worker seeds: the global RNG stays untouched)."""
        return torch.Generator().manual_seed(self.seed * 10_007 + self.epoch)
