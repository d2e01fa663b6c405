"""DCGAN (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks").

G: z (plus, when conditional, a learned class code of norm 1: `common.LabelEmbedding`) -> 4x4
by a transposed conv, then transposed convs (kernel 4, stride 2) with BatchNorm + ReLU
doubling the size, tanh output.
D: strided convs (kernel 4, stride 2) with LeakyReLU 0.2, BatchNorm on all but the first
layer, and a 4x4 conv to one logit. Conditional D is a projection discriminator (Miyato &
Koyama 2018): logit = psi(phi(x)) + <embed(c), phi(x)>, or, with `conditioning`, cGAN's
label planes ("concat") or an AC-GAN classifier head ("acgan"); G's `label_input` "onehot"
is cGAN's one-hot label concatenated to z (Mirza & Osindero 2014). Weights start from N(0, 0.02) as
in the paper. Spectral normalisation (Miyato et al. 2018) is switchable on G and D.

Helpers shared with other families (spec checks, spectral norm, label checks) live in
`growgan.networks.common`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from growgan.networks.common import (D_CONDITIONINGS, G_LABEL_INPUTS, LabelEmbedding, OneHot, add_conditioning,
                                     apply_spectral_norm_, check_choice, conditioned_input, conditioned_logits,
                                     input_channels, latent_input, square_net_head)
from growgan.networks.registry import Network, register_family

DCGAN_RESOLUTIONS = (32, 64, 128)


class DCGANGenerator(Network):
    """Transposed-conv generator; `g_channels` is the width of the last hidden layer, doubled
    per layer towards 4x4 and capped at `fmap_max`."""

    def __init__(
        self,
        z_dim: int = 100,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 32,
        g_channels: int = 64,
        fmap_max: int = 512,
        embed_dim: int = 0,
        spectral_norm: bool = False,
        label_input: str = "embed",
    ):
        super().__init__()
        res = square_net_head(self, "dcgan", DCGAN_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=dict(g_channels=g_channels, fmap_max=fmap_max, embed_dim=embed_dim),
                              options=dict(spectral_norm=spectral_norm, label_input=label_input))
        check_choice("dcgan", "label_input", label_input, G_LABEL_INPUTS)
        n_up = int(math.log2(res)) - 2  # stride-2 layers after the 4x4 one
        widths = [min(g_channels * 2 ** (n_up - 1 - i), fmap_max) for i in range(n_up)]  # 4x4 .. res/2
        e = (c_dim if label_input == "onehot" else (embed_dim or z_dim)) if c_dim > 0 else 0
        if c_dim > 0:  # cGAN: one-hot (Mirza & Osindero 2014) or a learned embedding, concatenated to z
            self.embed = OneHot(c_dim) if label_input == "onehot" else LabelEmbedding(c_dim, e)
        else:
            self.embed = None
        in_dim = z_dim + e
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], img_channels, 4, 2, 1), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)
        if spectral_norm:
            apply_spectral_norm_(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = latent_input(z, c, self.z_dim, self.c_dim, self.embed)  # [N, z+e]
        return self.main(x[:, :, None, None])  # [N, z+e, 1, 1] -> [N, C, H, W]


class DCGANDiscriminator(Network):
    """Strided-conv discriminator; `d_channels` is the width of the first layer, doubled per
    layer and capped at `fmap_max`. `batchnorm=False` drops BN (e.g. with spectral norm or
    WGAN-GP, where per-batch statistics interfere with the per-sample penalty)."""

    def __init__(
        self,
        z_dim: int = 100,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 32,
        d_channels: int = 64,
        fmap_max: int = 512,
        batchnorm: bool = True,
        spectral_norm: bool = False,
        conditioning: str = "projection",
    ):
        super().__init__()
        res = square_net_head(self, "dcgan", DCGAN_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=dict(d_channels=d_channels, fmap_max=fmap_max),
                              options=dict(batchnorm=batchnorm, spectral_norm=spectral_norm, conditioning=conditioning))
        check_choice("dcgan", "conditioning", conditioning, D_CONDITIONINGS)
        n_down = int(math.log2(res)) - 2  # stride-2 layers down to 4x4
        widths = [min(d_channels * 2**i, fmap_max) for i in range(n_down)]
        self.conditioning = conditioning
        layers: list[nn.Module] = [nn.Conv2d(input_channels(self, img_channels), widths[0], 4, 2, 1),
                                   nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=not batchnorm)]
            layers += [nn.BatchNorm2d(cout)] if batchnorm else []
            layers += [nn.LeakyReLU(0.2, True)]
        self.main = nn.Sequential(*layers)
        self.out = nn.Conv2d(widths[-1], 1, 4, 1, 0)  # psi: a linear map of the 4x4 features
        add_conditioning(self, widths[-1] * 16, conditioning)  # phi(x): the flattened 4x4 feature map
        dcgan_init_(self)
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:
            apply_spectral_norm_(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.main(conditioned_input(self, img, c))  # [N, C(+c_dim), H, W] -> [N, Cd, 4, 4]
        return conditioned_logits(self, self.out(h).flatten(), h.flatten(1), c)  # [N]


def _example() -> dict:
    common = {"z_dim": 8, "img_channels": 1, "img_resolution": [32, 32], "fmap_max": 16}
    return {"family": "dcgan", "G": {**common, "g_channels": 4}, "D": {**common, "d_channels": 4}}


register_family("dcgan", DCGANGenerator, DCGANDiscriminator, example=_example)


@torch.no_grad()
def dcgan_init_(net: nn.Module) -> None:
    """Radford et al.: conv/linear weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), biases zero.
    G's label code keeps its own start (`common.LabelEmbedding`: rows normalised to norm 1)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
