"""Readers for the formats users actually have, each into uint8 [N, C, h, w] (+ labels).

- MNIST-style idx files (LeCun et al.; `*-idx3-ubyte` images + `*-idx1-ubyte` labels,
  optionally gzipped), as MNIST and Fashion-MNIST are distributed;
- `cifar-10-python.tar.gz` (Krizhevsky 2009): pickled batches of 3072-byte rows, read with a
  restricted unpickler that only rebuilds numpy arrays, lists, dicts and bytes;
- a folder of images (recursive) or a zip of images, labelled by stylegan2-ada-pytorch's
  `dataset.json` at its root (`{"labels": [[relative_path, class], ...]}`) when present,
  else optionally by class subfolder.

Errors that the user can fix are GrowganErrors naming the file.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from growgan.data._text import brief
from growgan.errors import GrowganError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
CIFAR10_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@dataclass
class ArraySource:
    """Images already decoded to one array (idx, CIFAR)."""

    description: str
    images: np.ndarray  # uint8 [N, C, h, w]
    labels: np.ndarray | None  # int64 [N]
    label_names: list[str] | None = None
    files: list[str] = field(default_factory=list)


@dataclass
class FileSource:
    """Images still encoded, one per file (folder, zip); `open(i)` returns the file's bytes."""

    description: str
    names: list[str]
    open: Callable[[int], bytes]
    labels: np.ndarray | None = None
    label_names: list[str] | None = None


# ---------------------------------------------------------------- idx (MNIST-style)


def _read_maybe_gz(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise GrowganError(f"{path}: cannot be read ({brief(exc)}); the file is damaged, download it again") from None


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file of unsigned bytes: idx3 -> uint8 [N, h, w], idx1 -> uint8 [N]."""
    data = _read_maybe_gz(path)
    if len(data) < 4 or data[0:2] != b"\0\0" or data[2] != 0x08 or not 1 <= data[3] <= 4:
        raise GrowganError(f"{path}: not an idx file of unsigned bytes (bad magic number); give MNIST-style idx files")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise GrowganError(f"{path}: idx header is truncated; download the file again")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    expected = int(np.prod(shape))
    if body.size != expected:
        raise GrowganError(f"{path}: holds {body.size} bytes of data, its header promises {expected}; download it again")
    return body.reshape(shape)


def labels_file_for(images_path: Path) -> Path | None:
    """t10k-images-idx3-ubyte.gz -> t10k-labels-idx1-ubyte.gz beside it (any suffix)."""
    name = images_path.name.replace("idx3", "idx1").replace("images", "labels")
    for cand in (images_path.with_name(name), images_path.with_name(name.removesuffix(".gz"))):
        if cand != images_path and cand.is_file():
            return cand
    return None


def read_idx_pair(images_path: Path, labels_path: Path | None, description: str = "") -> ArraySource:
    images = read_idx(images_path)
    if images.ndim != 3:
        raise GrowganError(f"{images_path}: idx file has {images.ndim} dimensions, expected images [N, h, w]")
    labels = None
    files = [str(images_path)]
    if labels_path is not None:
        raw = read_idx(labels_path)
        if raw.ndim != 1 or len(raw) != len(images):
            raise GrowganError(
                f"{labels_path}: {raw.shape[0]} labels for {len(images)} images in {images_path.name}; "
                "pair the images with their own labels file"
            )
        labels = raw.astype(np.int64)
        files.append(str(labels_path))
    return ArraySource(description or str(images_path), images[:, None], labels, None, files)  # [N,h,w] -> [N,1,h,w]


# ---------------------------------------------------------------- CIFAR-10 (python pickles)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Rebuilds plain containers and numpy arrays; refuses any other global (no code runs)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # type: ignore[override]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(blob: bytes) -> dict:
    return _NumpyOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()


def read_cifar10(path: Path, split: str = "train") -> ArraySource:
    """cifar-10-python.tar.gz (or an extracted cifar-10-batches-py folder) -> [N, 3, 32, 32]."""
    batches = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    blobs = _cifar_blobs(path, batches + ["batches.meta"])
    images, labels = [], []
    for name in batches:
        try:
            d = _unpickle(blobs[name])
            data = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)  # rows of R,G,B planes
            lab = np.asarray(d[b"labels"], dtype=np.int64)
        except Exception as exc:  # any damage inside a pickle is the file's fault
            raise GrowganError(f"{path}: batch {name} is damaged ({brief(exc)}); download the archive again") from None
        images.append(data)
        labels.append(lab)
    names = CIFAR10_LABELS
    if "batches.meta" in blobs:
        try:
            names = [s.decode() for s in _unpickle(blobs["batches.meta"])[b"label_names"]]
        except Exception:
            pass
    return ArraySource(f"cifar-10 ({split})", np.concatenate(images), np.concatenate(labels), names, [str(path)])


def _cifar_blobs(path: Path, names: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if path.is_dir():
        for name in names:
            f = path / name
            if f.is_file():
                found[name] = f.read_bytes()
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                for member in tar:
                    base = member.name.rsplit("/", 1)[-1]
                    if base in names and member.isfile():
                        found[base] = tar.extractfile(member).read()  # type: ignore[union-attr]
                        if len(found) == len(names):
                            break  # the rest of the stream need not be decompressed
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise GrowganError(f"{path}: not a readable tar.gz ({brief(exc)}); download cifar-10-python.tar.gz again") from None
    missing = [n for n in names if n not in found and n != "batches.meta"]
    if missing:
        raise GrowganError(
            f"{path}: lacks {', '.join(missing)}; give the python version of CIFAR-10 (cifar-10-python.tar.gz)"
        )
    return found


# ---------------------------------------------------------------- folders and zips of images


def _is_image_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and base.lower().endswith(IMAGE_EXTENSIONS)


def _class_labels(names: list[str], where: str) -> tuple[np.ndarray, list[str]]:
    """Label = first folder below the common root of all images (class subfolders)."""
    dirs = [n.split("/")[:-1] for n in names]
    common = 0
    while all(len(d) > common for d in dirs) and len({d[common] for d in dirs}) == 1:
        common += 1
    loose = [n for n, d in zip(names, dirs) if len(d) <= common]
    if loose:
        raise GrowganError(
            f"{where}: --labels needs every image in a class subfolder, but {loose[0]} is not; "
            "move images into one folder per class or pass --no-labels"
        )
    classes = sorted({d[common] for d in dirs})
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[d[common]] for d in dirs], dtype=np.int64), classes


def _source_labels(names: list[str], json_name, read_json: Callable[[], bytes], has_json: bool, where: str,
                   labels: bool | None) -> tuple[np.ndarray | None, list[str] | None]:
    """Labels of a folder or zip: `labels=False` none; a root `dataset.json` (stylegan2-ada)
    when present; else class subfolders when `labels` is True, else none."""
    if labels is False:
        return None, None
    if has_json:
        found = dataset_json_labels(names, read_json(), str(json_name))
        if found is not None:
            return found
        if labels:
            raise GrowganError(f"{json_name}: has \"labels\": null, so the images are unlabelled; "
                               "add labels to it or pass --no-labels")
        return None, None
    return _class_labels(names, where) if labels else (None, None)


def dataset_json_labels(names: list[str], raw: bytes, where: str) -> tuple[np.ndarray, list[str]] | None:
    """stylegan2-ada-pytorch's `dataset.json` -> (int64 labels [N] in the order of `names`,
    label names "0".."K-1"), or None when it says `"labels": null`. Paths are relative to the
    dataset's root with "/" (a "\\" is read as "/", as stylegan2-ada does). GrowganError for
    malformed JSON, a non-integer class, an entry naming a missing image, or an image it
    does not list."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GrowganError(f"{where}: not valid JSON ({brief(exc)}); fix or remove it") from None
    entries = doc.get("labels") if isinstance(doc, dict) else []
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, list) and len(e) == 2 for e in entries):
        raise GrowganError(f'{where}: needs {{"labels": [[relative_path, class], ...]}} (or null); fix the file')
    table: dict[str, int] = {}
    present = set(names)
    for fname, cls in entries:
        if not isinstance(fname, str) or isinstance(cls, bool) or not isinstance(cls, int) or cls < 0:
            raise GrowganError(f"{where}: entry [{fname!r}, {cls!r}] needs a path and a class index >= 0 "
                               "(vector labels are not supported); fix the file")
        fname = fname.replace("\\", "/")
        if fname not in present:
            raise GrowganError(f"{where}: names {fname}, which is not an image in the dataset; "
                               "add the file or remove its entry")
        table[fname] = cls
    unlisted = [n for n in names if n not in table]
    if unlisted:
        raise GrowganError(f"{where}: gives no label for {unlisted[0]} ({len(unlisted)} images unlisted); "
                           "add them or pass --no-labels")
    lab = np.array([table[n] for n in names], dtype=np.int64)
    return lab, [str(i) for i in range(int(lab.max()) + 1)]


def list_folder(root: Path, labels: bool | None) -> FileSource:
    """Every image file under `root` (recursive, sorted, hidden files ignored)."""
    paths = sorted(p for p in root.rglob("*") if p.is_file() and _is_image_name(p.relative_to(root).as_posix()))
    paths = [p for p in paths if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    if not paths:
        raise GrowganError(f"{root}: no image files found ({', '.join(IMAGE_EXTENSIONS[:4])}, ...); check the folder")
    names = [p.relative_to(root).as_posix() for p in paths]
    lab, classes = _source_labels(names, root / "dataset.json", lambda: (root / "dataset.json").read_bytes(),
                                  (root / "dataset.json").is_file(), str(root), labels)
    return FileSource(str(root), names, lambda i: paths[i].read_bytes(), lab, classes)


def list_zip(path: Path, labels: bool | None) -> FileSource:
    """Every image inside a zip file (sorted by name); `__MACOSX/` and hidden files are ignored."""
    try:
        zf = zipfile.ZipFile(path)
        infos = [i for i in zf.infolist() if not i.is_dir() and _is_image_name(i.filename)]
    except (zipfile.BadZipFile, OSError) as exc:
        raise GrowganError(f"{path}: not a readable zip file ({brief(exc)}); check or re-create it") from None
    infos = sorted(
        (i for i in infos if not any(p.startswith(".") or p == "__MACOSX" for p in i.filename.split("/"))),
        key=lambda i: i.filename,
    )
    if not infos:
        raise GrowganError(f"{path}: the zip holds no image files; check its contents")
    names = [i.filename for i in infos]
    has_json = "dataset.json" in zf.namelist()
    lab, classes = _source_labels(names, f"{path}/dataset.json", lambda: zf.read("dataset.json"), has_json,
                                  str(path), labels)

    def read(i: int) -> bytes:
        try:
            return zf.read(infos[i])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # counted as a corrupt image
            raise OSError(str(exc)) from None

    return FileSource(str(path), names, read, lab, classes)
