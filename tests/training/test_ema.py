"""EMA half-life, ramp-up and the update rule against hand-computed values."""

from __future__ import annotations

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
