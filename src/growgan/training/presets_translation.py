"""Image-to-image presets: Pix2Pix (Isola et al., CVPR 2017).

The paper's networks are for 256x256 images (U-Net with 8 downsamplings, 70x70 PatchGAN,
batch 1-4, 200 epochs, random jitter 256 -> 286 -> 256 crop). The *-edges2fashion preset is
ours, sized for a CPU and the offline 32x32 edges -> Fashion-MNIST pairs
(`growgan dataset prepare edges2fashion`): U-Net with 5 downsamplings (32 px -> 1x1 at the
bottom, as the paper's 256 -> 1), widths 32-64-128-256-256 (the paper: 64-128-256-512-...),
instance norm (per image, so a translation does not depend on its batch; the paper's
batch norm at batch 1 is the same thing), PatchGAN with one widening layer: 16x16 patches,
half the 32 px image, the nearest to the paper's 70 / 256 (n_layers 2 would see the
whole image), random jitter 32 -> 36 -> 32 (the paper's ~12%), batch 16, Adam 2e-4 with
betas (0.5, 0.999), lambda_L1 100, the learning rates decaying linearly to 0 over the second
half of the run (as the paper's last 100 of 200 epochs), no EMA of G (ema_kimg 0:
G_ema is G, as the paper has none). 60 kimg is one pass over the 60,000 training pairs.
"""

from __future__ import annotations

from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset


def pix2pix_network(ngf: int, ndf: int, depth: int, n_layers: int, fmap_max: int, norm: str = "instance",
                    arch: str = "unet", n_blocks: int = 9) -> dict:
    """A pix2pix pair spec; channels and resolution null: filled from the paired archive."""
    return {"family": "pix2pix",
            "G": {"in_channels": None, "img_channels": None, "img_resolution": None, "arch": arch, "depth": depth,
                  "n_blocks": n_blocks, "ngf": ngf, "fmap_max": fmap_max, "norm": norm, "dropout": 0.5},
            "D": {"img_channels": None, "cond_channels": None, "img_resolution": None, "ndf": ndf,
                  "n_layers": n_layers, "norm": norm, "fmap_max": fmap_max}}


@register_preset("pix2pix-edges2fashion")
def pix2pix_edges2fashion() -> TrainConfig:
    """Pix2Pix on 32 px edges -> Fashion-MNIST pairs (CPU sizes: U-Net depth 5, ngf 32, 16 px patches)."""
    return TrainConfig(network=pix2pix_network(ngf=32, ndf=32, depth=5, n_layers=1, fmap_max=256),
                       task={"kind": "pix2pix", "l1_lambda": 100.0, "jitter": 4},
                       loss="nonsaturating", batch_size=16, lr_G=2e-4, lr_D=2e-4, betas_G=(0.5, 0.999),
                       betas_D=(0.5, 0.999), ema_kimg=0.0, ema_rampup=None, xflip=True, lr_decay_start=0.5,
                       kimg=60, log_kimg=1.0, grid_kimg=5.0, checkpoint_kimg=10.0, grid_size=8)


@register_preset("pix2pix-256")
def pix2pix_256() -> TrainConfig:
    """The paper's Pix2Pix for 256x256 pairs (facades, maps, edges2shoes): U-Net depth 8, 70x70 PatchGAN, batch norm, batch 1."""
    return TrainConfig(network=pix2pix_network(ngf=64, ndf=64, depth=8, n_layers=3, fmap_max=512, norm="batch"),
                       task={"kind": "pix2pix", "l1_lambda": 100.0, "jitter": 30},
                       loss="nonsaturating", batch_size=1, ema_kimg=0.0, ema_rampup=None, xflip=True,
                       lr_decay_start=0.5, kimg=80, log_kimg=1.0, grid_kimg=5.0, checkpoint_kimg=10.0, grid_size=8)
