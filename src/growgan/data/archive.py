"""The packed dataset archive: uint8 images read by memory map, written atomically.

Idea after stylegan2-ada-pytorch's ``dataset_tool.py``: pack the images once, in the exact
pixel format training reads, so the loader does no decoding. An archive is a folder:

    images.npy   uint8 [N, C, H, W]   (np.load(mmap_mode="r"): no copy, instant open)
    labels.npy   int64 [N]            (optional)
    meta.json    source, sizes, label names, options, sha256 content hash, format version

The writer builds the folder under a temporary name beside the target, fsyncs it, writes
``meta.json`` last and renames the folder into place, so a crash or Ctrl-C never leaves a
folder that reads as a valid archive; ``--overwrite`` swaps old and new in one atomic step
(`publish`), so the path always holds one of them. Files and folders get the user's umask.
`open_archive` checks everything it can cheaply.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from growgan.data._text import brief
from growgan.errors import GrowganError
from growgan.utils.io import OLD_MARK as _OLD_MARK
from growgan.utils.io import TMP_MARK as _TMP_MARK
from growgan.utils.io import atomic_write_json, check_out_folder_name, check_writable_dir, is_write_error, make_tmp_dir, remove_stale_temporaries, tmp_name, write_error

FORMAT_NAME = "growgan-archive"
FORMAT_VERSION = 1


@dataclass
class Archive:
    """An opened archive. `images` is a read-only memory map, `labels` an int64 array or None."""

    path: Path
    images: np.ndarray  # uint8 [N, C, H, W], memory-mapped
    labels: np.ndarray | None  # int64 [N]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def resolution(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    @property
    def num_classes(self) -> int:
        return int(self.meta.get("num_classes", 0)) if self.labels is not None else 0

    @property
    def label_names(self) -> list[str] | None:
        return self.meta.get("label_names")

    @property
    def content_hash(self) -> str:
        return str(self.meta["sha256"])


def _bad(path: Path, what: str) -> GrowganError:
    return GrowganError(
        f"{path}: {what}; it is not a complete growgan archive, re-create it with `growgan dataset prepare`"
    )


def _load_npy(path: Path, folder: Path) -> np.ndarray:
    if not path.is_file():
        raise _bad(folder, f"{path.name} is missing")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _bad(folder, f"{path.name} is unreadable or truncated ({brief(exc)})") from None


def _read_meta(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        recover_archive(folder)
    if not folder.exists():
        raise GrowganError(f"{folder}: no such archive; create one with `growgan dataset prepare SOURCE --out {folder}`")
    if not folder.is_dir():
        raise _bad(folder, "this is a file, not an archive folder")
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        hint = " (an interrupted write)" if _TMP_MARK in folder.name else ""
        raise _bad(folder, f"meta.json is missing{hint}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(folder, f"meta.json is not valid JSON ({brief(exc)})") from None
    if isinstance(meta, dict) and meta.get("format") == "growgan-translation-archive":  # data/paired.py
        raise GrowganError(
            f"{folder}: is a translation archive (two sides A/ and B/), not an image archive; train it with a "
            f"pix2pix-* or cyclegan-* preset, or give one side ({folder / 'A'} or {folder / 'B'})"
        )
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _bad(folder, "meta.json does not describe a growgan archive")
    if int(meta.get("version", -1)) > FORMAT_VERSION:
        raise GrowganError(
            f"{folder}: archive format version {meta.get('version')} is newer than this growgan "
            f"reads ({FORMAT_VERSION}); upgrade growgan"
        )
    return meta


def open_archive(path: str | os.PathLike, verify: bool = False) -> Archive:
    """Open an archive folder; a foreign, truncated or half-written folder raises GrowganError.

    verify=True also recomputes the sha256 content hash (reads every byte).
    """
    folder = Path(path)
    meta = _read_meta(folder)
    images = _load_npy(folder / "images.npy", folder)
    n = int(meta.get("num_images", -1))
    expect = (n, int(meta.get("channels", -1)), *[int(v) for v in meta.get("resolution", (-1, -1))])
    if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape) != expect:
        raise _bad(folder, f"images.npy is {images.dtype} {tuple(images.shape)}, meta.json says uint8 {expect}")
    labels = None
    if meta.get("has_labels"):
        labels = _load_npy(folder / "labels.npy", folder)
        if labels.dtype != np.int64 or tuple(labels.shape) != (n,):
            raise _bad(folder, f"labels.npy is {labels.dtype} {tuple(labels.shape)}, expected int64 ({n},)")
    archive = Archive(folder, images, labels, meta)
    if verify:
        got = content_hash(images, labels)
        if got != meta.get("sha256"):
            raise _bad(folder, f"content hash {got[:12]} does not match meta.json ({str(meta.get('sha256'))[:12]})")
    return archive


def content_hash(images: np.ndarray, labels: np.ndarray | None, chunk: int = 4096) -> str:
    """sha256 over shape, pixels and labels: equal hashes mean equal data."""
    h = _new_hash(tuple(images.shape[1:]))
    for i in range(0, len(images), chunk):
        h.update(np.ascontiguousarray(images[i : i + chunk]).tobytes())
    _finish_hash(h, len(images), labels)
    return h.hexdigest()


def _new_hash(chw: tuple[int, ...]) -> "hashlib._Hash":
    h = hashlib.sha256()
    h.update(json.dumps({"chw": [int(v) for v in chw]}).encode())
    return h


def _finish_hash(h: "hashlib._Hash", n: int, labels: np.ndarray | None) -> None:
    h.update(f"|n={n}|".encode())
    if labels is not None:
        h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())


class ArchiveWriter:
    """Stream images into a new archive; `close(meta)` publishes it atomically.

    Usage::

        with ArchiveWriter(out, channels=3, resolution=(32, 32), overwrite=False) as w:
            w.append(images_uint8_NCHW, labels_int64_or_None)
            w.close(meta)          # without close() the temporary folder is removed
    """

    def __init__(self, out: str | os.PathLike, channels: int, resolution: tuple[int, int], overwrite: bool = False):
        self.out = Path(out)
        check_writable(self.out, overwrite)
        self.overwrite = overwrite
        self.chw = (int(channels), int(resolution[0]), int(resolution[1]))
        self.published = False
        self.tmp: Path | None = None
        self._file = None
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(self.out.parent)  # what killed writers left here
            self.tmp = make_tmp_dir(self.out)  # 0777 minus the umask, like any folder the user makes
            self._file = open(self.tmp / "images.npy", "wb")
            self._file.write(_npy_header((0, *self.chw)))  # rewritten with the final N in close()
        except BaseException as exc:
            self.abort()
            if is_write_error(exc):
                raise write_error(exc, self.out) from None
            raise
        self._labels: list[np.ndarray] = []
        self._has_labels: bool | None = None
        self._hash = _new_hash(self.chw)
        self.count = 0

    def append(self, images: np.ndarray, labels: np.ndarray | None = None) -> None:
        """images: uint8 [n, C, H, W]; labels: int [n] or None (the same for every call)."""
        images = np.ascontiguousarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != self.chw:
            raise ValueError(f"expected uint8 [n, {self.chw}], got {images.dtype} {images.shape}")
        if self._has_labels is None:
            self._has_labels = labels is not None
        if (labels is not None) != self._has_labels:
            raise ValueError("labels must be given for every batch or for none")
        data = images.tobytes()
        try:
            self._file.write(data)
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, self.out) from None
            raise
        self._hash.update(data)
        if labels is not None:
            labels = np.asarray(labels, dtype=np.int64).reshape(-1)
            if len(labels) != len(images) or (len(labels) and labels.min() < 0):
                raise ValueError(f"need {len(images)} labels >= 0, got {labels.tolist()[:8]}...")
            self._labels.append(labels)
        self.count += len(images)

    def close(self, meta: dict[str, Any]) -> Path:
        """Finish the files, write meta.json last and swap the folder into place (see `publish`).
        A full disk or a read-only place raises a one-line GrowganError; the temporary folder
        is removed when the writer is left (``with`` or `abort`)."""
        try:
            return self._close(meta)
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, self.out) from None
            raise

    def _close(self, meta: dict[str, Any]) -> Path:
        self._file.close()
        if self.count == 0:
            raise GrowganError(f"{self.out}: no images to write; check the source and the options")
        labels = np.concatenate(self._labels) if self._has_labels else None
        _finish_hash(self._hash, self.count, labels)
        self._write_images_npy()
        if labels is not None:
            _fsynced_save(self.tmp / "labels.npy", labels)
        full = dict(meta)
        full.update(
            format=FORMAT_NAME,
            version=FORMAT_VERSION,
            num_images=self.count,
            channels=self.chw[0],
            resolution=[self.chw[1], self.chw[2]],
            has_labels=labels is not None,
            sha256=self._hash.hexdigest(),
            data_stat=data_stat(self.tmp),  # the files the hash covers, as written (see current_content_hash)
        )
        if labels is None:
            full["num_classes"], full["label_names"] = 0, None
        else:
            names = full.get("label_names")
            full.setdefault("num_classes", len(names) if names else int(labels.max()) + 1)
            if int(labels.max()) >= full["num_classes"]:
                raise ValueError(f"label {int(labels.max())} is out of range for {full['num_classes']} classes")
        _fsynced_write(self.tmp / "meta.json", (json.dumps(full, indent=2, sort_keys=True) + "\n").encode())
        _fsync_dir(self.tmp)
        publish(self.tmp, self.out, self.overwrite)
        self.published = True
        return self.out

    def _write_images_npy(self) -> None:
        with open(self.tmp / "images.npy", "r+b") as f:  # the pixels follow a fixed-size header
            f.write(_npy_header((self.count, *self.chw)))
            f.flush()
            os.fsync(f.fileno())

    def abort(self) -> None:
        """Close and remove the temporary folder unless the archive was published."""
        if self._file is not None and not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass  # a full disk can fail the final flush; the folder goes anyway
        if not self.published and self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


_NPY_HEADER_BYTES = 128  # fixed, so the header can be rewritten in place once N is known


def _npy_header(shape: tuple[int, ...]) -> bytes:
    """An .npy (format 1.0) header for uint8 C-order data of `shape`, exactly 128 bytes long."""
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': %r, }" % (tuple(int(v) for v in shape),)
    body = text.ljust(_NPY_HEADER_BYTES - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


def check_writable(out: Path, overwrite: bool) -> None:
    """Fail early (before any work) if `out` exists and may not be replaced, or if its folder
    is not writable. A missing `out` whose old copy was left aside by an interrupted
    publication is recovered first."""
    out = Path(out)
    if not out.exists():
        recover_archive(out)
    check_out_folder_name(out, "--out (an archive is a folder)")
    if out.is_dir() and not any(out.iterdir()):
        check_writable_dir(out.parent, "archive's parent folder")
        return  # an empty folder is simply replaced
    if out.exists() and not overwrite:
        raise GrowganError(f"{out}: already exists; choose another --out or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise GrowganError(f"{out}: is a file; --out must name a folder")
    if out.exists() and any(out.iterdir()) and not (out / "meta.json").is_file():
        raise GrowganError(f"{out}: is a non-empty folder that is not an archive; refusing to replace it")
    check_writable_dir(out.parent, "archive's parent folder")


#: Tests set this to a function of the step name ("before-swap", "after-swap", "after-aside",
#: "after-rename", "done") to raise or kill the process at that point of `publish`.
FAULT_HOOK = None


def _step(name: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(name)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE) (Linux >= 3.15, glibc >= 2.28).
    False where the call or the filesystem does not support it (then nothing was changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish(tmp: Path, out: Path, overwrite: bool) -> None:
    """Put the finished archive folder `tmp` at `out` so that `out` always holds either the
    old or the new archive, whatever moment the process is killed at.

    Where Linux's renameat2(RENAME_EXCHANGE) works, the two folders swap in one atomic step
    and the old archive (now under the temporary name) is deleted afterwards; a kill before
    that deletion leaves a stale temporary that the next writer removes. Elsewhere the old
    archive is renamed aside to ``.<name>.old-<pid>-<hex>`` and the new one renamed in; a
    kill between the two renames is repaired by `recover_archive` on the next access."""
    tmp, out = Path(tmp), Path(out)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        _step("before-rename")
        os.rename(tmp, out)
        _step("after-rename")
    elif not overwrite:
        raise GrowganError(f"{out}: already exists; choose another --out or pass --overwrite")
    else:
        _step("before-swap")
        if _exchange(tmp, out):  # out: the new archive; tmp: the old one
            _step("after-swap")
            _fsync_dir(out.parent)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _publish_aside(tmp, out)
    _fsync_dir(out.parent)
    _step("done")


def _publish_aside(tmp: Path, out: Path) -> None:
    for _ in range(3):  # another process may recover the aside copy between our renames
        aside = out.parent / (tmp_name(out.name).replace(_TMP_MARK, _OLD_MARK, 1))
        os.rename(out, aside)  # the old archive stays whole until the new one is in place
        try:
            _step("after-aside")
            _fsync_dir(out.parent)
            try:
                os.rename(tmp, out)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not out.exists():
                    raise
                continue  # `out` came back (recovered by a reader): move it aside again
            _step("after-rename")
            _fsync_dir(out.parent)
            return
        finally:
            if out.exists():
                shutil.rmtree(aside, ignore_errors=True)
            elif aside.exists():  # an error between the renames: put the old archive back
                os.rename(aside, out)
    raise GrowganError(f"{out}: another process keeps replacing this archive; try again")


def _aside_copies(out: Path) -> list[Path]:
    """Old archives moved aside for `out` by an interrupted publication, newest first
    (``.<name>.old-*`` folders; older versions kept them as ``.<name>.old-*/archive``)."""
    found = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(f".{out.name}{_OLD_MARK}") or not entry.is_dir():
            continue
        for cand in (entry, entry / "archive"):
            if (cand / "meta.json").is_file():
                found.append(cand)
                break
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def recover_archive(out: str | os.PathLike) -> bool:
    """If `out` is missing but an interrupted publication left its old archive aside, move
    that archive back to `out`. Returns True if it did."""
    out = Path(out)
    if out.exists():
        return False
    for cand in _aside_copies(out):
        try:
            _read_meta(cand)
            os.rename(cand, out)
        except (GrowganError, OSError):
            continue
        _fsync_dir(out.parent)
        if cand.parent != out.parent:  # the legacy ".old-*/archive" layout: drop the empty shell
            shutil.rmtree(cand.parent, ignore_errors=True)
        return True
    return False


def _fsynced_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsynced_save(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_archive(
    out: str | os.PathLike,
    images: np.ndarray,
    labels: np.ndarray | None,
    meta: dict[str, Any],
    overwrite: bool = False,
    chunk: int = 8192,
) -> Path:
    """Write a whole in-memory uint8 [N, C, H, W] array (and labels) as an archive."""
    with ArchiveWriter(out, images.shape[1], images.shape[2:4], overwrite=overwrite) as w:
        for i in range(0, len(images), chunk):
            w.append(images[i : i + chunk], None if labels is None else labels[i : i + chunk])
        return w.close(meta)


# ---------------------------------------------------------------- content hash, checked cheaply
_DATA_FILES = ("images.npy", "labels.npy")


def data_stat(folder: str | os.PathLike) -> dict[str, list[int]]:
    """{file: [size in bytes, mtime in ns]} of an archive's data files (those the hash covers)."""
    out = {}
    for name in _DATA_FILES:
        try:
            st = os.stat(Path(folder) / name)
        except FileNotFoundError:
            continue
        out[name] = [int(st.st_size), int(st.st_mtime_ns)]
    return out


def current_content_hash(archive: Archive, record_dir: str | os.PathLike | None = None) -> str:
    """The sha256 content hash of what the archive's files hold *now*, cheaply.

    meta.json's hash is trusted when images.npy and labels.npy still have the size and mtime
    recorded beside it at packing time; else a record in `record_dir` (made by an earlier
    call, e.g. after the archive was copied) is trusted on the same terms; else every byte is
    hashed again and the record is written. An images.npy changed in place (same size, new
    mtime) therefore gets its new hash, and caches keyed by it miss."""
    stat = data_stat(archive.path)
    if archive.meta.get("data_stat") == stat:
        return archive.content_hash
    record = None
    if record_dir is not None:
        key = hashlib.sha256(str(Path(archive.path).resolve()).encode()).hexdigest()[:16]
        record = Path(record_dir) / f"archive-{key}.json"
        try:
            saved = json.loads(record.read_text(encoding="utf-8"))
            if saved.get("data_stat") == stat and isinstance(saved.get("sha256"), str):
                return saved["sha256"]
        except (OSError, ValueError):
            pass
    digest = content_hash(archive.images, archive.labels)
    if record is not None:
        try:
            atomic_write_json(record, {"path": str(Path(archive.path).resolve()), "data_stat": stat, "sha256": digest})
        except (GrowganError, OSError):
            pass  # a read-only or full cache costs a re-hash next time, nothing else
    return digest
