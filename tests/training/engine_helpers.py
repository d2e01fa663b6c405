"""Helpers for the engine's tests (also imported by tests/growth). Tiny archives and configs for the engine's tests: DCGAN at 32 px with 4-8 channels,
batch 8, a 64-image archive, so a training step takes milliseconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from growgan.training.config import TrainConfig


def make_archive(path: Path, n: int = 64, channels: int = 1, res: int = 32, labels: bool = True) -> Path:
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:res, 0:res]
    imgs = np.empty((n, channels, res, res), dtype=np.uint8)
    for i in range(n):  # blobs at random places: learnable structure, not noise
        cy, cx = rng.integers(4, res - 4, size=2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 20.0) * 255
        imgs[i] = blob.astype(np.uint8)[None]
    lab = (np.arange(n) % 4).astype(np.int64) if labels else None
    return write_archive(path, imgs, lab, {"source": "test blobs", "label_names": ["a", "b", "c", "d"] if labels else None})


def tiny_config(**changes) -> TrainConfig:
    data_keys = {"img_channels": None, "img_resolution": None, "c_dim": None}
    net = {
        "family": "dcgan",
        "G": {"z_dim": 8, "g_channels": 4, "fmap_max": 16, **data_keys},
        "D": {"z_dim": 8, "d_channels": 4, "fmap_max": 16, **data_keys},
    }
    base = dict(name="tiny", network=net, batch_size=8, ema_kimg=0.05, ema_rampup=0.5, kimg=0.064,
                log_kimg=0.016, grid_kimg=0.032, checkpoint_kimg=0.032, grid_size=4, tensorboard=False)
    base.update(changes)
    return TrainConfig(**base)


def assert_same(a, b, where="state"):
    """Bitwise equality of nested dicts/lists of tensors and plain values."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif torch.is_tensor(a):
        assert torch.equal(a, b), f"{where} differs"
    else:
        assert a == b, f"{where}: {a} != {b}"
