"""Paired translation metrics (metrics/translation.py) from their definitions."""

from __future__ import annotations

import pytest
import torch

from growgan.errors import GrowganError
from growgan.metrics.api import compute, flatten
from growgan.metrics.registry import MetricContext
from growgan.metrics.sources import array_source


def test_l1_is_the_mean_absolute_difference_over_255():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (5, 3, 16, 16), generator=g, dtype=torch.uint8)
    fake = torch.randint(0, 256, (5, 3, 16, 16), generator=g, dtype=torch.uint8)
    want = (real.double() - fake.double()).abs().mean().item() / 255
    got = flatten(compute("l1", array_source(real, "r"), array_source(fake, "f"), MetricContext(paired=True, batch_size=2)))
    assert got["l1"] == pytest.approx(want, rel=1e-12)


def test_ms_ssim_paired_is_one_for_identical_pairs_and_lower_otherwise():
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 256, (4, 1, 32, 32), generator=g, dtype=torch.uint8)
    ctx = lambda: MetricContext(paired=True, ms_ssim_real=False)  # noqa: E731
    same = flatten(compute("ms-ssim-paired", array_source(real, "r"), array_source(real.clone(), "f"), ctx()))
    assert same["ms_ssim_paired"] == pytest.approx(1.0, abs=1e-5)
    other = flatten(compute("ms-ssim-paired", array_source(real, "r"), array_source(real.flip(0), "f"), ctx()))
    assert other["ms_ssim_paired"] < 0.5


def test_paired_metrics_refuse_unpaired_sets():
    x = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    with pytest.raises(GrowganError, match="compares each output with its own target"):
        compute("l1", array_source(x, "r"), array_source(x, "f"), MetricContext())
