"""Image conversions and sample grids, on torch and Pillow alone (no torchvision).

Conventions used across growgan: images on disk and in archives are uint8 [N, C, H, W];
networks see float in [-1, 1]. Conversion follows stylegan2-ada: x * 127.5 + 128,
clamped, truncated to uint8.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image

from growgan.utils.io import atomic_path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], same shape."""
    return (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], same shape."""
    return images.to(torch.float32) / 127.5 - 1.0


def make_grid(images: torch.Tensor, ncols: int | None = None, pad: int = 2, pad_value: int = 0) -> torch.Tensor:
    """Tile images into one picture.

    images: uint8 [N, C, H, W] (float in [-1, 1] is converted). Returns uint8 [C, H', W'].
    """
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    images = images.cpu()
    n, c, h, w = images.shape
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    grid = torch.full((c, nrows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y : y + h, x : x + w] = images[i]
    return grid


def save_image(image: torch.Tensor | np.ndarray, path: str | os.PathLike) -> None:
    """Save one uint8 image [C, H, W] (C = 1 or 3) atomically; the format follows the suffix."""
    arr = image.cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    arr = np.ascontiguousarray(arr.transpose(1, 2, 0))  # [C, H, W] -> [H, W, C]
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    fmt = os.path.splitext(str(path))[1].lstrip(".").upper() or "PNG"
    with atomic_path(path) as tmp:
        pil.save(tmp, format="JPEG" if fmt == "JPG" else fmt)


def save_grid(images: torch.Tensor, path: str | os.PathLike, ncols: int | None = None, upscale: int = 1) -> None:
    """Write a grid of images (uint8, or float in [-1, 1]) to an image file.

    upscale: integer nearest-neighbour magnification, so 8x8 grids stay visible.
    """
    grid = make_grid(images, ncols=ncols)
    if upscale > 1:
        grid = grid.repeat_interleave(upscale, dim=1).repeat_interleave(upscale, dim=2)
    save_image(grid, path)
