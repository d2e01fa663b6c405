"""Translation archives: two growgan archives side by side, paired (Pix2Pix) or unpaired (CycleGAN).

Image-to-image translation learns a map between two domains A and B. Pix2Pix (Isola et al.,
CVPR 2017) needs *paired* data: image i of A and image i of B show the same scene. CycleGAN
(Zhu et al., ICCV 2017) needs only *unpaired* data: two collections sampled independently.
Both are stored as one folder holding two ordinary archives (`growgan.data.archive`):

    OUT/meta.json   {"format": "growgan-translation-archive", "kind": "paired" | "unpaired",
                     "domains": {"A": "...", "B": "..."}, "source": ..., "options": ...}
    OUT/A/          an archive (images.npy uint8 [N_A, C_A, H, W], memory-mapped)
    OUT/B/          an archive (images.npy uint8 [N_B, C_B, H, W])

Paired: N_A == N_B and row i of A belongs to row i of B. Both sides share (H, W); the
channels may differ (e.g. 1-channel edges -> 3-channel photos). `TranslationWriter` builds the
whole folder under a temporary name and publishes it in one rename (`archive.publish`), so a
crash never leaves a half-made translation archive. A folder holding only two archives A/ and
B/ (made separately with `growgan dataset prepare ... --out X/A` and `--out X/B`) opens as an
unpaired archive too: "two archives, each sampled independently".

Training-time augmentation for paired data must move both sides together: `joint_jitter`
applies one random crop window (after an optional resize, the paper's "random jitter": resize
to 286, crop 256) and one x-flip coin per pair to A and B.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from growgan import __version__
from growgan.data.archive import Archive, ArchiveWriter, check_writable, open_archive, publish
from growgan.data.loader import BatchLoader
from growgan.errors import GrowganError
from growgan.utils.io import is_write_error, make_tmp_dir, remove_stale_temporaries, write_error

FORMAT_NAME = "growgan-translation-archive"
FORMAT_VERSION = 1
KINDS = ("paired", "unpaired")
SIDES = ("A", "B")

__all__ = [
    "PairedArchive",
    "UnpairedArchive",
    "TranslationWriter",
    "open_paired_archive",
    "open_unpaired_archive",
    "is_translation_archive",
    "write_translation_archive",
    "joint_jitter",
    "UnpairedLoader",
]


def _read_meta(folder: Path, what: str = "translation") -> dict[str, Any] | None:
    """The translation meta.json of `folder`, None when the folder has none (two bare archives)."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise GrowganError(f"{folder}: meta.json is unreadable ({exc}); re-create it with `growgan dataset prepare`") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise GrowganError(
            f"{folder}: is not a {what} archive (an ordinary archive?); make one with "
            "`growgan dataset prepare DIR --layout paired|side-by-side|unpaired --out ...`"
        )
    if int(meta.get("version", -1)) > FORMAT_VERSION:
        raise GrowganError(f"{folder}: translation archive version {meta.get('version')} is newer than this growgan reads; upgrade growgan")
    if meta.get("kind") not in KINDS:
        raise GrowganError(f"{folder}: meta.json kind {meta.get('kind')!r} is not paired or unpaired; re-create the archive")
    return meta


def is_translation_archive(path: str | os.PathLike) -> bool:
    """True if `path` is a folder whose meta.json says it is a translation archive."""
    try:
        meta = json.loads((Path(path) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT_NAME


def _open_sides(folder: Path, paired: bool = False) -> tuple[Archive, Archive, dict[str, Any]]:
    if not folder.is_dir():
        kind = "paired" if paired else "translation"
        example = ("edges2fashion --out data/edges2fashion" if paired
                   else "mnist2fashion --from ../shared/data --out data/mnist2fashion")
        if str(folder) == "builtin":  # the single-domain built-in data, accepted where one image archive is wanted
            raise GrowganError(f"builtin: the built-in data is one image archive, not a {kind} archive; pack one, "
                               f"e.g. `growgan dataset prepare {example}`")
        raise GrowganError(f"{folder}: no such {kind} archive; create one with "
                           f"`growgan dataset prepare ... --out {folder}` (e.g. `growgan dataset prepare {example}`)")
    meta = _read_meta(folder, "paired translation" if paired else "translation")
    if paired and meta is None:
        raise GrowganError(f"{folder}: is not a paired translation archive (no meta.json; two plain archives A/ and B/ "
                           "are unpaired); prepare one with --layout paired or side-by-side")
    for side in SIDES:
        if not (folder / side).exists():
            raise GrowganError(f"{folder}: side {side}/ is missing; a translation archive holds two archives A/ and B/")
    a, b = open_archive(folder / "A"), open_archive(folder / "B")
    if a.resolution != b.resolution:
        raise GrowganError(
            f"{folder}: A is {a.resolution[0]}x{a.resolution[1]} but B is {b.resolution[0]}x{b.resolution[1]}; "
            "pack both sides at one --resolution"
        )
    return a, b, meta or {"kind": "unpaired", "domains": {"A": str(folder / "A"), "B": str(folder / "B")}}


@dataclass
class UnpairedArchive:
    """Two archives sampled independently (CycleGAN). `a`, `b`: `Archive`s of one (H, W)."""

    path: Path
    a: Archive
    b: Archive
    meta: dict[str, Any]

    @property
    def resolution(self) -> tuple[int, int]:
        return self.a.resolution

    @property
    def channels_a(self) -> int:
        return self.a.channels

    @property
    def channels_b(self) -> int:
        return self.b.channels


@dataclass
class PairedArchive(UnpairedArchive):
    """Aligned pairs (Pix2Pix): row i of `a` belongs to row i of `b`.

    `num`: number of pairs; `resolution`: (H, W) of both sides; `channels_a`, `channels_b`;
    `batch(indices) -> (a, b)`: uint8 CPU tensors [n, C_A, H, W] and [n, C_B, H, W].
    """

    @property
    def num(self) -> int:
        return len(self.a)

    def __len__(self) -> int:
        return self.num

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        """The pairs at `indices` (ints in [0, num)), in that order, as uint8 [n, C, H, W] tensors."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.num):
            raise IndexError(f"pair index out of range [0, {self.num}): {idx.min()}..{idx.max()}")
        order = np.argsort(idx, kind="stable")  # sorted reads are kinder to the page cache
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        a = self.a.images.view(np.ndarray)[idx[order]][inverse]
        b = self.b.images.view(np.ndarray)[idx[order]][inverse]
        return torch.from_numpy(a), torch.from_numpy(b)


def open_paired_archive(path: str | os.PathLike) -> PairedArchive:
    """Open a paired translation archive; GrowganError (one line) for an unpaired or broken one."""
    folder = Path(path)
    a, b, meta = _open_sides(folder, paired=True)
    if meta.get("kind") != "paired":
        raise GrowganError(
            f"{folder}: is an unpaired archive (A and B are not aligned); Pix2Pix needs pairs: "
            "prepare one with --layout paired or side-by-side, or train CycleGAN on this one"
        )
    if len(a) != len(b):
        raise GrowganError(f"{folder}: A holds {len(a)} images but B {len(b)}; a paired archive needs one B per A, re-create it")
    return PairedArchive(folder, a, b, meta)


def open_unpaired_archive(path: str | os.PathLike) -> UnpairedArchive:
    """Open a translation archive for unpaired training (a paired one is accepted: its pairing is
    simply not used), or a folder holding two plain archives A/ and B/."""
    folder = Path(path)
    a, b, meta = _open_sides(folder)
    return UnpairedArchive(folder, a, b, meta)


class TranslationWriter:
    """Build a translation archive atomically.

    Usage::

        with TranslationWriter(out, "paired", overwrite=False) as w:
            wa = w.side("A", channels=1, resolution=(32, 32))   # an ArchiveWriter
            wb = w.side("B", channels=3, resolution=(32, 32))
            wa.append(...); wb.append(...)
            w.close(meta)      # closes both sides, writes meta.json, publishes the folder

    Leaving the block without `close` removes everything written.
    """

    def __init__(self, out: str | os.PathLike, kind: str, overwrite: bool = False):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.out, self.kind, self.overwrite = Path(out), kind, overwrite
        check_writable(self.out, overwrite)
        self.tmp: Path | None = None
        self.writers: dict[str, ArchiveWriter] = {}
        self.published = False
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.out.parent)
            self.tmp = make_tmp_dir(self.out)
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, self.out) from None
            raise

    def side(self, name: str, channels: int, resolution: tuple[int, int]) -> ArchiveWriter:
        if name not in SIDES or name in self.writers:
            raise ValueError(f"side must be A or B, once each; got {name!r}")
        self.writers[name] = ArchiveWriter(self.tmp / name, channels, resolution)
        return self.writers[name]

    def close(self, meta: dict[str, Any]) -> Path:
        if set(self.writers) != set(SIDES):
            raise ValueError("both sides A and B must be written")
        counts = {}
        for name, w in self.writers.items():
            side_meta = dict(meta.get("sides", {}).get(name, {}))
            side_meta.setdefault("source", f"{meta.get('source', '?')} (side {name})")
            w.close(side_meta)
            counts[name] = w.count
        if self.kind == "paired" and counts["A"] != counts["B"]:
            raise ValueError(f"paired sides differ in length: A {counts['A']}, B {counts['B']}")
        full = {k: v for k, v in meta.items() if k != "sides"}
        full.update(format=FORMAT_NAME, version=FORMAT_VERSION, kind=self.kind, num_a=counts["A"],
                    num_b=counts["B"], growgan_version=__version__)
        try:
            with open(self.tmp / "meta.json", "w", encoding="utf-8") as f:
                f.write(json.dumps(full, indent=2, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            publish(self.tmp, self.out, self.overwrite)
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, self.out) from None
            raise
        self.published = True
        return self.out

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()
        if not self.published and self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "TranslationWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def write_translation_archive(
    out: str | os.PathLike,
    kind: str,
    images_a: np.ndarray,
    images_b: np.ndarray,
    meta: dict[str, Any],
    overwrite: bool = False,
    chunk: int = 8192,
) -> Path:
    """Write in-memory uint8 [N_A, C_A, H, W] and [N_B, C_B, H, W] arrays as a translation archive
    (`kind` "paired" needs N_A == N_B, row i of each a pair)."""
    if kind == "paired" and len(images_a) != len(images_b):
        raise ValueError(f"paired arrays differ in length: {len(images_a)} vs {len(images_b)}")
    if tuple(images_a.shape[2:]) != tuple(images_b.shape[2:]):
        raise ValueError(f"sides differ in (H, W): {images_a.shape[2:]} vs {images_b.shape[2:]}")
    with TranslationWriter(out, kind, overwrite) as w:
        for name, images in (("A", images_a), ("B", images_b)):
            side = w.side(name, images.shape[1], tuple(images.shape[2:4]))
            for i in range(0, len(images), chunk):
                side.append(images[i : i + chunk])
        return w.close(meta)


def joint_jitter(
    a: torch.Tensor,
    b: torch.Tensor,
    generator: torch.Generator | None = None,
    crop: tuple[int, int] | None = None,
    load: tuple[int, int] | None = None,
    flip: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pix2Pix's random jitter, applied identically to both sides of each pair.

    a: [N, C_A, H, W], b: [N, C_B, H, W] (uint8 or float, same N, H, W). Optionally resize both
    to `load` (H', W') (bilinear, uint8 rounded back; the paper: 256 -> 286), then take one
    random `crop` (h, w) window per pair (default: the input size, i.e. no crop) at the same
    place in a and b, then x-flip both with probability 0.5 when `flip`. All draws come from
    `generator` (CPU), one offset pair and one coin per sample, so the result is a function of
    the generator's state. Returns tensors of shape [N, C, h, w]. Raises ValueError if the
    sides' N/H/W differ or the crop exceeds the (loaded) size.
    """
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
        rows = [x[i, :, int(top[i]) : int(top[i]) + h, int(left[i]) : int(left[i]) + w] for i in range(n)]
        y = torch.stack(rows) if rows else x[:, :, :h, :w]
        outs.append(torch.where(coin[:, None, None, None], y.flip(3), y))
    return outs[0], outs[1]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    y = F.interpolate(x.float(), size=tuple(size), mode="bilinear", align_corners=False)
    return y.round_().clamp_(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else y.to(x.dtype)


class UnpairedLoader:
    """Two independent infinite samplers, one per domain (CycleGAN's unaligned dataset).

    Each side is a `BatchLoader` over its own archive with its own seed stream (B's seed is
    offset, so equal-sized domains are not shuffled in lockstep). `next()` returns
    ``(a uint8 [B, C_A, H, W], b uint8 [B, C_B, H, W])``; `state_dict` / `load_state_dict`
    restore both positions exactly.
    """

    B_SEED_OFFSET = 1_000_003

    def __init__(self, data: UnpairedArchive, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.data = data
        self.a = BatchLoader(data.a, batch_size, seed, rank, world_size)
        self.b = BatchLoader(data.b, batch_size, seed + self.B_SEED_OFFSET, rank, world_size)

    @property
    def batch_size(self) -> int:
        """Images per domain per batch."""
        return self.a.batch_size

    def set_batch_size(self, batch_size: int) -> None:
        self.a.set_batch_size(batch_size)
        self.b.set_batch_size(batch_size)

    def __iter__(self) -> "UnpairedLoader":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return next(self.a)[0], next(self.b)[0]

    def state_dict(self) -> dict[str, Any]:
        return {"A": self.a.state_dict(), "B": self.b.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.a.load_state_dict(state["A"])
        self.b.load_state_dict(state["B"])
