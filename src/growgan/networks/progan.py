"""Progressive GAN networks (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation"), following the official code (tkarras/progressive_growing_of_gans,
networks.py, "linear" structure).

A network holds `num_stages` resolution stages (stage 0 is 4x4, stage s is 4*2**s); the spec
records the stage count and whether the newest stage is fading in, so a grown net is rebuilt
from its spec. Parameter names are stable across growth (``blocks.{s}``, ``to_rgb.{s}``,
``from_rgb.{s}``), so `growgan.growth.inherit.regrow` carries weights, EMA and optimizer state.

Channels of stage s: ``nf(s + 1)`` with ``nf(k) = min(fmap_base / 2**(k * fmap_decay), fmap_max)``
(the official G block at log2-resolution r uses nf(r - 1)).

G: pixel-normalised z -> dense to 4x4 (gain sqrt(2)/4) -> conv 3x3; each later stage:
nearest upsample + two conv 3x3; pixel norm after every conv, leaky ReLU 0.2; toRGB is a
linear 1x1 conv (gain 1, no tanh).
D: fromRGB 1x1 + leaky ReLU; per stage two conv 3x3 + 2x2 average pool; final 4x4 block:
minibatch stddev, conv 3x3, dense to nf(0), dense to 1 (gain 1).

Fade-in: with ``fade_in`` the output of G is ``lerp(upsample(toRGB_{s-1}(x_{s-1})), toRGB_s(x_s), alpha)``
and D blends ``fromRGB_{s-1}(downsample(img))`` into its newest block's output the same way.
`alpha` is a plain float attribute (not in the state dict) set by the growth controller.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.layers import EqualizedConv2d, EqualizedLinear, MinibatchStd, PixelNorm, downsample2x, upsample2x
from growgan.networks.registry import Network, register_family


def num_features(stage: int, fmap_base: int, fmap_max: int, fmap_decay: float = 1.0) -> int:
    """The official ``nf(stage)``: min(fmap_base / 2**(stage * fmap_decay), fmap_max)."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def stage_channels(num_stages: int, fmap_base: int, fmap_max: int, fmap_decay: float, channels: list | None) -> list[int]:
    """``nf(k)`` for k = 0..num_stages: G's stage s and D's stage s work on entry s + 1, D's dense
    layer has entry 0. With an explicit `channels` list (pytorch_GAN_zoo's depthScales, one per
    stage) entry 0 repeats the 4x4 stage's depth, as the zoo's discriminator does."""
    if channels is None:
        return [num_features(k, fmap_base, fmap_max, fmap_decay) for k in range(num_stages + 1)]
    if len(channels) < num_stages or any(int(c) < 1 for c in channels):
        raise GrowganError(f"progan: channels lists {len(channels)} depths for {num_stages} stages; give one positive depth per stage")
    return [int(channels[0])] + [int(c) for c in channels[:num_stages]]


def stage_resolution(stage: int) -> int:
    """Side length of stage `stage` (0 -> 4, 1 -> 8, ...)."""
    return 4 * 2**stage


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def _check_spec(num_stages: int, img_channels, c_dim: int | None, fade_in: bool, part: str) -> None:
    """The checks shared by G's and D's constructors (`part` names the net in the hint)."""
    if not isinstance(num_stages, int) or num_stages < 1:
        raise GrowganError(f"progan: num_stages must be an integer >= 1, got {num_stages!r}; fix the network spec")
    if not isinstance(img_channels, int) or img_channels < 1:
        raise GrowganError(f"progan: img_channels must be a positive integer, got {img_channels!r}; fix the network spec")
    if c_dim:
        raise GrowganError(f"progan: conditional training (c_dim > 0) is not implemented yet; set network.{part}.c_dim=0")
    if fade_in and num_stages < 2:
        raise GrowganError("progan: fade_in needs num_stages >= 2; fix the network spec")


def _rgb_stages(num_stages: int, fade_in: bool) -> list[int]:
    """The stages with a toRGB / fromRGB layer: the newest, and the one below while fading in."""
    return [num_stages - 2, num_stages - 1] if fade_in else [num_stages - 1]


class _GStem(nn.Module):
    """Stage 0 of G: z [N, z_dim] -> dense -> [N, C, 4, 4] -> conv 3x3."""

    def __init__(self, z_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        # as the official code: no bias in the dense layer, one bias per channel after the reshape
        self.dense = EqualizedLinear(z_dim, channels * 16, gain=math.sqrt(2) / 4, bias=False)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.conv = EqualizedConv2d(channels, channels, 3)
        self.norm = PixelNorm()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.dense(z).reshape(-1, self.channels, 4, 4)  # [N, z] -> [N, C, 4, 4]
        x = x + self.bias.reshape(1, -1, 1, 1)
        x = self.norm(_lrelu(x))
        return self.norm(_lrelu(self.conv(x)))


class _GBlock(nn.Module):
    """A later stage of G: [N, Cin, H, W] -> [N, Cout, 2H, 2W]."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, out_channels, 3)
        self.conv1 = EqualizedConv2d(out_channels, out_channels, 3)
        self.norm = PixelNorm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = upsample2x(x)  # [N, Cin, H, W] -> [N, Cin, 2H, 2W]
        x = self.norm(_lrelu(self.conv0(x)))
        return self.norm(_lrelu(self.conv1(x)))


class ProGenerator(Network):
    """ProGAN generator with `num_stages` stages; ``G(z, c=None) -> [N, img_channels, R, R]``."""

    def __init__(
        self,
        z_dim: int = 512,
        img_channels: int = 3,
        num_stages: int = 1,
        fade_in: bool = False,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        fmap_decay: float = 1.0,
        normalize_latents: bool = True,
        c_dim: int | None = 0,
        channels: list | None = None,
    ):
        super().__init__()
        _check_spec(num_stages, img_channels, c_dim, fade_in, "G")
        self._record_spec(
            z_dim=z_dim, img_channels=img_channels, num_stages=num_stages, fade_in=fade_in, fmap_base=fmap_base,
            fmap_max=fmap_max, fmap_decay=fmap_decay, normalize_latents=normalize_latents, c_dim=0, channels=channels,
        )
        self.z_dim, self.c_dim, self.img_channels = z_dim, 0, img_channels
        self.num_stages, self.fade_in, self.normalize_latents = num_stages, fade_in, normalize_latents
        self.img_resolution = (stage_resolution(num_stages - 1),) * 2
        self.alpha = 1.0  # fade-in weight of the newest stage; set by the growth controller
        nf = stage_channels(num_stages, fmap_base, fmap_max, fmap_decay, channels)[1:]  # per stage
        self.blocks = nn.ModuleDict({"0": _GStem(z_dim, nf[0])})
        for s in range(1, num_stages):
            self.blocks[str(s)] = _GBlock(nf[s - 1], nf[s])
        self.to_rgb = nn.ModuleDict(
            {str(s): EqualizedConv2d(nf[s], img_channels, 1, gain=1.0) for s in _rgb_stages(num_stages, fade_in)}
        )
        self.latent_norm = PixelNorm()

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.latent_norm(z) if self.normalize_latents else z
        top = self.num_stages - 1
        prev = x
        for s in range(self.num_stages):
            prev = x
            x = self.blocks[str(s)](x)
        img = self.to_rgb[str(top)](x)  # [N, C, R, R]
        if self.fade_in:
            old = upsample2x(self.to_rgb[str(top - 1)](prev))  # [N, C, R/2, R/2] -> [N, C, R, R]
            img = torch.lerp(old, img, float(self.alpha))
        return img


class _DBlock(nn.Module):
    """A stage of D above 4x4: [N, Cin, H, W] -> [N, Cout, H/2, W/2]."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _lrelu(self.conv1(_lrelu(self.conv0(x))))
        return downsample2x(x)  # [N, Cout, H, W] -> [N, Cout, H/2, W/2]


class _DFinal(nn.Module):
    """D's 4x4 stage: minibatch stddev, conv 3x3, dense, dense to one score: [N, C, 4, 4] -> [N]."""

    def __init__(self, channels: int, dense_channels: int, mbstd_group_size: int):
        super().__init__()
        extra = 1 if mbstd_group_size > 1 else 0
        self.mbstd = MinibatchStd(mbstd_group_size) if extra else None
        self.conv = EqualizedConv2d(channels + extra, channels, 3)
        self.dense0 = EqualizedLinear(channels * 16, dense_channels)
        self.dense1 = EqualizedLinear(dense_channels, 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)  # [N, C, 4, 4] -> [N, C+1, 4, 4]
        x = _lrelu(self.conv(x))
        x = _lrelu(self.dense0(x.flatten(1)))  # [N, C*16] -> [N, nf0]
        return self.dense1(x).squeeze(1)  # [N, 1] -> [N]


class ProDiscriminator(Network):
    """ProGAN discriminator mirroring `ProGenerator`; ``D(img, c=None) -> [N]``."""

    def __init__(
        self,
        img_channels: int = 3,
        num_stages: int = 1,
        fade_in: bool = False,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        fmap_decay: float = 1.0,
        mbstd_group_size: int = 4,
        c_dim: int | None = 0,
        channels: list | None = None,
    ):
        super().__init__()
        _check_spec(num_stages, img_channels, c_dim, fade_in, "D")
        self._record_spec(
            img_channels=img_channels, num_stages=num_stages, fade_in=fade_in, fmap_base=fmap_base,
            fmap_max=fmap_max, fmap_decay=fmap_decay, mbstd_group_size=mbstd_group_size, c_dim=0, channels=channels,
        )
        self.c_dim, self.img_channels = 0, img_channels
        self.num_stages, self.fade_in = num_stages, fade_in
        self.img_resolution = (stage_resolution(num_stages - 1),) * 2
        self.alpha = 1.0
        nf = stage_channels(num_stages, fmap_base, fmap_max, fmap_decay, channels)
        # stage s works on nf[s + 1] channels and hands nf[s] to the stage below
        self.blocks = nn.ModuleDict({"0": _DFinal(nf[1], nf[0], mbstd_group_size)})
        for s in range(1, num_stages):
            self.blocks[str(s)] = _DBlock(nf[s + 1], nf[s])
        self.from_rgb = nn.ModuleDict(
            {str(s): EqualizedConv2d(img_channels, nf[s + 1], 1) for s in _rgb_stages(num_stages, fade_in)}
        )

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        top = self.num_stages - 1
        x = _lrelu(self.from_rgb[str(top)](img))  # [N, C, R, R] -> [N, nf, R, R]
        if self.fade_in:
            x = self.blocks[str(top)](x)  # -> [N, nf', R/2, R/2]
            old = _lrelu(self.from_rgb[str(top - 1)](downsample2x(img)))
            x = torch.lerp(old, x, float(self.alpha))
            top -= 1
        for s in range(top, -1, -1):
            x = self.blocks[str(s)](x)
        return x


def _example() -> dict:
    common = {"img_channels": 1, "num_stages": 2, "fade_in": True, "fmap_base": 16, "fmap_max": 8}
    return {"family": "progan", "G": {"z_dim": 8, **common}, "D": {"mbstd_group_size": 2, **common}}


register_family("progan", ProGenerator, ProDiscriminator, example=_example, growable=True)
