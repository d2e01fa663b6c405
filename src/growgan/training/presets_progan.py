"""Progressive GAN presets (Karras et al. 2018; settings from the official code's config.py).

Shared by all: WGAN-GP (lambda 10) + drift epsilon 0.001, Adam lr 0.001, betas (0, 0.99),
eps 1e-8, one D step per G step, no tanh, G_ema with decay 0.999 per minibatch expressed as
the equivalent half-life at the preset's batch size (batch * ln 0.5 / ln 0.999 images, no
ramp-up), Adam state reset whenever the network changes (the official reset_opt_for_new_lod).
"""

from __future__ import annotations

import math

from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset


def ema_kimg_for_decay(batch: int, decay: float = 0.999) -> float:
    """The half-life (kimg) that makes the per-image EMA equal `decay` per minibatch of `batch`."""
    return batch * math.log(0.5) / math.log(decay) / 1000.0


def progan_network(z_dim: int, fmap_base: int, fmap_max: int, mbstd_group_size: int = 4) -> dict:
    """A 4x4 starting spec; growth adds the stages. img_channels comes from the archive."""
    common = {"img_channels": None, "num_stages": 1, "fade_in": False, "fmap_base": fmap_base, "fmap_max": fmap_max}
    return {
        "family": "progan",
        "G": {"z_dim": z_dim, "normalize_latents": True, **common},
        "D": {"mbstd_group_size": mbstd_group_size, **common},
    }


def progan_config(network: dict, growth: dict, batch_size: int, kimg: float, **extra) -> TrainConfig:
    """The official training settings around `network` and `growth`; `extra` overrides any key."""
    keys = dict(
        network=network, growth={"kind": "progan", **growth}, loss="wgan", n_critic=1, gp_lambda=10.0,
        drift_epsilon=0.001, lr_G=0.001, lr_D=0.001, betas_G=(0.0, 0.99), betas_D=(0.0, 0.99), adam_eps=1e-8,
        batch_size=batch_size, ema_kimg=ema_kimg_for_decay(batch_size), ema_rampup=None, kimg=kimg,
    )
    return TrainConfig(**{**keys, **extra})


def _total_kimg(num_stages: int, stabilise: float, fade: float) -> float:
    """Images to reach the last stage and stabilise it once."""
    return num_stages * stabilise + (num_stages - 1) * fade


@register_preset("progan-mnist-32")
def progan_mnist_32() -> TrainConfig:
    """CPU-sized: 4 -> 32 px, 64 channels at most, 12k + 12k images per phase (84 kimg).
    Unlike the official presets, G_ema ramps up (half-life <= 0.05 x images seen, as
    stylegan2-ada): the 22 kimg half-life of 0.999 per minibatch outlasts runs this short, and
    without the ramp G_ema would still be mostly its random start after tens of kimg."""
    growth = {
        "target_resolution": 32, "stabilise_kimg": 12.0, "fade_kimg": 12.0, "reset_optimizers": True,
        "batch_sizes": {"4": 64, "8": 64, "16": 32, "32": 32},
    }
    return progan_config(
        progan_network(z_dim=128, fmap_base=512, fmap_max=64), growth, batch_size=32,
        kimg=_total_kimg(4, 12.0, 12.0), log_kimg=2.0, grid_kimg=6.0, checkpoint_kimg=6.0, ema_rampup=0.05,
    )


@register_preset("progan-cifar10")
def progan_cifar10() -> TrainConfig:
    """The paper's CIFAR-10 run (Sec. 6.5; official config "cifar-10-32x32"): latent 128,
    fmap_base 4096, fmap_max 128, 400k + 400k images per phase, minibatch 16, 20M images.
    The gradient-penalty target is 750, as in that configuration: lambda (||grad|| - 750)^2 / 750^2."""
    growth = {"target_resolution": 32, "stabilise_kimg": 400.0, "fade_kimg": 400.0, "reset_optimizers": True}
    return progan_config(
        progan_network(z_dim=128, fmap_base=4096, fmap_max=128), growth, batch_size=16, kimg=20000.0,
        gp_target=750.0, log_kimg=10.0, grid_kimg=100.0, checkpoint_kimg=200.0,
    )


@register_preset("progan-celeba-128")
def progan_celeba_128() -> TrainConfig:
    """The paper's 128x128 CelebA runs (Sec. 6.1, final column of Table 1): latent 512,
    fmap_base 2048, fmap_max 512, 800k + 800k images per phase, minibatch 16, 10M images, x-flips."""
    growth = {"target_resolution": 128, "stabilise_kimg": 800.0, "fade_kimg": 800.0, "reset_optimizers": True}
    return progan_config(
        progan_network(z_dim=512, fmap_base=2048, fmap_max=512), growth, batch_size=16, kimg=10000.0,
        xflip=True, log_kimg=10.0, grid_kimg=100.0, checkpoint_kimg=200.0,
    )
