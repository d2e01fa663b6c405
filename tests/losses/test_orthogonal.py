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


def test_truncation_keeps_the_rejection_draws_and_a_tiny_threshold_does_not_hang():
    """`growgan generate --trunc 1e-6` redrew for hours (acceptance ~8e-7 per value). Thresholds
    in BigGAN's range give exactly the plain rejection draws; a tiny one ends at once with values
    of the same law (N(0, 1) restricted to [-t, t]: nearly uniform there, mean |z| ~ t/2)."""
    import time

    def rejection(n, d, t, g):  # the definition, written independently
        z = torch.randn(n, d, generator=g)
        while (bad := z.abs() > t).any():
            z[bad] = torch.randn(int(bad.sum()), generator=g)
        return z

    for t in (0.04, 0.5):
        a = truncated_normal(64, 128, t, generator=torch.Generator().manual_seed(3))
        assert torch.equal(a, rejection(64, 128, t, torch.Generator().manual_seed(3)))
    t0 = time.perf_counter()
    z = truncated_normal(64, 128, 1e-6, generator=torch.Generator().manual_seed(0))
    assert time.perf_counter() - t0 < 5
    assert z.abs().max() <= 1e-6 * (1 + 1e-6) and abs(z.abs().mean().item() / 1e-6 - 0.5) < 0.02
    assert abs(z.mean().item()) < 0.02 * 1e-6 * 8  # symmetric
