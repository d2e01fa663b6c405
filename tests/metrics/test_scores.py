"""FID / KID / IS / precision-recall against closed forms and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.metrics.scores import (
    fid_from_features, frechet_distance, inception_score, kid_from_features, precision_recall,
)


def test_fid_of_a_set_with_itself_is_zero():
    x = torch.randn(400, 16, generator=torch.Generator().manual_seed(0))
    assert abs(fid_from_features(x, x)) < 1e-6


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    s1 = a @ a.T + np.eye(6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    # commuting covariances S2 = c * S1: Tr(S1 + S2 - 2 sqrt(S1 S2)) = (1 - sqrt(c))^2 Tr(S1)
    c = 2.5
    want = np.sum((mu1 - mu2) ** 2) + (1 - np.sqrt(c)) ** 2 * np.trace(s1)
    assert frechet_distance(mu1, s1, mu2, c * s1) == pytest.approx(want, rel=1e-8)
    # diagonal covariances: sum (sigma1 - sigma2)^2
    v1, v2 = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(want, rel=1e-8)


def test_fid_of_two_gaussian_samples_matches_closed_form():
    gen = torch.Generator().manual_seed(1)
    n, d = 20000, 4
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, d, generator=gen, dtype=torch.float64) * 2.0 + 1.0  # N(1, 4 I)
    want = d * 1.0 + d * (1 - 2) ** 2  # |mu|^2 + sum (1 - 2)^2
    assert fid_from_features(x, y) == pytest.approx(want, rel=0.03)


def _mmd_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    m, d = len(x), x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_the_unbiased_estimator_by_hand():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 3)), rng.normal(1, 1, size=(5, 3))
    # one subset holding every feature: the order drawn does not matter
    mean, std = kid_from_features(torch.from_numpy(x), torch.from_numpy(y), num_subsets=1, subset_size=5)
    assert mean == pytest.approx(_mmd_by_hand(x, y), rel=1e-10) and std == 0


def test_kid_is_unbiased_for_one_distribution():
    gen = torch.Generator().manual_seed(3)
    vals = []
    for _ in range(10):
        x, y = torch.randn(200, 8, generator=gen), torch.randn(200, 8, generator=gen)
        vals.append(kid_from_features(x, y, num_subsets=5, subset_size=100, seed=len(vals))[0])
    shifted = kid_from_features(torch.randn(200, 8, generator=gen), torch.randn(200, 8, generator=gen) + 0.5,
                                num_subsets=5, subset_size=100)[0]
    sem = np.std(vals) / np.sqrt(len(vals))
    assert abs(np.mean(vals)) < 3 * sem + 1e-12  # centred on 0 (a biased estimate would be > 0)
    assert min(vals) < 0 < shifted and shifted > 20 * abs(np.mean(vals))


def test_inception_score_extremes_and_1000_class_rule():
    n, k = 1000, 10
    confident = torch.full((n, 1008), -50.0)
    confident[torch.arange(n), torch.arange(n) % k] = 50.0
    mean, std = inception_score(confident, splits=10)
    assert mean == pytest.approx(k, rel=1e-6) and std < 1e-6  # each split holds all 10 classes evenly
    assert inception_score(torch.zeros(n, 1008))[0] == pytest.approx(1.0)
    ignored = torch.zeros(n, 1008)
    ignored[:, 1000:] = 100.0  # the 8 extra logits of the TF graph do not enter
    assert inception_score(ignored)[0] == pytest.approx(1.0)


def test_precision_recall_identity_disjoint_and_mode_collapse():
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(300, 5, generator=gen)
    assert precision_recall(real, real) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    collapsed = real[real[:, 0] > 1.0][:40]  # fakes on a corner of the real manifold
    p, r = precision_recall(real, collapsed)
    assert p == 1.0 and r < 0.35


def _is_numpy(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """Inception Score written from the definition, split k = rows [k*N//splits, (k+1)*N//splits)."""
    n = len(probs)
    scores = []
    for k in range(splits):
        part = probs[k * n // splits:(k + 1) * n // splits]
        py = part.mean(axis=0)
        kl = np.sum(part * (np.log(part) - np.log(py)), axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize("n", [10, 11, 25, 1003])
def test_inception_score_splits_follow_the_reference_rule(n):
    rng = np.random.default_rng(n)
    logits = rng.normal(0, 3, size=(n, 1000))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    mean, std = inception_score(torch.from_numpy(logits), splits=10)
    ref_mean, ref_std = _is_numpy(probs, 10)
    assert mean == pytest.approx(ref_mean, rel=1e-9) and std == pytest.approx(ref_std, rel=1e-9, abs=1e-12)


def test_inception_score_eleven_images_by_hand():
    # image i is surely class i: splits 0..8 hold one image (IS 1), split 9 holds two
    # images of two classes (IS exp(log 2) = 2) -> mean 1.1, std sqrt(13/10 - 1.21) = 0.3.
    # (torch.chunk would make 6 splits of 2 images, each IS 2.)
    logits = torch.full((11, 1008), -60.0)
    logits[torch.arange(11), torch.arange(11)] = 60.0
    mean, std = inception_score(logits, splits=10)
    assert mean == pytest.approx(1.1, abs=1e-9) and std == pytest.approx(0.3, abs=1e-9)


def test_inception_score_refuses_fewer_images_than_splits():
    from growgan.errors import GrowganError

    with pytest.raises(GrowganError, match="5 images cannot make 10 splits"):
        inception_score(torch.zeros(5, 1008), splits=10)
