"""CycleGAN's losses against their definitions (Zhu et al. 2017; LSGAN, Mao et al. 2017)."""

import torch
import torch.nn as nn

from growgan.losses import cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss


def test_cycle_and_identity_losses_vanish_for_identity_generators():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1
    b = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
    G_AB, G_BA = nn.Identity(), nn.Identity()
    assert cycle_loss(G_BA(G_AB(a)), a).item() == 0.0
    assert cycle_loss(G_AB(G_BA(b)), b).item() == 0.0
    assert identity_loss(G_AB(b), b).item() == 0.0


def test_cycle_and_identity_weights_are_10_and_half_of_it():
    x = torch.zeros(2, 3, 4, 4)
    shifted = x + 0.25  # mean |difference| = 0.25 exactly
    assert abs(cycle_loss(shifted, x).item() - 10 * 0.25) < 1e-6
    assert abs(identity_loss(shifted, x).item() - 10 * 0.5 * 0.25) < 1e-6
    assert abs(cycle_loss(shifted, x, lam=3.0).item() - 0.75) < 1e-6


def test_lsgan_on_patch_maps():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert lsgan_d_loss(ones, zeros).item() == 0.0  # D right everywhere
    assert lsgan_d_loss(zeros, ones).item() == 1.0  # 0.5 * (1 + 1)
    assert lsgan_g_loss(ones).item() == 0.0
    half = torch.full((2, 1, 3, 3), 0.5)
    assert abs(lsgan_g_loss(half).item() - 0.25) < 1e-7  # (0.5 - 1)^2, no factor 1/2
    mixed = torch.tensor([[[[1.0, 3.0]]]])  # per-patch terms averaged: ((0)^2 + (2)^2) / 2
    assert lsgan_g_loss(mixed).item() == 2.0
