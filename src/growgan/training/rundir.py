"""Run folders `runs/NNNNN-<name>/` and what is logged into them.

A run folder holds config.json (the resolved TrainConfig), log.txt, stats.jsonl (one row
per log tick), metric-<name>.jsonl (one row per evaluation, `append_metric`), grids/, checkpoints/ and TensorBoard events (tb/).
Numbering follows stylegan2-ada-pytorch: one more than the largest existing number.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

import torch
from filelock import FileLock, Timeout
from tqdm import tqdm

from growgan.errors import GrowganError
from growgan.utils.io import (
    append_jsonl,
    append_text,
    atomic_write_json,
    atomic_write_text,
    check_out_folder_name,
    check_writable_dir,
    is_write_error,
    pid_alive,
    write_error,
)

_RUN_RE = re.compile(r"^(\d{5,})-")
LOCK_NAME = ".growgan.lock"  # flock'ed by the process writing the folder (filelock)
HOLDER_NAME = ".growgan.lock.json"  # who holds it: pid, host, command, since


def check_out_dir(out: str | Path) -> None:
    """--out (the parent of run folders) must be a folder, or creatable, and writable."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GrowganError(f"{out}: is a file; --out names the folder that holds run folders, choose another")
    check_out_folder_name(out, "--out")
    check_writable_dir(out, "--out folder")


def new_run_dir(out: str | Path, name: str) -> Path:
    """Create and return out/NNNNN-<name> (NNNNN one above the largest present)."""
    out = Path(out)
    check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"
    nums = [int(m.group(1)) for p in out.iterdir() if (m := _RUN_RE.match(p.name))]
    num = max(nums, default=-1) + 1
    while True:
        path = out / f"{num:05d}-{safe}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took this number
            num += 1
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, path) from None
            raise


class RunLock:
    """Exclusive lock of a run (or search) folder while one process writes it.

    A `filelock.FileLock` (flock(2)) on ``<folder>/.growgan.lock``, so the kernel drops it when
    the holder dies, even by kill -9: no stale lock to clean up by hand. The holder's pid,
    host and command go to ``.growgan.lock.json`` for the error a second process gets:
    ``<folder>: in use by process <pid> (...)``. Locks do not nest: one process, one lock
    per folder. Not for NFS without working flock.
    """

    def __init__(self, folder: str | Path, command: str | None = None):
        self.folder = Path(folder)
        self.command = command or " ".join(["growgan", *sys.argv[1:]])[:200]
        self._lock = None

    def acquire(self) -> "RunLock":
        lock = FileLock(str(self.folder / LOCK_NAME), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise GrowganError(f"{self.folder}: in use by {describe_holder(self.folder)}; wait for it to finish "
                               "(or stop it), then run again") from None
        except OSError as exc:
            if is_write_error(exc):
                raise write_error(exc, self.folder / LOCK_NAME) from None
            raise
        self._lock = lock
        try:
            atomic_write_json(self.folder / HOLDER_NAME, {"pid": os.getpid(), "host": socket.gethostname(),
                                                          "command": self.command, "since": time.time()})
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(OSError):  # before the unlock: the next holder writes its own
            (self.folder / HOLDER_NAME).unlink()
        self._lock.release()
        self._lock = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe_holder(folder: str | Path) -> str:
    """'process 1234 (growgan train ..., since 12:00:01)' from the holder file, as far as known."""
    try:
        info = json.loads((Path(folder) / HOLDER_NAME).read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its pid is not recorded yet)"
    host = info.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    if not where and not pid_alive(pid):  # a killed holder's record; the new holder is starting up
        return "another process (its pid is not recorded yet)"
    since = time.strftime("%H:%M:%S", time.localtime(float(info.get("since", 0))))
    return f"process {pid}{where} ({info.get('command', 'growgan')}, since {since})"


@contextlib.contextmanager
def locked(folder: str | Path | None, command: str | None = None) -> Iterator[None]:
    """Hold `RunLock(folder)` for the block; folder=None (a non-main rank) locks nothing."""
    if folder is None:
        yield
        return
    with RunLock(folder, command):
        yield


def read_run_info(run_dir: str | Path, need_data: bool = False) -> dict:
    """run.json of a run folder ({"data": archive path, "command": ...}); {} when absent.
    A truncated or edited file raises a one-line GrowganError (need_data: also when it does
    not name the archive); pass --data to resume without it."""
    path = Path(run_dir) / "run.json"
    fix = "give --data ARCHIVE to resume without it"
    if not path.is_file():
        if need_data:
            raise GrowganError(f"{path}: missing, so the run's archive is unknown; {fix}")
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GrowganError(f"{path}: damaged, not valid JSON ({str(exc)[:80]}); {fix}") from None
    except OSError as exc:
        raise GrowganError(f"{path}: cannot read it ({exc.strerror}); {fix}") from None
    if not isinstance(info, dict):
        raise GrowganError(f"{path}: damaged, not a JSON object; {fix}")
    if need_data and not (isinstance(info.get("data"), str) and info["data"]):
        raise GrowganError(f"{path}: does not name the archive (\"data\" is {info.get('data')!r}); {fix}")
    return info


def discard_unstarted_run(run_dir: Path) -> None:
    """Remove a run folder this process just created when the run failed before its first
    checkpoint (while starting, or at any training step before it): an error should not leave a
    half-made NNNNN-<name> folder behind (config.json, log.txt, stats, grids but nothing to
    resume). A folder holding a checkpoint is kept. Never call it for a folder that existed
    before this process (a resumed run)."""
    run_dir = Path(run_dir)
    if run_dir.is_dir() and not any((run_dir / "checkpoints").glob("checkpoint-*.pt")):
        shutil.rmtree(run_dir, ignore_errors=True)


def write_config(run_dir: Path, config) -> None:
    atomic_write_json(Path(run_dir) / "config.json", config.to_dict())


def metric_file(run_dir: str | Path, name: str) -> Path:
    """run_dir/metric-<name>.jsonl, with '-' in the metric name as '_' (metric-ms_ssim.jsonl)."""
    return Path(run_dir) / f"metric-{name.replace('-', '_')}.jsonl"


def append_metric(run_dir: str | Path, name: str, values: dict[str, float], images_seen: int,
                  extra: dict | None = None) -> Path:
    """The one writer of metric-<name>.jsonl (the training loop and `growgan metrics`): a row
    ``{"metric": key, "value": values[key] or None, "results": values, "images_seen", "kimg",
    "timestamp", **extra}`` where key is the name with '_' for '-'. Returns the file."""
    key = name.replace("-", "_")
    row = {"metric": key, "value": values.get(key), "results": dict(values), "images_seen": int(images_seen),
           "kimg": images_seen / 1000, "timestamp": time.time(), **(extra or {})}
    path = metric_file(run_dir, name)
    append_jsonl(path, row)
    return path


def truncate_jsonl(path: Path, max_images_seen: int) -> None:
    """Drop rows logged after `max_images_seen` (a resume after kill -9 replays them)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if int(row.get("images_seen", 0)) <= max_images_seen:
            keep.append(line)
    atomic_write_text(path, "".join(k + "\n" for k in keep))


def _quiet_tensorboard_thread_write_errors() -> None:
    """TensorBoard writes events from a background thread; on a full disk that thread dies
    with a traceback printed by threading.excepthook, and the error is raised again in the
    main thread at the next call (where `RunLogger` turns it into one line). Silence only
    that thread's write errors; everything else reaches the previous hook."""
    import threading

    if getattr(threading.excepthook, "_growgan", False):
        return
    previous = threading.excepthook

    def hook(args):
        if type(args.thread).__name__ == "_AsyncWriterThread" and is_write_error(args.exc_value):
            return
        previous(args)

    hook._growgan = True
    threading.excepthook = hook


class RunLogger:
    """Console + log.txt lines, stats.jsonl rows, TensorBoard scalars and images.
    With run_dir=None it only prints (when verbose)."""

    def __init__(self, run_dir: Path | None, tensorboard: bool = True, verbose: bool = True):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.verbose = verbose
        self._tb = None
        self._tb_wanted = tensorboard and self.run_dir is not None
        self.t0 = time.time()

    @property
    def tb(self):
        if self._tb is None and self._tb_wanted:
            # deferred: TensorBoard's import is slow and unused by runs with tensorboard=false
            from torch.utils.tensorboard import SummaryWriter

            _quiet_tensorboard_thread_write_errors()
            self._tb = self._tb_call(SummaryWriter, log_dir=str(self.run_dir / "tb"))
        return self._tb

    def _tb_call(self, fn, *args, **kwargs):
        """Run a TensorBoard call; a full disk (raised by its writer thread on the next
        call) becomes a one-line GrowganError instead of a traceback."""
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            if is_write_error(exc):
                self._tb, self._tb_wanted = None, False  # its queue cannot drain: drop it
                raise write_error(exc, self.run_dir / "tb") from None
            raise

    def line(self, text: str, echo: bool = True) -> None:
        if self.verbose and echo:
            tqdm.write(text)
        if self.run_dir is not None:
            append_text(self.run_dir / "log.txt", text + "\n")

    def stats(self, row: dict, images_seen: int) -> None:
        if self.run_dir is None:
            return
        append_jsonl(self.run_dir / "stats.jsonl", {**row, "images_seen": images_seen, "timestamp": time.time()})
        if self.tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "images_seen":
                    self._tb_call(self.tb.add_scalar, k, v, global_step=images_seen)

    def metric(self, name: str, values: dict[str, float], images_seen: int) -> None:
        """One metric's values: a metric-<name>.jsonl row (`append_metric`) and TensorBoard scalars."""
        if self.run_dir is None:
            return
        append_metric(self.run_dir, name, values, images_seen)
        if self.tb is not None:
            for key, value in values.items():
                self._tb_call(self.tb.add_scalar, f"metrics/{key}", value, global_step=images_seen)

    def image(self, tag: str, grid_uint8_chw: torch.Tensor, images_seen: int) -> None:
        if self.tb is not None:
            self._tb_call(self.tb.add_image, tag, grid_uint8_chw, global_step=images_seen, dataformats="CHW")

    def flush(self) -> None:
        if self._tb is not None:
            self._tb_call(self._tb.flush)

    def close(self) -> None:
        if self._tb is not None:
            tb, self._tb = self._tb, None
            self._tb_call(tb.close)
