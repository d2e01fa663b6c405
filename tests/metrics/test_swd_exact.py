"""SWD's sort-free W1 (numba kernel) against the sort-based reference definition."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from growgan.metrics.swd import (
    SWDConfig,
    _descriptors,
    _level_images,
    _patches,
    exact_abs_diff_sum,
    laplacian_pyramid,
    pyr_down,
    pyr_up,
    sorted_abs_diff_sum,
    swd,
    swd_levels,
)

pytest.importorskip("numba")
swd_mod = importlib.import_module("growgan.metrics.swd")  # the package re-exports the function `swd`


def check(pa: torch.Tensor, pb: torch.Tensor, rel: float = 1e-6) -> None:
    got = exact_abs_diff_sum(pa, pb, use_numba=True)
    want = sorted_abs_diff_sum(pa, pb)
    assert got.dtype == torch.float64 and got.shape == (pa.shape[0],)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rel, atol=1e-9 * max(1.0, pa.shape[1]))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 17, 100, 1000, 50_000])
def test_random_sizes(n):
    g = torch.Generator().manual_seed(n)
    check(torch.randn(5, n, generator=g), torch.randn(5, n, generator=g) * 1.3 + 0.1)


def test_identical_permuted_and_shifted_sets():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 20_000, generator=g)
    assert exact_abs_diff_sum(x, x.clone(), use_numba=True).abs().max().item() == 0.0
    perm = x[:, torch.randperm(x.shape[1], generator=g)]
    assert exact_abs_diff_sum(x, perm, use_numba=True).abs().max().item() == 0.0
    check(x, x + 0.25)
    check(x, x - 1e-4)  # a shift far below the bin width
    check(x, x * 1.001)


def test_heavy_tails_and_outliers():
    g = torch.Generator().manual_seed(1)
    cauchy = lambda: torch.tan(np.pi * (torch.rand(3, 30_000, generator=g) - 0.5))  # noqa: E731
    check(cauchy(), cauchy())
    a, b = torch.randn(3, 30_000, generator=g), torch.randn(3, 30_000, generator=g)
    a[:, :5] = 1e6
    b[:, -3:] = -1e7
    check(a, b)


def test_ties():
    g = torch.Generator().manual_seed(2)
    # mostly exact zeros (flat image areas), a few distinct values
    a, b = torch.zeros(3, 40_000), torch.zeros(3, 40_000)
    a[:, :3000] = torch.randn(3, 3000, generator=g)
    b[:, :5000] = torch.randn(3, 5000, generator=g)
    check(a, b)
    check(a, torch.zeros(3, 40_000))
    check(a + 2.0, b)  # the two sets' tie values differ (each set is normalised on its own)
    # small integers: every value is a tie
    check(torch.randint(0, 5, (3, 10_000), generator=g).float(), torch.randint(0, 7, (3, 10_000), generator=g).float())
    # constant rows
    check(torch.full((2, 500), 3.0), torch.full((2, 500), 3.0))
    check(torch.full((2, 500), 3.0), torch.full((2, 500), -1.5))
    check(torch.full((2, 500), 3.0), torch.randn(2, 500, generator=g))


def test_real_descriptor_projections(make_blobs):
    # descriptors of structured images with flat (tied) areas, on random unit directions
    a_img, b_img = make_blobs(64, 32, 3, seed=1), make_blobs(64, 32, 3, seed=2)
    b_img[:, :, :8] = 0  # exact zeros: Laplacian bands of flat areas are exactly 0
    cfg, gen = SWDConfig(), torch.Generator().manual_seed(0)
    sizes = swd_levels((32, 32))
    la = _level_images(lambda s, e: torch.from_numpy(a_img[s:e]), 64, sizes, cfg, None)
    lb = _level_images(lambda s, e: torch.from_numpy(b_img[s:e]), 64, sizes, cfg, None)
    for level in range(len(sizes)):
        da, db = _descriptors(la[level], cfg, gen), _descriptors(lb[level], cfg, gen)
        dirs = torch.randn(da.shape[1], 16, generator=gen)
        dirs = (dirs / dirs.norm(dim=0)).T.contiguous()
        check(dirs @ da.T, dirs @ db.T)
        check(dirs @ da.T, dirs @ da.T)


def test_swd_same_with_and_without_numba(blob_sets, monkeypatch):
    a, b = blob_sets
    b = b.copy()
    b[:20, :, :, :12] = 0
    fast = swd(a, b, seed=3)
    monkeypatch.setattr(swd_mod, "numba", None)  # the pure numpy/torch (sort) path
    slow = swd(a, b, seed=3)
    assert fast.keys() == slow.keys()
    for k in fast:
        assert fast[k] == pytest.approx(slow[k], rel=1e-5)


def test_deterministic_and_thread_independent():
    g = torch.Generator().manual_seed(4)
    pa, pb = torch.randn(6, 30_000, generator=g), torch.randn(6, 30_000, generator=g)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = exact_abs_diff_sum(pa, pb, use_numba=True)
        torch.set_num_threads(2)
        two = exact_abs_diff_sum(pa, pb, use_numba=True)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    assert torch.equal(one, exact_abs_diff_sum(pa, pb, use_numba=True))


def test_levels_are_the_full_pyramid_and_descriptors_match_torch_gather(make_blobs, monkeypatch):
    x = make_blobs(20, 64, 3, seed=3)
    sizes = swd_levels((64, 64))
    cfg = SWDConfig(batch_size=7)
    levels = _level_images(lambda s, e: torch.from_numpy(x[s:e]), 20, sizes, cfg, None)
    pyr = laplacian_pyramid(torch.from_numpy(x), len(sizes))  # band-pass levels, then the low-pass one
    for got, want in zip(levels, pyr):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-4)
    # the compiled gather and the torch one give the same descriptors
    fast = _descriptors(levels[1], cfg, torch.Generator().manual_seed(0))
    monkeypatch.setattr(swd_mod, "numba", None)
    slow = _descriptors(levels[1], cfg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    # normalised per channel: mean 0, population std 1
    d = fast.view(-1, 3, 49).transpose(0, 1).reshape(3, -1).double()
    torch.testing.assert_close(d.mean(dim=1), torch.zeros(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(d.std(dim=1, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-5, rtol=0)
    # patches are the 7x7 neighbourhoods of the drawn centres
    p = _patches(levels[0][:2], torch.tensor([[3, 10]] * 2), torch.tensor([[5, 60]] * 2), 7)
    torch.testing.assert_close(p[1], levels[0][0, :, 7:14, 57:64])


def test_swd_same_for_one_and_two_threads(blob_sets):
    a, b = blob_sets
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = swd(a, b, seed=5)
        torch.set_num_threads(2)
        two = swd(a, b, seed=5)
    finally:
        torch.set_num_threads(threads)
    for k in one:
        assert one[k] == pytest.approx(two[k], rel=1e-6)


def test_separable_pyramid_matches_the_5x5_convolution():
    # pyr_down/pyr_up are separable and polyphase; the reference is the plain 5x5 convolution
    g = torch.Generator().manual_seed(6)
    for shape in [(2, 3, 32, 32), (2, 1, 17, 23), (1, 3, 7, 8), (1, 2, 64, 48)]:
        x = torch.rand(shape, generator=g) * 255
        down = pyr_down(x)
        torch.testing.assert_close(down, swd_mod._blur(x)[:, :, ::2, ::2], rtol=0, atol=1e-3)
        zeros = x.new_zeros(shape[0], shape[1], 2 * down.shape[2], 2 * down.shape[3])
        zeros[:, :, ::2, ::2] = down
        want = swd_mod._blur(zeros, gain=4.0)[:, :, : shape[2], : shape[3]]
        torch.testing.assert_close(pyr_up(down, shape[2:]), want, rtol=0, atol=1e-3)
