"""Conditional presets: SA-GAN (Zhang et al. 2019) and BigGAN (Brock et al. 2019).

`c_dim` is "auto": the number of classes of the training archive (an unlabelled archive is
refused in one line by `training.loop.resolve_network`); img_channels and img_resolution
come from the archive. The 32 px presets are sized for a CPU (narrow widths, batch 32);
the *-imagenet-128 presets are the papers' 128 px configurations for a GPU.

SA-GAN: hinge loss, spectral norm on G and D, TTUR lr_G 1e-4 / lr_D 4e-4, Adam betas
(0, 0.9), CBN in G, projection in D, attention at 16 px (32 px presets; the paper puts it at
the 32x32 feature maps of its 128 px nets).
BigGAN: hinge loss, spectral norm on G and D, Adam betas (0, 0.999), orthogonal init and
regularisation (beta 1e-4), shared embedding, hierarchical z, attention at 16 px (32 px) or
64 px (128 px, as the paper). The paper's ImageNet 128 run: lr_G 5e-5, lr_D 2e-4, 2 D steps
per G step, z_dim 120, ch 96, shared embedding 128, batch 2048 (here batch_size is per rank:
256 on 8 ranks). The CPU presets take lr_G 1e-4 / lr_D 4e-4 (TTUR) with 2 D steps.
"""

from __future__ import annotations

from growgan.training.config import TrainConfig
from growgan.training.preset_registry import register_preset


def _data(extra: dict) -> dict:
    return {"img_channels": None, "img_resolution": None, "c_dim": "auto", **extra}


def _cpu_run(network: dict, **extra) -> TrainConfig:
    keys = dict(network=network, loss="hinge", batch_size=32, ema_kimg=2.0, ema_rampup=0.05, kimg=50,
                log_kimg=1.0, grid_kimg=5.0, checkpoint_kimg=10.0)
    return TrainConfig(**{**keys, **extra})


def sagan_network(channels: int, fmap_max: int, z_dim: int = 128, embed_dim: int = 128, attn_res=(16,)) -> dict:
    common = {"z_dim": z_dim, "channels": channels, "fmap_max": fmap_max, "attn_res": list(attn_res),
              "spectral_norm": True}
    return {"family": "sagan", "G": _data({**common, "embed_dim": embed_dim}), "D": _data(dict(common))}


def biggan_network(channels: int, fmap_max: int, z_dim: int, shared_dim: int, attn_res=(16,), deep: bool = False) -> dict:
    common = {"z_dim": z_dim, "channels": channels, "fmap_max": fmap_max, "attn_res": list(attn_res),
              "spectral_norm": True, "init": "ortho", "deep": deep}
    return {"family": "biggan", "G": _data({**common, "shared_dim": shared_dim}), "D": _data(dict(common))}


_SAGAN_OPT = dict(lr_G=1e-4, lr_D=4e-4, betas_G=(0.0, 0.9), betas_D=(0.0, 0.9))
_BIGGAN_OPT = dict(lr_G=1e-4, lr_D=4e-4, betas_G=(0.0, 0.999), betas_D=(0.0, 0.999), n_critic=2, ortho_reg=1e-4)


@register_preset("sagan-mnist-32")
def sagan_mnist_32() -> TrainConfig:
    """MNIST / Fashion-MNIST at 32 px: G widths 128-64-32-16 (4..32 px), D 16-32-64."""
    return _cpu_run(sagan_network(16, 128, z_dim=64, embed_dim=32), **_SAGAN_OPT)


@register_preset("sagan-cifar10-32")
def sagan_cifar10_32() -> TrainConfig:
    """CIFAR-10 at 32 px: G widths 128-128-64-32, D 32-64-128."""
    return _cpu_run(sagan_network(32, 128, z_dim=128, embed_dim=64), **_SAGAN_OPT)


@register_preset("biggan-mnist-32")
def biggan_mnist_32() -> TrainConfig:
    """MNIST / Fashion-MNIST at 32 px: z_dim 64 in 4 chunks of 16, shared embedding 32."""
    return _cpu_run(biggan_network(16, 128, z_dim=64, shared_dim=32), **_BIGGAN_OPT)


@register_preset("biggan-cifar10-32")
def biggan_cifar10_32() -> TrainConfig:
    """CIFAR-10 at 32 px: G widths 128-128-64-32, D 32-64-128, z_dim 128 in 4 chunks of 32,
    shared embedding 64."""
    return _cpu_run(biggan_network(32, 128, z_dim=128, shared_dim=64), **_BIGGAN_OPT)


@register_preset("biggan-imagenet-128")
def biggan_imagenet_128() -> TrainConfig:
    """The paper's ImageNet 128x128 BigGAN (Brock et al. 2019, table 1 / appendix C): ch 96
    (G 16-16-8-4-2-1 x ch from 4 to 128 px), z_dim 120 (6 chunks of 20), shared 128,
    attention at 64 px, lr_G 5e-5, lr_D 2e-4, 2 D steps, ortho 1e-4, G_ema. For a GPU."""
    return TrainConfig(
        network=biggan_network(96, 1536, z_dim=120, shared_dim=128, attn_res=(64,)), loss="hinge",
        lr_G=5e-5, lr_D=2e-4, betas_G=(0.0, 0.999), betas_D=(0.0, 0.999), adam_eps=1e-6, n_critic=2, ortho_reg=1e-4,
        batch_size=256, ema_kimg=10.0, kimg=300000, log_kimg=10.0, grid_kimg=500.0, checkpoint_kimg=1000.0,
    )


@register_preset("biggan-deep-cifar10-32")
def biggan_deep_cifar10_32() -> TrainConfig:
    """BigGAN-deep at CPU size for CIFAR-10 32 px: two bottleneck blocks per resolution,
    z_dim 64 concatenated with a 64-d shared embedding in every CBN."""
    return _cpu_run(biggan_network(32, 128, z_dim=64, shared_dim=64, deep=True), **_BIGGAN_OPT)


@register_preset("biggan-deep-imagenet-128")
def biggan_deep_imagenet_128() -> TrainConfig:
    """The paper's BigGAN-deep at 128x128 (appendix B): ch 128, z_dim 128, shared 128,
    attention at 64 px, otherwise as biggan-imagenet-128. For a GPU."""
    cfg = biggan_imagenet_128()
    cfg.network = biggan_network(128, 2048, z_dim=128, shared_dim=128, attn_res=(64,), deep=True)
    return cfg


@register_preset("sagan-imagenet-128")
def sagan_imagenet_128() -> TrainConfig:
    """The paper's ImageNet 128x128 SA-GAN: ch 64, attention at the 32x32 feature maps in G
    and D, hinge, TTUR 1e-4 / 4e-4, betas (0, 0.9), batch 256. For a GPU."""
    return TrainConfig(
        network=sagan_network(64, 1024, z_dim=128, embed_dim=128, attn_res=(32,)), loss="hinge", **_SAGAN_OPT,
        batch_size=256, ema_kimg=10.0, kimg=250000, log_kimg=10.0, grid_kimg=500.0, checkpoint_kimg=1000.0,
    )


def _dcgan_conditional(label_input: str, conditioning: str) -> dict:
    common = {"z_dim": 100, **_data({})}
    return {"family": "dcgan", "G": {**common, "g_channels": 32, "label_input": label_input},
            "D": {**common, "d_channels": 32, "conditioning": conditioning}}


_DCGAN_OPT = dict(loss="nonsaturating", lr_G=2e-4, lr_D=2e-4, betas_G=(0.5, 0.999), betas_D=(0.5, 0.999))


@register_preset("cgan-mnist-32")
def cgan_mnist_32() -> TrainConfig:
    """cGAN (Mirza & Osindero 2014) on DCGAN's nets (as dcgan-32): the one-hot label is
    concatenated to z in G and enters D as c_dim constant input planes."""
    return _cpu_run(_dcgan_conditional("onehot", "concat"), **_DCGAN_OPT)


@register_preset("acgan-mnist-32")
def acgan_mnist_32() -> TrainConfig:
    """AC-GAN (Odena et al. 2017) on DCGAN's nets: G takes a learned label code (norm 1)
    concatenated to z, D an auxiliary classifier head; classification loss weight 1 on reals
    and fakes."""
    return _cpu_run(_dcgan_conditional("embed", "acgan"), acgan_weight=1.0, **_DCGAN_OPT)
