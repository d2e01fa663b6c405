"""Latent sampling: the standard normal z and BigGAN's truncation trick."""

from __future__ import annotations

import torch


_REJECTION_ROUNDS = 1000


def truncated_normal(n: int, z_dim: int, threshold: float | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """z [n, z_dim] from N(0, 1); with `threshold` t > 0, every value with |z| > t is drawn
    again until none is left (the truncation trick, Brock et al. 2019, sec. 3.1), so |z| <= t
    everywhere. None = no truncation. Raises ValueError for t <= 0. Values still outside after
    `_REJECTION_ROUNDS` rounds (only for t so small that acceptance is rare: at t = 0.04, the
    smallest of BigGAN's thresholds, a value survives 1000 rounds with probability 1e-14) are
    drawn from the same truncated normal by its inverse CDF, so a tiny t cannot hang."""
    z = torch.randn(n, z_dim, generator=generator)
    if threshold is None:
        return z
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    bad = z.abs() > threshold
    for _ in range(_REJECTION_ROUNDS):
        if not bad.any():
            return z
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
        bad = z.abs() > threshold
    if bad.any():  # a tiny t (e.g. 1e-6) would redraw for hours: the rest by the inverse CDF, same law
        lo = torch.special.ndtr(torch.tensor(-float(threshold), dtype=torch.float64))
        u = lo + (1 - 2 * lo) * torch.rand(int(bad.sum()), generator=generator, dtype=torch.float64)
        z[bad] = torch.special.ndtri(u).clamp(-threshold, threshold).to(z.dtype)
    return z
