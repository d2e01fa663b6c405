"""Tiny paired translation archives for the Pix2Pix tests, in the on-disk format of
`growgan.data.paired` (meta.json + two ordinary archives A/ and B/), written with the plain
archive writer so the tests do not depend on the dataset tool."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from growgan.training.config import TrainConfig


def make_paired_archive(path: Path, n: int = 24, res: tuple[int, int] = (16, 24), channels_a: int = 1,
                        channels_b: int = 3) -> Path:
    """A = a blob's outline (gray), B = the filled blob in colour: a learnable paired map."""
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    h, w = res
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.zeros((n, channels_a, h, w), dtype=np.uint8)
    b = np.zeros((n, channels_b, h, w), dtype=np.uint8)
    for i in range(n):
        cy, cx, r = rng.integers(4, h - 4), rng.integers(4, w - 4), rng.uniform(2.5, 4.0)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        a[i] = ((np.abs(d - r) < 0.8) * 255).astype(np.uint8)[None]
        colour = rng.integers(60, 255, size=channels_b)
        b[i] = ((d < r)[None] * colour[:, None, None]).astype(np.uint8)
    path.mkdir(parents=True)
    write_archive(path / "A", a, None, {"source": "test outlines"})
    write_archive(path / "B", b, None, {"source": "test blobs"})
    meta = {"format": "growgan-translation-archive", "version": 1, "kind": "paired", "num_a": n, "num_b": n,
            "domains": {"A": "outlines", "B": "blobs"}, "source": "test"}
    (path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def tiny_pix2pix_config(**changes) -> TrainConfig:
    """A tiny Pix2Pix config (U-Net depth 3, 4 base channels) for 16x24 pairs."""
    net = {"family": "pix2pix",
           "G": {"in_channels": None, "img_channels": None, "img_resolution": None, "arch": "unet", "depth": 3,
                 "ngf": 4, "fmap_max": 16, "norm": "batch", "dropout": 0.5},
           "D": {"img_channels": None, "cond_channels": None, "img_resolution": None, "ndf": 4, "n_layers": 2,
                 "norm": "batch", "fmap_max": 16}}
    base = dict(name="p2p", network=net, task={"kind": "pix2pix", "l1_lambda": 100.0, "jitter": 2}, batch_size=4,
                xflip=True, ema_kimg=0.01, ema_rampup=None, kimg=0.032, log_kimg=0.008, grid_kimg=0.016,
                checkpoint_kimg=0.016, grid_size=4, tensorboard=False, report=False, lr_decay_start=0.5)
    base.update(changes)
    return TrainConfig(**base)
