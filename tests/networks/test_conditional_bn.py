"""Conditional batch norm (de Vries et al. 2017; BigGAN's and SA-GAN's G): batch statistics
per channel, then a class-dependent gain (1 + W_g y) and bias W_b y."""

from __future__ import annotations

import torch

from growgan.networks.conditional import ConditionalBatchNorm2d


def test_gain_and_bias_follow_the_condition_vector():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, cond_dim=4).double().train()
    x = torch.randn(5, 3, 4, 4, dtype=torch.double) * 2 + 1
    y = torch.randn(5, 4, dtype=torch.double)
    # independent computation from the definition: biased batch variance, eps of BatchNorm2d
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    xhat = (x - mean) / torch.sqrt(var + cbn.bn.eps)
    wg, wb = cbn.gain.weight, cbn.bias.weight  # [3, 4]
    expect = xhat * (1 + y @ wg.t())[:, :, None, None] + (y @ wb.t())[:, :, None, None]
    assert torch.allclose(cbn(x, y), expect, atol=1e-10)
    # the same features with another sample's condition vector: only that sample changes
    y2 = y.clone()
    y2[2] = torch.randn(4, dtype=torch.double)
    diff = (cbn(x, y2) - cbn(x, y)).abs().amax(dim=(1, 2, 3))
    assert diff[2] > 1e-3 and torch.all(diff[[0, 1, 3, 4]] < 1e-12)


def test_without_a_condition_it_is_an_affine_batch_norm():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, cond_dim=0).train()
    ref = torch.nn.BatchNorm2d(3).train()
    ref.load_state_dict(cbn.bn.state_dict())
    x = torch.randn(4, 3, 5, 5)
    assert torch.allclose(cbn(x, None), ref(x)) and cbn.bn.affine
