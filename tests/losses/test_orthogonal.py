"""BigGAN's off-diagonal orthogonal regularisation and the truncation trick."""

from __future__ import annotations

import torch
import torch.nn as nn

from growgan.losses import orthogonal_regularization
from growgan.utils.latent import truncated_normal


def test_zero_for_orthogonal_rows_and_positive_otherwise():
    lin = nn.Linear(6, 4, bias=False)
    q, _ = torch.linalg.qr(torch.randn(6, 4))  # 4 orthonormal columns -> W = q^T has orthonormal rows
    with torch.no_grad():
        lin.weight.copy_(3.0 * q.t())  # scaled: the off-diagonal variant ignores the norms
    assert orthogonal_regularization(lin, 1e-4).abs() < 1e-9
    with torch.no_grad():
        lin.weight[1] += lin.weight[0]
    # independent computation: <w0, w0 + w1> = 9 on both off-diagonal places
    assert torch.isclose(orthogonal_regularization(lin, 1.0), torch.tensor(2 * 81.0), rtol=1e-4)


def test_gradient_matches_finite_differences_and_embeddings_are_excluded():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Linear(4, 5)).double()
    emb = nn.Embedding(3, 4).double()
    assert orthogonal_regularization(emb, 1.0) == 0
    params = [p for p in net.parameters() if p.ndim >= 2]

    loss = orthogonal_regularization(net, 0.5)
    loss.backward()
    eps = 1e-6
    for p in params:
        for idx in [(0,) * p.ndim, tuple(s - 1 for s in p.shape)]:
            with torch.no_grad():
                p[idx] += eps
                up = orthogonal_regularization(net, 0.5).item()
                p[idx] -= 2 * eps
                down = orthogonal_regularization(net, 0.5).item()
                p[idx] += eps
            assert abs(p.grad[idx].item() - (up - down) / (2 * eps)) < 1e-6 * max(1.0, abs(p.grad[idx].item()))


def test_truncation_never_samples_beyond_the_threshold():
    g = torch.Generator().manual_seed(0)
    for t in (0.1, 0.5, 2.0):
        z = truncated_normal(2000, 16, t, generator=g)
        assert z.shape == (2000, 16) and z.abs().max() <= t
        assert z.abs().max() > 0.9 * t  # not squashed: the range is still filled
    assert truncated_normal(10000, 1, None, generator=g).abs().max() > 2.0
