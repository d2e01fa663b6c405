"""`growgan dataset prepare | info | grid`: a thin layer over growgan.data (argparse and printing)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from growgan.data import resolve_archive
from growgan.data.archive import open_archive
from growgan.data.decode import parse_background
from growgan.data.prepare import PrepareOptions, prepare
from growgan.data.transform import CROPS, FILTERS, parse_resolution
from growgan.errors import GrowganError

# torch (for the grid) is imported in cmd_grid only: `growgan --help` stays fast.

_EPILOG = """sources:
  builtin | mnist | fashion-mnist | cifar-10   by name (--from DIR, system places, cache, download)
  DIR/ with *-idx3-ubyte(.gz) + labels         MNIST-style idx files
  cifar-10-python.tar.gz                       CIFAR-10, python version
  DIR/ of images (recursive) | images.zip      labels from a stylegan2-ada dataset.json at the root,
                                               else from class subfolders with --labels
translation archives (two sides A and B, for pix2pix-* and cyclegan-* presets):
  DIR --layout paired                          DIR/A/, DIR/B/: images with matching names
  DIR --layout side-by-side [--direction BtoA] each image A|B (left half A), as pix2pix ships them
  DIR --layout unpaired                        DIR/A/, DIR/B/ (or trainA/, trainB/): two domains
  edges2fashion | gray2cifar                   paired, built offline (Canny edges / luma -> image)
  mnist2fashion | horse2deer                   unpaired, built offline (MNIST vs Fashion-MNIST, CIFAR-10)
  facades | maps | edges2shoes | horse2zebra   downloaded from the authors' servers (or --from DIR), checked by sha256
"""


def register(subparsers) -> None:
    """Add `growgan dataset ...` to the `growgan` parser."""
    ds = subparsers.add_parser("dataset", help="prepare, inspect and preview datasets")
    sub = ds.add_subparsers(dest="dataset_command", metavar="ACTION")
    ds.set_defaults(func=lambda args: (ds.print_help(), 2)[1])

    p = sub.add_parser(
        "prepare",
        help="pack images into an archive",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="dataset name, idx file or folder, cifar tar.gz, image folder or zip")
    p.add_argument("--out", required=True, type=Path, metavar="ARCHIVE", help="archive folder to create")
    p.add_argument("--from", dest="from_dir", type=Path, metavar="DIR", help="folder holding a named dataset's files")
    p.add_argument("--split", choices=("train", "test"), default="train", help="split of a named dataset")
    p.add_argument("--resolution", metavar="HxW", help="N or HxW, e.g. 32 or 48x64 (default: the source's size; builtin: 32)")
    p.add_argument("--resize-filter", choices=tuple(FILTERS), default="lanczos", help="default: lanczos (FID depends on it)")
    p.add_argument("--crop", choices=CROPS, default="center-crop", help="aspect mismatch: center-crop (default), pad, stretch")
    p.add_argument("--channels", type=int, choices=(1, 3), help="default: the source's (3 if any image is colour)")
    p.add_argument("--background", default="white", metavar="COLOUR",
                   help="transparent pixels are composited onto it: white (default), black, #rrggbb or R,G,B")
    p.add_argument("--max-images", type=int, metavar="N", help="keep a random subset of N images")
    p.add_argument("--seed", type=int, default=0, help="seed of the --max-images subset")
    p.add_argument(
        "--labels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep labels (default: yes for named/idx/cifar sources and folders/zips with a dataset.json, else no)",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable image")
    p.add_argument("--overwrite", action="store_true", help="replace an existing archive")
    p.add_argument("--layout", choices=("paired", "side-by-side", "unpaired"),
                   help="pack a folder as a translation archive (see below)")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                   help="translation archives: BtoA swaps the sides (default: AtoB)")
    p.add_argument("--sha256", metavar="HEX", help="facades/maps/edges2shoes/horse2zebra: the file's expected sha256")
    p.set_defaults(func=cmd_prepare)

    i = sub.add_parser("info", help="print an archive's summary")
    i.add_argument("archive", help="archive folder (or 'builtin')")
    i.add_argument("--verify", action="store_true", help="also recompute the content hash")
    i.add_argument("--json", action="store_true", help="print meta.json")
    i.set_defaults(func=cmd_info)

    g = sub.add_parser("grid", help="write a grid of samples to an image file")
    g.add_argument("archive", help="archive folder (or 'builtin')")
    g.add_argument("--out", required=True, type=Path, help="image file, e.g. reals.png")
    g.add_argument("--num", type=int, default=64, help="number of images")
    g.add_argument("--seed", type=int, default=0, help="which random images")
    g.add_argument("--upscale", type=int, default=0, help="magnification (default: to at least 64 px)")
    g.set_defaults(func=cmd_grid)


def cmd_prepare(args: argparse.Namespace) -> int:
    from growgan.data.translation_sets import is_translation_set  # no torch at parse time

    translation = args.layout is not None or is_translation_set(args.source)
    if not translation and (args.direction != "AtoB" or args.sha256):
        raise GrowganError("--direction and --sha256 apply to translation archives only; add --layout or name a translation set")
    if translation and args.labels:
        raise GrowganError("--labels: translation archives are unlabelled; drop --labels")
    opts = PrepareOptions(
        resolution=parse_resolution(args.resolution),
        resize_filter=args.resize_filter,
        crop=args.crop,
        channels=args.channels,
        max_images=args.max_images,
        seed=args.seed,
        labels=args.labels,
        strict=args.strict,
        split=args.split,
        from_dir=args.from_dir,
        overwrite=args.overwrite,
        background=parse_background(args.background),
    )
    if translation:
        return _prepare_translation(args, opts)
    result = prepare(args.source, args.out, opts)
    if result.skipped:
        print(f"skipped {len(result.skipped)} unreadable image(s):", file=sys.stderr)
        for line in result.skipped:
            print(f"  {line}", file=sys.stderr)
    print(summary(open_archive(result.path)))
    return 0


def _prepare_translation(args: argparse.Namespace, opts: PrepareOptions) -> int:
    from growgan.data.translation_prepare import prepare_translation
    from growgan.data.translation_sets import is_translation_set, prepare_translation_set

    if args.layout is None or (is_translation_set(args.source) and not Path(args.source).exists()):
        if args.layout is not None or args.direction != "AtoB":
            raise GrowganError(f"{args.source}: a named translation set has its own layout and direction; drop --layout/--direction")
        result = prepare_translation_set(args.source, args.out, opts, sha256=args.sha256)
    else:
        if args.sha256:
            raise GrowganError("--sha256 applies to the downloaded sets (facades, maps, edges2shoes, horse2zebra); drop it")
        result = prepare_translation(args.source, args.out, opts, args.layout, args.direction)
    if result.skipped:
        print(f"skipped {len(result.skipped)} unreadable pair(s)/image(s):", file=sys.stderr)
        for line in result.skipped:
            print(f"  {line}", file=sys.stderr)
    print(translation_summary(result.path))
    return 0


def translation_summary(path) -> str:
    """'PATH: paired translation archive, N pairs' and each side's summary."""
    from growgan.data.paired import open_unpaired_archive

    data = open_unpaired_archive(path)
    kind = data.meta.get("kind", "unpaired")
    count = f"{len(data.a)} pairs" if kind == "paired" else f"{len(data.a)} + {len(data.b)} images"
    lines = [f"{data.path}: {kind} translation archive, {count}, {data.resolution[0]}x{data.resolution[1]}"]
    domains = data.meta.get("domains", {})
    for side, arch in (("A", data.a), ("B", data.b)):
        lines.append(f"  {side}: {len(arch)} x {arch.channels}x{arch.resolution[0]}x{arch.resolution[1]}"
                     f"  ({domains.get(side, '')})  sha256 {arch.content_hash[:16]}")
    if data.meta.get("how"):
        lines.append(f"  how:     {data.meta['how']}")
    if data.meta.get("sha256"):
        lines.append(f"  file:    {data.meta.get('file')} sha256 {data.meta['sha256']} ({data.meta.get('checksum')})")
    if data.meta.get("num_skipped"):
        lines.append(f"  skipped: {data.meta['num_skipped']} unreadable image(s) (listed in meta.json)")
    return "\n".join(lines)


def summary(archive) -> str:
    """'PATH: N images, CxHxW, K classes' plus the details."""
    m = archive.meta
    h, w = archive.resolution
    classes = f"{archive.num_classes} classes" if archive.labels is not None else "unlabelled"
    lines = [f"{archive.path}: {len(archive)} images, {archive.channels}x{h}x{w}, {classes}"]
    if archive.label_names:
        lines.append(f"  labels:  {', '.join(map(str, archive.label_names))}")
    lines.append(f"  source:  {m.get('source')}")
    opts = m.get("options", {})
    lines.append(
        f"  options: resize-filter={opts.get('resize_filter')} crop={opts.get('crop')} "
        f"max-images={opts.get('max_images')} seed={opts.get('seed')}"
    )
    if m.get("num_skipped"):
        lines.append(f"  skipped: {m['num_skipped']} unreadable image(s) (listed in meta.json)")
    lines.append(f"  sha256:  {archive.content_hash}")
    return "\n".join(lines)


def cmd_info(args: argparse.Namespace) -> int:
    from growgan.data.paired import is_translation_archive

    if is_translation_archive(args.archive):
        if args.json:
            print(json.dumps(json.loads((Path(args.archive) / "meta.json").read_text(encoding="utf-8")), indent=2, sort_keys=True))
        else:
            print(translation_summary(args.archive))
        return 0
    archive = open_archive(resolve_archive(args.archive), verify=args.verify)
    if args.json:
        print(json.dumps(archive.meta, indent=2, sort_keys=True))
    else:
        print(summary(archive) + ("\n  verified: content hash matches" if args.verify else ""))
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from growgan.utils.image import save_grid

    archive = open_archive(resolve_archive(args.archive))
    if args.num < 1:
        raise GrowganError(f"--num {args.num}: must be at least 1")
    n = min(args.num, len(archive))
    idx = np.sort(np.random.default_rng(args.seed).choice(len(archive), size=n, replace=False))
    images = torch.from_numpy(np.array(archive.images[idx]))  # [n, C, H, W] uint8
    upscale = args.upscale or max(1, -(-64 // max(archive.resolution)))
    save_grid(images, args.out, upscale=upscale)
    print(f"wrote {args.out} ({n} images from {archive.path})")
    return 0
