"""The "cyclegan" family: CycleGAN's two generators and two discriminators as one G and one D
(Zhu et al., ICCV 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks").

CycleGAN trains G_AB: A -> B, G_BA: B -> A, D_A (real A vs G_BA's fakes) and D_B (real B vs
G_AB's fakes), with one Adam over both generators and one over both discriminators, as the
reference code does. The engine keeps one G, one D, one G_ema and two optimizers
(`growgan.training.task`), so the pair of generators is one `CycleGenerator` and the pair of
discriminators one `CycleDiscriminator`. The blocks are the shared image-to-image ones
(`networks/translation.py`): Johnson et al.'s ResNet-block generator (c7s1-64, d128, d256,
`n_blocks` residual blocks, u128, u64, c7s1-out, tanh; 9 blocks at 256x256 in the paper, 6 at
128x128) and the PatchGAN discriminator (70x70 receptive field with n_layers=3), instance
norm, LSGAN outputs (no sigmoid).

Contract (image-to-image form, `growgan.networks.registry`): ``G(x) -> G_AB(x)`` maps
[N, channels_a, H, W] -> [N, channels_b, H, W] in [-1, 1]; ``G.b_to_a(y)`` is the other
direction. ``D(y) -> D_B(y)`` gives patch logits [N, 1, h, w] for domain-B images;
``D.judge_a(x)`` is D_A. ``in_channels = channels_a``, ``img_channels = channels_b``.
"""

from __future__ import annotations

from typing import Sequence

import torch

from growgan.errors import GrowganError
from growgan.networks.registry import Network, register_family
from growgan.networks.translation import (
    NORMS,
    PatchGAN,
    ResnetGenerator,
    check_divisible,
    check_positive,
    init_weights_,
    patchgan_receptive_field,
    resolution_pair,
)


def _check_norm(norm: str, what: str) -> None:
    if norm not in NORMS:
        raise GrowganError(f"{what}: norm={norm!r} is invalid; use one of {', '.join(NORMS)}")


class CycleGenerator(Network):
    """G_AB and G_BA, ResNet-block generators (`n_blocks` 6 or 9 in the paper).

    channels_a / channels_b: channels of domains A and B; img_resolution: training size [H, W]
    (sides divisible by 4); ngf: first-layer width (paper 64); norm: "instance" (paper) or
    "batch"; dropout: inside the residual blocks (paper: 0)."""

    input_kind = "image"
    z_dim = 0
    c_dim = 0

    def __init__(self, channels_a: int = 3, channels_b: int = 3, img_resolution: Sequence[int] | int = (256, 256),
                 n_blocks: int = 9, ngf: int = 64, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        what = "cyclegan G"
        h, w = resolution_pair(img_resolution, what)
        check_positive(what, channels_a=channels_a, channels_b=channels_b, n_blocks=n_blocks, ngf=ngf, height=h, width=w)
        _check_norm(norm, what)
        if not 0 <= float(dropout) < 1:
            raise GrowganError(f"{what}: dropout={dropout!r} is invalid; use a probability in [0, 1)")
        check_divisible(h, w, ResnetGenerator.size_multiple, what, "crop or resize the images")
        self._record_spec(channels_a=channels_a, channels_b=channels_b, img_resolution=[h, w], n_blocks=n_blocks,
                          ngf=ngf, norm=norm, dropout=dropout)
        self.channels_a, self.channels_b = channels_a, channels_b
        self.in_channels, self.img_channels, self.img_resolution = channels_a, channels_b, (h, w)
        self.size_multiple = ResnetGenerator.size_multiple
        self.G_AB = ResnetGenerator(channels_a, channels_b, n_blocks, ngf, norm, dropout)
        self.G_BA = ResnetGenerator(channels_b, channels_a, n_blocks, ngf, norm, dropout)
        init_weights_(self)

    def _check(self, x: torch.Tensor, channels: int, side: str) -> None:
        if x.ndim != 4 or x.shape[1] != channels:
            raise ValueError(f"cyclegan G: domain {side} images are [N, {channels}, H, W], got {tuple(x.shape)}")
        if x.shape[-2] % self.size_multiple or x.shape[-1] % self.size_multiple:
            raise ValueError(f"cyclegan G: {x.shape[-2]}x{x.shape[-1]} images cannot pass it; both sides must be "
                             f"divisible by {self.size_multiple}")

    def a_to_b(self, x: torch.Tensor) -> torch.Tensor:
        """G_AB: [N, channels_a, H, W] -> [N, channels_b, H, W] in [-1, 1]."""
        self._check(x, self.channels_a, "A")
        return self.G_AB(x)

    def b_to_a(self, y: torch.Tensor) -> torch.Tensor:
        """G_BA: [N, channels_b, H, W] -> [N, channels_a, H, W] in [-1, 1]."""
        self._check(y, self.channels_b, "B")
        return self.G_BA(y)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.a_to_b(x)


class CycleDiscriminator(Network):
    """D_A and D_B, PatchGANs (70x70 for n_layers=3), unconditional (``cond_channels = 0``)."""

    input_kind = "image"
    z_dim = 0
    c_dim = 0
    cond_channels = 0

    def __init__(self, channels_a: int = 3, channels_b: int = 3, img_resolution: Sequence[int] | int = (256, 256),
                 ndf: int = 64, n_layers: int = 3, norm: str = "instance", fmap_max: int = 512):
        super().__init__()
        what = "cyclegan D"
        h, w = resolution_pair(img_resolution, what)
        check_positive(what, channels_a=channels_a, channels_b=channels_b, ndf=ndf, n_layers=n_layers,
                       fmap_max=fmap_max, height=h, width=w)
        _check_norm(norm, what)
        self._record_spec(channels_a=channels_a, channels_b=channels_b, img_resolution=[h, w], ndf=ndf,
                          n_layers=n_layers, norm=norm, fmap_max=fmap_max)
        self.channels_a, self.channels_b = channels_a, channels_b
        self.img_channels, self.img_resolution = channels_b, (h, w)
        self.receptive_field = patchgan_receptive_field(n_layers)
        self.D_A = PatchGAN(channels_a, ndf, n_layers, norm, fmap_max)
        self.D_B = PatchGAN(channels_b, ndf, n_layers, norm, fmap_max)
        init_weights_(self)

    def judge_a(self, x: torch.Tensor) -> torch.Tensor:
        """D_A: domain-A images [N, channels_a, H, W] -> patch logits [N, 1, h, w]."""
        return self.D_A(x)

    def judge_b(self, y: torch.Tensor) -> torch.Tensor:
        """D_B: domain-B images [N, channels_b, H, W] -> patch logits [N, 1, h, w]."""
        return self.D_B(y)

    def forward(self, img: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.judge_b(img)


def _example() -> dict:
    """A tiny non-square pair for the contract test (gray A, colour B, 12x16)."""
    return {"family": "cyclegan",
            "G": {"channels_a": 1, "channels_b": 3, "img_resolution": [12, 16], "n_blocks": 2, "ngf": 4},
            "D": {"channels_a": 1, "channels_b": 3, "img_resolution": [12, 16], "ndf": 4, "n_layers": 2}}


register_family("cyclegan", CycleGenerator, CycleDiscriminator, example=_example)
