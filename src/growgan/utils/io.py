"""Atomic file writes: a crash, Ctrl-C or a full disk never leaves a half-written file behind.

Every write goes to a temporary file ``.<name>.tmp-<pid>-<random>`` in the same folder, is
flushed and fsync'ed, and is then renamed over the target, which POSIX guarantees to be
atomic. The temporary file is created with mode 0666 minus the user's umask, exactly like a
plain ``open(path, "w")``, so what growgan writes gets the permissions the user expects
(not the 0600 of ``tempfile.mkstemp``).

A write that fails (ENOSPC, EDQUOT, EROFS, EACCES, ...) removes its temporary file and raises
a one-line `GrowganError` naming the file. Temporaries of writers that were killed (kill -9,
power loss) are removed by the next process that writes into the same folder
(`remove_stale_temporaries`): a temporary is stale when the process named in it is gone, or
when that pid now belongs to a process started after the file was last written. Temporaries of
another host (a shared filesystem) are removed only after a day untouched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Iterator

from growgan.errors import GrowganError

TMP_MARK = ".tmp-"
OLD_MARK = ".old-"  # an old archive moved aside while its replacement is renamed in
# ".<target>.tmp-<pid>-<hex>" (this version); ".<target>.<random>.tmp" (mkstemp, older versions)
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)@(?P<host>[0-9a-f]{6})-[0-9a-f]+$")
_LEGACY_TMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$|^\.(?P<target>.+)\.(?P<kind>tmp|old)-[A-Za-z0-9_]{8}$")
LEGACY_STALE_SECONDS = 3600.0  # legacy temporaries carry no pid: stale when untouched this long
FOREIGN_STALE_SECONDS = 24 * 3600.0  # another host's (shared filesystem): its pids mean nothing here

#: errno values that mean "this place cannot take the write" (not a bug): one line, no traceback
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})

_cleaned: set[str] = set()  # folders this process already swept for stale temporaries


# ---------------------------------------------------------------------------- names
def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


HOST_TAG = _host_tag()


def tmp_name(target_name: str) -> str:
    """The name of a temporary that will become `target_name`:
    ``.<name>.tmp-<pid>@<host tag>-<random hex>`` (the host tag: 6 hex digits of the host name)."""
    return f".{target_name}{TMP_MARK}{os.getpid()}@{HOST_TAG}-{secrets.token_hex(4)}"


def make_tmp_dir(target: Path) -> Path:
    """Create an empty temporary folder beside `target` (mode 0777 minus the umask)."""
    target = Path(target)
    while True:
        tmp = target.parent / tmp_name(target.name)
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue


# ---------------------------------------------------------------------------- errors
def is_write_error(exc: BaseException) -> bool:
    """True for OS errors that mean the disk is full or the place is not writable."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def write_error(exc: OSError, path: str | os.PathLike) -> GrowganError:
    """A one-line GrowganError for a failed write of `path` (disk full, read-only, ...)."""
    what = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free disk space (or choose another place) and run again; --resume continues a run from its last checkpoint"
    else:
        fix = "make it writable or choose another place"
    return GrowganError(f"{path}: cannot write ({what}); {fix}")


def check_writable_dir(folder: str | os.PathLike, what: str = "output folder") -> None:
    """Fail early, before any work, if files cannot be created in `folder` (or, when it does not
    exist yet, in its nearest existing parent). Probes with a real file, because os.access
    says yes to root on a read-only folder but the kernel still refuses a read-only mount."""
    folder = Path(folder)
    probe_dir = folder
    while not probe_dir.exists():
        if probe_dir.parent == probe_dir:
            break
        probe_dir = probe_dir.parent
    if probe_dir.exists() and not probe_dir.is_dir():
        raise GrowganError(f"{probe_dir}: is a file, but the {what} {folder} must be a folder; choose another place")
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise GrowganError(f"{probe_dir}: not writable ({what} {folder}); make it writable or choose another place")
    probe = probe_dir / tmp_name("write-probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(probe)
        raise write_error(exc, probe_dir) from None


def check_out_file(path: str | os.PathLike, what: str = "output file") -> None:
    """Fail early if the file `path` could not be written: it is a folder, or its folder
    cannot take new files."""
    path = Path(path)
    if path.is_dir():
        raise GrowganError(f"{path}: is a folder, but {what} must name a file; give a file name")
    check_writable_dir(path.parent, f"folder of {what} {path.name}")


# a folder to be made under one of these names is almost surely a mistyped or misplaced file name
FILE_SUFFIXES = frozenset(".png .jpg .jpeg .gif .bmp .webp .tif .tiff .mp4 .webm .avi .mov .pt .pth .pkl .npz .npy "
                          ".zip .tar .gz .tgz .json .jsonl .txt .csv .toml .yaml .yml .onnx .safetensors".split())


def check_out_folder_name(folder: str | os.PathLike, what: str = "--out") -> None:
    """Fail early if `folder`, an output folder that does not exist yet, is named like a file
    (`FILE_SUFFIXES`: runs.png, out.json ...): creating a folder of that name is never what
    was meant. An existing folder is used as it is, whatever its name."""
    folder = Path(folder)
    if folder.suffix.lower() in FILE_SUFFIXES and not folder.is_dir():
        raise GrowganError(f"{folder}: {what} names a folder to create, but '{folder.suffix}' is a file suffix; "
                           "give a folder name without it")


# ---------------------------------------------------------------------------- stale temporaries
def _pid_start_time(pid: int) -> float | None:
    """Unix time a live process started (Linux /proc), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat: starttime, clock ticks after boot
        with open("/proc/stat", encoding="ascii") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(entry: Path, now: float | None = None) -> bool:
    """Whether `entry` is a temporary left by a writer that no longer runs."""
    m = _TMP_RE.match(entry.name)
    legacy = None if m else _LEGACY_TMP_RE.match(entry.name)
    try:
        mtime = entry.lstat().st_mtime
        if entry.is_dir() and not entry.is_symlink():  # a folder being filled: its newest file counts
            mtime = max([mtime] + [c.lstat().st_mtime for c in entry.iterdir()])
    except OSError:
        return False
    kind = (m or legacy).groupdict().get("kind") if (m or legacy) else None
    if kind == "old" and not (entry.parent / (m or legacy).group("target")).exists():
        return False  # the only copy of an archive whose replacement never arrived: recovered, not deleted
    if m is None:
        if legacy is not None:
            return (now or time.time()) - mtime > LEGACY_STALE_SECONDS
        return False
    if m.group("host") != HOST_TAG:
        return (now or time.time()) - mtime > FOREIGN_STALE_SECONDS
    pid = int(m.group("pid"))
    if pid == os.getpid():
        return False  # ours, in flight
    if not pid_alive(pid):
        return True
    started = _pid_start_time(pid)
    return started is not None and started > mtime + 2.0  # the pid was reused after the write


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of killed writers in `folder` (files and folders); returns them."""
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if TMP_MARK not in entry.name and OLD_MARK not in entry.name and not entry.name.endswith(".tmp"):
            continue
        if not is_stale(entry, now):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def sweep_once(folder: str | os.PathLike) -> None:
    """`remove_stale_temporaries(folder)` the first time this process writes there."""
    key = os.path.abspath(folder)
    if key not in _cleaned:
        _cleaned.add(key)
        remove_stale_temporaries(folder)


# ---------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsync'ed and renamed to `path`.

    Raises GrowganError (one line, the temporary removed) when the disk is full or the
    folder is not writable; any other error propagates, the temporary removed too.
    """
    path = Path(path)
    tmp = path.parent / tmp_name(path.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_once(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if is_write_error(exc):
            raise write_error(exc, path) from None
        raise
    finally:
        with contextlib.suppress(OSError):
            if os.path.lexists(tmp):
                tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """`torch.save` that never leaves a truncated file at `path`. It writes through a Python
    file object, so a full disk surfaces as OSError(ENOSPC) (a one-line GrowganError) rather
    than torch's opaque "PytorchStreamWriter failed" RuntimeError."""
    import torch  # here, not at the top: the data tool and `growgan --help` need no torch

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(obj, f)


def read_json(path: str | os.PathLike, missing: str, invalid: str) -> Any:
    """The JSON value in the file at `path`. A missing file raises GrowganError
    "<path>: <missing>"; unreadable or invalid JSON raises "<path>: not valid JSON (<why>); <invalid>"."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrowganError(f"{p}: {missing}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GrowganError(f"{p}: not valid JSON ({exc}); {invalid}") from None


def append_jsonl(path: str | os.PathLike, row: dict) -> None:
    """Append one JSON row and flush it to disk (a line is either whole or absent: readers
    skip a torn last line). A full disk raises a one-line GrowganError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if is_write_error(exc):
            raise write_error(exc, path) from None
        raise


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append `text` to a log file; a full disk raises a one-line GrowganError."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        if is_write_error(exc):
            raise write_error(exc, path) from None
        raise
