"""Device placement that a CPU can check: which GPU a config's device names, a state on another
device refused, loss terms on the network's device (the meta device stands in for a GPU: mixing
it with CPU tensors fails as CUDA does), and seeding that leaves the CUDA generators alone.
The GPU's own checks are in tests/test_cuda.py."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from engine_helpers import tiny_config

from growgan.errors import GrowganError
from growgan.losses import orthogonal_regularization
from growgan.training.distributed import DistInfo
from growgan.training.loop import Trainer, default_device


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine that says it has two CUDA GPUs (only device names are computed, nothing runs)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.version, "cuda", "13.0")


def test_cuda_names_this_ranks_gpu_with_its_index(two_gpus):
    alone, rank1 = DistInfo(), DistInfo(rank=1, world_size=2, local_rank=1)
    # indexed, so it compares equal to a tensor's device and forks the RNG of the GPU in use
    assert default_device("cuda", alone) == torch.device("cuda", 0)
    assert default_device("auto", alone) == torch.device("cuda", 0)
    assert default_device("cuda:1", alone) == torch.device("cuda", 1)
    # under torchrun every process takes the GPU of its LOCAL_RANK (init_from_env's set_device)
    assert default_device("cuda", rank1) == torch.device("cuda", 1)
    assert default_device("auto", rank1) == torch.device("cuda", 1)
    assert default_device("cuda:1", rank1) == torch.device("cuda", 1)
    with pytest.raises(GrowganError, match="LOCAL_RANK"):  # every rank on cuda:0: NCCL refuses
        default_device("cuda:0", rank1)
    assert default_device("cpu", rank1) == torch.device("cpu")


def test_trainer_refuses_a_state_on_another_device(tiny_archive):
    """A state restored on one device and trained on another used to fail later, inside the
    first step (latents on the trainer's device, G on the state's): now a one-line error."""
    tr = Trainer(tiny_config(device="cpu"), tiny_archive, verbose=False)
    state = tr.state
    for net in (state.G, state.D, state.G_ema):
        net.to("meta")
    with pytest.raises(GrowganError, match="on meta but this trainer runs on cpu"):
        Trainer(tr.config, tiny_archive, state=state, verbose=False)


def test_orthogonal_regularization_of_a_net_without_matrices_is_on_its_device():
    net = nn.Sequential(nn.BatchNorm2d(3)).to("meta")  # 1-D parameters only: the sum is empty
    out = orthogonal_regularization(net, 1e-4)
    assert out.device.type == "meta" and out.shape == ()


def test_init_and_growth_seed_the_cpu_generator_only(tiny_archive, monkeypatch):
    """Networks are initialised on the CPU; seeding them with torch.manual_seed would also reseed
    every CUDA generator, which fork_rng(devices=[]) does not restore (on a GPU, building a trainer
    or growing ProGAN restarted the CUDA stream)."""
    from growgan.growth import build_trainer
    from growgan.training.presets_progan import progan_config, progan_network

    calls = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: calls.append(seed))
    growth = {"target_resolution": 8, "stabilise_kimg": 0.008, "fade_kimg": 0.008, "batch_sizes": {"4": 8, "8": 8}}
    cfg = progan_config(progan_network(z_dim=8, fmap_base=32, fmap_max=8), growth, batch_size=8, kimg=0.032,
                        tensorboard=False, report=False)
    tr = build_trainer(cfg, tiny_archive, verbose=False)
    spec0 = tr.state.spec
    tr.state.images_seen = 8  # past the 4x4 stage: the next apply builds the 8x8 layers
    assert tr.growth.apply(tr.state) and tr.state.spec != spec0
    assert calls == []


def test_more_local_processes_than_gpus_is_one_line_before_any_process_group(two_gpus, monkeypatch):
    from growgan.training import distributed

    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "2")
    made = []
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda *a, **k: made.append(a))
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: made.append(i))
    with pytest.raises(GrowganError, match=r"LOCAL_RANK=2, but only 2 CUDA device.*--nproc_per_node 2"):
        distributed.init_from_env("cuda")
    assert made == []
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.init_from_env("cuda").local_rank == 1 and made == [1, ("nccl",)]
