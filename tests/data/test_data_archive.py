"""Archive round trips, atomic publication and rejection of foreign or damaged folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from growgan.data.archive import ArchiveWriter, content_hash, open_archive, write_archive
from growgan.errors import GrowganError


def test_round_trip_pixels_labels_meta(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 3, 5, 7), dtype=np.uint8)  # non-square on purpose
    labels = rng.integers(0, 4, size=20).astype(np.int64)
    write_archive(tmp_path / "a", images, labels, {"source": "x", "num_classes": 4}, chunk=6)
    a = open_archive(tmp_path / "a", verify=True)
    assert isinstance(a.images, np.memmap)
    np.testing.assert_array_equal(np.asarray(a.images), images)
    np.testing.assert_array_equal(a.labels, labels)
    assert (len(a), a.channels, a.resolution, a.num_classes) == (20, 3, (5, 7), 4)
    assert a.meta["source"] == "x" and a.content_hash == content_hash(images, labels)


def test_unlabelled_archive(tmp_path):
    images = np.zeros((3, 1, 4, 4), np.uint8)
    a = open_archive(write_archive(tmp_path / "u", images, None, {"source": "x"}))
    assert a.labels is None and a.num_classes == 0 and not (tmp_path / "u" / "labels.npy").exists()


def test_num_classes_follows_label_names(tmp_path):
    x = np.zeros((2, 1, 2, 2), np.uint8)
    a = open_archive(write_archive(tmp_path / "a", x, np.array([0, 1]), {"label_names": ["a", "b", "c"]}))
    assert a.num_classes == 3 and a.label_names == ["a", "b", "c"]
    with pytest.raises(ValueError, match="out of range"):
        write_archive(tmp_path / "b", x, np.array([0, 3]), {"label_names": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="labels >= 0"):
        write_archive(tmp_path / "c", x, np.array([0, -1]), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_hash_depends_on_pixels_and_labels():
    x = np.zeros((4, 1, 2, 2), np.uint8)
    y = np.arange(4, dtype=np.int64)
    h = content_hash(x, y)
    x2 = x.copy()
    x2[3, 0, 1, 1] = 1
    assert content_hash(x2, y) != h
    assert content_hash(x, y[::-1].copy()) != h
    assert content_hash(x, None) != h
    assert content_hash(x.reshape(4, 1, 1, 4), y) != h  # same bytes, other shape


def test_existing_archive_needs_overwrite(small_archive):
    images = np.ones((2, 1, 3, 3), np.uint8)
    with pytest.raises(GrowganError, match="--overwrite"):
        write_archive(small_archive, images, None, {})
    write_archive(small_archive, images, None, {}, overwrite=True)
    assert len(open_archive(small_archive)) == 2
    assert [p.name for p in small_archive.parent.iterdir()] == [small_archive.name]  # no leftovers


def test_interrupted_write_leaves_nothing_that_reads_as_archive(tmp_path):
    out = tmp_path / "a"
    with pytest.raises(KeyboardInterrupt):
        with ArchiveWriter(out, 1, (2, 2)) as w:
            w.append(np.zeros((2, 1, 2, 2), np.uint8))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temporary folder


def test_half_written_folder_is_rejected(tmp_path):
    with ArchiveWriter(tmp_path / "a", 1, (2, 2)) as w:
        w.append(np.zeros((2, 1, 2, 2), np.uint8))
        w._file.flush()
        with pytest.raises(GrowganError, match="meta.json is missing .an interrupted write"):
            open_archive(w.tmp)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "meta.json").unlink(), "meta.json is missing"),
        (lambda p: (p / "meta.json").write_text("{not json"), "not valid JSON"),
        (lambda p: (p / "meta.json").write_text(json.dumps({"format": "other"})), "does not describe"),
        (lambda p: (p / "images.npy").unlink(), "images.npy is missing"),
        (lambda p: os.truncate(p / "images.npy", 500), "images.npy is unreadable or truncated"),
        (lambda p: os.truncate(p / "labels.npy", 100), "labels.npy is unreadable or truncated"),
        (lambda p: np.save(p / "images.npy", np.zeros((37, 3, 8, 6), np.float32)), "meta.json says uint8"),
    ],
)
def test_damaged_archive_is_rejected_with_one_line(small_archive, damage, message):
    damage(small_archive)
    with pytest.raises(GrowganError, match=message) as info:
        open_archive(small_archive)
    assert "\n" not in str(info.value) and str(small_archive) in str(info.value)


def test_verify_catches_changed_pixels(small_archive):
    arr = np.load(small_archive / "images.npy", mmap_mode="r+")
    arr[0, 0, 0, 0] ^= 0xFF
    arr.flush()
    del arr
    open_archive(small_archive)  # cheap checks pass
    with pytest.raises(GrowganError, match="content hash"):
        open_archive(small_archive, verify=True)


def test_missing_and_foreign_paths(tmp_path):
    with pytest.raises(GrowganError, match="no such archive"):
        open_archive(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(GrowganError, match="is a file"):
        open_archive(tmp_path / "f.txt")
    with pytest.raises(GrowganError, match="meta.json is missing"):
        open_archive(tmp_path)


def test_killed_prepare_never_leaves_a_valid_looking_half_archive(tmp_path):
    """SIGKILL the dataset tool while it writes: the target is absent (or, had it finished, whole)."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "A"
    proc = subprocess.Popen(
        [sys.executable, "-m", "growgan", "dataset", "prepare", "builtin", "--out", str(out), "--resolution", "64"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "GROWGAN_CACHE": str(tmp_path)},
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".A.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if out.exists():  # it finished before the kill: then it must be complete
        assert len(open_archive(out, verify=True)) == 10000
    else:
        leftovers = list(tmp_path.glob(".A.tmp-*"))
        assert leftovers, "the kill should have caught the writer mid-way"
        with pytest.raises(GrowganError, match="an interrupted write"):
            open_archive(leftovers[0])
