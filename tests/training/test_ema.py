"""EMA half-life, ramp-up and the update rule against hand-computed values."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from growgan.training.ema import ema_beta, update_ema


def test_half_life_halves_the_old_weight():
    # after exactly one half-life of images the old average keeps weight 1/2
    assert ema_beta(1000, 10**9, half_life_kimg=1.0, rampup=None) == pytest.approx(0.5)
    # two batches of 500 images: 0.5 ** 0.5 each, product 0.5
    assert ema_beta(500, 10**9, 1.0, None) ** 2 == pytest.approx(0.5)


def test_rampup_caps_the_half_life():
    # at 10,000 images with ramp-up 0.05 the half-life is min(1000, 500) = 500 images
    assert ema_beta(1000, 10_000, 1.0, 0.05) == pytest.approx(0.25)
    assert ema_beta(64, 0, 1.0, 0.05) == 0.0  # at the start G_ema copies G
    assert ema_beta(64, 0, 0.0, None) == 0.0


def _net(w: float, running: float) -> nn.Module:
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    with torch.no_grad():
        net[0].weight.fill_(w)
        net[1].running_mean.fill_(running)
    return net


def test_update_lerps_params_and_copies_buffers():
    G, G_ema = _net(1.0, 3.0), _net(0.0, -1.0)
    update_ema(G_ema, G, beta=0.25)
    assert G_ema[0].weight.item() == pytest.approx(0.75)  # 0.25 * 0 + 0.75 * 1
    assert G_ema[1].running_mean.item() == 3.0
    update_ema(G_ema, G, beta=0.5)
    assert G_ema[0].weight.item() == pytest.approx(0.875)  # 0.5 * 0.75 + 0.5 * 1
    assert G[0].weight.item() == 1.0  # G untouched


def _dcgan_G():
    from growgan.networks.registry import build_generator

    return build_generator({"family": "dcgan", "G": {"z_dim": 16, "img_channels": 1, "img_resolution": 32,
                                                     "g_channels": 8}, "D": {}})


def test_standing_stats_recompute_batchnorm_for_the_averaged_weights():
    from growgan.training.ema import standing_stats

    torch.manual_seed(0)
    G = _dcgan_G()
    for m in G.modules():  # stale statistics, as G_ema gets them copied from G
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
            m.running_var.fill_(0.01)
    z = torch.randn(512, 16)
    with torch.no_grad():
        ref = copy.deepcopy(G).train()(z)  # batch statistics of a large batch
        stale = G.eval()(z)
    rng = torch.get_rng_state()
    G2 = standing_stats(G, batches=16, batch_size=64)
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG is untouched
    assert G2 is not G and not G2.training
    with torch.no_grad():
        fixed = G2(z)
    err_fixed, err_stale = (fixed - ref).abs().mean().item(), (stale - ref).abs().mean().item()
    assert err_fixed < 0.05 < err_stale, (err_fixed, err_stale)
    bn = next(m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.all(bn.running_mean == 3.0) and bn.momentum == 0.1  # the original is unchanged
    bn2 = next(m for m in G2.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert bn2.momentum == 0.1
    # deterministic: the same statistics twice
    assert torch.equal(bn2.running_var, next(m for m in standing_stats(G).modules()
                                              if isinstance(m, torch.nn.BatchNorm2d)).running_var)


def test_standing_stats_leave_nets_without_batchnorm_alone():
    from growgan.training.ema import standing_stats

    G = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert standing_stats(G) is G
