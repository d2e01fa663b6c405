"""Data: the dataset tool (sources -> packed uint8 archive), the archive reader and the loader.

- `growgan.data.archive`: `open_archive`, `ArchiveWriter`, `write_archive`
- `growgan.data.loader`: `BatchLoader`, `prepare_batch`, `downsample`
- `growgan.data.prepare`: `prepare(source, out, PrepareOptions)`
- here: `builtin_archive()` (the shipped Fashion-MNIST test split, packed once into the
  cache) and `resolve_archive(name_or_path)` for commands that take ``--data``.
"""

from __future__ import annotations

import os
from pathlib import Path

from growgan.data.archive import Archive, open_archive
from growgan.data.named import cache_dir as _cache_dir
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError

__all__ = ["Archive", "DATA_NAMES", "open_archive", "builtin_archive", "named_archive", "resolve_archive", "cache_dir"]


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The growgan cache folder: `override`, else $GROWGAN_CACHE, else ~/.cache/growgan."""
    return _cache_dir(override)


def builtin_archive(cache_dir: str | os.PathLike | None = None, resolution: int = 32) -> Path:
    """Path of the packed built-in data (Fashion-MNIST test split, 10,000 x 1 x res x res).

    Packed on first use (lanczos resize from 28x28) into the cache; later calls only check it.
    """
    out = _cache_dir(cache_dir) / f"builtin-fashion-mnist-test-{resolution}x{resolution}"
    if (out / "meta.json").is_file():
        try:
            open_archive(out)
            return out
        except GrowganError:
            pass  # damaged: rebuild it below
    opts = PrepareOptions(resolution=(resolution, resolution), overwrite=out.exists())
    from growgan.utils.io import check_writable_dir

    try:
        check_writable_dir(out.parent, "growgan cache")
    except GrowganError as exc:
        raise GrowganError(f"{out}: cannot write the built-in archive; set GROWGAN_CACHE to a writable folder ({exc})") from None
    try:
        prepare("builtin", out, opts)
    except (GrowganError, OSError) as exc:
        if (out / "meta.json").is_file():  # another process published it first
            open_archive(out)
            return out
        if isinstance(exc, OSError):
            raise GrowganError(
                f"{out}: cannot write the built-in archive ({exc.strerror or exc}); "
                "set GROWGAN_CACHE to a writable folder"
            ) from None
        raise
    return out


# Names every command that takes a dataset (--data, --real, --fake, dataset info/grid) accepts
# in place of an archive folder; a folder of that name in the working directory wins.
DATA_NAMES = ("builtin",)


def named_archive(name_or_path: str | os.PathLike) -> Path | None:
    """The archive a dataset name stands for ('builtin' -> `builtin_archive()`, packed on first
    use), or None when the argument is not a name (or a folder of that name exists)."""
    name = str(name_or_path)
    if name in DATA_NAMES and not Path(name).exists():
        return builtin_archive()
    return None


def resolve_archive(name_or_path: str | os.PathLike) -> Path:
    """The one resolver of ``--data``: a dataset name (`DATA_NAMES`) -> its archive; otherwise
    the path of a valid archive. Raises GrowganError (one line) for anything else; for a
    dataset source (a file such as a stylegan2-ada zip, or a folder with `dataset.json` and no
    `meta.json`) the line says how to pack it."""
    named = named_archive(name_or_path)
    if named is not None:
        return named
    path = Path(name_or_path)
    source = path.is_file() or (path.is_dir() and (path / "dataset.json").is_file() and not (path / "meta.json").exists())
    if source:  # a dataset source (stylegan2-ada zip or folder, MNIST/CIFAR file) given where an archive goes
        raise GrowganError(
            f"{path}: a dataset source, not a packed archive; pack it once with "
            f"`growgan dataset prepare {path} --out DIR` (its labels, e.g. from dataset.json, are kept), then give DIR"
        )
    open_archive(path)  # raises a one-line GrowganError for anything that is not an archive
    return path
