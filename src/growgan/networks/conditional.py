"""Conditional building blocks shared by the sagan and biggan families (and usable by any):

- `ConditionalBatchNorm2d`: class-conditional gain and bias (de Vries et al. 2017; as in
  SA-GAN and BigGAN): BN without affine, then ``(1 + gain(y)) * x_hat + bias(y)`` where y is
  the condition vector (a shared class embedding, in BigGAN with a chunk of z appended).
- `SelfAttention`: the SA-GAN block (Zhang et al. 2019): 1x1 theta/phi/g projections (C/8,
  C/8, C/2 channels), phi and g max-pooled by 2, softmax attention over positions, a 1x1
  output conv and a learned gate gamma initialised to 0.
- D's conditioning (projection by default, cGAN "concat" or "acgan") is the one every D
  family uses: `networks.common.add_conditioning`.
- `GBlock` (BigGAN's G residual block with CBN), `DeepGBlock` / `DeepDBlock` (BigGAN-deep's
  bottleneck blocks) and `init_weights_` (orthogonal init).
- `ResGenerator` / `ResDiscriminator`: the generic residual pair that sagan and biggan
  configure (widths, attention resolutions, shared embedding, hierarchical latent).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm as _sn

from growgan.errors import GrowganError
from growgan.networks.common import (D_CONDITIONINGS, add_conditioning, check_choice, check_labels, conditioned_input,
                                     conditioned_logits, input_channels, square_net_head)
from growgan.networks.registry import Network
from growgan.networks.resnet import ResDownBlock

COND_RESOLUTIONS = (32, 64, 128, 256)
INITS = ("ortho", "xavier", "N02")


class ConditionalBatchNorm2d(nn.Module):
    """[N, C, H, W], y [N, cond_dim] -> [N, C, H, W]. With cond_dim = 0 an ordinary affine
    BatchNorm2d (y is ignored)."""

    def __init__(self, num_features: int, cond_dim: int):
        super().__init__()
        self.cond_dim = cond_dim
        self.bn = nn.BatchNorm2d(num_features, affine=cond_dim == 0)
        if cond_dim:
            self.gain = nn.Linear(cond_dim, num_features, bias=False)
            self.bias = nn.Linear(cond_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = self.bn(x)
        if not self.cond_dim:
            return h
        return h * (1 + self.gain(y))[:, :, None, None] + self.bias(y)[:, :, None, None]


class SelfAttention(nn.Module):
    """SA-GAN self-attention: x [N, C, H, W] (H, W even) -> x + gamma * o(attention)."""

    def __init__(self, ch: int):
        super().__init__()
        c8, c2 = max(1, ch // 8), max(1, ch // 2)
        self.theta = nn.Conv2d(ch, c8, 1, bias=False)
        self.phi = nn.Conv2d(ch, c8, 1, bias=False)
        self.g = nn.Conv2d(ch, c2, 1, bias=False)
        self.o = nn.Conv2d(c2, ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # [N, C/8, HW]
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # [N, C/8, HW/4]
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # [N, C/2, HW/4]
        beta = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # [N, HW, HW/4]
        o = torch.bmm(g, beta.transpose(1, 2)).reshape(n, -1, h, w)  # [N, C/2, H, W]
        return x + self.gamma * self.o(o)


class GBlock(nn.Module):
    """BigGAN's up block: CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3, skip up + conv1x1;
    [N, cin, H, W], y [N, cond_dim] -> [N, cout, 2H, 2W]."""

    def __init__(self, cin: int, cout: int, cond_dim: int):
        super().__init__()
        self.bn1, self.conv1 = ConditionalBatchNorm2d(cin, cond_dim), nn.Conv2d(cin, cout, 3, padding=1)
        self.bn2, self.conv2 = ConditionalBatchNorm2d(cout, cond_dim), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + F.interpolate(self.skip(x), scale_factor=2, mode="nearest")  # 1x1 conv commutes with nearest up


class DeepGBlock(nn.Module):
    """BigGAN-deep's G block (Brock et al. 2019, appendix B): a bottleneck (1x1 conv to cin/4
    channels, two 3x3 convs, 1x1 conv to cout), CBN-ReLU before each conv, optional 2x
    upsampling before the first 3x3 conv; the skip keeps the first cout channels (no conv)
    and is upsampled alike. [N, cin, H, W], y -> [N, cout, H or 2H, W or 2W]; cout <= cin."""

    def __init__(self, cin: int, cout: int, cond_dim: int, up: bool):
        super().__init__()
        hidden = max(1, cin // 4)
        self.up, self.cout = up, cout
        self.bn1, self.conv1 = ConditionalBatchNorm2d(cin, cond_dim), nn.Conv2d(cin, hidden, 1)
        self.bn2, self.conv2 = ConditionalBatchNorm2d(hidden, cond_dim), nn.Conv2d(hidden, hidden, 3, padding=1)
        self.bn3, self.conv3 = ConditionalBatchNorm2d(hidden, cond_dim), nn.Conv2d(hidden, hidden, 3, padding=1)
        self.bn4, self.conv4 = ConditionalBatchNorm2d(hidden, cond_dim), nn.Conv2d(hidden, cout, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = F.relu(self.bn2(self.conv1(F.relu(self.bn1(x, y))), y))
        x = x[:, : self.cout]  # the skip drops channels
        if self.up:
            h, x = F.interpolate(h, scale_factor=2, mode="nearest"), F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv3(F.relu(self.bn3(self.conv2(h), y)))
        return self.conv4(F.relu(self.bn4(h, y))) + x


class DeepDBlock(nn.Module):
    """BigGAN-deep's D block: ReLU-1x1 conv (to cout/4), ReLU-3x3, ReLU-3x3, ReLU, optional 2x2
    average pooling, 1x1 conv to cout; the skip is pooled alike and, when cout > cin, extended
    by a 1x1 conv giving the cout - cin extra channels (concatenated). cout >= cin."""

    def __init__(self, cin: int, cout: int, down: bool):
        super().__init__()
        hidden = max(1, cout // 4)
        self.down = down
        self.conv1, self.conv2 = nn.Conv2d(cin, hidden, 1), nn.Conv2d(hidden, hidden, 3, padding=1)
        self.conv3, self.conv4 = nn.Conv2d(hidden, hidden, 3, padding=1), nn.Conv2d(hidden, cout, 1)
        self.skip = nn.Conv2d(cin, cout - cin, 1) if cout > cin else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv3(F.relu(self.conv2(F.relu(self.conv1(F.relu(x))))))
        h = F.relu(h)
        if self.down:
            h, x = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)
        if self.skip is not None:
            x = torch.cat([x, self.skip(x)], dim=1)
        return self.conv4(h) + x


def init_weights_(net: nn.Module, init: str) -> None:
    """Initialise every conv/linear/embedding weight: "ortho" (orthogonal, BigGAN), "xavier"
    or "N02" (N(0, 0.02)); biases to zero."""
    if init not in INITS:
        raise GrowganError(f"network spec: init={init!r} is invalid; use one of {', '.join(INITS)}")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            if init == "ortho":
                nn.init.orthogonal_(m.weight)
            elif init == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def _spectral_norm_(net: nn.Module, skip: Sequence[nn.Module] = ()) -> None:
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)) and not any(m is s for s in skip):
            _sn(m)


def _check_attn(family: str, attn_res: Sequence[int], res: int) -> list[int]:
    ok = [2**k for k in range(3, int(math.log2(res)) + 1)]
    bad = [r for r in attn_res if r not in ok]
    if bad:
        raise GrowganError(f"{family} network spec: attn_res={list(attn_res)} has {bad[0]}, which is not a block "
                           f"resolution; use values among {ok} (or [] for none)")
    return [int(r) for r in attn_res]


class ResGenerator(Network):
    """z [N, z_dim], c int64 [N] -> images [N, img_channels, res, res] in [-1, 1].
    Widths: `channels` at full resolution, doubled per block towards 4x4, capped at
    `fmap_max`. Conditioning: a shared class embedding (`shared_dim`) feeds every block's CBN;
    `hierarchical` splits z into (blocks + 1) equal chunks, the first to the 4x4 linear and
    one per block appended to the CBN condition (BigGAN). Self-attention after the blocks
    whose output resolution is in `attn_res`."""

    def _build(self, family: str, z_dim: int, c_dim: int, img_channels: int, img_resolution, channels: int,
               fmap_max: int, shared_dim: int, hierarchical: bool, attn_res: Sequence[int], spectral_norm: bool,
               init: str, sizes: dict, options: dict, deep: bool = False) -> None:
        res = square_net_head(self, family, COND_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=sizes, options=options)
        n = int(math.log2(res)) - 2
        self.attn_res = _check_attn(family, attn_res, res)
        self.deep = deep
        hierarchical = hierarchical and not deep  # BigGAN-deep feeds all of z to every block
        self.hierarchical = hierarchical
        if hierarchical and z_dim % (n + 1):
            raise GrowganError(f"{family} network spec: z_dim={z_dim} must split into {n + 1} equal chunks "
                               f"(hierarchical latent, {n} blocks + the input); use z_dim={(z_dim // (n + 1) + 1) * (n + 1)}")
        chunk = z_dim // (n + 1) if hierarchical else 0
        self.z_chunk = chunk
        widths = [min(channels * 2 ** (n - i), fmap_max) for i in range(n + 1)]
        self.shared = nn.Embedding(c_dim, shared_dim) if c_dim > 0 else None
        y_dim = shared_dim if c_dim > 0 else 0
        if deep:  # [z, y] to the linear and to every CBN; two bottleneck blocks per resolution
            cond_dim = z_dim + y_dim
            self.fc = nn.Linear(z_dim + y_dim, widths[0] * 16)
            self.blocks = nn.ModuleList(blk for a, b in zip(widths[:-1], widths[1:])
                                        for blk in (DeepGBlock(a, a, cond_dim, up=False), DeepGBlock(a, b, cond_dim, up=True)))
        else:
            cond_dim = y_dim + chunk
            self.fc = nn.Linear(chunk if hierarchical else z_dim, widths[0] * 16)
            self.blocks = nn.ModuleList(GBlock(a, b, cond_dim) for a, b in zip(widths[:-1], widths[1:]))
        self.attn = nn.ModuleDict({str(4 * 2 ** (i + 1)): SelfAttention(b)
                                   for i, b in enumerate(widths[1:]) if 4 * 2 ** (i + 1) in self.attn_res})
        self.bn_out, self.conv_out = nn.BatchNorm2d(widths[-1]), nn.Conv2d(widths[-1], img_channels, 3, padding=1)
        init_weights_(self, init)
        if spectral_norm:
            _spectral_norm_(self, skip=[self.shared] if self.shared is not None else [])

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        n = z.shape[0]
        z = z.reshape(n, self.z_dim)
        y = self.shared(check_labels(c, self.c_dim, n)) if self.shared is not None else None  # [N, shared_dim]
        if self.hierarchical:
            zs = list(torch.split(z, self.z_chunk, dim=1))  # [N, chunk] x (blocks + 1)
            z0 = zs.pop(0)
        elif self.deep:
            z0 = torch.cat([z, y], dim=1) if y is not None else z  # [N, z_dim + shared_dim]
            zs = [z] * len(self.blocks)
        else:
            z0, zs = z, [None] * len(self.blocks)
        h = self.fc(z0).reshape(n, -1, 4, 4)  # [N, C0, 4, 4]
        for block, zi in zip(self.blocks, zs):
            cond = [t for t in (zi, y) if t is not None] if self.deep else [t for t in (y, zi) if t is not None]
            h = block(h, torch.cat(cond, dim=1) if cond else None)  # [N, C, H, W] -> [N, C', 2H, 2W]
            key = str(h.shape[-1])
            if getattr(block, "up", True) and key in self.attn:  # once per resolution, after its up block
                h = self.attn[key](h)
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h))))


class ResDiscriminator(Network):
    """images [N, img_channels, res, res], c int64 [N] -> logits [N]. Residual down blocks
    (`channels` at full resolution, doubled per block, capped at `fmap_max`), self-attention
    after the blocks whose output resolution is in `attn_res`, ReLU, global sum pooling, a
    linear logit and the conditional tail of `conditioning` (projection by default)."""

    def _build(self, family: str, z_dim: int, c_dim: int, img_channels: int, img_resolution, channels: int,
               fmap_max: int, attn_res: Sequence[int], spectral_norm: bool, init: str, conditioning: str,
               sizes: dict, options: dict, deep: bool = False) -> None:
        res = square_net_head(self, family, COND_RESOLUTIONS, z_dim, c_dim, img_channels, img_resolution,
                              sizes=sizes, options=options)
        check_choice(family, "conditioning", conditioning, D_CONDITIONINGS)
        self.conditioning = conditioning
        self.attn_res = _check_attn(family, attn_res, res // 2)  # after a block: res/2 at most
        n = int(math.log2(res)) - 2
        widths = [input_channels(self, img_channels)] + [min(channels * 2**i, fmap_max) for i in range(n)]
        self.deep = deep
        if deep:  # BigGAN-deep: a 3x3 input conv to `channels`, then per resolution a down block
            # (to 2, 4, 8, 16, 16 x channels at 128 px, capped by fmap_max) and a same-size one
            self.conv_in = nn.Conv2d(widths[0], channels, 3, padding=1)
            widths = [channels] + [min(channels * 2 ** (i + 1), fmap_max) for i in range(n)]
            blocks = [blk for a, b in zip(widths[:-1], widths[1:])
                      for blk in (DeepDBlock(a, b, down=True), DeepDBlock(b, b, down=False))]
        else:
            blocks = [ResDownBlock(a, b, first=(i == 0)) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
            blocks.append(ResDownBlock(widths[-1], widths[-1], down=False))
        self.blocks = nn.ModuleList(blocks)
        # attention after the block whose output has side r (r = res/2, res/4, ...); r = res is the input
        self.attn = nn.ModuleDict({str(res // 2 ** (i + 1)): SelfAttention(w)
                                   for i, w in enumerate(widths[1:]) if res // 2 ** (i + 1) in self.attn_res})
        self.fc = nn.Linear(widths[-1], 1)
        add_conditioning(self, widths[-1], conditioning)
        init_weights_(self, init)
        if spectral_norm:
            _spectral_norm_(self)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = conditioned_input(self, img, c)
        if self.deep:
            h = self.conv_in(h)
        for block in self.blocks:
            h = block(h)
            if block.down:
                key = str(h.shape[-1])
                if key in self.attn:
                    h = self.attn[key](h)
        phi = F.relu(h).sum(dim=(2, 3))  # [N, C]
        return conditioned_logits(self, self.fc(phi).flatten(), phi, c)  # [N]
