"""BigGAN (Brock, Donahue & Simonyan 2019, "Large Scale GAN Training for High Fidelity
Natural Image Synthesis").

G: a shared class embedding (`shared_dim`) and a hierarchical latent: z is split into
(blocks + 1) equal chunks, the first feeds the 4x4 linear, each other one is appended to the
shared embedding as the condition of one residual block's conditional batch norms. Residual
up blocks (CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3), self-attention at `attn_res`, orthogonal
init, spectral norm in G and D. D: residual down blocks, self-attention, projection.
Training (presets, `training.step`): hinge loss, lr_G 1e-4 / lr_D 4e-4, betas (0, 0.999),
2 D steps per G step, orthogonal regularisation of G (`ortho_reg`, beta 1e-4, the
off-diagonal variant: `losses.orthogonal_regularization`), the truncation trick at
generation time (`growgan generate --trunc t`, `utils.latent.truncated_normal`).
`deep=True` is BigGAN-deep (appendix B): all of z concatenated with the shared embedding
feeds the linear and every CBN (no hierarchical split), two bottleneck residual blocks per
resolution in G and D (1x1 convs around two 3x3 convs, channel-dropping / concatenating
skips), and an input 3x3 conv in D.
"""

from __future__ import annotations

from typing import Sequence

from growgan.networks.conditional import ResDiscriminator, ResGenerator
from growgan.networks.registry import register_family


class BigGANGenerator(ResGenerator):
    def __init__(self, z_dim: int = 128, c_dim: int = 0, img_channels: int = 3,
                 img_resolution: int | Sequence[int] = 32, channels: int = 64, fmap_max: int = 1024,
                 shared_dim: int = 128, attn_res: Sequence[int] = (16,), spectral_norm: bool = True,
                 init: str = "ortho", deep: bool = False):
        super().__init__()
        self._build("biggan", z_dim, c_dim, img_channels, img_resolution, channels, fmap_max,
                    shared_dim=shared_dim, hierarchical=True, attn_res=attn_res, spectral_norm=spectral_norm,
                    init=init, sizes=dict(channels=channels, fmap_max=fmap_max, shared_dim=shared_dim),
                    options=dict(attn_res=list(attn_res), spectral_norm=spectral_norm, init=init, deep=deep), deep=deep)


class BigGANDiscriminator(ResDiscriminator):
    def __init__(self, z_dim: int = 128, c_dim: int = 0, img_channels: int = 3,
                 img_resolution: int | Sequence[int] = 32, channels: int = 64, fmap_max: int = 1024,
                 attn_res: Sequence[int] = (16,), spectral_norm: bool = True, init: str = "ortho",
                 conditioning: str = "projection", deep: bool = False):
        super().__init__()
        self._build("biggan", z_dim, c_dim, img_channels, img_resolution, channels, fmap_max, attn_res=attn_res,
                    spectral_norm=spectral_norm, init=init, conditioning=conditioning,
                    sizes=dict(channels=channels, fmap_max=fmap_max),
                    options=dict(attn_res=list(attn_res), spectral_norm=spectral_norm, init=init,
                                 conditioning=conditioning, deep=deep), deep=deep)


def _example() -> dict:
    common = {"z_dim": 8, "img_channels": 3, "img_resolution": [32, 32], "channels": 4, "fmap_max": 8,
              "attn_res": [16]}
    return {"family": "biggan", "G": {**common, "shared_dim": 4}, "D": dict(common)}


register_family("biggan", BigGANGenerator, BigGANDiscriminator, example=_example)
