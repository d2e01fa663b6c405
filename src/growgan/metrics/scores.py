"""Statistics -> values for feature-based metrics, as pure functions of feature matrices.

- FID (Heusel et al. 2017): ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)), float64,
  the matrix square root by scipy.linalg.sqrtm (with pytorch-fid's eps fallback).
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over 100 random subsets of 1000 (torch-fidelity).
- IS (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) over 10 splits, mean and std; split k
  holds images [k*N//splits, (k+1)*N//splits), as the reference code (Salimans et al.'s
  inception_score.py, torch-fidelity, StudioGAN) splits, so the splits differ by at most one image.
- Precision/recall (Kynkaanniemi et al. 2019): k-NN (k=3) hyperspheres around each real
  (fake) feature; precision = share of fakes inside the real manifold, recall = share of
  reals inside the fake manifold.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch


def mean_cov(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """[N, D] -> mean [D], covariance [D, D] (unbiased, as numpy.cov), float64."""
    f = features.to(torch.float64).numpy()
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians N(mu1, s1) and N(mu2, s2)."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():  # singular product: offset the diagonals (pytorch-fid)
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    return frechet_distance(*mean_cov(real), *mean_cov(fake))


def kid_from_features(
    real: torch.Tensor, fake: torch.Tensor, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Unbiased polynomial-kernel MMD^2 over random subsets -> (mean, std)."""
    x_all, y_all = real.to(torch.float64), fake.to(torch.float64)
    m = min(subset_size, len(x_all), len(y_all))
    if m < 2:
        raise ValueError("KID needs at least 2 features per set")
    d = x_all.shape[1]
    gen = torch.Generator().manual_seed(seed)
    vals = []
    for _ in range(num_subsets):
        x = x_all[torch.randperm(len(x_all), generator=gen)[:m]]
        y = y_all[torch.randperm(len(y_all), generator=gen)[:m]]
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        a = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        vals.append(float(a - 2 * kxy.sum() / (m * m)))
    return float(np.mean(vals)), float(np.std(vals))


def inception_score(logits: torch.Tensor, splits: int = 10, num_classes: int = 1000) -> tuple[float, float]:
    """IS from logits [N, K] -> (mean, std) over `splits` near-equal splits.

    Only the first `num_classes` logits enter the softmax. Split k holds rows
    [k*N//splits, (k+1)*N//splits) (the reference implementations' rule); for each split,
    IS_k = exp(mean_x KL(p(y|x) || p_k(y))) with p_k(y) the split's mean prediction.
    Raises GrowganError when N < splits (a split would be empty).
    """
    from growgan.errors import GrowganError

    n = int(logits.shape[0])
    if splits < 1 or n < splits:
        raise GrowganError(f"Inception Score: {n} images cannot make {splits} splits; "
                           f"give at least {splits} images (--num {max(splits, 1) * 1000} or more is usual)")
    logp = torch.log_softmax(logits[:, :num_classes].to(torch.float64), dim=1)
    p = logp.exp()
    scores = []
    for k in range(splits):
        lo, hi = k * n // splits, (k + 1) * n // splits
        part_p, part_logp = p[lo:hi], logp[lo:hi]
        log_py = part_p.mean(dim=0, keepdim=True).log()
        kl = (part_p * (part_logp - log_py)).sum(dim=1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))


def _kth_radius(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance of each row of x to its k-th nearest other row. [N, D] -> [N]."""
    out = []
    for part in x.split(chunk):
        d = torch.cdist(part, x)  # [n, N], includes the zero self-distance
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out)


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Whether each point lies within some centre's radius. -> bool [len(points)]."""
    out = []
    for part in points.split(chunk):
        out.append((torch.cdist(part, centres) <= radii.unsqueeze(0)).any(dim=1))
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (k-NN manifolds) -> (precision, recall)."""
    real, fake = real.to(torch.float64), fake.to(torch.float64)
    precision = _inside(fake, real, _kth_radius(real, k)).double().mean()
    recall = _inside(real, fake, _kth_radius(fake, k)).double().mean()
    return float(precision), float(recall)
