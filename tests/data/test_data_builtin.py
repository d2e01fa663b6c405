"""The shipped Fashion-MNIST test split and `resolve_archive`."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from growgan.data import builtin_archive, open_archive, resolve_archive
from growgan.data.named import BUILTIN_DIR
from growgan.errors import GrowganError


def _raw_idx(name: str) -> np.ndarray:
    data = gzip.decompress((BUILTIN_DIR / name).read_bytes())
    return np.frombuffer(data, np.uint8, offset=16 if "idx3" in name else 8)


def test_builtin_files_and_licence_ship_with_the_package():
    licence = (BUILTIN_DIR / "LICENSE").read_text()
    assert "MIT License" in licence and "Copyright (c) 2017 Zalando SE" in licence
    assert len(_raw_idx("t10k-labels-idx1-ubyte.gz")) == 10000


def test_builtin_archive_matches_raw_files(builtin_path):
    a = open_archive(builtin_path, verify=True)
    assert (len(a), a.channels, a.resolution, a.num_classes) == (10000, 1, (32, 32), 10)
    assert a.label_names[0] == "T-shirt/top" and a.label_names[9] == "Ankle boot"
    np.testing.assert_array_equal(a.labels, _raw_idx("t10k-labels-idx1-ubyte.gz"))
    raw = _raw_idx("t10k-images-idx3-ubyte.gz").reshape(10000, 28, 28)
    for i in (0, 4321, 9999):  # each image is the lanczos resize of the raw one
        ref = np.asarray(Image.fromarray(raw[i]).resize((32, 32), Image.Resampling.LANCZOS))
        np.testing.assert_array_equal(a.images[i, 0], ref)


def test_builtin_is_packed_once(builtin_path):
    before = (builtin_path / "images.npy").stat().st_mtime_ns
    assert builtin_archive(cache_dir=builtin_path.parent) == builtin_path
    assert (builtin_path / "images.npy").stat().st_mtime_ns == before


def test_resolve_archive(builtin_path, monkeypatch, tmp_path):
    monkeypatch.setenv("GROWGAN_CACHE", str(builtin_path.parent))
    monkeypatch.chdir(tmp_path)
    assert resolve_archive("builtin") == builtin_path
    assert resolve_archive(str(builtin_path)) == builtin_path
    with pytest.raises(GrowganError, match="no such archive"):
        resolve_archive(tmp_path / "missing")


def test_unwritable_cache_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(GrowganError, match="set GROWGAN_CACHE to a writable folder"):
        builtin_archive(cache_dir=blocker / "cache")
