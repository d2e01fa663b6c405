"""Fault injection for the fault tests (docs/faults.md): a disk that fills up."""

from __future__ import annotations

import builtins
import errno
import io
import os
from typing import Callable


class _FullFile:
    """A file object whose writes fail with ENOSPC once `room` bytes are written."""

    def __init__(self, f, room: int):
        self._f, self._room = f, room

    def write(self, data):
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __iter__(self):
        return iter(self._f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def full_disk_open(room: int = 0, match: Callable[[str], bool] = lambda path: True):
    """An `open` whose write-mode files with a path that `match`es hit ENOSPC after `room` bytes."""
    real = io.open

    def _open(file, mode="r", *args, **kwargs):
        f = real(file, mode, *args, **kwargs)
        if any(c in mode for c in "wax+") and match(os.fsdecode(file) if not isinstance(file, int) else ""):
            return _FullFile(f, room)
        return f

    return _open


def fill_disk(monkeypatch, room: int = 0, match: Callable[[str], bool] = lambda path: True) -> None:
    """From now on (until monkeypatch.undo) writes of matching files fail with ENOSPC: Python's
    open and io.open (TensorBoard's writer thread uses io.open)."""
    fake = full_disk_open(room, match)
    monkeypatch.setattr(builtins, "open", fake)
    monkeypatch.setattr(io, "open", fake)
