"""The paired archive reader (data/paired.py): what it opens, what it refuses, and the joint
jitter moving both sides of a pair together."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from growgan.data.paired import joint_jitter, open_paired_archive
from growgan.errors import GrowganError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from paired_helpers import make_paired_archive  # noqa: E402


def test_open_and_batch(tmp_path):
    p = make_paired_archive(tmp_path / "p", n=10, res=(16, 24), channels_a=1, channels_b=3)
    data = open_paired_archive(p)
    assert (data.num, data.resolution, data.channels_a, data.channels_b) == (10, (16, 24), 1, 3)
    a, b = data.batch([7, 2, 7])
    assert a.dtype == b.dtype == torch.uint8 and a.shape == (3, 1, 16, 24) and b.shape == (3, 3, 16, 24)
    assert torch.equal(a[0], a[2]) and torch.equal(a[1], torch.from_numpy(np.load(p / "A" / "images.npy")[2]))
    assert torch.equal(b[1], torch.from_numpy(np.load(p / "B" / "images.npy")[2]))
    with pytest.raises(IndexError):
        data.batch([10])


def test_refusals_are_one_line(tmp_path):
    p = make_paired_archive(tmp_path / "p", n=4)
    meta = json.loads((p / "meta.json").read_text())
    (p / "meta.json").write_text(json.dumps({**meta, "kind": "unpaired"}))
    with pytest.raises(GrowganError, match="unpaired archive"):
        open_paired_archive(p)
    with pytest.raises(GrowganError, match="no such paired archive"):
        open_paired_archive(tmp_path / "nothing")
    with pytest.raises(GrowganError, match="not a paired translation archive"):
        open_paired_archive(p / "A")  # an ordinary archive


def test_joint_jitter_crops_and_flips_both_sides_alike():
    g = torch.Generator().manual_seed(0)
    base = torch.arange(2 * 10 * 12, dtype=torch.float32).reshape(2, 1, 10, 12)  # every pixel distinct
    a, b = joint_jitter(base, torch.cat([base, -base], 1), g, crop=(6, 7))
    assert a.shape == (2, 1, 6, 7) and b.shape == (2, 2, 6, 7)
    assert torch.equal(b[:, :1], a) and torch.equal(b[:, 1:], -a)
    for i in range(2):  # each crop is a window of its own image, maybe mirrored
        win = a[i, 0]
        found = any(torch.equal(win, base[i, 0, t:t + 6, l:l + 7]) or torch.equal(win, base[i, 0, t:t + 6, l:l + 7].flip(1))
                    for t in range(5) for l in range(6))
        assert found
