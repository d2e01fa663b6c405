"""Latent sampling: the standard normal z and BigGAN's truncation trick."""

from __future__ import annotations

import torch


def truncated_normal(n: int, z_dim: int, threshold: float | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """z [n, z_dim] from N(0, 1); with `threshold` t > 0, every value with |z| > t is drawn
    again until none is left (the truncation trick, Brock et al. 2019, sec. 3.1), so |z| <= t
    everywhere. None = no truncation. Raises ValueError for t <= 0."""
    z = torch.randn(n, z_dim, generator=generator)
    if threshold is None:
        return z
    if not threshold > 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    bad = z.abs() > threshold
    while bad.any():
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
        bad = z.abs() > threshold
    return z
