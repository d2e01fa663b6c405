"""ResNet GAN: the residual design of the DCGAN-landscapes seed, after Gulrajani et al. 2017
(WGAN-GP's ResNet) and Miyato et al. 2018 (SNGAN).

G: z (plus, when conditional, a learned class code of norm 1: `common.LabelEmbedding`) -> linear
-> 4x4, then one ResUpBlock per doubling (BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, skip:
upsample + 1x1 conv), then BN-ReLU-conv3x3-tanh. Upsampling is nearest-neighbour (or
bilinear) followed by a conv, never a transposed conv, so there are no checkerboard artifacts.
D: one ResBlock per halving down to 4x4 (pre-activation ReLU-conv3x3-ReLU-conv3x3-avgpool,
skip: 1x1 conv + avgpool), one more ResBlock at 4x4 with an identity skip, ReLU, global sum
pooling, a linear logit, and for conditional D the projection term <embed(c), phi(x)>
(Miyato & Koyama 2018), or cGAN label planes / an AC-GAN head (`conditioning`, see
`networks.common.add_conditioning`). Depth grows with resolution: one more block in G and in D per
doubling, for 32 to 256 px. Spectral normalisation is switchable on G and D.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.networks.common import (D_CONDITIONINGS, G_LABEL_INPUTS, LabelEmbedding, OneHot, add_conditioning,
                                     apply_spectral_norm_, check_choice, conditioned_input, conditioned_logits,
                                     input_channels, latent_input, square_net_head)
from growgan.networks.registry import Network, register_family

RESNET_RESOLUTIONS = (32, 64, 128, 256)
UPSAMPLE_MODES = ("nearest", "bilinear")


def _conv(cin: int, cout: int, k: int, gain: float = 1.0) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, k, padding=k // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return conv


class ResUpBlock(nn.Module):
    """[N, cin, H, W] -> [N, cout, 2H, 2W]; the skip path upsamples and applies a 1x1 conv.
    Both resamplings are linear with weights summing to one, so they commute with a 1x1
    conv: the skip runs the conv at the low resolution (4x fewer FLOPs), same function."""

    def __init__(self, cin: int, cout: int, upsample: str = "nearest"):
        super().__init__()
        self.upsample = upsample
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), _conv(cin, cout, 3, math.sqrt(2))
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), _conv(cout, cout, 3, math.sqrt(2))
        self.skip = _conv(cin, cout, 1)

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample == "nearest":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self._up(F.relu(self.bn1(x))))  # [N, cout, 2H, 2W]
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self._up(self.skip(x))  # == skip(up(x))


class ResDownBlock(nn.Module):
    """[N, cin, H, W] -> [N, cout, H/2, W/2] (or same size with `down=False`). A 1x1 conv
    sits on the skip path when channels or size change (run after the pooling, which
    commutes with it); `first` drops the pre-activation (the input is the image itself)."""

    def __init__(self, cin: int, cout: int, down: bool = True, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1, self.conv2 = _conv(cin, cout, 3, math.sqrt(2)), _conv(cout, cout, 3, math.sqrt(2))
        self.skip = _conv(cin, cout, 1) if (down or cin != cout) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = self.conv2(F.relu(h))
        s = F.avg_pool2d(x, 2) if self.down else x  # pooling commutes with the 1x1 conv:
        s = self.skip(s) if self.skip is not None else s  # pool first, 4x fewer FLOPs
        if self.down:
            h = F.avg_pool2d(h, 2)  # [N, cout, H, W] -> [N, cout, H/2, W/2]
        return h + s


class ResNetGenerator(Network):
    """`channels` is the width of the last (full-resolution) block, doubled per block towards
    4x4 and capped at `fmap_max`."""

    def __init__(
        self,
        z_dim: int = 128,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 32,
        channels: int = 64,
        fmap_max: int = 512,
        embed_dim: int = 0,
        upsample: str = "nearest",
        spectral_norm: bool = False,
        label_input: str = "embed",
    ):
        super().__init__()
        res = square_net_head(self, "resnet", RESNET_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=dict(channels=channels, fmap_max=fmap_max, embed_dim=embed_dim),
                              options=dict(upsample=upsample, spectral_norm=spectral_norm, label_input=label_input))
        if upsample not in UPSAMPLE_MODES:
            raise GrowganError(f"resnet network spec: upsample={upsample!r} is invalid; use one of {', '.join(UPSAMPLE_MODES)}")
        check_choice("resnet", "label_input", label_input, G_LABEL_INPUTS)
        n = int(math.log2(res)) - 2  # up blocks: 4x4 -> res
        widths = [min(channels * 2 ** (n - i), fmap_max) for i in range(n + 1)]  # at 4x4, 8x8, ..., res
        e = (c_dim if label_input == "onehot" else (embed_dim or z_dim)) if c_dim > 0 else 0
        if c_dim > 0:  # one-hot (cGAN) or a learned embedding, concatenated to z
            self.embed = OneHot(c_dim) if label_input == "onehot" else LabelEmbedding(c_dim, e)
        else:
            self.embed = None
        self.fc = nn.Linear(z_dim + e, widths[0] * 16)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        self.blocks = nn.ModuleList(ResUpBlock(a, b, upsample) for a, b in zip(widths[:-1], widths[1:]))
        self.bn_out, self.conv_out = nn.BatchNorm2d(widths[-1]), _conv(widths[-1], img_channels, 3)
        if spectral_norm:
            apply_spectral_norm_(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = latent_input(z, c, self.z_dim, self.c_dim, self.embed)  # [N, z+e]
        h = self.fc(x).reshape(z.shape[0], -1, 4, 4)  # [N, C0, 4, 4]
        for block in self.blocks:
            h = block(h)  # [N, C, H, W] -> [N, C', 2H, 2W]
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h))))  # [N, img_channels, res, res]


class ResNetDiscriminator(Network):
    """`channels` is the width of the first block, doubled per block and capped at
    `fmap_max`."""

    def __init__(
        self,
        z_dim: int = 128,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 32,
        channels: int = 64,
        fmap_max: int = 512,
        spectral_norm: bool = False,
        conditioning: str = "projection",
    ):
        super().__init__()
        res = square_net_head(self, "resnet", RESNET_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=dict(channels=channels, fmap_max=fmap_max),
                              options=dict(spectral_norm=spectral_norm, conditioning=conditioning))
        check_choice("resnet", "conditioning", conditioning, D_CONDITIONINGS)
        self.conditioning = conditioning
        n = int(math.log2(res)) - 2  # down blocks: res -> 4x4
        widths = [input_channels(self, img_channels)] + [min(channels * 2**i, fmap_max) for i in range(n)]
        blocks = [ResDownBlock(a, b, first=(i == 0)) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
        blocks.append(ResDownBlock(widths[-1], widths[-1], down=False))  # identity skip at 4x4
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(widths[-1], 1)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        add_conditioning(self, widths[-1], conditioning)
        for extra in (self.embed, self.aux):
            if extra is not None:
                nn.init.xavier_uniform_(extra.weight)
        if spectral_norm:
            apply_spectral_norm_(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = conditioned_input(self, img, c)  # [N, C(+c_dim for "concat"), H, W]
        for block in self.blocks:
            h = block(h)  # [N, C, H, W] -> [N, C', H/2, W/2]
        phi = F.relu(h).sum(dim=(2, 3))  # [N, C]
        return conditioned_logits(self, self.fc(phi).flatten(), phi, c)  # [N]


def _example() -> dict:
    common = {"z_dim": 8, "img_channels": 3, "img_resolution": [32, 32], "channels": 4, "fmap_max": 8}
    return {"family": "resnet", "G": dict(common), "D": dict(common)}


register_family("resnet", ResNetGenerator, ResNetDiscriminator, example=_example)
