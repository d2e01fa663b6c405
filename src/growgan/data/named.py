"""Datasets by name (mnist, fashion-mnist, cifar-10, builtin): find the files, else download.

Search order for each file: ``--from DIR`` (and ``DIR/<name>``), the system places
(Debian's ``/usr/share/datasets/<name>``), the cache (``$GROWGAN_CACHE`` or
``~/.cache/growgan``, under ``downloads/<name>``), else a download from the canonical
mirrors, verified against the checksums the dataset authors publish (sha256 where known,
else the official md5) and written atomically. Without network the error says which files
to put where.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from growgan.data.sources import ArraySource, read_cifar10, read_idx_pair
from growgan.errors import GrowganError
from growgan.utils.io import atomic_path

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class NamedDataset:
    name: str
    mirrors: tuple[str, ...]  # base URLs, tried in order
    files: dict[str, dict[str, str]]  # split -> {role: filename}
    checksums: dict[str, str]  # filename -> "sha256:<hex>" or "md5:<hex>" (as published)
    label_names: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()


_IDX = {
    "train": {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"},
    "test": {"images": "t10k-images-idx3-ubyte.gz", "labels": "t10k-labels-idx1-ubyte.gz"},
}

DATASETS: dict[str, NamedDataset] = {
    "mnist": NamedDataset(
        "mnist",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        _IDX,
        {
            "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        tuple(str(i) for i in range(10)),
        ("/usr/share/datasets/mnist",),
    ),
    "fashion-mnist": NamedDataset(
        "fashion-mnist",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        _IDX,
        {  # the md5s published in zalandoresearch/fashion-mnist's README
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
        tuple(FASHION_LABELS),
        ("/usr/share/datasets/fashion-mnist",),
    ),
    "cifar-10": NamedDataset(
        "cifar-10",
        ("https://www.cs.toronto.edu/~kriz/",),
        {"train": {"archive": "cifar-10-python.tar.gz"}, "test": {"archive": "cifar-10-python.tar.gz"}},
        {"cifar-10-python.tar.gz": "sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        ("/usr/share/datasets/cifar-10",),
    ),
}
ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar10": "cifar-10"}
NAMES = ("builtin", *DATASETS)
EXTRACTED = {"cifar-10-python.tar.gz": "cifar-10-batches-py"}  # an unpacked archive is accepted too


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The growgan cache: `override`, else $GROWGAN_CACHE, else ~/.cache/growgan."""
    if override is not None:
        return Path(override)
    env = os.environ.get("GROWGAN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "growgan"


def canonical_name(name: str) -> str | None:
    key = name.lower()
    key = ALIASES.get(key, key)
    return key if key in DATASETS or key == "builtin" else None


def _search_dirs(ds: NamedDataset, from_dir: Path | None, cache: Path) -> list[Path]:
    dirs = [from_dir, from_dir / ds.name] if from_dir is not None else []
    return dirs + [Path(d) for d in ds.system_dirs] + [cache / "downloads" / ds.name]


def _find(filename: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for cand in (d / filename, d / filename.removesuffix(".gz")):
            if cand.is_file():
                return cand
        extracted = d / EXTRACTED.get(filename, "\0")
        if extracted.is_dir():
            return extracted
    return None


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, checksum: str, timeout: float = 60.0) -> Path:
    """Fetch `url` to `dest` atomically and verify "algo:hex"; a mismatch leaves nothing behind."""
    algo, expected = checksum.split(":", 1)
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
            for block in iter(lambda: response.read(1 << 20), b""):
                f.write(block)
        got = _digest(tmp, algo)
        if got != expected:
            raise GrowganError(
                f"{url}: downloaded file has {algo} {got}, expected {expected}; the mirror sent a damaged or "
                f"different file, retry later or put the official {dest.name} in {dest.parent}"
            )
    return dest


def _fetch(ds: NamedDataset, filename: str, split: str, cache: Path, from_dir: Path | None) -> Path:
    dest = cache / "downloads" / ds.name / filename
    errors = []
    for base in ds.mirrors:
        try:
            print(f"downloading {base + filename} -> {dest}", file=sys.stderr)
            return download(base + filename, dest, ds.checksums[filename])
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{base}: {' '.join(str(getattr(exc, 'reason', exc)).split())[:160]}")
    where = from_dir if from_dir is not None else dest.parent
    raise GrowganError(
        f"{ds.name}: {filename} was not found locally and could not be downloaded ({errors[-1]}); "
        f"put {', '.join(sorted(ds.files[split].values()))} into {where}" + ("" if from_dir else " or pass --from DIR")
    )


def locate(name: str, split: str, from_dir: Path | None = None, cache: Path | None = None) -> dict[str, Path]:
    """{role: path} of the files of `name`'s `split`, downloading what is not found locally."""
    ds = DATASETS[name]
    if split not in ds.files:
        raise GrowganError(f"--split {split!r}: {name} has splits {', '.join(ds.files)}")
    if from_dir is not None and not from_dir.is_dir():
        raise GrowganError(f"{from_dir}: --from folder does not exist; give the folder holding the {name} files")
    cache = cache_dir(cache)
    dirs = _search_dirs(ds, from_dir, cache)
    found = {}
    for role, filename in ds.files[split].items():
        found[role] = _find(filename, dirs) or _fetch(ds, filename, split, cache, from_dir)
    return found


def load_named(name: str, split: str = "train", from_dir: Path | None = None, cache: Path | None = None) -> ArraySource:
    """Read a named dataset (canonical name) into memory."""
    if name == "builtin":
        src = read_idx_pair(BUILTIN_DIR / _IDX["test"]["images"], BUILTIN_DIR / _IDX["test"]["labels"])
        src.description, src.label_names = "builtin (Fashion-MNIST test split)", list(FASHION_LABELS)
        return src
    files = locate(name, split, from_dir, cache)
    ds = DATASETS[name]
    if "archive" in files:
        src = read_cifar10(files["archive"], split)
    else:
        src = read_idx_pair(files["images"], files["labels"])
        src.label_names = list(ds.label_names)
    src.description = f"{name} ({split})"
    return src
