"""Paired translation archives (Pix2Pix): the reading side, minimal.

On disk (the format `growgan dataset prepare` writes for paired layouts):

    OUT/meta.json   {"format": "growgan-translation-archive", "kind": "paired", ...}
    OUT/A/          an ordinary archive (images.npy uint8 [N, C_A, H, W], memory-mapped)
    OUT/B/          an ordinary archive (images.npy uint8 [N, C_B, H, W]); row i of B belongs to row i of A

`open_paired_archive(path) -> PairedArchive` with ``num``, ``resolution`` ((H, W)),
``channels_a``, ``channels_b`` and ``batch(indices) -> (a uint8 [n, C_A, H, W], b uint8
[n, C_B, H, W])``; `joint_jitter` is Pix2Pix's random jitter applied identically to both
sides of each pair (Isola et al. 2017: resize 256 -> 286, random 256 crop, x-flip).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from growgan.data.archive import Archive, open_archive
from growgan.errors import GrowganError

FORMAT_NAME = "growgan-translation-archive"


@dataclass
class PairedArchive:
    """Aligned pairs: row i of `a` belongs to row i of `b` (both `Archive`s of one (H, W))."""

    path: Path
    a: Archive
    b: Archive
    meta: dict[str, Any]

    @property
    def num(self) -> int:
        return len(self.a)

    def __len__(self) -> int:
        return self.num

    @property
    def resolution(self) -> tuple[int, int]:
        return self.a.resolution

    @property
    def channels_a(self) -> int:
        return self.a.channels

    @property
    def channels_b(self) -> int:
        return self.b.channels

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        """The pairs at `indices` (ints in [0, num)), in that order: uint8 CPU tensors
        [n, C_A, H, W] and [n, C_B, H, W]. IndexError outside [0, num)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.num):
            raise IndexError(f"pair index out of range [0, {self.num}): {idx.min()}..{idx.max()}")
        a = self.a.images.view(np.ndarray)[idx]
        b = self.b.images.view(np.ndarray)[idx]
        return torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b))


def open_paired_archive(path: str | os.PathLike) -> PairedArchive:
    """Open a paired translation archive; GrowganError (one line) for anything else."""
    folder = Path(path)
    if not folder.is_dir():
        raise GrowganError(f"{folder}: no such paired archive; create one with `growgan dataset prepare ... --out {folder}`")
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise GrowganError(f"{folder}: is not a paired translation archive (no {FORMAT_NAME} meta.json); make one with "
                           "`growgan dataset prepare` from A/ and B/ folders or side-by-side A|B images")
    if meta.get("kind") != "paired":
        raise GrowganError(f"{folder}: is an unpaired archive (A and B are not aligned); Pix2Pix needs pairs")
    for side in ("A", "B"):
        if not (folder / side).is_dir():
            raise GrowganError(f"{folder}: side {side}/ is missing; a paired archive holds two archives A/ and B/")
    a, b = open_archive(folder / "A"), open_archive(folder / "B")
    if a.resolution != b.resolution:
        raise GrowganError(f"{folder}: A is {a.resolution[0]}x{a.resolution[1]} but B is "
                           f"{b.resolution[0]}x{b.resolution[1]}; pack both sides at one resolution")
    if len(a) != len(b):
        raise GrowganError(f"{folder}: A holds {len(a)} images but B {len(b)}; a paired archive needs one B per A")
    return PairedArchive(folder, a, b, meta)


def joint_jitter(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator | None = None,
                 crop: tuple[int, int] | None = None, load: tuple[int, int] | None = None,
                 flip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Pix2Pix's random jitter, the same for both sides of each pair.

    a: [N, C_A, H, W], b: [N, C_B, H, W] (uint8 or float). Optionally resize both to `load`
    (H', W') (bilinear; uint8 rounded back), take one random `crop` (h, w) window per pair at
    the same place in a and b (default: no crop), then x-flip both with probability 0.5 when
    `flip`. Draws from the CPU `generator`: N tops, N lefts, N coins, in that order.
    Returns [N, C, h, w] tensors. ValueError if N/H/W differ or the crop exceeds the size."""
    if a.shape[0] != b.shape[0] or a.shape[2:] != b.shape[2:]:
        raise ValueError(f"paired batches must share N, H, W: {tuple(a.shape)} vs {tuple(b.shape)}")
    if load is not None and tuple(load) != tuple(a.shape[2:]):
        a, b = _resize(a, load), _resize(b, load)
    n, _, H, W = a.shape
    h, w = crop if crop is not None else (H, W)
    if h > H or w > W:
        raise ValueError(f"crop {h}x{w} is larger than the images ({H}x{W})")
    top = torch.randint(0, H - h + 1, (n,), generator=generator)
    left = torch.randint(0, W - w + 1, (n,), generator=generator)
    coin = torch.rand(n, generator=generator) < 0.5 if flip else torch.zeros(n, dtype=torch.bool)
    outs = []
    for x in (a, b):
        rows = [x[i, :, int(top[i]): int(top[i]) + h, int(left[i]): int(left[i]) + w] for i in range(n)]
        y = torch.stack(rows) if rows else x[:, :, :h, :w]
        outs.append(torch.where(coin[:, None, None, None], y.flip(3), y))
    return outs[0], outs[1]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    y = F.interpolate(x.float(), size=tuple(size), mode="bilinear", align_corners=False)
    return y.round_().clamp_(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else y.to(x.dtype)
