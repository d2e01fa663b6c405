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


def make_progan_run(root: Path, metrics: bool = True) -> Path:
    """A finished tiny run folder of a growing ProGAN (4 -> 8 -> 16 px, <= 8 channels, 128
    images): config.json, run.json, stats.jsonl, raw/EMA grids every 32 images, checkpoints,
    and (metrics=True) metric-swd.jsonl rows. For the tools that read run folders."""
    from growgan.growth import build_trainer
    from growgan.training.presets_progan import progan_config, progan_network
    from growgan.training.rundir import new_run_dir, write_config
    from growgan.utils.io import atomic_write_json

    archive = make_archive(root / "blobs16", n=64, res=16, labels=False)
    growth = {"target_resolution": 16, "stabilise_kimg": 0.032, "fade_kimg": 0.032, "batch_sizes": {"4": 8, "8": 8, "16": 8}}
    cfg = progan_config(progan_network(z_dim=8, fmap_base=32, fmap_max=8), growth, batch_size=8, kimg=0.16,
                        log_kimg=0.008, grid_kimg=0.032, checkpoint_kimg=0.064, grid_size=4, tensorboard=False,
                        ema_kimg=0.05, name="tiny-progan",
                        metrics=["swd"] if metrics else [], metrics_every_kimg=0.064, metrics_num_images=64)
    run_dir = new_run_dir(root / "runs", cfg.name)
    write_config(run_dir, cfg)
    atomic_write_json(run_dir / "run.json", {"data": str(archive), "command": "test"})
    trainer = build_trainer(cfg, archive, run_dir=run_dir, verbose=False)
    write_config(run_dir, trainer.config)
    trainer.train_until(160)
    trainer.log.close()
    return run_dir
