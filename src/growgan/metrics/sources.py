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


@dataclass
class ImageSource:
    """A fixed, ordered set of uint8 images; `rows(idx)` / `get(start, stop)` -> uint8 [n, C, H, W]."""

    name: str
    num: int
    channels: int
    resolution: tuple[int, int]
    rows: Callable[[np.ndarray], torch.Tensor] = field(repr=False)  # int64 indices -> CPU uint8 tensor
    content_hash: str | None = None  # a known content hash: statistics of it may be cached
    options: dict = field(default_factory=dict)  # preprocessing applied (part of the cache key)
    # archives: record_dir -> the hash of what the files hold now (checked by size + mtime, see
    # growgan.data.archive.current_content_hash); preferred over content_hash when set
    hash_fn: Callable[[Path | None], str] | None = field(default=None, repr=False)
    stats: dict | None = None  # pytorch-fid statistics {"mu": [D], "sigma": [D, D]} instead of images (num = 0)
    labels: np.ndarray | None = field(default=None, repr=False)  # int64 [num] class labels (labelled archives,
    # conditional generators: the class each image was asked for), else None
    generator: torch.nn.Module | None = field(default=None, repr=False)  # the G a generator source draws from
    # (metrics of the generator itself, such as PPL, read it), else None

    def current_hash(self, record_dir: Path | None = None) -> str | None:
        """The content hash that keys caches of this source's statistics, or None (no caching)."""
        return self.hash_fn(record_dir) if self.hash_fn is not None else self.content_hash

    def get(self, start: int, stop: int) -> torch.Tensor:
        return self.rows(np.arange(start, min(stop, self.num)))

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor], resolution: tuple[int, int], option: dict) -> "ImageSource":
        """A source whose batches are fn(batch) (e.g. resized)."""
        base = self.rows
        return ImageSource(self.name, self.num, self.channels, resolution, lambda idx: fn(base(idx)),
                           self.content_hash, {**self.options, **option}, self.hash_fn, labels=self.labels)

    def subset(self, num: int, seed: int = 0) -> "ImageSource":
        """A seeded random subset of `num` images (in index order), or self when num >= len.

        Archives and folders are often ordered (by class, by name); a random subset keeps
        the statistics of the whole set.
        """
        if num >= self.num:
            return self
        gen = torch.Generator().manual_seed(seed)
        idx = torch.randperm(self.num, generator=gen)[:num].sort().values.numpy()
        return self._take(idx, {"subset": f"{num}@{seed}"})

    def _take(self, idx: np.ndarray, option: dict) -> "ImageSource":
        base = self.rows
        return ImageSource(self.name, len(idx), self.channels, self.resolution, lambda i: base(idx[i]),
                           self.content_hash, {**self.options, **option}, self.hash_fn,
                           labels=None if self.labels is None else np.asarray(self.labels)[idx])

    def of_class(self, k: int) -> "ImageSource":
        """The images labelled k (in index order); GrowganError when the source is unlabelled."""
        if self.labels is None:
            raise GrowganError(f"{self.name}: has no class labels; per-class metrics need a labelled archive "
                               "and a conditional generator")
        return self._take(np.flatnonzero(np.asarray(self.labels) == k), {"class": int(k)})


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
    from growgan.data.archive import current_content_hash, open_archive

    if path is None:
        raise GrowganError("metrics need the real-image archive; the data is not a packed archive (pack it first)")
    arc = open_archive(path)
    res = tuple(arc.resolution)
    src = array_source(arc.images, name=str(path))
    src.labels = None if arc.labels is None else np.asarray(arc.labels, dtype=np.int64)
    src.content_hash = arc.content_hash  # as packed; hash_fn checks that the files still hold it
    src.hash_fn = lambda record_dir: current_content_hash(arc, record_dir)
    if resolution is not None and tuple(resolution) != res:
        if resolution[0] > res[0] or resolution[1] > res[1]:
            raise GrowganError(
                f"{path}: archive images are {res[0]}x{res[1]}, smaller than the generator's "
                f"{resolution[0]}x{resolution[1]}; pack the archive at that resolution"
            )
        r = tuple(resolution)
        src = src.map(lambda b: resize_uint8(b, r), r, {"resize": f"area-{r[0]}x{r[1]}"})
    return src


def folder_source(path: str | os.PathLike, background: tuple[int, int, int] | None = None) -> ImageSource:
    """A folder of image files (all the same size), sorted by name, decoded by the one image
    decoder (growgan.data.decode: EXIF orientation, 16-bit scaling, transparency over
    `background` (default white), 3 channels if any image is colour), so a folder scores as
    the archive `growgan dataset prepare` packs from it."""
    from growgan.data.decode import WHITE, read_image_folder

    _, images = read_image_folder(path, background or WHITE)
    return array_source(images, name=str(path))


def npz_source(path: str | os.PathLike) -> ImageSource:
    """An .npz file as evaluation suites exchange them: ``arr_0`` uint8 images [N, H, W, C]
    (NHWC; [N, H, W] is grayscale), or pytorch-fid statistics ``mu`` [D] and ``sigma`` [D, D]
    (float; a source with ``stats`` set and no images). Anything else -> GrowganError."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            if {"mu", "sigma"} <= keys:
                mu, sigma = np.asarray(z["mu"], np.float64), np.asarray(z["sigma"], np.float64)
                if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
                    raise GrowganError(f"{p}: mu {mu.shape} and sigma {sigma.shape} are not a mean [D] and a "
                                       "covariance [D, D]; give pytorch-fid statistics")
                return ImageSource(str(p), 0, 0, (0, 0), rows=_no_images(p), stats={"mu": mu, "sigma": sigma})
            if "arr_0" not in keys:
                raise GrowganError(f"{p}: an .npz needs arr_0 (uint8 images, NHWC) or mu and sigma (pytorch-fid "
                                   f"statistics); it holds {', '.join(sorted(keys)) or 'nothing'}")
            arr = z["arr_0"]
    except GrowganError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's
        raise GrowganError(f"{p}: not a readable .npz ({type(exc).__name__}); give a numpy .npz file") from None
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[3] not in (1, 3)):
        raise GrowganError(f"{p}: arr_0 is {arr.dtype} {tuple(arr.shape)}; it needs uint8 images [N, H, W, C] "
                           "with C = 1 or 3 (as 0..255 values)")
    nchw = arr[:, None] if arr.ndim == 3 else arr.transpose(0, 3, 1, 2)
    return array_source(np.ascontiguousarray(nchw), name=str(p))


def _no_images(p: Path):
    def rows(idx):
        raise GrowganError(f"{p}: holds statistics (mu, sigma), not images; this needs images")

    return rows


def open_source(path: str | os.PathLike, resolution: tuple[int, int] | None = None,
                background: tuple[int, int, int] | None = None) -> ImageSource:
    """A dataset name ('builtin', see `growgan.data.resolve_archive`), an archive folder (has
    meta.json), a plain folder of images (see folder_source), or an .npz (`npz_source`)."""
    from growgan.data import named_archive

    p = named_archive(path) or Path(path)
    if not p.exists():
        raise GrowganError(f"{p}: no such file or folder; give a packed archive, a folder of images, an .npz or 'builtin'")
    if p.is_file() and p.suffix.lower() == ".npz":
        src = npz_source(p)
        if src.stats is None and resolution is not None and tuple(resolution) != src.resolution:
            if resolution[0] > src.resolution[0] or resolution[1] > src.resolution[1]:
                raise GrowganError(f"{p}: images are {src.resolution[0]}x{src.resolution[1]}, smaller than the "
                                   f"generator's {resolution[0]}x{resolution[1]}; give images at that size")
            r = tuple(resolution)
            src = src.map(lambda b: resize_uint8(b, r), r, {"resize": f"area-{r[0]}x{r[1]}"})
        return src
    if (p / "meta.json").is_file():
        return archive_source(p, resolution)
    if p.is_dir():
        src = folder_source(p, background)
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

    src = ImageSource(f"generator(seed={seed})", int(num), int(G.img_channels), res, rows, generator=G)
    src.labels = generator_labels(G, num, seed)  # the classes asked for: known before any image is made
    return src


def generator_labels(G: torch.nn.Module, num: int, seed: int = 0) -> np.ndarray | None:
    """The labels `generate_images(G, num, seed)` asks a conditional G for (int64 [num]), else None."""
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    if c_dim <= 0:
        return None
    gen = torch.Generator().manual_seed(seed)
    torch.randn(num, G.z_dim, generator=gen)  # the same draws, in the same order, as generate_images
    return torch.randint(0, c_dim, (num,), generator=gen).numpy().astype(np.int64)
