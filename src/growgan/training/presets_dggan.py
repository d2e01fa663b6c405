"""Dynamically Grown GAN presets (Liu et al., AAAI 2021, arXiv 2106.08505).

As the paper: start at 8x8 with width 8 in one 3x3 layer per net and end at 32x32; training
as Progressive GAN's (WGAN-GP lambda 10 + drift 0.001, Adam lr 0.001, betas (0, 0.99),
equalized lr, pixel norm, minibatch-std), but Adam state is inherited across growth.
Search settings live in ``config.growth["search"]`` (see growgan.training.growth_config.SearchConfig).
Values the paper does not give (action sets, p, T, selection metric) are our choices.
"""

from __future__ import annotations

from growgan.networks.dggan import initial_spec
from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset
from growgan.training.presets_progan import ema_kimg_for_decay


def dggan_network(z_dim: int, width: int = 8) -> dict:
    spec = initial_spec(img_channels=1, z_dim=z_dim, base_resolution=(8, 8), width=width)
    spec["G"]["img_channels"] = spec["D"]["img_channels"] = None  # from the archive
    return spec


def dggan_config(network: dict, growth: dict, batch_size: int, kimg: float, **extra) -> TrainConfig:
    keys = dict(
        network=network, growth={"kind": "dggan", **growth}, loss="wgan", n_critic=1, gp_lambda=10.0,
        drift_epsilon=0.001, lr_G=0.001, lr_D=0.001, betas_G=(0.0, 0.99), betas_D=(0.0, 0.99), adam_eps=1e-8,
        batch_size=batch_size, ema_kimg=ema_kimg_for_decay(batch_size), ema_rampup=None, kimg=kimg,
    )
    return TrainConfig(**{**keys, **extra})


@register_preset("dggan-mnist-32")
def dggan_mnist_32() -> TrainConfig:
    """CPU-sized: K = 2, at most 2 children per parent, T = 0.5 kimg, 8 -> 32 px in 6-7
    steps (~20 candidates), then the best trains on to 20 kimg seen in all. G_ema ramps up
    (half-life <= 0.05 x images seen) as in progan-mnist-32: candidates are scored on G_ema,
    which with a 22 kimg half-life and no ramp would hardly have left its random start."""
    search = {
        "K": 2, "p": 0.3, "kernels": [1, 3, 5], "widths": [8, 16, 32], "max_layers_per_stage": 3,
        "max_children": 2, "candidate_kimg": 0.5, "target_resolution": 32, "steps_per_resolution": 2,
        "search_kimg": 0.0, "final_kimg": 20.0, "metric": "swd", "eval_images": 256, "eval_seed": 123,
    }
    growth = {"fade_kimg": 0.5, "batch_sizes": {"8": 32, "16": 32, "32": 32}, "search": search}
    return dggan_config(dggan_network(z_dim=64), growth, batch_size=32, kimg=20.0,
                        log_kimg=2.0, grid_kimg=5.0, checkpoint_kimg=5.0, ema_rampup=0.05)


@register_preset("dggan-cifar10")
def dggan_cifar10() -> TrainConfig:
    """Paper-sized: K = 20, kernels {1, 3, 5}, widths up to 256, T = 100 kimg per candidate,
    ProGAN CIFAR-10 batch 16; the best trains on to 20M images as ProGAN's CIFAR-10 run."""
    search = {
        "K": 20, "p": 0.1, "kernels": [1, 3, 5], "widths": [8, 16, 32, 64, 128, 256], "max_layers_per_stage": 4,
        "max_children": 0, "candidate_kimg": 100.0, "target_resolution": 32, "steps_per_resolution": 4,
        "search_kimg": 2000.0, "final_kimg": 20000.0, "metric": "swd", "eval_images": 10000, "eval_seed": 123,
    }
    growth = {"fade_kimg": 50.0, "search": search}
    return dggan_config(dggan_network(z_dim=128), growth, batch_size=16, kimg=20000.0,
                        log_kimg=10.0, grid_kimg=100.0, checkpoint_kimg=200.0)
