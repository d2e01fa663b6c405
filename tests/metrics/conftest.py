"""Small synthetic image sets shared by the metrics tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def blobs(n: int, size: int = 32, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Structured uint8 images [n, C, size, size]: a few random bright Gaussian blobs on a dark field."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.zeros((n, channels, size, size), np.float32)
    for k in range(3):
        cy, cx = rng.uniform(4, size - 4, (2, n, 1, 1, 1))
        r = rng.uniform(1.5, size / 6, (n, 1, 1, 1))
        amp = rng.uniform(80, 255, (n, channels, 1, 1))
        out += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    out += rng.normal(0, 4, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def make_blobs():
    """The `blobs` function, for tests that need other sizes."""
    return blobs


@pytest.fixture(scope="module")
def blob_sets() -> tuple[np.ndarray, np.ndarray]:
    """Two independent samples of one distribution, 64 images each, 32x32 gray."""
    return blobs(64, seed=1), blobs(64, seed=2)


class TinyG(torch.nn.Module):
    """A stand-in generator honouring the network contract: G(z, c) -> [N, C, H, W] in [-1, 1]."""

    def __init__(self, z_dim: int = 8, channels: int = 1, res: int = 16):
        super().__init__()
        self.z_dim, self.c_dim, self.img_channels, self.img_resolution = z_dim, 0, channels, (res, res)
        self.fc = torch.nn.Linear(z_dim, channels * res * res)

    def forward(self, z, c=None):
        return torch.tanh(self.fc(z)).view(z.shape[0], self.img_channels, *self.img_resolution)


@pytest.fixture
def tiny_g():
    """Factory of stand-in generators (seeded, so tests are deterministic)."""

    def make(z_dim: int = 8, channels: int = 1, res: int = 16) -> TinyG:
        torch.manual_seed(0)
        return TinyG(z_dim, channels, res)

    return make
