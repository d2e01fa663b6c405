"""Dynamically Grown GAN presets (Liu et al., AAAI 2021, arXiv 2106.08505).

The paper's full text is not available here; what we know of it comes from the CENG501
reproduction (`shared/seeds/000_98db1a049ba35d46.txt`), which reports: top-K greedy
pruning with K = 20, actions sampled with a probability p, a search space of kernel sizes
and filter counts for G and D and a resolution increase, a start at 8x8 grown to 32x32
(CIFAR-10), "100k iterations after each grow phase", and "the same training schedule as
ProgGAN". Everything else below is marked as ours or as Progressive GAN's (official code,
config.py / loss.py; see presets_progan.py). Training follows ProGAN's: WGAN-GP lambda 10
+ drift 0.001, Adam lr 0.001, betas (0, 0.99), equalized lr, pixel norm, minibatch-std;
unlike ProGAN, Adam state is inherited across growth (ours: a child continues its parent).
Search settings live in ``config.growth["search"]`` (growgan.training.growth_config.SearchConfig).
"""

from __future__ import annotations

from growgan.networks.dggan import initial_spec
from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset
from growgan.training.presets_progan import ema_kimg_for_decay


def dggan_network(z_dim: int, width: int = 8) -> dict:
    """A starting spec at 8x8 (the paper's start, as the seed reports it); the search replaces
    its width with each of its root widths. img_channels comes from the archive."""
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
    """CPU-sized (every number ours, sized so a search + final takes minutes on one core),
    against progan-mnist-32: widths up to its 64 channels, batch 32 and z_dim 128 as it, G_ema
    ramped up as it. Roots of width 8 (the seed reproduction's start), 16, 32 and 64; K = 2
    (the seed reproduction's K); besides "keep", one sampled action per parent; each child
    fades in 0.25 kimg and settles 0.25 kimg; 8 growing steps, enough for ProGAN's path (2
    layers per stage at 8, 16, 32 px: 8 actions); the best trains on to 10 kimg. Sized so the
    whole benchmark (benchmarks/dggan.md: 5 arms x 8 seeds) takes about 2 hours of 2 idle
    cores; the settle phase is short for that reason (more is better, see issue #10)."""
    search = {
        "K": 2, "p": 0.15, "kernels": [1, 3, 5], "widths": [8, 16, 32, 64], "root_widths": [8, 16, 32, 64],
        "max_layers_per_stage": 3, "max_children": 1, "settle_kimg": 0.25, "target_resolution": 32,
        "max_steps": 8, "final_kimg": 10.0, "metric": "swd", "eval_images": 256, "eval_seeds": [123, 124],
    }
    growth = {"fade_kimg": 0.25, "batch_sizes": {"8": 32, "16": 32, "32": 32}, "search": search}
    return dggan_config(dggan_network(z_dim=128), growth, batch_size=32, kimg=10.0,
                        log_kimg=2.0, grid_kimg=6.0, checkpoint_kimg=6.0, ema_rampup=0.05)


@register_preset("dggan-cifar10")
def dggan_cifar10() -> TrainConfig:
    """The paper's CIFAR-10 schedule as far as the seed reports it: K = 20, 8x8 -> 32x32, each
    grown child trained 100k iterations (at ProGAN's CIFAR-10 minibatch 16: 1600 kimg), of
    which the first 400 kimg fade the new layer in (ProGAN's CIFAR-10 fade length, "the same
    training schedule as ProgGAN") and 1200 kimg settle at full weight. ProGAN's CIFAR-10
    settings otherwise: z 128, widths up to 128 (fmap_base 4096, fmap_max 128), gradient-
    penalty target 750, 20M images in all. Ours: p = 0.1, kernels {1, 3, 5}, widths
    {16, 32, 64, 128}, root widths {16, 64, 128}, at most 3 layers per stage, 8 growing steps
    (ProGAN's path is 8 actions), SWD on 10k images as the selection metric."""
    search = {
        "K": 20, "p": 0.1, "kernels": [1, 3, 5], "widths": [16, 32, 64, 128], "root_widths": [16, 64, 128],
        "max_layers_per_stage": 3, "max_children": 0, "settle_kimg": 1200.0, "target_resolution": 32,
        "max_steps": 8, "final_kimg": 20000.0, "metric": "swd", "eval_images": 10000, "eval_seeds": [123, 124],
    }
    growth = {"fade_kimg": 400.0, "search": search}
    return dggan_config(dggan_network(z_dim=128), growth, batch_size=16, kimg=20000.0, gp_target=750.0,
                        log_kimg=10.0, grid_kimg=100.0, checkpoint_kimg=200.0)
