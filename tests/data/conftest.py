"""Fixtures for the data tests: small archives written with the real writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from growgan.data.archive import write_archive


@pytest.fixture
def small_archive(tmp_path: Path) -> Path:
    """37 labelled RGB 8x6 images whose first pixel encodes the index (so order is checkable)."""
    n = 37
    images = np.random.default_rng(0).integers(0, 256, size=(n, 3, 8, 6), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n)
    labels = np.arange(n, dtype=np.int64) % 5
    return write_archive(tmp_path / "small", images, labels, {"source": "test", "label_names": list("abcde")})


@pytest.fixture(scope="session")
def builtin_path(tmp_path_factory) -> Path:
    """The built-in archive packed once per session into a private cache."""
    from growgan.data import builtin_archive

    return builtin_archive(cache_dir=tmp_path_factory.mktemp("cache"))
