"""Batches from an archive: a seeded, rank-aware, exactly resumable infinite sampler.

Following stylegan2-ada-pytorch, the loader hands out uint8 and the training device does
the float conversion and the x-flips (`prepare_batch`). Unlike a torch DataLoader with
workers, `BatchLoader` reads in-process: fancy-indexing a memory-mapped uint8 array is fast
enough (see benchmarks/data.md) and keeps the position an exact pair (epoch, offset).

Epoch e visits the permutation ``rng(seed, e)`` of all N images; rank r of W takes every
W-th entry of it (a disjoint shard of N // W images, the remainder dropped so all ranks stay
in step). Batches run across epoch boundaries, so every image is seen once per epoch.
`downsample` average-pools to a lower resolution, as progressive growing needs (ProGAN,
Karras et al. 2018, trains at 4x4, 8x8, ... on downsampled reals).
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from growgan.data.archive import Archive, open_archive
from growgan.errors import GrowganError


class BatchLoader:
    """Infinite iterator of ``(images uint8 [B, C, H, W], labels int64 [B])`` CPU tensors.

    Unlabelled archives yield zero labels. `state_dict()` is the same on every rank, so
    rank 0's copy restores all ranks.
    """

    def __init__(
        self,
        archive: Archive | str | os.PathLike,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.archive = archive if isinstance(archive, Archive) else open_archive(archive)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}")
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.num_images = len(self.archive)
        self.shard_size = self.num_images // self.world_size
        if self.shard_size < 1:
            raise GrowganError(
                f"{self.archive.path}: {self.num_images} images cannot be shared by {world_size} processes; "
                "use a larger archive or fewer processes"
            )
        self.set_batch_size(batch_size)
        self.epoch, self.offset = 0, 0
        self._shard_epoch: int | None = None
        self._shard: np.ndarray | None = None
        n = self.num_images
        self._images = self.archive.images.view(np.ndarray)  # same mapped bytes; cheaper fancy indexing
        self._labels = self.archive.labels if self.archive.labels is not None else np.zeros(n, dtype=np.int64)

    def set_batch_size(self, batch_size: int) -> None:
        """Per-rank batch size from the next batch on (position is kept)."""
        if int(batch_size) < 1:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        self.batch_size = int(batch_size)

    def _shard_indices(self, epoch: int) -> np.ndarray:
        if self._shard_epoch != epoch:
            perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_images)
            self._shard = perm[self.rank :: self.world_size][: self.shard_size]
            self._shard_epoch = epoch
        return self._shard

    def next_indices(self) -> np.ndarray:
        """Archive indices of the next batch, advancing the position."""
        parts, need = [], self.batch_size
        while need > 0:
            shard = self._shard_indices(self.epoch)
            take = shard[self.offset : self.offset + need]
            parts.append(take)
            need -= len(take)
            self.offset += len(take)
            if self.offset >= self.shard_size:
                self.epoch, self.offset = self.epoch + 1, 0
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.next_indices()
        # Sorted reads are kinder to the page cache; undo the sort to keep the shuffled order.
        order = np.argsort(idx, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        images = self._images[idx[order]][inverse]  # [B, C, H, W] uint8
        labels = self._labels[idx]
        return torch.from_numpy(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))

    def state_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "epoch": self.epoch,
            "offset": self.offset,
            "batch_size": self.batch_size,
            "world_size": self.world_size,
            "num_images": self.num_images,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["num_images"]) != self.num_images or int(state["world_size"]) != self.world_size:
            raise GrowganError(
                f"{self.archive.path}: the saved loader position is for {state['num_images']} images on "
                f"{state['world_size']} processes, not {self.num_images} on {self.world_size}; "
                "resume with the same archive and number of processes"
            )
        self.seed = int(state["seed"])
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
        self.set_batch_size(int(state["batch_size"]))
        self._shard_epoch = None


def prepare_batch(
    images: torch.Tensor,
    device: torch.device | str | None = None,
    flip: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """uint8 [B, C, H, W] -> float32 [-1, 1] on `device`, each image x-flipped with p=0.5 if `flip`.

    The flip coin is drawn on the device (from `generator` if given, which must live there).
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"prepare_batch expects uint8 images, got {images.dtype}")
    device = torch.device(device) if device is not None else images.device
    if device.type == "cpu":
        return _prepare_cpu(images.cpu(), flip, generator)
    return _prepare_torch(images, device, flip, generator)


def _prepare_torch(
    images: torch.Tensor, device: torch.device, flip: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """The accelerator path: no host sync (the coin stays on the device)."""
    x = images.to(device, non_blocking=True)  # [B, C, H, W] uint8
    if flip:  # flipping uint8 moves a quarter of the bytes that float would
        coin = torch.rand(x.shape[0], device=device, generator=generator) < 0.5  # [B]
        x = torch.where(coin[:, None, None, None], x.flip(3), x)
    # Same arithmetic as utils.image.to_float (x / 127.5 - 1), done in place.
    return x.to(torch.float32).div_(127.5).sub_(1.0)


def _prepare_cpu(images: torch.Tensor, flip: bool, generator: torch.Generator | None) -> torch.Tensor:
    """The CPU path in numpy: single-threaded, so it stays fast when the cores are oversubscribed
    (torch's intra-op threads stall there on batch-sized tensors; see benchmarks/data.md)."""
    x = images.numpy().astype(np.float32)  # [B, C, H, W] float32 copy
    x /= np.float32(127.5)
    x -= np.float32(1.0)  # the same IEEE operations as to_float: identical bits
    if flip:
        coin = (torch.rand(x.shape[0], generator=generator) < 0.5).numpy()  # [B]
        x[coin] = x[coin][..., ::-1]
    return torch.from_numpy(x)


def downsample(x: torch.Tensor, size: tuple[int, int] | int) -> torch.Tensor:
    """Average-pool [B, C, H, W] to [B, C, h, w] where h, w divide H, W (uint8 stays uint8, rounded)."""
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    H, W = x.shape[-2:]
    if (h, w) == (H, W):
        return x
    if h > H or w > W or H % h or W % w:
        raise ValueError(f"cannot average-pool {H}x{W} to {h}x{w}: factors must be integers >= 1")
    if x.dtype == torch.uint8:
        y = F.avg_pool2d(x.float(), kernel_size=(H // h, W // w))
        return y.round_().clamp_(0, 255).to(torch.uint8)
    return F.avg_pool2d(x, kernel_size=(H // h, W // w))  # [B, C, H, W] -> [B, C, h, w]
