"""`dataset prepare --overwrite` killed or failing at every step of publication: the path
always holds the old or the new archive; a full disk leaves no temporary folder behind."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from growgan.data import archive as A
from growgan.errors import GrowganError

SRC = str(Path(__file__).resolve().parents[2] / "src")
OLD = np.zeros((3, 1, 4, 4), np.uint8)
NEW = np.full((5, 1, 4, 4), 7, np.uint8)
EXCHANGE_STEPS = ["before-swap", "after-swap", "done"]
ASIDE_STEPS = ["before-swap", "after-aside", "after-rename", "done"]


def _holds_old_or_new(out: Path) -> str:
    arc = A.open_archive(out, verify=True)
    got = np.array(arc.images)
    if got.shape == OLD.shape and (got == OLD).all():
        return "old"
    assert got.shape == NEW.shape and (got == NEW).all()
    return "new"


def _kill_at(out: Path, step: str, aside: bool) -> int:
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {SRC!r})
        import numpy as np
        from growgan.data import archive as A
        if {aside!r}:
            A._exchange = lambda a, b: False  # a system without renameat2(RENAME_EXCHANGE)
        def hook(name):
            if name == {step!r}:
                os.kill(os.getpid(), signal.SIGKILL)
        A.FAULT_HOOK = hook
        A.write_archive({str(out)!r}, np.full((5, 1, 4, 4), 7, np.uint8), None, {{"source": "new"}}, overwrite=True)
    """)
    return subprocess.run([sys.executable, "-c", code]).returncode


@pytest.mark.parametrize("aside,step", [(False, s) for s in EXCHANGE_STEPS] + [(True, s) for s in ASIDE_STEPS])
def test_kill_at_each_publication_step_leaves_old_or_new_archive(tmp_path, aside, step):
    out = tmp_path / "arc"
    A.write_archive(out, OLD, None, {"source": "old"})
    assert _kill_at(out, step, aside) == -signal.SIGKILL
    got = _holds_old_or_new(out)  # open_archive recovers an aside copy if the path is empty
    assert got == ("new" if step in ("after-swap", "after-rename", "done") else "old")
    # the next write there removes what the killed writer left; no stray copies remain
    A.write_archive(tmp_path / "other", OLD, None, {"source": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arc", "other"]


def test_kill_between_the_two_renames_really_empties_the_path(tmp_path):
    # guards the test above: without recovery the path would be empty at that moment
    out = tmp_path / "arc"
    A.write_archive(out, OLD, None, {"source": "old"})
    _kill_at(out, "after-aside", aside=True)
    assert not out.exists()
    assert A.recover_archive(out) and _holds_old_or_new(out) == "old"


@pytest.mark.parametrize("aside,step", [(False, s) for s in EXCHANGE_STEPS] + [(True, s) for s in ASIDE_STEPS])
def test_error_at_each_publication_step_leaves_old_or_new_archive(tmp_path, monkeypatch, aside, step):
    out = tmp_path / "arc"
    A.write_archive(out, OLD, None, {"source": "old"})
    if aside:
        monkeypatch.setattr(A, "_exchange", lambda a, b: False)

    def hook(name):
        if name == step:
            raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(A, "FAULT_HOOK", hook)
    with pytest.raises(OSError, match="injected"):
        A.write_archive(out, NEW, None, {"source": "new"}, overwrite=True)
    monkeypatch.setattr(A, "FAULT_HOOK", None)
    _holds_old_or_new(out)
    assert [p.name for p in tmp_path.iterdir()] == ["arc"]  # the writer cleaned up after itself


def test_legacy_aside_folder_is_recovered(tmp_path):
    # older growgan moved the old archive to .NAME.old-XXXXXXXX/archive before renaming in
    A.write_archive(tmp_path / "x", OLD, None, {"source": "old"})
    (tmp_path / ".arc.old-abcd1234").mkdir()
    os.rename(tmp_path / "x", tmp_path / ".arc.old-abcd1234" / "archive")
    assert _holds_old_or_new(tmp_path / "arc") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["arc"]


def test_full_disk_in_prepare_removes_the_temporary_folder(tmp_path, monkeypatch, capsys):
    from growgan.cli import main

    from fault_helpers import full_disk_open

    out = tmp_path / "arcs" / "mnist"
    monkeypatch.setattr(A, "open", full_disk_open(200_000), raising=False)  # the pixel stream fills the disk
    assert main(["dataset", "prepare", "builtin", "--out", str(out), "--max-images", "500"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device" in err and str(out) in err
    assert list((tmp_path / "arcs").iterdir()) == []  # no .tmp- folder keeps the disk full
    monkeypatch.undo()
    monkeypatch.setattr(A, "_fsynced_write", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    assert main(["dataset", "prepare", "builtin", "--out", str(out), "--max-images", "50"]) == 2  # meta.json
    assert list((tmp_path / "arcs").iterdir()) == []


def test_prepare_into_a_read_only_folder_fails_before_reading_the_source(tmp_path, monkeypatch, capsys):
    from growgan.cli import main

    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(os, "access", lambda p, m: Path(p) != ro)
    opened = []
    import importlib

    P = importlib.import_module("growgan.data.prepare")  # the module (growgan.data.prepare is also a function)

    monkeypatch.setattr(P, "open_source", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    assert main(["dataset", "prepare", "builtin", "--out", str(ro / "arc")]) == 2
    assert "not writable" in capsys.readouterr().err and not opened
