"""Image-to-image networks: the U-Net and ResNet-block generators and the PatchGAN
discriminator of Pix2Pix (Isola et al., CVPR 2017, "Image-to-Image Translation with
Conditional Adversarial Networks") and CycleGAN (Zhu et al., ICCV 2017), after the authors'
pytorch-CycleGAN-and-pix2pix layer recipe; and the "pix2pix" family (G: U-Net or ResNet
blocks, D: PatchGAN conditioned on the input image).

Image-to-image contract (see `growgan.networks.registry`): a generator with
``input_kind = "image"`` maps ``G(x) -> y``, x float [N, in_channels, H, W] in [-1, 1] to
y float [N, img_channels, H, W] in [-1, 1] (tanh), for any H, W its architecture divides
(`size_multiple`); ``img_resolution`` is the training size. A PatchGAN D maps
``D(y, cond=None) -> logits [N, 1, h, w]``, one logit per overlapping patch; with
``cond_channels > 0`` the condition image is concatenated before y on the channel axis
(Pix2Pix's D sees (A, B) pairs). Both carry z_dim = c_dim = 0.

Blocks (C = conv 4x4 stride 2 pad 1, norm, activation; "k" = width):
- U-Net (Isola et al. Sec. 6.1.1): encoder C64-C128-C256-C512-C512..., LeakyReLU 0.2, no norm
  on the first layer and none on the innermost; decoder transposed C with ReLU mirroring it,
  each layer's output concatenated with the encoder layer of the same size (skips), dropout
  0.5 on the three innermost decoder layers (the paper's only noise source), tanh out.
  `depth` = number of stride-2 downsamplings (8 for 256x256 in the paper).
- ResNet G (Johnson et al. 2016, CycleGAN's): c7s1-64, d128, d256, `n_blocks` residual
  blocks (reflection padding), u128, u64, c7s1-out, tanh; sides divisible by 4.
- PatchGAN (70x70 with n_layers=3): C64 (no norm) - C128 - C256 - C512 (stride 1) - conv to
  1 logit (stride 1), LeakyReLU 0.2; receptive field 70x70 for n_layers=3.
Norms: "instance" (affine-free, per image) or "batch". Batch norm uses the statistics of the
batch it sees, in training and in eval alike (no running statistics), as the paper applies it
at test time; convs carry a bias only under instance norm (batch norm's shift replaces it).
Weights start from N(0, 0.02) (norm scales from N(1, 0.02)), as in the paper.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from growgan.errors import GrowganError
from growgan.networks.registry import Network, register_family

NORMS = ("instance", "batch")
GENERATOR_ARCHS = ("unet", "resnet")


# ---------------------------------------------------------------------------- helpers
def norm_layer(norm: str, channels: int) -> nn.Module:
    """InstanceNorm2d (affine-free) or BatchNorm2d with batch statistics only."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=False)
    raise GrowganError(f"translation network spec: norm={norm!r} is invalid; use one of {', '.join(NORMS)}")


def init_weights_(net: nn.Module, gain: float = 0.02) -> None:
    """Convs from N(0, gain), biases 0; BatchNorm scales from N(1, gain), shifts 0 (Isola et al.)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def resolution_pair(img_resolution: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(img_resolution, int) and not isinstance(img_resolution, bool):
        return int(img_resolution), int(img_resolution)
    try:
        h, w = (int(v) for v in img_resolution)
    except (TypeError, ValueError):
        raise GrowganError(f"{what}: img_resolution={img_resolution!r} is invalid; use [H, W]") from None
    return h, w


def check_positive(what: str, **values: int) -> None:
    bad = [f"{k}={v!r}" for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v <= 0]
    if bad:
        raise GrowganError(f"{what}: {', '.join(bad)} is invalid; use positive integers")


def check_divisible(h: int, w: int, multiple: int, what: str, fix: str) -> None:
    """The one-line refusal of a size the architecture cannot map back to itself."""
    if h % multiple or w % multiple:
        raise GrowganError(f"{what}: {h}x{w} images cannot pass it; both sides must be divisible by {multiple} ({fix})")


# ---------------------------------------------------------------------------- U-Net
class UNet(nn.Module):
    """The Pix2Pix U-Net body: [N, in_ch, H, W] -> [N, out_ch, H, W], H and W divisible by 2**depth."""

    def __init__(self, in_channels: int, out_channels: int, depth: int = 8, ngf: int = 64, fmap_max: int = 512,
                 norm: str = "batch", dropout: float = 0.5):
        super().__init__()
        self.depth = depth
        widths = [min(ngf * 2 ** min(i, 3), fmap_max) for i in range(depth)]  # 64, 128, 256, 512, 512, ...
        bias = norm == "instance"
        self.down = nn.ModuleList()
        for i in range(depth):
            cin = in_channels if i == 0 else widths[i - 1]
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(cin, widths[i], 4, 2, 1, bias=bias))  # as the reference: bias only without batch norm
            if 0 < i < depth - 1:  # no norm on the outermost and innermost encoder layers
                layers.append(norm_layer(norm, widths[i]))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):  # up[k] undoes down[depth-1-k]
            cin = widths[i] if i == depth - 1 else 2 * widths[i]  # innermost: no skip yet
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, out_channels, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ReLU(), nn.ConvTranspose2d(cin, widths[i - 1], 4, 2, 1, bias=bias), norm_layer(norm, widths[i - 1])]
            if dropout > 0 and i >= depth - 3:
                layers.append(nn.Dropout(dropout))  # the three innermost decoder layers
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x)  # [N, w_i, H / 2^(i+1), W / 2^(i+1)]
            skips.append(x)
        skips.pop()  # the innermost output is the decoder's input, not a skip
        for layer in self.up[:-1]:
            x = torch.cat([layer(x), skips.pop()], dim=1)  # [N, 2 w, 2h, 2w]
        return self.up[-1](x)  # [N, out_channels, H, W]


# ---------------------------------------------------------------------------- ResNet-block G
class ResnetBlock(nn.Module):
    """x + (reflect-pad, conv3x3, norm, ReLU, [dropout], reflect-pad, conv3x3, norm)(x)."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   norm_layer(norm, channels), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s ResNet generator as in CycleGAN: [N, in_ch, H, W] -> [N, out_ch, H, W],
    H and W divisible by 4 (two stride-2 downsamplings)."""

    size_multiple = 4

    def __init__(self, in_channels: int, out_channels: int, n_blocks: int = 9, ngf: int = 64, norm: str = "instance",
                 dropout: float = 0.0):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   norm_layer(norm, ngf), nn.ReLU()]
        for i in range(2):  # d128, d256
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), norm_layer(norm, 2 * c), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2):  # u128, u64
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias), norm_layer(norm, c // 2),
                       nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # [N, in, H, W] -> [N, out, H, W]


# ---------------------------------------------------------------------------- PatchGAN
class PatchGAN(nn.Module):
    """[N, in_ch, H, W] -> patch logits [N, 1, h, w]; receptive field 70x70 for n_layers=3
    (16x16 for 1, 34x34 for 2, 142x142 for 4: rf = 4 + 3 + 3 * (2 + 4 + ... + 2^n_layers))."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch", fmap_max: int = 512):
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = ndf
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1  # the last of the n_layers widening convs keeps the size
            c_out = min(ndf * 2 ** min(i, 3), fmap_max)
            layers += [nn.Conv2d(c, c_out, 4, stride, 1, bias=bias), norm_layer(norm, c_out), nn.LeakyReLU(0.2)]
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def patchgan_receptive_field(n_layers: int) -> int:
    """Receptive field (pixels per side) of one PatchGAN logit, by the layer recursion
    rf_in = (rf_out - 1) * stride + kernel over its convs (kernel 4; strides 2 ... 2, 1, 1)."""
    rf = 1
    strides = [2] * n_layers + [1, 1]
    for s in reversed(strides):
        rf = (rf - 1) * s + 4
    return rf


# ---------------------------------------------------------------------------- the pix2pix family
class TranslationGenerator(Network):
    """Pix2Pix's generator: ``G(x) -> y`` through a U-Net (``arch="unet"``, the paper's) or
    a ResNet-block body (``arch="resnet"``, ``n_blocks`` 6 or 9 as CycleGAN uses).

    in_channels / img_channels: channels of the input (domain A) and output (domain B);
    img_resolution: the training size [H, W] (null in presets: from the archive); depth:
    the U-Net's downsamplings (H and W must be divisible by 2**depth); ngf: first-layer
    width; fmap_max: width cap; norm: "batch" (paper) or "instance"; dropout: the U-Net's
    noise (paper 0.5; the ResNet body's optional dropout)."""

    input_kind = "image"
    z_dim = 0
    c_dim = 0

    def __init__(self, in_channels: int = 3, img_channels: int = 3, img_resolution: Sequence[int] | int = (256, 256),
                 arch: str = "unet", depth: int = 8, n_blocks: int = 9, ngf: int = 64, fmap_max: int = 512,
                 norm: str = "batch", dropout: float = 0.5):
        super().__init__()
        what = "pix2pix G"
        h, w = resolution_pair(img_resolution, what)
        check_positive(what, in_channels=in_channels, img_channels=img_channels, depth=depth, n_blocks=n_blocks,
                       ngf=ngf, fmap_max=fmap_max, height=h, width=w)
        if arch not in GENERATOR_ARCHS:
            raise GrowganError(f"{what}: arch={arch!r} is invalid; use one of {', '.join(GENERATOR_ARCHS)}")
        if norm not in NORMS:
            raise GrowganError(f"{what}: norm={norm!r} is invalid; use one of {', '.join(NORMS)}")
        if not 0 <= float(dropout) < 1:
            raise GrowganError(f"{what}: dropout={dropout!r} is invalid; use a probability in [0, 1)")
        self._record_spec(in_channels=in_channels, img_channels=img_channels, img_resolution=[h, w], arch=arch,
                          depth=depth, n_blocks=n_blocks, ngf=ngf, fmap_max=fmap_max, norm=norm, dropout=dropout)
        self.in_channels, self.img_channels, self.img_resolution = in_channels, img_channels, (h, w)
        self.arch = arch
        if arch == "unet":
            self.size_multiple = 2 ** depth
            fix = f"crop or resize the images, or set network.G.depth <= {_max_depth(h, w)}"
            check_divisible(h, w, self.size_multiple, f"{what} (U-Net, depth {depth})", fix)
            self.net = UNet(in_channels, img_channels, depth, ngf, fmap_max, norm, dropout)
        else:
            self.size_multiple = ResnetGenerator.size_multiple
            check_divisible(h, w, self.size_multiple, f"{what} (ResNet blocks)", "crop or resize the images")
            self.net = ResnetGenerator(in_channels, img_channels, n_blocks, ngf, norm, dropout)
        init_weights_(self)

    def check_input(self, x: torch.Tensor) -> None:
        """ValueError (one line) for a batch this G cannot map: channels or sides."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"pix2pix G takes [N, {self.in_channels}, H, W] images, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f"pix2pix G: {h}x{w} images cannot pass it; both sides must be divisible by "
                             f"{self.size_multiple}")

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        return self.net(x)  # [N, in_channels, H, W] -> [N, img_channels, H, W]


def generator_size_multiple(G_spec: dict) -> int:
    """What both image sides must be divisible by for a TranslationGenerator spec: 2**depth
    for the U-Net (default depth 8), 4 for the ResNet-block body."""
    if G_spec.get("arch", "unet") == "resnet":
        return ResnetGenerator.size_multiple
    return 2 ** int(G_spec.get("depth", 8))


def _max_depth(h: int, w: int) -> int:
    d = 0
    while h % 2 ** (d + 1) == 0 and w % 2 ** (d + 1) == 0:
        d += 1
    return d


class PatchDiscriminator(Network):
    """PatchGAN D (70x70 for n_layers=3): ``D(y, cond=None) -> logits [N, 1, h, w]``; with
    cond_channels > 0 (Pix2Pix) it sees ``cat([cond, y], dim=1)``, the input image and its
    real or generated translation."""

    input_kind = "image"
    z_dim = 0
    c_dim = 0

    def __init__(self, img_channels: int = 3, cond_channels: int = 3, img_resolution: Sequence[int] | int = (256, 256),
                 ndf: int = 64, n_layers: int = 3, norm: str = "batch", fmap_max: int = 512):
        super().__init__()
        what = "pix2pix D"
        h, w = resolution_pair(img_resolution, what)
        check_positive(what, img_channels=img_channels, ndf=ndf, n_layers=n_layers, fmap_max=fmap_max, height=h, width=w)
        if not isinstance(cond_channels, int) or isinstance(cond_channels, bool) or cond_channels < 0:
            raise GrowganError(f"{what}: cond_channels={cond_channels!r} is invalid; use 0 (unconditional) or the "
                               "input image's channels")
        if norm not in NORMS:
            raise GrowganError(f"{what}: norm={norm!r} is invalid; use one of {', '.join(NORMS)}")
        self._record_spec(img_channels=img_channels, cond_channels=cond_channels, img_resolution=[h, w], ndf=ndf,
                          n_layers=n_layers, norm=norm, fmap_max=fmap_max)
        self.img_channels, self.cond_channels, self.img_resolution = img_channels, cond_channels, (h, w)
        self.receptive_field = patchgan_receptive_field(n_layers)
        self.net = PatchGAN(img_channels + cond_channels, ndf, n_layers, norm, fmap_max)
        init_weights_(self)

    def forward(self, img: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_channels:
            if cond is None or not isinstance(cond, torch.Tensor) or cond.ndim != 4:
                raise ValueError("this PatchGAN D is conditional: call D(image, input_image)")
            img = torch.cat([cond, img], dim=1)  # [N, cond + img channels, H, W]
        return self.net(img)  # [N, 1, h, w]


def _example() -> dict:
    """A tiny non-square pair for the contract test (16x24, U-Net depth 3)."""
    return {"family": "pix2pix",
            "G": {"in_channels": 1, "img_channels": 3, "img_resolution": [16, 24], "arch": "unet", "depth": 3,
                  "ngf": 4, "fmap_max": 16, "norm": "batch", "dropout": 0.5},
            "D": {"img_channels": 3, "cond_channels": 1, "img_resolution": [16, 24], "ndf": 4, "n_layers": 2,
                  "norm": "batch", "fmap_max": 16}}


register_family("pix2pix", TranslationGenerator, PatchDiscriminator, example=_example)
