"""StyleGAN2 presets (Karras et al. 2020; settings from the paper's config F and from
stylegan2-ada-pytorch's train.py configs `paper256`, `paper512`, `paper1024`, `cifar`).

Shared by all: non-saturating logistic loss, lazy R1 every 16 D steps, lazy path-length
regularisation every 4 G steps (weight 2, decay 0.01, half batch) where the paper uses it,
style mixing with probability 0.9 (a G spec key), Adam betas (0, 0.99), eps 1e-8, and the
lazy-regularisation correction of the paper's appendix B: with interval k the optimiser's
lr is multiplied by c = k / (k + 1) and beta2 raised to the power c. G_ema's half-life in
kimg and its ramp-up are the configs' own (`ema_kimg`, `ema_rampup`).

The two CPU presets are small networks, not the paper's widths:
- ``stylegan2-mnist-32``: 32x32 grayscale (MNIST), z = w = 128, 4 mapping layers, widths
  128-128-64-32 at 4-8-16-32 px (fmap_base 1024, fmap_max 128), batch 32, style mixing 0.9,
  R1 gamma 0.01, no path-length regularisation (see below). It does not learn MNIST:
  runs collapse to one shape within 5-10 kimg (see below).
- ``stylegan2-cifar10``: 32x32 colour, the `cifar` config shrunk: 2 mapping layers, no path
  length and no style mixing, the plain ('orig') D with minibatch-stddev over groups of 32
  (as stylegan2-ada's cifar config), z = w = 128, widths 128-128-64-32 (fmap_base 1024,
  fmap_max 128), batch 32, R1 gamma 0.01, x-flips. On CIFAR-10 at 10 kimg: varied
  colour blobs with speckle, fid-classifier 25 (resnet-32: 15); the same G and D on MNIST
  collapsed as the MNIST preset does (benchmarks/stylegan2.md, "cifarlike").
The paper's configs (named by dataset and resolution) are for a GPU.
``stylegan-mnist-32`` is StyleGAN v1 (family `stylegan`) growing progressively.

R1 gamma of the CPU presets: 0.01, stylegan2-ada's `cifar` value (its `auto` formula
0.0002 * res^2 / batch gives 0.0064 here). Path length: off, as the `cifar` config (`--set
pl_weight=2` turns it on; its running mean starts at 0 and pulls path lengths down for the
first ~13 kimg at batch 32).

Status of the CPU presets (benchmarks/stylegan2.md has every run): they do NOT learn
MNIST. Runs collapse to one shape within 5-10 kimg and stay collapsed (two seeds at 100
kimg). G and D match an independent transcription of stylegan2-ada's equations, outputs and
gradients (tests/networks/test_stylegan2_reference.py). Neither
R1 gamma (0.01-10), path length, noise inputs, DiffAugment, losses, learning rates, the
`cifar` config's networks, 128 channels at every resolution nor an output bias started at
the data's mean prevent it (on Fashion-MNIST the same preset keeps more variety, then drifts
the same way). Swapping networks in a minimal loop
(benchmarks/stylegan2_swap.py) puts the cause in the generator: this D and recipe train a
DCGAN G to all ten digits, while StyleGAN2's G collapses (and ProGAN's G without growth
drifts towards one shape in a short run).

The GPU presets follow the configs they name, including D's minibatch-stddev group (4 for
config F and paper1024, 8 for paper512/paper256, 32 for cifar) and the `cifar` config's plain
('orig') D. The lazy-regularisation correction applies to D only when R1 is on and to G only
when path length is on.
"""

from __future__ import annotations

from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset

R1_INTERVAL, PL_INTERVAL = 16, 4


def stylegan2_network(z_dim: int = 512, w_dim: int = 512, mapping_layers: int = 8, fmap_base: int = 32768,
                      fmap_max: int = 512, style_mixing_prob: float = 0.9, mapping_lr_mul: float = 0.01,
                      mbstd_group_size: int = 4, d_architecture: str = "resnet", use_noise: bool = True) -> dict:
    """A stylegan2 spec whose image size, channels and classes come from the archive.
    mbstd_group_size and d_architecture ("resnet" | "orig") are D's (stylegan2-ada's
    ``mbstd`` and ``D_kwargs.architecture`` per config)."""
    data = {"img_channels": None, "img_resolution": None, "c_dim": None}
    return {
        "family": "stylegan2",
        "G": {"z_dim": z_dim, "w_dim": w_dim, "mapping_layers": mapping_layers, "mapping_lr_mul": mapping_lr_mul,
              "fmap_base": fmap_base, "fmap_max": fmap_max, "style_mixing_prob": style_mixing_prob,
              "use_noise": use_noise, **data},
        "D": {"z_dim": z_dim, "fmap_base": fmap_base, "fmap_max": fmap_max, "mbstd_group_size": mbstd_group_size,
              "architecture": d_architecture, **data},
    }


def stylegan2_config(network: dict, lr: float, batch_size: int, r1_gamma: float, pl_weight: float, ema_kimg: float,
                     ema_rampup: float | None, kimg: float, **extra) -> TrainConfig:
    """The StyleGAN2 training settings around `network`, lazy-regularisation corrected (only
    where the lazy regulariser is on: R1 for D, path length for G)."""
    c_d = R1_INTERVAL / (R1_INTERVAL + 1) if r1_gamma > 0 else 1.0
    c_g = PL_INTERVAL / (PL_INTERVAL + 1) if pl_weight > 0 else 1.0
    keys = dict(
        network=network, loss="nonsaturating", r1_gamma=r1_gamma, r1_interval=R1_INTERVAL, pl_weight=pl_weight,
        pl_interval=PL_INTERVAL, pl_decay=0.01, pl_batch_shrink=2, lr_G=lr * c_g, lr_D=lr * c_d,
        betas_G=(0.0, 0.99 ** c_g), betas_D=(0.0, 0.99 ** c_d), adam_eps=1e-8, batch_size=batch_size,
        ema_kimg=ema_kimg, ema_rampup=ema_rampup, kimg=kimg,
    )
    return TrainConfig(**{**keys, **extra})


# ---------------------------------------------------------------------------- CPU-sized
@register_preset("stylegan2-mnist-32")
def stylegan2_mnist_32() -> TrainConfig:
    """CPU-sized StyleGAN2 for 32 px grayscale: z = w = 128, 4 mapping layers, widths 128-128-64-32,
    batch 32, R1 gamma 0.01, no path length; it does not learn MNIST (collapses within 5-10 kimg,
    benchmarks/stylegan2.md)."""
    net = stylegan2_network(z_dim=128, w_dim=128, mapping_layers=4, fmap_base=1024, fmap_max=128)
    # r1_gamma: the cifar config's 0.01 (auto formula: 0.0064); pl_weight 0 as the cifar config. Still
    # collapses within ~7 kimg: see the module doc
    return stylegan2_config(net, lr=0.0025, batch_size=32, r1_gamma=0.01, pl_weight=0.0, ema_kimg=10.0,
                            ema_rampup=0.05, kimg=200, log_kimg=1.0, grid_kimg=10.0, checkpoint_kimg=10.0)


@register_preset("stylegan2-cifar10")
def stylegan2_cifar10() -> TrainConfig:
    """CPU-sized StyleGAN2 for 32 px colour: stylegan2-ada's cifar config shrunk (2 mapping layers, plain
    D with minibatch-stddev groups of 32, no style mixing), widths 128-128-64-32, batch 32, x-flips."""
    net = stylegan2_network(z_dim=128, w_dim=128, mapping_layers=2, fmap_base=1024, fmap_max=128, style_mixing_prob=0.0,
                            mbstd_group_size=32, d_architecture="orig")
    return stylegan2_config(net, lr=0.0025, batch_size=32, r1_gamma=0.01, pl_weight=0.0, ema_kimg=10.0,
                            ema_rampup=0.05, kimg=500, log_kimg=1.0, grid_kimg=10.0, checkpoint_kimg=10.0, xflip=True)


# ---------------------------------------------------------------------------- the paper's, for a GPU
@register_preset("stylegan2-ffhq-1024")
def stylegan2_ffhq_1024() -> TrainConfig:
    """Config F at 1024x1024 (the paper's FFHQ run): batch 32, gamma 10, lr 0.002, EMA 10 kimg."""
    return stylegan2_config(stylegan2_network(), lr=0.002, batch_size=32, r1_gamma=10.0, pl_weight=2.0, ema_kimg=10.0,
                            ema_rampup=None, kimg=25000, xflip=True, grid_kimg=100.0, checkpoint_kimg=200.0,
                            log_kimg=4.0)


@register_preset("stylegan2-ffhq-512")
def stylegan2_ffhq_512() -> TrainConfig:
    """stylegan2-ada's paper512: batch 64, minibatch-stddev groups of 8, gamma 0.5, lr 0.0025, EMA 20 kimg."""
    return stylegan2_config(stylegan2_network(mbstd_group_size=8), lr=0.0025, batch_size=64, r1_gamma=0.5, pl_weight=2.0, ema_kimg=20.0,
                            ema_rampup=None, kimg=25000, xflip=True, grid_kimg=100.0, checkpoint_kimg=200.0,
                            log_kimg=4.0)


@register_preset("stylegan2-ffhq-256")
def stylegan2_ffhq_256() -> TrainConfig:
    """stylegan2-ada's paper256: fmap_base 16384, batch 64, minibatch-stddev groups of 8, gamma 1, lr 0.0025,
    EMA 20 kimg."""
    return stylegan2_config(stylegan2_network(fmap_base=16384, mbstd_group_size=8), lr=0.0025, batch_size=64, r1_gamma=1.0, pl_weight=2.0,
                            ema_kimg=20.0, ema_rampup=None, kimg=25000, xflip=True, grid_kimg=100.0,
                            checkpoint_kimg=200.0, log_kimg=4.0)


@register_preset("stylegan2-cifar10-ada")
def stylegan2_cifar10_ada() -> TrainConfig:
    """stylegan2-ada's cifar config with ADA on: fmap_base 16384 (512 channels at every 32 px
    resolution, as the config's 32768 capped at 512), 2 mapping layers, the plain ('orig') D with
    minibatch-stddev over groups of 32, batch 64, gamma 0.01, no path length, no style mixing,
    EMA 500 kimg with ramp-up 0.05."""
    net = stylegan2_network(fmap_base=16384, mapping_layers=2, style_mixing_prob=0.0, mbstd_group_size=32,
                            d_architecture="orig")
    return stylegan2_config(net, lr=0.0025, batch_size=64, r1_gamma=0.01, pl_weight=0.0, ema_kimg=500.0,
                            ema_rampup=0.05, kimg=100000, augment="ada", grid_kimg=100.0, checkpoint_kimg=200.0,
                            log_kimg=4.0)


# ---------------------------------------------------------------------------- StyleGAN (v1)
@register_preset("stylegan-mnist-32")
def stylegan_mnist_32() -> TrainConfig:
    """StyleGAN v1 growing 4 -> 32 px through ProGAN's controller, CPU-sized: z = w = 128,
    4 mapping layers, fmap_base 1024 / fmap_max 128 (widths 128-128-64-32), batch 32;
    the FFHQ setup of the StyleGAN paper (non-saturating loss, R1 gamma 10, no lazy
    regularisation), Adam (0.001, 0, 0.99), 20 kimg per phase."""
    net = {
        "family": "stylegan",
        "G": {"z_dim": 128, "w_dim": 128, "mapping_layers": 4, "num_stages": 1, "fade_in": False, "fmap_base": 1024,
              "fmap_max": 128, "style_mixing_prob": 0.9, "img_channels": None},
        "D": {"num_stages": 1, "fade_in": False, "fmap_base": 1024, "fmap_max": 128, "mbstd_group_size": 4,
              "img_channels": None},
    }
    growth = {"kind": "progan", "target_resolution": 32, "stabilise_kimg": 20.0, "fade_kimg": 20.0}
    return TrainConfig(network=net, growth=growth, loss="nonsaturating", r1_gamma=10.0, r1_interval=1, lr_G=0.001,
                       lr_D=0.001, betas_G=(0.0, 0.99), betas_D=(0.0, 0.99), batch_size=32, ema_kimg=10.0,
                       ema_rampup=None, kimg=200, log_kimg=1.0, grid_kimg=10.0, checkpoint_kimg=10.0)
