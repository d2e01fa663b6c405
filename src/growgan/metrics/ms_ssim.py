"""Multi-scale structural similarity (Wang, Simoncelli & Bovik 2003) and the MS-SSIM diversity
measure of generated images (Odena et al. 2017; Karras et al. 2018, ProGAN).

MS-SSIM = prod_{j<M} cs_j^w_j * ssim_M^w_M over M = 5 scales with the standard weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333), an 11x11 Gaussian window (sigma 1.5, "valid"
filtering), K1 = 0.01, K2 = 0.03, data range 255, 2x2 average pooling between scales.
Like pytorch-msssim, cs and ssim are averaged per channel over the image, clipped at 0,
and the per-channel MS-SSIM values are averaged.

Rule for small images (the standard window needs >= 176 px for five scales): as in the
official ProGAN `ms_ssim.py`, the window at each scale shrinks to the smaller image side,
with sigma scaled in proportion (1.5 * size / 11); five scales are used when the smaller
side is >= 16 (2^4); below that only the scales that reach >= 1 pixel are used, with the
leading weights renormalised to sum to 1. For images >= 176 px this is the standard MS-SSIM.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.utils.progress import bar

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE, WIN_SIGMA, K1, K2, DATA_RANGE = 11, 1.5, 0.01, 0.03, 255.0


def num_scales(resolution: tuple[int, int]) -> int:
    """Scales that fit: 5 unless the smaller side is < 16."""
    return max(1, min(len(WEIGHTS), int(math.floor(math.log2(min(resolution)))) + 1))


def ms_ssim_rule(resolution: tuple[int, int]) -> str:
    """One line describing how MS-SSIM is computed at this resolution, for the output."""
    h, w = resolution
    m = num_scales(resolution)
    sizes = [(math.ceil(h / 2**j), math.ceil(w / 2**j)) for j in range(m)]
    wins = [min(WIN_SIZE, *s) for s in sizes]
    txt = f"MS-SSIM: {m} scales " + ", ".join(f"{a}x{b}" for a, b in sizes) + f"; Gaussian window {wins} (sigma 1.5*win/11)"
    return txt + ("" if m == len(WEIGHTS) else "; weights of the used scales renormalised")


def _gauss_matrix(n: int, size: int, device) -> torch.Tensor:
    """Valid 1-d Gaussian filtering of length n as a matrix [n - size + 1, n]."""
    sigma = WIN_SIGMA * size / WIN_SIZE
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    m = torch.zeros(n - size + 1, n, dtype=torch.float64)
    for i in range(n - size + 1):
        m[i, i : i + size] = g
    return m.to(torch.float32).to(device)


def _filter(x: torch.Tensor, gh: torch.Tensor, gw: torch.Tensor) -> torch.Tensor:
    """Separable valid Gaussian filter as two matmuls. [..., H, W] -> [..., H-k+1, W-k+1]."""
    return gh @ x @ gw.T


def _ssim_cs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and contrast-structure term per image and channel: [N, C, H, W] -> 2 x [N, C]."""
    h, w = x.shape[2:]
    size = min(WIN_SIZE, h, w)
    gh, gw = _gauss_matrix(h, size, x.device), _gauss_matrix(w, size, x.device)
    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    mu_x, mu_y, exx, eyy, exy = _filter(torch.stack([x, y, x * x, y * y, x * y]), gh, gw)  # [5, N, C, h', w']
    sxx = exx - mu_x**2
    syy = eyy - mu_y**2
    sxy = exy - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (lum * cs).flatten(2).mean(-1), cs.flatten(2).mean(-1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of image pairs. x, y: [N, C, H, W] in [0, 255] (uint8 or float) -> [N] float."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"MS-SSIM needs two equal-shape [N, C, H, W] batches, got {tuple(x.shape)}, {tuple(y.shape)}")
    x, y = x.to(torch.float32), y.to(torch.float32)
    m = num_scales(tuple(x.shape[2:]))
    w = torch.tensor(WEIGHTS[:m], dtype=torch.float32, device=x.device)
    w = w / w.sum()
    vals = []
    for j in range(m):
        ssim, cs = _ssim_cs(x, y)
        vals.append(F.relu(cs) if j < m - 1 else F.relu(ssim))
        if j < m - 1:
            x, y = _half(x), _half(y)  # [N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)]
    stack = torch.stack(vals, dim=0)  # [M, N, C]
    return torch.prod(stack ** w.view(-1, 1, 1), dim=0).mean(dim=1)  # [N]


def _half(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling; odd sizes replicate their last row/column first."""
    if x.shape[2] % 2 or x.shape[3] % 2:
        x = F.pad(x, (0, x.shape[3] % 2, 0, x.shape[2] % 2), mode="replicate")
    return F.avg_pool2d(x, 2)


def random_pairs(num_images: int, num_pairs: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """`num_pairs` pairs (i, j) of distinct indices, uniformly drawn. -> 2 x int64 [num_pairs]."""
    if num_images < 2:
        raise GrowganError("MS-SSIM diversity needs at least 2 images")
    gen = torch.Generator().manual_seed(seed)
    i = torch.randint(0, num_images, (num_pairs,), generator=gen)
    j = (i + torch.randint(1, num_images, (num_pairs,), generator=gen)) % num_images  # j != i
    return i, j


def ms_ssim_pairs(
    a, b, i: torch.Tensor, j: torch.Tensor, batch_size: int = 256, device=None
) -> float:
    """Mean MS-SSIM of pairs (a[i_k], b[j_k]). a, b: uint8 [N, C, H, W] arrays/tensors."""
    total = torch.zeros((), dtype=torch.float64)
    with bar(total=len(i), desc="MS-SSIM", unit="pair") as pb:
        for s in range(0, len(i), batch_size):
            xb = _rows(a, i[s : s + batch_size]).to(device)
            yb = _rows(b, j[s : s + batch_size]).to(device)
            total += ms_ssim(xb, yb).double().sum().cpu()
            pb.update(xb.shape[0])
    return float(total / len(i))


def _rows(images, idx: torch.Tensor) -> torch.Tensor:
    """images[idx] for a tensor or a (memory-mapped) array -> tensor."""
    if isinstance(images, torch.Tensor):
        return images[idx]
    return torch.from_numpy(np.asarray(images[idx.numpy()]))


def ms_ssim_diversity(images, num_pairs: int = 10_000, seed: int = 0, batch_size: int = 256, device=None) -> float:
    """Mean MS-SSIM over random pairs of distinct images of one set (lower = more diverse).

    At most n(n-1)/2 pairs are drawn from n images (more would only repeat pairs).
    """
    num_pairs = min(num_pairs, len(images) * (len(images) - 1) // 2)
    i, j = random_pairs(len(images), num_pairs, seed)
    return ms_ssim_pairs(images, images, i, j, batch_size, device)


def ms_ssim_between(a, b, num_pairs: int = 10_000, seed: int = 0, batch_size: int = 256, device=None) -> float:
    """Mean MS-SSIM over random pairs (a_i, b_j), one image from each set."""
    gen = torch.Generator().manual_seed(seed)
    i = torch.randint(0, len(a), (num_pairs,), generator=gen)
    j = torch.randint(0, len(b), (num_pairs,), generator=gen)
    return ms_ssim_pairs(a, b, i, j, batch_size, device)
