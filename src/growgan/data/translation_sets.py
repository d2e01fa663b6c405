"""Translation datasets by name: offline ones built from real images, and the standard downloads.

Built here from data already on disk (no network), each documented by how it is made:

- ``edges2fashion`` (paired): B = Fashion-MNIST resized 28 -> 32 (lanczos); A = the Canny
  edges of B (scikit-image `feature.canny`, sigma 1.0, its default hysteresis thresholds
  0.1/0.2 of the [0, 1] range), drawn black on white as edges2shoes draws its edges.
- ``gray2cifar`` (paired): B = CIFAR-10 colour 32x32; A = its luma (Pillow's ``convert("L")``,
  ITU-R 601-2: L = R*299/1000 + G*587/1000 + B*114/1000), one channel.
- ``mnist2fashion`` (unpaired): A = MNIST digits, B = Fashion-MNIST clothes, both 32x32 gray,
  drawn independently (``--max-images`` caps each domain).
- ``horse2deer`` (unpaired): A = CIFAR-10's horses (class 7), B = its deer (class 4), 32x32.

The standard sets (pix2pix's facades, maps, edges2shoes; CycleGAN's horse2zebra) are fetched
from the authors' servers into the cache (or read from ``--from DIR``), checked against a
SHA-256, extracted and packed with `translation_prepare`. Only horse2zebra has a published
SHA-256 (TensorFlow Datasets' url_checksums/cycle_gan.txt, for the same file on the older
people.eecs.berkeley.edu path); for the pix2pix tarballs no checksum is published that we could
find, so none is invented here: their SHA-256 is printed and recorded in the archive's
meta.json on first use (trust on first use), and ``--sha256 HEX`` checks a known one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import urllib.error
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np

from growgan.data import named
from growgan.data._text import brief
from growgan.data.paired import TranslationWriter
from growgan.data.prepare import PrepareOptions, PrepareResult, _subset
from growgan.data.transform import ImageSpec, convert_array
from growgan.errors import GrowganError
from growgan.utils.io import atomic_path, make_tmp_dir

CANNY_SIGMA = 1.0
OFFLINE_RESOLUTION = 32  # the 28x28 sets are packed at 32x32, as the built-in data
CIFAR_HORSE, CIFAR_DEER = 7, 4


@dataclass(frozen=True)
class StandardSet:
    """A dataset the pix2pix / CycleGAN authors publish as one archive file."""

    name: str
    filename: str
    mirrors: tuple[str, ...]  # base URLs, tried in order
    sha256: str | None  # None: no published checksum is known (see the module docstring)
    layout: str  # translation_prepare layout of the extracted folder
    direction: str  # which half is A: pix2pix trains facades labels -> photo (BtoA)
    domains: tuple[str, str]


_PIX2PIX = ("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/",
            "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/")
_CYCLEGAN = ("http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
             "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/")

STANDARD: dict[str, StandardSet] = {
    "facades": StandardSet("facades", "facades.tar.gz", _PIX2PIX, None, "side-by-side", "BtoA", ("label map", "photo")),
    "maps": StandardSet("maps", "maps.tar.gz", _PIX2PIX, None, "side-by-side", "AtoB", ("aerial photo", "map")),
    "edges2shoes": StandardSet("edges2shoes", "edges2shoes.tar.gz", _PIX2PIX, None, "side-by-side", "AtoB", ("edges", "shoe photo")),
    "horse2zebra": StandardSet(
        "horse2zebra", "horse2zebra.zip", _CYCLEGAN,
        "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",  # TFDS url_checksums/cycle_gan.txt
        "unpaired", "AtoB", ("horse", "zebra"),
    ),
}
OFFLINE = ("edges2fashion", "gray2cifar", "mnist2fashion", "horse2deer")
NAMES = OFFLINE + tuple(STANDARD)


def is_translation_set(name: str) -> bool:
    return str(name).lower() in NAMES and not Path(name).exists()


def prepare_translation_set(name: str, out: str | Path, opts: PrepareOptions, sha256: str | None = None) -> PrepareResult:
    """Build the translation archive `name` (one of `NAMES`) at `out`."""
    from growgan.data.archive import check_writable

    name = name.lower()
    check_writable(Path(out), opts.overwrite)
    if name in STANDARD:
        return _prepare_standard(STANDARD[name], Path(out), opts, sha256)
    if sha256 is not None:
        raise GrowganError(f"--sha256: {name} is built from local data, not downloaded; drop --sha256")
    if opts.resolution is None:
        opts = replace(opts, resolution=(OFFLINE_RESOLUTION, OFFLINE_RESOLUTION))
    return {"edges2fashion": _edges2fashion, "gray2cifar": _gray2cifar, "mnist2fashion": _mnist2fashion,
            "horse2deer": _horse2deer}[name](Path(out), opts)


# ---------------------------------------------------------------- offline sets


def canny_edges(images: np.ndarray, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """uint8 [N, 1, H, W] gray images -> uint8 [N, 1, H, W] edge drawings: 0 (black) on edge
    pixels of scikit-image's Canny detector (on the image scaled to [0, 1]), 255 elsewhere."""
    from skimage.feature import canny  # scikit-image: imported where used (heavy)

    out = np.empty_like(images)
    for i in range(len(images)):
        edges = canny(images[i, 0].astype(np.float64) / 255.0, sigma=sigma)
        out[i, 0] = np.where(edges, 0, 255).astype(np.uint8)
    return out


def _load(name: str, opts: PrepareOptions):
    return named.load_named(name, opts.split, opts.from_dir, opts.cache_dir)


def _resized(images: np.ndarray, channels: int, opts: PrepareOptions) -> np.ndarray:
    return convert_array(images, ImageSpec(channels, opts.resolution, opts.resize_filter, opts.crop))


def _options(opts: PrepareOptions) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}


def _write_pair(out: Path, kind: str, a: np.ndarray, b: np.ndarray, opts: PrepareOptions, source: str,
                how: str, domains: dict) -> PrepareResult:
    meta = {"source": source, "how": how, "domains": domains, "options": _options(opts)}
    with TranslationWriter(out, kind, overwrite=opts.overwrite) as w:
        for side, images in (("A", a), ("B", b)):
            writer = w.side(side, images.shape[1], tuple(images.shape[2:]))
            for i in range(0, len(images), 4096):
                writer.append(images[i : i + 4096])
        path = w.close(meta)
    return PrepareResult(path, meta)


def _edges2fashion(out: Path, opts: PrepareOptions) -> PrepareResult:
    src = _load("fashion-mnist", opts)
    b = _resized(src.images[_subset(len(src.images), opts)], 1, opts)
    a = canny_edges(b)
    how = (f"B: Fashion-MNIST ({opts.split}) resized to {opts.resolution[0]}x{opts.resolution[1]} ({opts.resize_filter}); "
           f"A: skimage.feature.canny(B / 255, sigma={CANNY_SIGMA}) edges, black on white")
    return _write_pair(out, "paired", a, b, opts, src.description, how, {"A": "edges", "B": "Fashion-MNIST"})


def _gray2cifar(out: Path, opts: PrepareOptions) -> PrepareResult:
    src = _load("cifar-10", opts)
    b = _resized(src.images[_subset(len(src.images), opts)], 3, opts)
    a = _resized(b, 1, opts)  # Pillow convert("L"): ITU-R 601-2 luma
    how = "B: CIFAR-10 colour; A: its luma by Pillow convert('L') (ITU-R 601-2: 299/587/114 per mille)"
    return _write_pair(out, "paired", a, b, opts, src.description, how, {"A": "grayscale", "B": "colour CIFAR-10"})


def _mnist2fashion(out: Path, opts: PrepareOptions) -> PrepareResult:
    ma, fb = _load("mnist", opts), _load("fashion-mnist", opts)
    a = _resized(ma.images[_subset(len(ma.images), opts)], 1, opts)
    b = _resized(fb.images[_subset(len(fb.images), replace(opts, seed=opts.seed + 1))], 1, opts)
    how = f"A: MNIST ({opts.split}), B: Fashion-MNIST ({opts.split}), each resized to {opts.resolution[0]}x{opts.resolution[1]}, unpaired"
    return _write_pair(out, "unpaired", a, b, opts, f"{ma.description} + {fb.description}", how,
                       {"A": "MNIST digits", "B": "Fashion-MNIST"})


def _horse2deer(out: Path, opts: PrepareOptions) -> PrepareResult:
    src = _load("cifar-10", opts)
    sides = []
    for k, cls in enumerate((CIFAR_HORSE, CIFAR_DEER)):
        images = src.images[src.labels == cls]
        sides.append(_resized(images[_subset(len(images), replace(opts, seed=opts.seed + k))], 3, opts))
    how = f"A: CIFAR-10 ({opts.split}) class {CIFAR_HORSE} (horse), B: class {CIFAR_DEER} (deer), unpaired"
    return _write_pair(out, "unpaired", sides[0], sides[1], opts, src.description, how, {"A": "horse", "B": "deer"})


# ---------------------------------------------------------------- standard downloads


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_sha(path: Path, expected: str | None, what: str) -> str:
    got = file_sha256(path)
    if expected is not None and got != expected.lower():
        raise GrowganError(f"{path}: sha256 {got} does not match the expected {expected} ({what}); "
                           "delete it and download the official file again")
    return got


def fetch(ds: StandardSet, from_dir: Path | None, cache: Path, sha256: str | None) -> tuple[Path, str]:
    """(path of the dataset's archive file, its sha256): from --from DIR, the cache, or downloaded."""
    expected = sha256 or ds.sha256
    what = "given by --sha256" if sha256 else "published" if ds.sha256 else "no published checksum"
    if from_dir is not None and not from_dir.is_dir():
        raise GrowganError(f"{from_dir}: --from folder does not exist; give the folder holding {ds.filename}")
    for d in ([from_dir, from_dir / ds.name] if from_dir is not None else []) + [cache / "downloads" / ds.name]:
        if (d / ds.filename).is_file():
            return d / ds.filename, _check_sha(d / ds.filename, expected, what)
    dest = cache / "downloads" / ds.name / ds.filename
    errors = []
    for base in ds.mirrors:
        try:
            print(f"downloading {base + ds.filename} -> {dest}", file=sys.stderr)
            if expected is not None:
                named.download(base + ds.filename, dest, f"sha256:{expected}")
                return dest, expected.lower()
            _download_unverified(base + ds.filename, dest)
            got = file_sha256(dest)
            print(f"{ds.name}: no published checksum; recorded sha256 {got} in the archive's meta.json "
                  "(compare it with a trusted copy)", file=sys.stderr)
            return dest, got
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{base}: {' '.join(str(getattr(exc, 'reason', exc)).split())[:160]}")
    raise GrowganError(f"{ds.name}: {ds.filename} was not found locally and could not be downloaded ({errors[-1]}); "
                       f"put it into {from_dir or dest.parent}" + ("" if from_dir else " or pass --from DIR"))


def _download_unverified(url: str, dest: Path, timeout: float = 60.0) -> None:
    import urllib.request

    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
            for block in iter(lambda: response.read(1 << 20), b""):
                f.write(block)


def _safe_members(names: list[str], archive: Path) -> None:
    for n in names:
        p = PurePosixPath(n.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts:
            raise GrowganError(f"{archive}: member {n!r} would be written outside the extraction folder; refusing it")


def extract(archive: Path, dest: Path) -> Path:
    """Unpack a .tar.gz or .zip into `dest` atomically (built under a temporary name, renamed);
    an existing `dest` is reused. Members with absolute paths or '..' are refused."""
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_tmp_dir(dest)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                _safe_members(zf.namelist(), archive)
                zf.extractall(tmp)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = [m for m in tf.getmembers() if m.isfile() or m.isdir()]  # no links, devices
                _safe_members([m.name for m in members], archive)
                tf.extractall(tmp, members=members)
        os.rename(tmp, dest)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise GrowganError(f"{archive}: cannot be extracted ({brief(exc)}); delete it and download it again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _dataset_root(extracted: Path, name: str) -> Path:
    """The folder holding the images: pix2pix and CycleGAN archives wrap them in `<name>/`."""
    inner = extracted / name
    return inner if inner.is_dir() else extracted


def _prepare_standard(ds: StandardSet, out: Path, opts: PrepareOptions, sha256: str | None) -> PrepareResult:
    from growgan.data.translation_prepare import prepare_translation

    cache = named.cache_dir(opts.cache_dir)
    path, digest = fetch(ds, opts.from_dir, cache, sha256)
    extracted = extract(path, cache / "extracted" / f"{ds.name}-{digest[:12]}")
    extra = {"dataset": ds.name, "file": ds.filename, "sha256": digest,
             "checksum": "verified" if (sha256 or ds.sha256) else "recorded on first use (none published)",
             "domains": {"A": ds.domains[0], "B": ds.domains[1]}}
    return prepare_translation(_dataset_root(extracted, ds.name), out, opts, ds.layout, ds.direction, extra)
