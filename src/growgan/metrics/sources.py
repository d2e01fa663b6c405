"""Image sets that metrics read: archives, image folders, generators and in-memory arrays.

Every source hands out uint8 [n, C, H, W] CPU tensors by index range, so metrics never
care where the images come from; a source that is a packed archive carries its content
hash, which keys the cache of real-data statistics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.utils.progress import bar

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


@dataclass
class ImageSource:
    """A fixed, ordered set of uint8 images; `rows(idx)` / `get(start, stop)` -> uint8 [n, C, H, W]."""

    name: str
    num: int
    channels: int
    resolution: tuple[int, int]
    rows: Callable[[np.ndarray], torch.Tensor] = field(repr=False)  # int64 indices -> CPU uint8 tensor
    content_hash: str | None = None  # set for archives: statistics of it may be cached
    options: dict = field(default_factory=dict)  # preprocessing applied (part of the cache key)

    def get(self, start: int, stop: int) -> torch.Tensor:
        return self.rows(np.arange(start, min(stop, self.num)))

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor], resolution: tuple[int, int], option: dict) -> "ImageSource":
        """A source whose batches are fn(batch) (e.g. resized)."""
        base = self.rows
        return ImageSource(self.name, self.num, self.channels, resolution, lambda idx: fn(base(idx)),
                           self.content_hash, {**self.options, **option})

    def subset(self, num: int, seed: int = 0) -> "ImageSource":
        """A seeded random subset of `num` images (in index order), or self when num >= len.

        Archives and folders are often ordered (by class, by name); a random subset keeps
        the statistics of the whole set.
        """
        if num >= self.num:
            return self
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(self.num, generator=gen)[:num].sort().values.numpy()
        base = self.rows
        return ImageSource(self.name, num, self.channels, self.resolution, lambda i: base(idx[i]),
                           self.content_hash, {**self.options, "subset": f"{num}@{seed}"})


def array_source(images: np.ndarray | torch.Tensor, name: str = "array") -> ImageSource:
    """uint8 [N, C, H, W] array or tensor -> source."""
    if images.ndim != 4 or images.dtype not in (np.uint8, torch.uint8):
        raise GrowganError(f"{name}: expected uint8 images [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    if isinstance(images, torch.Tensor):
        rows = lambda idx: images[torch.from_numpy(np.asarray(idx, dtype=np.int64))]  # noqa: E731
    else:
        rows = lambda idx: torch.from_numpy(np.array(images[np.asarray(idx, dtype=np.int64)]))  # noqa: E731
    return ImageSource(name, int(images.shape[0]), int(images.shape[1]), (int(images.shape[2]), int(images.shape[3])), rows)


def resize_uint8(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area downsampling (box average, as ProGAN's downscale) of uint8 [n, C, H, W] -> [n, C, h, w]."""
    if tuple(batch.shape[2:]) == tuple(size):
        return batch
    x = F.interpolate(batch.to(torch.float32), size=size, mode="area")
    return x.round().clamp(0, 255).to(torch.uint8)


def archive_source(path: str | os.PathLike, resolution: tuple[int, int] | None = None) -> ImageSource:
    """A packed growgan archive, optionally area-downsampled to `resolution` (never upsampled)."""
    from growgan.data.archive import open_archive

    if path is None:
        raise GrowganError("metrics need the real-image archive; the data is not a packed archive (pack it first)")
    arc = open_archive(path)
    res = tuple(arc.resolution)
    src = array_source(arc.images, name=str(path))
    src.content_hash = arc.content_hash
    if resolution is not None and tuple(resolution) != res:
        if resolution[0] > res[0] or resolution[1] > res[1]:
            raise GrowganError(
                f"{path}: archive images are {res[0]}x{res[1]}, smaller than the generator's "
                f"{resolution[0]}x{resolution[1]}; pack the archive at that resolution"
            )
        r = tuple(resolution)
        src = src.map(lambda b: resize_uint8(b, r), r, {"resize": f"area-{r[0]}x{r[1]}"})
    return src


def folder_source(path: str | os.PathLike) -> ImageSource:
    """A folder of image files (all the same size and mode), sorted by name."""
    from PIL import Image

    folder = Path(path)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise GrowganError(f"{folder}: no image files found; give a folder of PNG/JPEG images or a packed archive")
    arrays = []
    for f in files:
        with Image.open(f) as im:
            arr = np.asarray(im.convert("L" if im.mode in ("L", "1", "I;16", "I") else "RGB"))
        arrays.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))  # [H, W, C] -> [C, H, W]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise GrowganError(
            f"{folder}: images differ in size or mode ({', '.join(sorted(map(str, shapes))[:3])}); "
            "pack them with `growgan dataset prepare` first"
        )
    src = array_source(np.stack(arrays), name=str(folder))
    return src


def open_source(path: str | os.PathLike, resolution: tuple[int, int] | None = None) -> ImageSource:
    """A dataset name ('builtin', see `growgan.data.resolve_archive`), an archive folder (has
    meta.json) or a plain folder of images."""
    from growgan.data import named_archive

    p = named_archive(path) or Path(path)
    if not p.exists():
        raise GrowganError(f"{p}: no such file or folder; give a packed archive, a folder of images or 'builtin'")
    if (p / "meta.json").is_file():
        return archive_source(p, resolution)
    if p.is_dir():
        src = folder_source(p)
        if resolution is not None and tuple(resolution) != src.resolution:
            r = tuple(resolution)
            src = src.map(lambda b: resize_uint8(b, r), r, {"resize": f"area-{r[0]}x{r[1]}"})
        return src
    raise GrowganError(f"{p}: not an archive or image folder; pack images with `growgan dataset prepare`")


@torch.no_grad()
def generate_images(
    G: torch.nn.Module, num: int, seed: int = 0, batch_size: int = 64, device: torch.device | str | None = None
) -> torch.Tensor:
    """`num` images from G with a fixed seed -> uint8 [num, C, H, W] on the CPU.

    Latents (and labels, for a conditional G) come from one CPU generator, drawn for all
    images up front, so the images do not depend on batch size or device.
    """
    from growgan.utils.image import to_uint8

    device = torch.device(device) if device is not None else next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(num, G.z_dim, generator=gen)
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    c = torch.randint(0, c_dim, (num,), generator=gen) if c_dim > 0 else None
    was_training = G.training
    G.eval()
    out = []
    try:
        with bar(total=num, desc="generate", unit="img") as pb:
            for s in range(0, num, batch_size):
                cb = c[s : s + batch_size].to(device) if c is not None else None
                out.append(to_uint8(G(z[s : s + batch_size].to(device), cb)).cpu())
                pb.update(out[-1].shape[0])
    finally:
        G.train(was_training)
    return torch.cat(out)  # [num, C, H, W] uint8


def generator_source(G: torch.nn.Module, num: int, seed: int = 0, batch_size: int = 64, device=None) -> ImageSource:
    """`num` images of G (see `generate_images`), generated on first access, not before: a
    metric whose prerequisites are missing fails before any image is made."""
    res = G.img_resolution
    res = (int(res), int(res)) if isinstance(res, int) else (int(res[0]), int(res[1]))
    made: list[torch.Tensor] = []

    def rows(idx) -> torch.Tensor:
        if not made:
            made.append(generate_images(G, num, seed, batch_size, device))  # [num, C, H, W] uint8
        return made[0][torch.from_numpy(np.asarray(idx, dtype=np.int64))]

    return ImageSource(f"generator(seed={seed})", int(num), int(G.img_channels), res, rows)
