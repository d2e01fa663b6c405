"""Filesystem faults of the atomic writers: umask, stale temporaries of killed writers,
a full disk, read-only folders. (docs/faults.md lists every fault kind and its test.)"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fault_helpers import full_disk_open

from growgan.errors import GrowganError
from growgan.utils import io as gio
from growgan.utils.image import save_grid

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it afterwards."""
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask, mask):
    from growgan.data.archive import write_archive

    umask(mask)
    want_file, want_dir = 0o666 & ~mask, 0o777 & ~mask  # what open() / mkdir() would give
    gio.atomic_write_json(tmp_path / "a.json", {"a": 1})
    gio.atomic_torch_save({"t": torch.zeros(3)}, tmp_path / "c.pt")
    save_grid(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), tmp_path / "g.png")
    arc = write_archive(tmp_path / "arc", np.zeros((2, 1, 4, 4), np.uint8), None, {"source": "t"})
    for name in ("a.json", "c.pt", "g.png"):
        assert _mode(tmp_path / name) == want_file, name
    assert _mode(arc) == want_dir
    for f in arc.iterdir():
        assert _mode(f) == want_file, f.name
    # --overwrite publishes a new folder: the same modes
    arc = write_archive(tmp_path / "arc", np.ones((2, 1, 4, 4), np.uint8), None, {"source": "t"}, overwrite=True)
    assert _mode(arc) == want_dir and _mode(arc / "meta.json") == want_file


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporaries_of_dead_writers_are_removed_on_the_next_write(tmp_path):
    dead, host = _dead_pid(), gio.HOST_TAG
    stale_file = tmp_path / f".a.json.tmp-{dead}@{host}-0badc0de"
    stale_dir = tmp_path / f".arc.tmp-{dead}@{host}-0badc0de"
    stale_file.write_bytes(b"x" * 100)
    stale_dir.mkdir()
    (stale_dir / "images.npy").write_bytes(b"x" * 100)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        live_file = tmp_path / f".b.json.tmp-{live.pid}@{host}-0badc0de"  # written after the writer started
        live_file.write_bytes(b"in flight")
        legacy_old = tmp_path / ".c.pt.abcd1234.tmp"  # mkstemp name of older versions, 2 hours old
        legacy_old.write_bytes(b"x")
        os.utime(legacy_old, (time.time() - 7200,) * 2)
        legacy_new = tmp_path / ".d.pt.abcd5678.tmp"  # maybe in flight: kept
        legacy_new.write_bytes(b"x")
        aside = tmp_path / f".gone.old-{dead}@{host}-0badc0de"  # the only copy of archive "gone": kept
        other_host = "000000" if host != "000000" else "111111"
        foreign = tmp_path / f".e.pt.tmp-{dead}@{other_host}-0badc0de"  # another machine's writer: kept
        foreign.write_bytes(b"x")
        foreign_old = tmp_path / f".f.pt.tmp-{dead}@{other_host}-0badc0de"  # ... unless untouched for a day
        foreign_old.write_bytes(b"x")
        os.utime(foreign_old, (time.time() - 2 * 86400,) * 2)
        aside.mkdir()
        user_file = tmp_path / "notes.tmp"
        user_file.write_text("not ours")
        gio.atomic_write_json(tmp_path / "a.json", {"a": 1})
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {"a.json", live_file.name, legacy_new.name, aside.name, user_file.name, foreign.name}
    finally:
        live.kill()
        live.wait()


def test_a_reused_pid_does_not_keep_a_temporary_alive(tmp_path):
    # the pid in the name is alive (this test's parent) but started long before the file was
    # written... that is the normal case and it is kept; a pid whose process started *after*
    # the file's last write cannot have written it.
    me = os.getppid()
    tmp = tmp_path / f".x.tmp-{me}@{gio.HOST_TAG}-0badc0de"
    tmp.write_bytes(b"x")
    assert not gio.is_stale(tmp)
    os.utime(tmp, (0, 0))  # written in 1970: before any live process started
    assert gio.is_stale(tmp) == (gio._pid_start_time(me) is not None)


def test_temporary_of_a_writer_killed_mid_write_is_removed_by_the_next_writer(tmp_path):
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {SRC!r})
        from growgan.utils.io import atomic_path
        with atomic_path({str(tmp_path / 'big.bin')!r}) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'x' * 1_000_000)
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".big.bin.tmp-")  # the kill left it
    assert not (tmp_path / "big.bin").exists()  # and nothing that reads as the file
    gio.atomic_write_bytes(tmp_path / "other.bin", b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["other.bin"]


@pytest.mark.parametrize("writer", ["json", "torch", "grid", "jsonl"])
def test_full_disk_is_one_line_and_leaves_no_temporary(tmp_path, monkeypatch, writer):
    target = tmp_path / {"json": "a.json", "torch": "c.pt", "grid": "g.png", "jsonl": "s.jsonl"}[writer]
    if writer != "jsonl":
        target.write_bytes(b"the old content")
    monkeypatch.setattr("builtins.open", full_disk_open(16))
    with pytest.raises(GrowganError) as e:
        if writer == "json":
            gio.atomic_write_json(target, {"k": "v" * 100})
        elif writer == "torch":  # torch.save through a file object: ENOSPC, not a RuntimeError
            gio.atomic_torch_save({"t": torch.zeros(1000)}, target)
        elif writer == "grid":
            save_grid(torch.zeros(4, 1, 32, 32, dtype=torch.uint8), target)
        else:
            gio.append_jsonl(target, {"k": "v" * 100})
    monkeypatch.undo()
    msg = str(e.value)
    assert "\n" not in msg and str(target) in msg and "No space left on device" in msg
    if writer != "jsonl":
        assert target.read_bytes() == b"the old content"  # the old file is intact
        assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left


def test_torch_serialization_error_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    # a real ENOSPC from the kernel: /dev/full refuses every write
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    import builtins

    real_bopen = builtins.open

    def bopen(file, mode="r", *a, **kw):
        if ".tmp-" in str(file) and "w" in mode:
            return real_bopen("/dev/full", "wb", buffering=0)
        return real_bopen(file, mode, *a, **kw)

    monkeypatch.setattr(builtins, "open", bopen)
    with pytest.raises(GrowganError, match="No space left on device"):
        gio.atomic_torch_save({"t": torch.zeros(100_000)}, tmp_path / "c.pt")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_found_before_any_work(tmp_path, monkeypatch):
    # As root a 0555 folder is still writable, so the probe itself is made to fail the way a
    # read-only mount fails; the non-root variant below runs the real thing.
    monkeypatch.setattr(os, "access", lambda p, m: not str(p).startswith(str(tmp_path / "ro")))
    (tmp_path / "ro").mkdir()
    with pytest.raises(GrowganError, match="not writable"):
        gio.check_writable_dir(tmp_path / "ro" / "new" / "deeper")
    monkeypatch.undo()
    real_open = os.open

    def erofs(path, *a, **kw):
        if "write-probe" in str(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", erofs)
    with pytest.raises(GrowganError, match="Read-only file system"):
        gio.check_writable_dir(tmp_path / "ro")
    monkeypatch.undo()
    gio.check_writable_dir(tmp_path / "ro")  # writable: no error, no probe left behind
    assert list((tmp_path / "ro").iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(GrowganError, match="is a file"):
        gio.check_writable_dir(tmp_path / "file" / "sub")
