"""SWD: pyramid against scipy's reference filtering, invariants, determinism, batch-size independence."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch

from growgan.metrics.swd import SWDConfig, laplacian_pyramid, pyr_down, pyr_up, sliced_wasserstein, swd, swd_levels

K = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float64) / 256.0


def ref_down(x: np.ndarray) -> np.ndarray:
    return scipy.ndimage.convolve(x, K[None, None], mode="mirror")[:, :, ::2, ::2]


def ref_up(x: np.ndarray) -> np.ndarray:
    up = np.zeros((x.shape[0], x.shape[1], 2 * x.shape[2], 2 * x.shape[3]))
    up[:, :, ::2, ::2] = x
    return scipy.ndimage.convolve(up, 4 * K[None, None], mode="mirror")


def test_pyramid_matches_scipy_mirror_filtering(make_blobs):
    x = make_blobs(3, size=32, channels=3, seed=0).astype(np.float64)
    t = torch.from_numpy(x).float()
    np.testing.assert_allclose(pyr_down(t).numpy(), ref_down(x), atol=1e-3)
    np.testing.assert_allclose(pyr_up(torch.from_numpy(ref_down(x)).float(), (32, 32)).numpy(), ref_up(ref_down(x)), atol=1e-3)
    pyr = laplacian_pyramid(t, 3)
    assert [tuple(p.shape[2:]) for p in pyr] == [(32, 32), (16, 16), (8, 8)]
    d1 = ref_down(x)
    np.testing.assert_allclose(pyr[0].numpy(), x - ref_up(d1), atol=1e-3)
    # the Laplacian pyramid is exactly invertible
    rec = pyr[2]
    for lvl in (pyr[1], pyr[0]):
        rec = pyr_up(rec, lvl.shape[2:]) + lvl
    np.testing.assert_allclose(rec.numpy(), x, atol=1e-3)


def test_levels_rule():
    assert swd_levels((64, 64)) == [(64, 64), (32, 32), (16, 16)]
    assert swd_levels((32, 32)) == [(32, 32), (16, 16)]
    assert swd_levels((28, 28)) == [(28, 28)]  # < 32: one level, as the official `while res >= 16`
    assert swd_levels((8, 8)) == [(8, 8)]
    assert swd_levels((48, 32)) == [(48, 32), (24, 16)]


def test_one_dimensional_projection_is_sorted_mean_abs_difference():
    # With 1-d descriptors every unit direction is +-1, so SWD = mean |sort(a) - sort(b)|.
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(1000, 1, generator=gen), torch.randn(1000, 1, generator=gen) * 2 + 1
    want = (a.flatten().sort().values - b.flatten().sort().values).abs().mean().item()
    got = sliced_wasserstein(a, b, SWDConfig(dir_repeats=2, dirs_per_repeat=3), torch.Generator().manual_seed(1))
    assert got == pytest.approx(want, rel=1e-5)


def test_self_distance_small_and_monotone_in_blur(blob_sets):
    a, _ = blob_sets
    same = swd(a, a, seed=0)["swd"]  # a set against itself: only the patch-sampling noise
    dists = []
    for sigma in (0.7, 1.5, 3.0):
        blurred = scipy.ndimage.gaussian_filter(a.astype(np.float32), sigma=(0, 0, sigma, sigma))
        dists.append(swd(a, np.round(blurred).astype(np.uint8), seed=0)["swd"])
    assert same < dists[0] < dists[1] < dists[2]
    assert dists[2] > 3 * same


def test_monotone_in_shift_towards_another_distribution(blob_sets):
    a, _ = blob_sets
    noise = np.random.default_rng(5).integers(0, 256, a.shape, dtype=np.uint8)
    vals = []
    for frac in (0.0, 0.25, 0.5, 1.0):
        mixed = a.copy()
        mixed[: int(frac * len(a))] = noise[: int(frac * len(a))]
        vals.append(swd(a, mixed, seed=0)["swd"])
    assert vals == sorted(vals) and vals[-1] > 5 * vals[0]


def test_batch_size_independent_and_seed_deterministic(blob_sets):
    a, b = blob_sets
    r1 = swd(a, b, seed=3, cfg=SWDConfig(batch_size=7))
    r2 = swd(a, b, seed=3, cfg=SWDConfig(batch_size=64))
    assert r1.keys() == {"swd_32", "swd_16", "swd"}
    for k in r1:
        assert r1[k] == pytest.approx(r2[k], rel=1e-5)
    assert swd(torch.from_numpy(a), torch.from_numpy(b), seed=3) == swd(a, b, seed=3)
    assert swd(a, b, seed=4)["swd"] != r1["swd"]


def test_average_is_mean_of_levels_and_rgb_works(make_blobs):
    a, b = make_blobs(16, 32, 3, seed=1), make_blobs(16, 32, 3, seed=2)
    r = swd(a, b, seed=0, cfg=SWDConfig(nhoods_per_image=16))
    assert r["swd"] == pytest.approx((r["swd_32"] + r["swd_16"]) / 2)

