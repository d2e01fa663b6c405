"""MS-SSIM: identity, symmetry, the small-image rule, and pytorch-msssim where installed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch

from growgan.metrics.ms_ssim import ms_ssim, ms_ssim_diversity, ms_ssim_rule, num_scales, random_pairs


def test_identity_symmetry_and_range(make_blobs):
    a = torch.from_numpy(make_blobs(6, 32, 3, seed=1))
    b = torch.from_numpy(make_blobs(6, 32, 3, seed=2))
    torch.testing.assert_close(ms_ssim(a, a), torch.ones(6))
    torch.testing.assert_close(ms_ssim(a, b), ms_ssim(b, a))
    v = ms_ssim(a, b)
    assert ((v >= 0) & (v < 1)).all()


def test_more_degradation_lowers_similarity(make_blobs):
    a = make_blobs(4, 64, 1, seed=3)
    vals = []
    for sigma in (0.5, 1.0, 2.0, 4.0):
        blurred = np.round(scipy.ndimage.gaussian_filter(a.astype(np.float32), (0, 0, sigma, sigma))).astype(np.uint8)
        vals.append(ms_ssim(torch.from_numpy(a), torch.from_numpy(blurred)).mean().item())
    assert vals == sorted(vals, reverse=True) and vals[0] < 1


def test_small_image_rule_is_stated():
    assert num_scales((32, 32)) == 5 and num_scales((16, 16)) == 5 and num_scales((8, 8)) == 4
    assert "window [11, 11, 8, 4, 2]" in ms_ssim_rule((32, 32))
    assert "renormalised" in ms_ssim_rule((8, 8)) and "renormalised" not in ms_ssim_rule((256, 256))


def test_diversity_pairs_distinct_deterministic_and_bounded(make_blobs):
    i, j = random_pairs(5, 1000, seed=0)
    assert (i != j).all() and i.max() < 5 and j.max() < 5
    imgs = make_blobs(20, 32, 1, seed=4)
    assert ms_ssim_diversity(imgs, 50, seed=1) == ms_ssim_diversity(torch.from_numpy(imgs), 50, seed=1)
    same = np.repeat(imgs[:1], 20, axis=0)
    assert ms_ssim_diversity(same, 50) == pytest.approx(1.0)  # no diversity at all
    assert ms_ssim_diversity(imgs, 50) < 0.9


def test_matches_pytorch_msssim_at_standard_size():
    ref = pytest.importorskip("pytorch_msssim")
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(3, 3, 24, 24, generator=gen)
    x = torch.nn.functional.interpolate(base, size=(192, 192), mode="bilinear") * 255  # smooth images
    y = (x + torch.randn(x.shape, generator=gen) * 20).clamp(0, 255)
    want = ref.ms_ssim(x, y, data_range=255, size_average=False)
    torch.testing.assert_close(ms_ssim(x, y), want, atol=2e-4, rtol=1e-4)
