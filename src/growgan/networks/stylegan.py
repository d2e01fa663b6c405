"""StyleGAN (Karras et al., CVPR 2019, "A Style-Based Generator Architecture for Generative
Adversarial Networks"), growing progressively as ProGAN does.

G: the mapping network of the stylegan2 family (`stylegan2.StyleMapping`: normalised z,
`mapping_layers` equalized FC layers with lr multiplier 0.01, w_avg, truncation, style
mixing), a learned 4x4 constant, and per stage (4x4, 8x8, ...) two "style blocks": [2x
upsampling +] equalized 3x3 conv, per-pixel noise with a learned per-channel strength, bias,
leaky ReLU, instance normalisation, then AdaIN
(Huang & Belongie 2017): x * (1 + y_s) + y_b with (y_s, y_b) an affine map of that layer's w
(the official code's style scale is (y_s + 1), with y_s's bias initialised to 0). The
official upsampling block is nearest 2x, conv, then the [1, 2, 1] blur; nearest 2x then that
blur is zero insertion then the [1, 3, 3, 1] filter (gain 4), edges included
(tests/networks/test_stylegan.py), which is what this computes, before the conv rather than
after it: the blur is per channel, so the two orders differ only on the one-pixel border of
each upsampled map, where the official code zero-pads the conv's output. At 4x4
the first block starts from the constant (no conv). Each stage has its own equalized 1x1
toRGB; num_ws = 2 * num_stages.

D: ProGAN's discriminator (`progan.ProDiscriminator`: fromRGB per stage, two 3x3 convs and
2x2 average pooling per stage, minibatch stddev, conv 3x3, two dense layers); the official
StyleGAN D adds a blur before each downsampling, which this one leaves out.

Growth: the spec keys `num_stages` and `fade_in` and the ``alpha`` attribute are ProGAN's, so
`growth.kind = "progan"` grows it with the same schedule, fade-in, regrow-by-name and exact
resume (the growth controller accepts both families). While a stage fades in, G's output
is lerp(upsample(toRGB_old(previous features)), toRGB_new(x), alpha). Square images,
4 * 2**(num_stages - 1) pixels.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.layers import EqualizedConv2d, fir_kernel, fir_upsample2x, upsample2x
from growgan.networks.common import check_sizes
from growgan.networks.progan import ProDiscriminator, num_features, stage_resolution
from growgan.networks.registry import Network, register_family
from growgan.networks.stylegan2 import FC, StyleMapping


class StyleBlock(nn.Module):
    """[upsample + blur +] conv 3x3 (skipped for the constant's first block) + noise + bias +
    leaky ReLU + instance norm + AdaIN from one w."""

    def __init__(self, cin: int, cout: int, w_dim: int, size: int, up: bool, conv: bool):
        super().__init__()
        self.conv = EqualizedConv2d(cin, cout, 3, bias=False) if conv else None
        self.up = up
        self.noise_strength = nn.Parameter(torch.zeros(1, cout, 1, 1))  # per channel, as the official code
        self.register_buffer("noise_const", torch.randn(1, 1, size, size))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.style = FC(w_dim, 2 * cout, act=False)  # (y_s, y_b); scale = 1 + y_s
        self.register_buffer("fir", fir_kernel(), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if self.up:
            # nearest 2x then the [1, 2, 1] blur == zero insertion + the gain-4 [1, 3, 3, 1] filter,
            # edges included; we use the latter (one op)
            x = fir_upsample2x(x, self.fir)
        if self.conv is not None:
            x = self.conv(x)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength
        x = F.leaky_relu(x + self.bias.reshape(1, -1, 1, 1), 0.2)
        x = x - x.mean(dim=(2, 3), keepdim=True)  # instance norm, written out (as the official
        x = x * (x.square().mean(dim=(2, 3), keepdim=True) + 1e-8).rsqrt()  # code; ONNX-exportable)
        ys, yb = self.style(w).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)  # [N, C, 1, 1] each
        return x * (1 + ys) + yb


class StyleGANGenerator(Network, StyleMapping):
    """G(z [N, z_dim], c int64 [N] | None) -> images [N, img_channels, R, R], R = 4 * 2**(num_stages-1).
    The style-based interface of stylegan2 (`mapping`, `sample_ws`, `synthesis`,
    `mix_styles`, `num_ws`, `w_avg`) applies unchanged."""

    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        img_channels: int = 3,
        num_stages: int = 1,
        fade_in: bool = False,
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        fmap_decay: float = 1.0,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
    ):
        super().__init__()
        check_sizes("stylegan", c_dim, z_dim=z_dim, img_channels=img_channels, num_stages=num_stages, w_dim=w_dim,
                    mapping_layers=mapping_layers, fmap_base=fmap_base, fmap_max=fmap_max)
        if num_stages > 9 or (fade_in and num_stages < 2):
            raise GrowganError(f"stylegan network spec: num_stages={num_stages}, fade_in={fade_in} is invalid; "
                               "use 1 to 9 stages (4 to 1024 px), fading only from 2 stages")
        self._record_spec(z_dim=z_dim, c_dim=c_dim, img_channels=img_channels, num_stages=num_stages, fade_in=fade_in,
                          w_dim=w_dim, mapping_layers=mapping_layers, mapping_lr_mul=mapping_lr_mul,
                          fmap_base=fmap_base, fmap_max=fmap_max, fmap_decay=fmap_decay,
                          style_mixing_prob=style_mixing_prob, w_avg_beta=w_avg_beta)
        self.z_dim, self.c_dim, self.img_channels = z_dim, c_dim, img_channels
        self.num_stages, self.fade_in, self.alpha = num_stages, fade_in, 1.0
        self.img_resolution = (stage_resolution(num_stages - 1),) * 2
        self._build_mapping(z_dim, c_dim, w_dim, mapping_layers, mapping_lr_mul, style_mixing_prob, w_avg_beta)
        nf = [num_features(s + 1, fmap_base, fmap_max, fmap_decay) for s in range(num_stages)]  # as ProGAN's G
        self.const = nn.Parameter(torch.ones(nf[0], 4, 4))  # the official init: ones
        self.blocks = nn.ModuleDict()
        for s in range(num_stages):
            size = stage_resolution(s)
            cin = nf[s - 1] if s > 0 else nf[0]
            self.blocks[str(s)] = nn.ModuleList([StyleBlock(cin, nf[s], w_dim, size, up=s > 0, conv=s > 0),
                                                 StyleBlock(nf[s], nf[s], w_dim, size, up=False, conv=True)])
        rgb = [num_stages - 1] + ([num_stages - 2] if fade_in else [])
        self.to_rgb = nn.ModuleDict({str(s): EqualizedConv2d(nf[s], img_channels, 1, gain=1.0) for s in rgb})
        self.num_ws = 2 * num_stages

    def synthesis(self, ws: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images [N, img_channels, R, R]."""
        if noise_mode is None:
            noise_mode = "random" if self.training else "const"
        if noise_mode not in ("random", "const", "none"):
            raise ValueError(f"noise_mode must be random, const or none, got {noise_mode!r}")
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        prev = x
        for s in range(self.num_stages):
            prev = x
            b0, b1 = self.blocks[str(s)]
            x = b1(b0(x, ws[:, 2 * s], noise_mode), ws[:, 2 * s + 1], noise_mode)
        top = self.num_stages - 1
        img = self.to_rgb[str(top)](x)
        if self.fade_in:
            old = upsample2x(self.to_rgb[str(top - 1)](prev))  # [N, C, R/2, R/2] -> [N, C, R, R]
            img = torch.lerp(old, img, float(self.alpha))
        return img

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str | None = None) -> torch.Tensor:
        return self.synthesis(self.sample_ws(z, c, truncation_psi, truncation_cutoff), noise_mode)


class StyleGANDiscriminator(ProDiscriminator):
    """ProGAN's discriminator under the stylegan family (see the module doc)."""


def _example() -> dict:
    g = {"z_dim": 8, "img_channels": 3, "num_stages": 3, "fade_in": True, "w_dim": 8, "mapping_layers": 2,
         "fmap_base": 32, "fmap_max": 8}
    d = {"img_channels": 3, "num_stages": 3, "fade_in": True, "fmap_base": 32, "fmap_max": 8}
    return {"family": "stylegan", "G": g, "D": d}


register_family("stylegan", StyleGANGenerator, StyleGANDiscriminator, example=_example, growable=True)
