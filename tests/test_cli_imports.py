"""Issue #18.9: `growgan --help`, `--version` and every `COMMAND --help` import no heavy
module (torch, numba, scipy, TensorBoard, matplotlib, imageio); commands import them only when
they run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "numba", "scipy", "tensorboard", "matplotlib", "imageio")


def _imported(argv: list[str]) -> set[str]:
    """Top-level packages imported by `python -X importtime -m growgan ARGV` (in a fresh process)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "growgan", *argv], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "growgan" in names  # the parse worked: importtime lines were read
    return names


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["train", "--help"], ["metrics", "--help"],
                                  ["search", "--help"], ["dataset", "prepare", "--help"], ["generate", "--help"],
                                  ["export", "--help"], ["report", "--help"], ["interpolate", "--help"],
                                  ["presets", "--help"]])
def test_help_and_version_import_no_heavy_module(argv):
    heavy = sorted(set(HEAVY) & _imported(argv))
    assert not heavy, f"growgan {' '.join(argv)} imports {heavy}"


def test_a_computing_command_does_import_torch():
    """The check above can fail: a command that computes imports torch (and sets its threads)."""
    assert "torch" in _imported(["train", "--preset", "dcgan-32", "--dry-run"])
