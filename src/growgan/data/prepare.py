"""The dataset tool: any supported source -> a packed archive (after stylegan2-ada's dataset_tool).

`prepare(source, out, options)` resolves the source (a dataset name, an idx file or folder
of idx files, a CIFAR-10 tar.gz, a folder or zip of images), converts every image to the
target channels and (H, W) with an explicit resize filter and aspect policy, and streams the
result into an `ArchiveWriter`, which publishes the archive atomically. Corrupt images are
skipped and listed (or, with strict=True, stop the run with the file's name).
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np
from PIL import Image
from tqdm import tqdm

from growgan import __version__
from growgan.data import decode, named, sources
from growgan.data.decode import WHITE
from growgan.data._text import brief
from growgan.data.archive import ArchiveWriter, check_writable
from growgan.data.transform import CROPS, FILTERS, ImageSpec, convert_array, convert_image
from growgan.errors import GrowganError


T, R = TypeVar("T"), TypeVar("R")
BUILTIN_RESOLUTION = 32  # the built-in 28x28 data is packed at 32x32 unless --resolution says otherwise


@dataclass
class PrepareOptions:
    """Options of `growgan dataset prepare` (None = taken from the source)."""

    resolution: tuple[int, int] | None = None  # (H, W)
    resize_filter: str = "lanczos"
    crop: str = "center-crop"
    channels: int | None = None
    max_images: int | None = None
    seed: int = 0
    labels: bool | None = None  # None: keep labels the source has (folders and zips: a dataset.json's)
    strict: bool = False
    split: str = "train"
    from_dir: Path | None = None
    cache_dir: Path | None = None
    overwrite: bool = False
    background: tuple[int, int, int] = WHITE  # transparent pixels are composited onto it (decode.py)


@dataclass
class PrepareResult:
    path: Path
    meta: dict[str, Any]
    skipped: list[str] = field(default_factory=list)  # "name: reason"


def open_source(source: str, opts: PrepareOptions) -> sources.ArraySource | sources.FileSource:
    """Dataset name or path -> a source object."""
    name = named.canonical_name(source)
    path = Path(source)
    if name is not None and not path.exists():
        return named.load_named(name, opts.split, opts.from_dir, opts.cache_dir)
    if not path.exists():
        raise GrowganError(
            f"{source}: no such file or folder, and not a dataset name ({', '.join(named.NAMES)}); check the path"
        )
    if path.is_dir():
        idx = sorted(path.glob("*idx3-ubyte*"))  # train-images-idx3-ubyte.gz, train-images.idx3-ubyte, ...
        if idx:
            pick = [p for p in idx if p.name.startswith("train" if opts.split == "train" else "t10k")] or idx
            return _idx_with_labels(pick[0], opts)
        for cand in (path / "cifar-10-python.tar.gz", path / "cifar-10-batches-py", path / "data_batch_1"):
            if cand.exists():
                return sources.read_cifar10(cand if cand.name != "data_batch_1" else path, opts.split)
        return sources.list_folder(path, labels=opts.labels)
    lower = path.name.lower()
    if "idx3-ubyte" in lower:
        return _idx_with_labels(path, opts)
    if lower.endswith((".tar.gz", ".tgz", ".tar")):
        return sources.read_cifar10(path, opts.split)
    if lower.endswith(".zip"):
        return sources.list_zip(path, labels=opts.labels)
    raise GrowganError(
        f"{path}: unsupported file type; give an idx file, cifar-10-python.tar.gz, a zip or a folder of images"
    )


def _idx_with_labels(images: Path, opts: PrepareOptions) -> sources.ArraySource:
    labels = sources.labels_file_for(images) if opts.labels is not False else None
    if labels is None and opts.labels:
        raise GrowganError(
            f"{images}: no labels file beside it ({images.name.replace('idx3', 'idx1').replace('images', 'labels')}); "
            "add it or pass --no-labels"
        )
    return sources.read_idx_pair(images, labels)


def _subset(n: int, opts: PrepareOptions) -> np.ndarray:
    """Indices kept: all, or `max_images` drawn with `seed` (kept in source order)."""
    if opts.max_images is None or opts.max_images >= n:
        return np.arange(n)
    if opts.max_images < 1:
        raise GrowganError(f"--max-images {opts.max_images}: must be at least 1")
    return np.sort(np.random.default_rng(opts.seed).choice(n, size=opts.max_images, replace=False))


def _check_options(opts: PrepareOptions) -> None:
    if opts.resize_filter not in FILTERS:
        raise GrowganError(f"--resize-filter {opts.resize_filter!r}: choose one of {', '.join(FILTERS)}")
    if opts.crop not in CROPS:
        raise GrowganError(f"--crop {opts.crop!r}: choose one of {', '.join(CROPS)}")
    if opts.channels not in (None, 1, 3):
        raise GrowganError(f"--channels {opts.channels}: must be 1 or 3")
    decode.parse_background(opts.background)


def prepare(source: str, out: str | Path, opts: PrepareOptions | None = None) -> PrepareResult:
    """Pack `source` into the archive folder `out`."""
    opts = opts or PrepareOptions()
    _check_options(opts)
    out = Path(out)
    check_writable(out, opts.overwrite)
    if opts.resolution is None and named.canonical_name(source) == "builtin" and not Path(source).exists():
        opts = replace(opts, resolution=(BUILTIN_RESOLUTION, BUILTIN_RESOLUTION))  # as builtin_archive()
    src = open_source(source, opts)
    if isinstance(src, sources.ArraySource):
        return _pack_arrays(src, out, opts)
    return _pack_files(src, out, opts)


def _meta(src_description: str, opts: PrepareOptions, spec: ImageSpec, label_names, skipped, extra) -> dict:
    options = asdict(opts)
    options.update(resolution=list(spec.resolution), channels=spec.channels)
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()}
    meta = {
        "source": src_description,
        "options": options,
        "label_names": label_names,
        "skipped": skipped[:1000],
        "num_skipped": len(skipped),
        "growgan_version": __version__,
    }
    if label_names is not None:
        meta["num_classes"] = len(label_names)
    meta.update(extra)
    return meta


def _pack_arrays(src: sources.ArraySource, out: Path, opts: PrepareOptions, chunk: int = 512) -> PrepareResult:
    keep = _subset(len(src.images), opts)
    _, c, h, w = src.images.shape
    spec = ImageSpec(opts.channels or c, opts.resolution or (h, w), opts.resize_filter, opts.crop)
    labels = src.labels if opts.labels is not False else None
    label_names = src.label_names if labels is not None else None
    if labels is not None and label_names is None:
        label_names = [str(i) for i in range(int(labels.max()) + 1)]
    blocks = [keep[i : i + chunk] for i in range(0, len(keep), chunk)]

    def convert(idx: np.ndarray) -> np.ndarray:  # in worker threads: Pillow releases the GIL
        return convert_array(src.images[idx], spec)

    with ArchiveWriter(out, spec.channels, spec.resolution, overwrite=opts.overwrite) as writer:
        for idx, images in zip(blocks, _ordered_map(convert, tqdm(blocks, desc="packing", disable=None, leave=False))):
            writer.append(images, None if labels is None else labels[idx])
        meta = _meta(src.description, opts, spec, label_names, [], {"source_files": src.files})
        path = writer.close(meta)
    return PrepareResult(path, meta)


def _decode(data: bytes) -> Image.Image:
    """The one image decoder's open + load (size limit first, then the pixels)."""
    img = decode.open_image(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's EXIF / palette warnings are not the user's problem
        img.load()
    return img


def _scan(src: sources.FileSource, keep: np.ndarray) -> tuple[int, set[tuple[int, int]]]:
    """Channels (3 if any colour image) and the set of upright (H, W) sizes, from headers only."""
    colour, sizes = False, set()
    for i in keep:
        try:
            with decode.open_image(src.open(int(i))) as img:
                colour |= decode.is_colour(img)
                sizes.add(decode.oriented_size(img))
        except Exception:  # decoded (and reported) in the main pass
            continue
    return (3 if colour else 1), sizes


def _ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None, window: int = 256) -> Iterator[R]:
    """`map(fn, items)` on a thread pool, results in order, at most `window` items in flight."""
    workers = workers or min(8, os.cpu_count() or 1)
    if workers == 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # the consumer stopped early (an error, Ctrl-C): drop what has not started
            for future in pending:
                future.cancel()


def _pack_files(src: sources.FileSource, out: Path, opts: PrepareOptions) -> PrepareResult:
    keep = _subset(len(src.names), opts)
    channels, resolution = opts.channels, opts.resolution
    if channels is None or resolution is None:
        scanned_c, sizes = _scan(src, keep)
        channels = channels or scanned_c
        if resolution is None:
            if len(sizes) > 1:
                raise GrowganError(
                    f"{src.description}: images have {len(sizes)} different sizes; pass --resolution, e.g. 64 or 48x64"
                )
            resolution = next(iter(sizes), (1, 1))
    spec = ImageSpec(channels, resolution, opts.resize_filter, opts.crop, decode.parse_background(opts.background))
    skipped: list[str] = []

    def load(i: int) -> np.ndarray | Exception:
        try:
            return convert_image(_decode(src.open(i)), spec)
        except Exception as exc:  # Pillow raises many types for damaged files
            return exc

    with ArchiveWriter(out, spec.channels, spec.resolution, overwrite=opts.overwrite) as writer:
        results = _ordered_map(load, [int(i) for i in keep])
        for i, arr in zip(keep, tqdm(results, total=len(keep), desc="packing", unit="img", disable=None, leave=False)):
            name = src.names[int(i)]
            if isinstance(arr, Exception):
                if opts.strict:
                    raise GrowganError(
                        f"{src.description}/{name}: unreadable image ({brief(arr)}); remove or replace it, or drop --strict"
                    ) from None
                skipped.append(f"{name}: {type(arr).__name__}: {brief(arr)}")
                continue
            writer.append(arr[None], None if src.labels is None else src.labels[int(i) : int(i) + 1])
        if writer.count == 0:
            raise GrowganError(f"{src.description}: none of the {len(keep)} images could be read; check the files")
        meta = _meta(src.description, opts, spec, src.label_names, skipped, {})
        path = writer.close(meta)
    return PrepareResult(path, meta, skipped)
