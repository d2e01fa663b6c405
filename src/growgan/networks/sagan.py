"""SA-GAN (Zhang, Goodfellow, Metaxas & Odena 2019, "Self-Attention Generative Adversarial
Networks").

Residual G and D (as SNGAN/the resnet family) with self-attention blocks at the resolutions
in `attn_res` in both, spectral normalisation on both, conditional batch norm in G (a class
embedding of `embed_dim` shared by every block) and a projection discriminator. The paper's
training (presets): hinge loss, TTUR lr_G 1e-4 / lr_D 4e-4, Adam betas (0, 0.9).
"""

from __future__ import annotations

from typing import Sequence

from growgan.networks.conditional import ResDiscriminator, ResGenerator
from growgan.networks.registry import register_family


class SAGANGenerator(ResGenerator):
    def __init__(self, z_dim: int = 128, c_dim: int = 0, img_channels: int = 3,
                 img_resolution: int | Sequence[int] = 32, channels: int = 64, fmap_max: int = 512,
                 embed_dim: int = 128, attn_res: Sequence[int] = (16,), spectral_norm: bool = True,
                 init: str = "ortho"):
        super().__init__()
        self._build("sagan", z_dim, c_dim, img_channels, img_resolution, channels, fmap_max,
                    shared_dim=embed_dim, hierarchical=False, attn_res=attn_res, spectral_norm=spectral_norm,
                    init=init, sizes=dict(channels=channels, fmap_max=fmap_max, embed_dim=embed_dim),
                    options=dict(attn_res=list(attn_res), spectral_norm=spectral_norm, init=init))


class SAGANDiscriminator(ResDiscriminator):
    def __init__(self, z_dim: int = 128, c_dim: int = 0, img_channels: int = 3,
                 img_resolution: int | Sequence[int] = 32, channels: int = 64, fmap_max: int = 512,
                 attn_res: Sequence[int] = (16,), spectral_norm: bool = True, init: str = "ortho",
                 conditioning: str = "projection"):
        super().__init__()
        self._build("sagan", z_dim, c_dim, img_channels, img_resolution, channels, fmap_max, attn_res=attn_res,
                    spectral_norm=spectral_norm, init=init, conditioning=conditioning,
                    sizes=dict(channels=channels, fmap_max=fmap_max),
                    options=dict(attn_res=list(attn_res), spectral_norm=spectral_norm, init=init,
                                 conditioning=conditioning))


def _example() -> dict:
    common = {"z_dim": 8, "img_channels": 3, "img_resolution": [32, 32], "channels": 4, "fmap_max": 8,
              "attn_res": [16]}
    return {"family": "sagan", "G": {**common, "embed_dim": 4}, "D": dict(common)}


register_family("sagan", SAGANGenerator, SAGANDiscriminator, example=_example)
