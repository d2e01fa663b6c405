"""Fixtures of the engine's tests (helpers in engine_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import make_archive


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> Path:
    return make_archive(tmp_path_factory.mktemp("data") / "blobs")


@pytest.fixture(scope="session")
def tiny_archive_rgb(tmp_path_factory) -> Path:
    return make_archive(tmp_path_factory.mktemp("data") / "blobs3", channels=3)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread for these tiny nets: on a shared 2-core machine, two threads
    spinning against other processes make each step ~30x slower. Module-scoped, so the
    module-scoped fixtures that train run under it too; restored after each module."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def progan_run(tmp_path_factory) -> Path:
    """A finished tiny growing ProGAN run folder (engine_helpers.make_progan_run), shared by the
    tests of the tools that read run folders (export, report, interpolate)."""
    import torch

    from engine_helpers import make_progan_run

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return make_progan_run(tmp_path_factory.mktemp("progan-run"))
    finally:
        torch.set_num_threads(n)
