"""Shared fixtures. Real data lives in ../shared/data beside the checkout; tests that need
it skip with a reason when it is absent (a user's checkout has no ../shared)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
# Test folders share basenames (tests/*/test_cli.py), so pytest imports them with
# --import-mode=importlib, which puts no test folder on sys.path; the training tests'
# helper module is imported by name, so its folder goes on the path here.
sys.path.insert(0, str(REPO_ROOT / "tests" / "training"))

SHARED_DATA = Path(os.environ.get("GROWGAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data, or skip the test."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set GROWGAN_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_intra_op_thread():
    """One intra-op thread for a module of tiny nets (use it with
    ``pytestmark = pytest.mark.usefixtures("one_intra_op_thread")``): as fast uncontended, and
    no OpenMP spin-waits on the shared, oversubscribed CI cores. Restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
