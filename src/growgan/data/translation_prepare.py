"""The dataset tool for translation archives: folder layouts -> `growgan.data.paired` archives.

Layouts (`growgan dataset prepare DIR --layout ...`):

- ``paired``: ``DIR/A/`` and ``DIR/B/`` hold images with matching names (the extension may
  differ: ``A/0001.png`` pairs with ``B/0001.jpg``), recursive, as pix2pix's
  ``combine_A_and_B.py`` expects.
- ``side-by-side``: every image in ``DIR`` (or ``DIR/<split>/``) is A|B, the left half A and the
  right half B, as the pix2pix datasets ship (facades, maps, edges2shoes); ``--direction BtoA``
  swaps the sides (pix2pix's option of the same name).
- ``unpaired``: ``DIR/A/`` and ``DIR/B/`` (or CycleGAN's ``DIR/trainA``, ``DIR/trainB`` for
  ``--split train`` and ``testA``, ``testB`` for ``--split test``), each packed on its own.

Everything is checked before anything is written (folders, name matching, sizes and aspect
from image headers); each side is converted by the one image decoder and `transform` with the
same options as `growgan dataset prepare`. An unreadable image drops its whole pair (listed in
meta.json), or stops the run with ``--strict``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
from PIL import Image
from tqdm import tqdm

from growgan.data import decode, sources
from growgan.data._text import brief
from growgan.data.paired import TranslationWriter
from growgan.data.prepare import PrepareOptions, PrepareResult, _check_options, _decode, _ordered_map, _subset
from growgan.data.transform import ImageSpec, _fit_and_resize
from growgan.errors import GrowganError

LAYOUTS = ("paired", "side-by-side", "unpaired")
DIRECTIONS = ("AtoB", "BtoA")


def prepare_translation(source: str | Path, out: str | Path, opts: PrepareOptions, layout: str,
                        direction: str = "AtoB", extra_meta: dict | None = None) -> PrepareResult:
    """Pack the folder `source` in `layout` into the translation archive `out` (`extra_meta` is
    added to its meta.json)."""
    _check_options(opts)
    if layout not in LAYOUTS:
        raise GrowganError(f"--layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    if direction not in DIRECTIONS:
        raise GrowganError(f"--direction {direction!r}: choose AtoB or BtoA")
    root = Path(source)
    if not root.is_dir():
        raise GrowganError(f"{root}: not a folder; --layout {layout} needs a folder of images (see `growgan dataset prepare --help`)")
    from growgan.data.archive import check_writable

    check_writable(Path(out), opts.overwrite)
    pack = {"paired": _pack_paired_folders, "side-by-side": _pack_side_by_side, "unpaired": _pack_unpaired}[layout]
    return pack(root, Path(out), opts, direction, extra_meta or {})


# ---------------------------------------------------------------- checks from headers


def _side_dir(root: Path, names: tuple[str, ...], what: str) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise GrowganError(f"{root}: has no {' or '.join(n + '/' for n in names)} folder; {what}")


def _header_scan(src: sources.FileSource, keep: np.ndarray) -> tuple[int, dict[int, tuple[int, int]]]:
    """(channels: 3 if any kept image is colour, {index: upright (H, W)}) from headers only;
    unreadable headers are left out (the packing pass reports them)."""
    colour, sizes = False, {}
    for i in keep:
        try:
            with decode.open_image(src.open(int(i))) as img:
                colour |= decode.is_colour(img)
                sizes[int(i)] = decode.oriented_size(img)
        except Exception:  # noqa: BLE001 - Pillow raises many types for damaged files
            continue
    return (3 if colour else 1), sizes


def _one_size(sizes, where: str) -> tuple[int, int]:
    found = set(sizes)
    if len(found) > 1:
        raise GrowganError(f"{where}: images have {len(found)} different sizes; pass --resolution, e.g. 64 or 48x64")
    if not found:
        raise GrowganError(f"{where}: none of the images could be read; check the files")
    return next(iter(found))


def _meta(source: str, layout: str, direction: str, opts: PrepareOptions, domains: dict, skipped: list[str],
          extra: dict) -> dict:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    options.update(layout=layout, direction=direction)
    meta = {"source": source, "options": options, "domains": domains, "skipped": skipped[:1000],
            "num_skipped": len(skipped)}
    meta.update(extra)
    return meta


def _write(out: Path, kind: str, specs: dict[str, ImageSpec], items: list, load: Callable, opts: PrepareOptions,
           meta: Callable[[list[str]], dict]) -> PrepareResult:
    """Convert `items` with `load(item) -> {side: uint8 [C, H, W]} | Exception` (sides of one
    item kept or dropped together) and publish the archive."""
    skipped: list[str] = []
    with TranslationWriter(out, kind, overwrite=opts.overwrite) as w:
        writers = {side: w.side(side, spec.channels, spec.resolution) for side, spec in specs.items()}
        results = _ordered_map(load, items)
        for item, got in zip(items, tqdm(results, total=len(items), desc="packing", unit="img", disable=None, leave=False)):
            name = item[0]
            if isinstance(got, Exception):
                if opts.strict:
                    raise GrowganError(f"{name}: unreadable image ({brief(got)}); remove or replace it, or drop --strict") from None
                skipped.append(f"{name}: {type(got).__name__}: {brief(got)}")
                continue
            for side, arr in got.items():
                writers[side].append(arr[None])
        for side, writer in writers.items():
            if writer.count == 0:
                raise GrowganError(f"{out}: none of the images of side {side} could be read; check the files")
        full = meta(skipped)
        path = w.close(full)
    return PrepareResult(path, full, skipped)


def _convert(img: Image.Image, spec: ImageSpec) -> np.ndarray:
    return _fit_and_resize(decode.normalize(img, spec.channels, tuple(spec.background)), spec)


# ---------------------------------------------------------------- paired folders A/ + B/


def _stems(src: sources.FileSource, where: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, name in enumerate(src.names):
        key = str(PurePosixPath(name).with_suffix(""))
        if key in out:
            raise GrowganError(f"{where}: {src.names[out[key]]} and {name} have the same name; keep one file per name")
        out[key] = i
    return out


def _pack_paired_folders(root: Path, out: Path, opts: PrepareOptions, direction: str, extra: dict) -> PrepareResult:
    hint = "--layout paired needs DIR/A and DIR/B holding images with matching names"
    dirs = {"A": _side_dir(root, ("A",), hint), "B": _side_dir(root, ("B",), hint)}
    if direction == "BtoA":
        dirs = {"A": dirs["B"], "B": dirs["A"]}
    srcs = {side: sources.list_folder(d, labels=False) for side, d in dirs.items()}
    stems = {side: _stems(src, dirs[side]) for side, src in srcs.items()}
    only_a = sorted(set(stems["A"]) - set(stems["B"]))
    only_b = sorted(set(stems["B"]) - set(stems["A"]))
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} image(s) in {dirs['A'].name}/ have no partner in {dirs['B'].name}/ (e.g. {only_a[0]})")
        if only_b:
            parts.append(f"{len(only_b)} in {dirs['B'].name}/ have none in {dirs['A'].name}/ (e.g. {only_b[0]})")
        raise GrowganError(f"{root}: {' and '.join(parts)}; every image needs a partner with the same name")
    keys = sorted(stems["A"])
    keep = _subset(len(keys), opts)
    keys = [keys[int(i)] for i in keep]
    channels, sizes = {}, {}
    for side, src in srcs.items():
        idx = np.array([stems[side][k] for k in keys])
        channels[side], found = _header_scan(src, idx)
        sizes[side] = {k: found[stems[side][k]] for k in keys if stems[side][k] in found}
    for k in keys:  # resizing both sides to one (H, W) keeps them aligned only at equal aspect
        sa, sb = sizes["A"].get(k), sizes["B"].get(k)
        if sa and sb and sa[0] * sb[1] != sa[1] * sb[0]:
            raise GrowganError(f"{root}: pair {k} is {sa[0]}x{sa[1]} in A but {sb[0]}x{sb[1]} in B; "
                               "the two sides of a pair need the same aspect ratio")
    resolution = opts.resolution or _one_size(list(sizes["A"].values()) + list(sizes["B"].values()), str(root))
    specs = {side: ImageSpec(opts.channels or channels[side], resolution, opts.resize_filter, opts.crop,
                             decode.parse_background(opts.background)) for side in ("A", "B")}

    def load(item):
        try:
            return {side: _convert(_decode(srcs[side].open(stems[side][item[0]])), specs[side]) for side in ("A", "B")}
        except Exception as exc:  # noqa: BLE001
            return exc

    domains = {side: str(dirs[side]) for side in ("A", "B")}
    return _write(out, "paired", specs, [(k,) for k in keys], load, opts,
                  lambda skipped: _meta(str(root), "paired", direction, opts, domains, skipped, extra))


# ---------------------------------------------------------------- side-by-side A|B images


def _split_dir(root: Path, split: str) -> Path:
    """pix2pix datasets hold train/, val/ (and for some test/); --split test falls back to val/."""
    for name in ((split,) if split == "train" else ("test", "val")):
        if (root / name).is_dir():
            return root / name
    return root


def _pack_side_by_side(root: Path, out: Path, opts: PrepareOptions, direction: str, extra: dict) -> PrepareResult:
    folder = _split_dir(root, opts.split)
    src = sources.list_folder(folder, labels=False)
    keep = _subset(len(src.names), opts)
    channels, sizes = _header_scan(src, keep)
    for i, (h, w) in sizes.items():
        if w % 2:
            raise GrowganError(f"{folder}/{src.names[i]}: width {w} is odd; side-by-side images need two halves "
                               "of equal width (A|B)")
    resolution = opts.resolution or _one_size([(h, w // 2) for h, w in sizes.values()], str(folder))
    spec = ImageSpec(opts.channels or channels, resolution, opts.resize_filter, opts.crop, decode.parse_background(opts.background))

    def load(item):
        try:
            img = decode.normalize(_decode(src.open(item[1])), spec.channels, tuple(spec.background))
            w, h = img.size
            left, right = img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))
            a, b = (left, right) if direction == "AtoB" else (right, left)
            return {"A": _fit_and_resize(a, spec), "B": _fit_and_resize(b, spec)}
        except Exception as exc:  # noqa: BLE001
            return exc

    domains = {"A": "left halves" if direction == "AtoB" else "right halves",
               "B": "right halves" if direction == "AtoB" else "left halves"}
    items = [(src.names[int(i)], int(i)) for i in keep]
    return _write(out, "paired", {"A": spec, "B": spec}, items, load, opts,
                  lambda skipped: _meta(str(folder), "side-by-side", direction, opts, domains, skipped, extra))


# ---------------------------------------------------------------- unpaired A/ + B/


def _pack_unpaired(root: Path, out: Path, opts: PrepareOptions, direction: str, extra: dict) -> PrepareResult:
    hint = ("--layout unpaired needs DIR/A and DIR/B (or CycleGAN's trainA/trainB, testA/testB) "
            "holding the images of each domain")
    split = "train" if opts.split == "train" else "test"
    dirs = {side: _side_dir(root, (side, f"{split}{side}"), hint) for side in ("A", "B")}
    if direction == "BtoA":
        dirs = {"A": dirs["B"], "B": dirs["A"]}
    srcs = {side: sources.list_folder(d, labels=False) for side, d in dirs.items()}
    keeps = {side: _subset(len(src.names), opts) for side, src in srcs.items()}
    channels, sizes = {}, {}
    for side, src in srcs.items():
        channels[side], found = _header_scan(src, keeps[side])
        sizes[side] = found
    if opts.resolution is None:
        ra, rb = _one_size(sizes["A"].values(), str(dirs["A"])), _one_size(sizes["B"].values(), str(dirs["B"]))
        if ra != rb:
            raise GrowganError(f"{root}: A images are {ra[0]}x{ra[1]} but B images {rb[0]}x{rb[1]}; "
                               "pass --resolution to pack both domains at one size")
    resolution = opts.resolution or ra
    specs = {side: ImageSpec(opts.channels or channels[side], resolution, opts.resize_filter, opts.crop,
                             decode.parse_background(opts.background)) for side in ("A", "B")}

    def load(item):
        side, i = item[1], item[2]
        try:
            return {side: _convert(_decode(srcs[side].open(i)), specs[side])}
        except Exception as exc:  # noqa: BLE001
            return exc

    items = [(f"{dirs[s].name}/{srcs[s].names[int(i)]}", s, int(i)) for s in ("A", "B") for i in keeps[s]]
    domains = {side: str(dirs[side]) for side in ("A", "B")}
    return _write(out, "unpaired", specs, items, load, opts,
                  lambda skipped: _meta(str(root), "unpaired", direction, opts, domains, skipped, extra))
