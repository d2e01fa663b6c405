"""Named datasets: local look-up order, download from a (file://) mirror with checksum checks."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from growgan.data import named
from growgan.data.archive import open_archive
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError


def _idx_pair(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">4B3I", 0, 0, 8, 3, n, h, w) + images.tobytes())
    )
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">4BI", 0, 0, 8, 1, n) + labels.astype(np.uint8).tobytes())
    )


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A local mirror of a tiny 'mnist' (6 images 4x4), registered with its true sha256s."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8)
    labels = np.arange(6) % 3
    mirror = tmp_path / "mirror"
    _idx_pair(mirror, "train", images, labels)
    _idx_pair(mirror, "t10k", images[:2], labels[:2])
    sums = {p.name: "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    fake = dataclasses.replace(named.DATASETS["mnist"], mirrors=(mirror.as_uri() + "/",), checksums=sums, system_dirs=())
    monkeypatch.setitem(named.DATASETS, "mnist", fake)
    monkeypatch.setenv("GROWGAN_CACHE", str(tmp_path / "cache"))
    return mirror, images, labels


def test_download_verifies_and_caches(fake_mirror, tmp_path):
    mirror, images, labels = fake_mirror
    a = open_archive(prepare("mnist", tmp_path / "a").path)
    np.testing.assert_array_equal(np.asarray(a.images)[:, 0], images)
    np.testing.assert_array_equal(a.labels, labels)
    cached = tmp_path / "cache" / "downloads" / "mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    for p in mirror.iterdir():
        p.unlink()  # the cache is used from now on: no second download
    assert open_archive(prepare("mnist", tmp_path / "b").path).content_hash == a.content_hash


def test_checksum_mismatch_leaves_nothing(fake_mirror, tmp_path, monkeypatch):
    bad = dict(named.DATASETS["mnist"].checksums, **{"train-images-idx3-ubyte.gz": "sha256:" + "0" * 64})
    monkeypatch.setitem(named.DATASETS, "mnist", dataclasses.replace(named.DATASETS["mnist"], checksums=bad))
    with pytest.raises(GrowganError, match=r"train-images-idx3-ubyte.gz: downloaded file has sha256 \w+, expected 0+"):
        prepare("mnist", tmp_path / "a")
    cached = tmp_path / "cache" / "downloads" / "mnist"
    assert not cached.exists() or list(cached.iterdir()) == []
    assert not (tmp_path / "a").exists()


def test_md5_checksums_are_supported(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    out = named.download(f.as_uri(), tmp_path / "dl" / "x.bin", "md5:" + hashlib.md5(b"hello").hexdigest())
    assert out.read_bytes() == b"hello"


def test_no_network_error_says_which_files_to_put_where(fake_mirror, tmp_path, monkeypatch):
    fake = dataclasses.replace(named.DATASETS["mnist"], mirrors=((tmp_path / "gone").as_uri() + "/",))
    monkeypatch.setitem(named.DATASETS, "mnist", fake)
    with pytest.raises(GrowganError) as info:
        prepare("mnist", tmp_path / "a", PrepareOptions(from_dir=tmp_path))
    msg = str(info.value)
    assert "could not be downloaded" in msg and f"into {tmp_path}" in msg and "\n" not in msg
    assert "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz into" in msg and "t10k" not in msg


def test_from_dir_wins_over_cache_and_download(fake_mirror, tmp_path):
    mirror, images, labels = fake_mirror
    mine = tmp_path / "mine"
    _idx_pair(mine, "t10k", images[::-1].copy(), labels[::-1].copy())
    a = open_archive(prepare("mnist", tmp_path / "a", PrepareOptions(split="test", from_dir=mine)).path)
    np.testing.assert_array_equal(np.asarray(a.images)[:, 0], images[::-1])
    assert not (tmp_path / "cache" / "downloads").exists()


def test_fashion_mnist_from_the_debian_place(tmp_path):
    system = Path(named.DATASETS["fashion-mnist"].system_dirs[0])
    if not (system / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{system} is absent (apt-get install dataset-fashion-mnist)")
    opts = PrepareOptions(split="test", max_images=10, cache_dir=tmp_path / "cache")
    a = open_archive(prepare("fashion-mnist", tmp_path / "a", opts).path)
    assert (len(a), a.resolution, a.label_names[9]) == (10, (28, 28), "Ankle boot")
    assert str(system) in a.meta["source_files"][0]
