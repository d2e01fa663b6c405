"""CycleGAN presets (Zhu et al., ICCV 2017): the "cyclegan" family under the cyclegan task.

The paper's recipe, kept in every preset: ResNet-block generators (9 blocks at 256 px, 6 at
128 px), 70x70 PatchGANs, instance norm, LSGAN, cycle lambda 10, identity 0.5 x lambda, a pool
of 50 fakes per D, Adam lr 2e-4 betas (0.5, 0.999), constant lr for the first half and linear
decay to 0 over the second (`lr_decay_start` 0.5), random x-flips, no EMA of G (G_ema is a
copy of G: `ema_kimg` 0).

`cyclegan-mnist2fashion` is sized for a CPU by us, not by the paper: 32x32 gray digits <->
clothes (`growgan dataset prepare mnist2fashion`), generators with 6 residual blocks and
width 16 (paper 64), PatchGANs of width 16 with n_layers 2 (receptive field 34x34, about the
whole 32 px image; the paper's 70x70 patches are for 256 px), batch 8 (paper 1), 40 kimg.
`cyclegan-horse2zebra-256` is the paper's configuration (batch 1; 200 epochs of 1,067 horses
= 213.4 kimg) for a GPU.
"""

from __future__ import annotations

from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset

_DATA = {"channels_a": None, "channels_b": None, "img_resolution": None}  # from the archive


def cyclegan_network(n_blocks: int, ngf: int, ndf: int, n_layers: int = 3) -> dict:
    return {"family": "cyclegan",
            "G": {**_DATA, "n_blocks": n_blocks, "ngf": ngf, "norm": "instance", "dropout": 0.0},
            "D": {**_DATA, "ndf": ndf, "n_layers": n_layers, "norm": "instance"}}


def cyclegan_config(network: dict, **extra) -> TrainConfig:
    keys = dict(network=network, task={"kind": "cyclegan", "cycle_lambda": 10.0, "identity_lambda": 0.5,
                                       "pool_size": 50},
                loss="lsgan", lr_G=2e-4, lr_D=2e-4, betas_G=(0.5, 0.999), betas_D=(0.5, 0.999),
                lr_decay_start=0.5, ema_kimg=0.0, xflip=True, metrics=[])
    keys.update(extra)
    return TrainConfig(**keys)


@register_preset("cyclegan-mnist2fashion")
def cyclegan_mnist2fashion() -> TrainConfig:
    """MNIST <-> Fashion-MNIST at 32 px, CPU-sized (ours): 6 blocks, widths 16, batch 8, 40 kimg."""
    return cyclegan_config(cyclegan_network(n_blocks=6, ngf=16, ndf=16, n_layers=2), name="cyclegan-mnist2fashion",
                           batch_size=8, kimg=40, log_kimg=1.0, grid_kimg=4.0, checkpoint_kimg=10.0, grid_size=8)


@register_preset("cyclegan-horse2zebra-256")
def cyclegan_horse2zebra_256() -> TrainConfig:
    """The paper's horse <-> zebra run at 256 px (GPU): 9 blocks, widths 64, batch 1, 213.4 kimg."""
    return cyclegan_config(cyclegan_network(n_blocks=9, ngf=64, ndf=64, n_layers=3), name="cyclegan-horse2zebra-256",
                           batch_size=1, kimg=213.4, log_kimg=5.0, grid_kimg=20.0, checkpoint_kimg=20.0, grid_size=8)
