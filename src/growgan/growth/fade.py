"""Fading reals into a growing discriminator (Karras et al. 2018, the official code's
fractional-lod input), shared by every growth kind."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.layers import downsample2x, upsample2x


def fade_reals(reals: torch.Tensor, resolution: int | tuple[int, int], fading: bool, alpha: float) -> torch.Tensor:
    """float reals at archive resolution [N, C, H, W] -> D's resolution [N, C, h, w] by area
    pooling; while a resolution stage fades in (``fading`` and alpha < 1) each image is
    blended with its 2x2 box-down-up version: ``lerp(up(down(x)), x, alpha)``, so at alpha 0
    D sees what its parent saw. GrowganError when H, W are not multiples of h, w."""
    h, w = (resolution, resolution) if isinstance(resolution, int) else (int(resolution[0]), int(resolution[1]))
    H, W = reals.shape[-2:]
    if H % h or W % w:
        raise GrowganError(f"data: images are {H}x{W} but the networks train at {h}x{w}; use an archive whose "
                           f"sides are a multiple of {h}x{w} (e.g. repack at a power-of-two resolution)")
    x = F.avg_pool2d(reals, (H // h, W // w)) if (H, W) != (h, w) else reals  # [N, C, h, w]
    if fading and alpha < 1.0:
        x = torch.lerp(upsample2x(downsample2x(x)), x, alpha)
    return x
