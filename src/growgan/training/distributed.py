"""Multi-process training on torch.distributed, started by torchrun.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; we join the
process group with gloo on CPU and NCCL on CUDA. Each rank draws its own data shard
(growgan.data.BatchLoader) and its own latents; gradients are averaged across ranks by an
all-reduce after every backward pass (the bucketed gradient averaging that
DistributedDataParallel performs, done explicitly as in stylegan2-ada-pytorch because a
GAN step runs D several times per backward and takes double-backward gradient
penalties, which the DDP wrapper does not support). Buffers (BatchNorm statistics) are
broadcast from rank 0 after each step so all ranks hold identical networks.
Rank 0 alone writes files. `batch_size` in the config is per rank; the global batch is
batch_size * world_size, and images seen count the global batch.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn

from growgan.errors import GrowganError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device_kind: str = "cpu") -> DistInfo:
    """Join the torchrun process group if WORLD_SIZE > 1 (idempotent). On CUDA each process
    takes the GPU of its LOCAL_RANK; more local processes than visible GPUs is a one-line
    GrowganError (before any process group is made)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        if backend == "nccl":
            count = torch.cuda.device_count()
            if local >= count:
                raise GrowganError(f"torchrun: LOCAL_RANK={local}, but only {count} CUDA device(s) are visible; "
                                   f"use --nproc_per_node {count} or fewer (or device=cpu to train on gloo)")
            torch.cuda.set_device(local)
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def current() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def all_reduce_grads(module: nn.Module, world_size: int) -> None:
    """Average the gradients of `module` across ranks, in one flat all-reduce."""
    if world_size <= 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat.div_(world_size)
    torch._foreach_copy_(grads, [t.view_as(g) for t, g in zip(flat.split([g.numel() for g in grads]), grads)])


def broadcast_module(module: nn.Module, params: bool = True) -> None:
    """Make every rank hold rank 0's buffers (and parameters)."""
    tensors = list(module.buffers()) + (list(module.parameters()) if params else [])
    with torch.no_grad():
        for t in tensors:
            dist.broadcast(t.data, src=0)


def gather_objects(obj) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank (just [obj] without a group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def share_from_main(value, error: GrowganError | None = None):
    """Rank 0's `value` on every rank; when rank 0 passes the GrowganError it stopped with, rank 0
    raises it and every other rank exits with status 2 and says nothing (rank 0's one line is
    the message). Without it the other ranks waited in a collective for a rank that had exited
    and printed a gloo traceback ('Connection closed by peer'). Without a group: raise or return."""
    info = current()
    if info.world_size <= 1 or not (dist.is_available() and dist.is_initialized()):
        if error is not None:
            raise error
        return value
    shared, message = gather_objects((value, None if error is None else str(error)) if info.is_main else None)[0]
    if message is not None:
        # every rank leaves the group before exiting: a gloo group alive at interpreter exit can
        # abort the process ("terminate called without an active exception", SIGABRT)
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
        if info.is_main:
            raise error
        time.sleep(0.5)  # let rank 0 print its line before torchrun, seeing this exit, stops it
        raise SystemExit(2)
    return shared


def on_main(fn, *args, **kwargs):
    """fn(*args, **kwargs) on rank 0 only (a check or a write), its result on every rank; a
    GrowganError of rank 0 stops every rank (see `share_from_main`)."""
    value, error = None, None
    if current().is_main:
        try:
            value = fn(*args, **kwargs)
        except GrowganError as exc:
            error = exc
    return share_from_main(value, error)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
